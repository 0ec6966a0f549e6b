//! Database faults: a TCP proxy (std::net, two threads per connection)
//! between lockstep and PostgreSQL or MariaDB that cuts every connection
//! on command or after N bytes; a statement timeout; a database (or a user)
//! that may not write. Each time: exit 1, a clean message, a history that
//! claims nothing that did not land, and once the fault is gone the next
//! run converges. Only per-database settings and per-test users are
//! changed, never the shared servers.

use crate::databases::Kind;
use crate::projects::{Project, Shape};
use crate::test::{wait_until, Output, Test};
use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

/// A proxy to `upstream`: pass-through until told to cut.
struct Proxy {
    port: u16,
    state: Arc<ProxyState>,
}

#[derive(Default)]
struct ProxyState {
    /// Client-to-server bytes forwarded, over all connections.
    sent: AtomicU64,
    /// Cut every connection once `sent` reaches this (0: never).
    cut_after: AtomicU64,
    /// Refuse and cut everything now.
    cut: AtomicBool,
    streams: Mutex<Vec<TcpStream>>,
}

impl ProxyState {
    fn cut_all(&self) {
        self.cut.store(true, Ordering::SeqCst);
        for s in self.streams.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }
}

impl Proxy {
    fn start(upstream: &'static str) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(ProxyState::default());
        let st = state.clone();
        std::thread::spawn(move || {
            for client in listener.incoming() {
                let Ok(client) = client else { break };
                if st.cut.load(Ordering::SeqCst) {
                    let _ = client.shutdown(Shutdown::Both);
                    continue;
                }
                let Ok(server) = TcpStream::connect(upstream) else {
                    continue;
                };
                let _ = client.set_nodelay(true);
                let _ = server.set_nodelay(true);
                {
                    let mut streams = st.streams.lock().unwrap();
                    streams.push(client.try_clone().unwrap());
                    streams.push(server.try_clone().unwrap());
                }
                pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    st.clone(),
                    true,
                );
                pump(server, client, st.clone(), false);
            }
        });
        Proxy { port, state }
    }

    /// Pass everything again.
    fn heal(&self) {
        self.state.cut_after.store(0, Ordering::SeqCst);
        self.state.sent.store(0, Ordering::SeqCst);
        self.state.cut.store(false, Ordering::SeqCst);
    }

    fn cut_after(&self, bytes: u64) {
        self.state.sent.store(0, Ordering::SeqCst);
        self.state.cut_after.store(bytes, Ordering::SeqCst);
    }

    fn sent(&self) -> u64 {
        self.state.sent.load(Ordering::SeqCst)
    }

    /// The test database's URL, through the proxy.
    fn url(&self, db_url: &str) -> String {
        let (scheme, rest) = db_url.split_once("://").unwrap();
        let (auth_host, path) = rest.split_once('/').unwrap();
        let auth = auth_host
            .rsplit_once('@')
            .map_or(String::new(), |(a, _)| format!("{a}@"));
        format!("{scheme}://{auth}127.0.0.1:{}/{path}", self.port)
    }
}

fn pump(mut from: TcpStream, mut to: TcpStream, st: Arc<ProxyState>, upstream: bool) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 8192];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if st.cut.load(Ordering::SeqCst) {
                break;
            }
            let mut n = n;
            if upstream {
                let limit = st.cut_after.load(Ordering::SeqCst);
                let before = st.sent.fetch_add(n as u64, Ordering::SeqCst);
                if limit > 0 && before + n as u64 >= limit {
                    // Forward up to the limit, then cut mid-message.
                    n = limit.saturating_sub(before) as usize;
                    let _ = to.write_all(&buf[..n]);
                    st.cut_all();
                    break;
                }
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = from.shutdown(Shutdown::Both);
        let _ = to.shutdown(Shutdown::Both);
    });
}

fn upstream(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => "127.0.0.1:5432",
        Kind::Mysql => "127.0.0.1:3306",
        Kind::Sqlite => unreachable!(),
    }
}

/// A failed run's result is clean: exit 1, `failed`, a message, JSON on
/// stdout, no panic on stderr.
#[track_caller]
fn assert_clean_failure(out: &Output, context: &str) {
    assert_eq!(
        out.code, 1,
        "{context}: expected exit 1:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.json["failed"], true, "{context}: {}", out.stdout);
    assert!(!out.msg().is_empty(), "{context}: no msg: {}", out.stdout);
    assert!(
        !out.stderr.contains("panicked"),
        "{context}: {}",
        out.stderr
    );
}

// ---- The connection cut on command, during a migration's statement --------

fn cut_mid_migration(kind: Kind) {
    let Some(t) = Test::with_db(kind) else {
        return;
    };
    let proxy = Proxy::start(upstream(kind));
    let url = proxy.url(&t.db().url);
    t.migration("0001_one.sql", "CREATE TABLE one (id INT);\n");
    let sleep = match kind {
        Kind::Postgres => "SELECT pg_sleep(2)",
        _ => "DO SLEEP(2)",
    };
    t.migration(
        "0002_two.sql",
        &format!("CREATE TABLE two (id INT);\n{sleep};\nCREATE TABLE three (id INT);\n"),
    );
    let child = t
        .command(&["--database", &url, "apply"])
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let activity = match kind {
        Kind::Postgres => "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND query LIKE 'SELECT pg_sleep%'",
        _ => "SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE 'DO SLEEP%'",
    };
    wait_until("the migration's sleep runs", || t.db().count(activity) > 0);
    proxy.state.cut_all();
    let out = crate::test::output(child.wait_with_output().unwrap());
    assert_clean_failure(&out, &format!("{kind:?} cut mid-migration"));
    out.assert_msg_contains(&["0002"]);
    assert_eq!(out.versions("/database/applied"), ["0001"]);
    crate::projects::wait_for_other_sessions(t.db());
    proxy.heal();
    match kind {
        Kind::Postgres => {
            // Rolled back with its transaction: no row, no table.
            assert_eq!(t.db().history(), ["0001:applied"]);
            assert!(!crate::projects::has_table(t.db(), "two"));
        }
        _ => {
            // DDL committed on its own: `two` is there, the row says it
            // did not finish, and the next run refuses until resolved.
            assert_eq!(t.db().history(), ["0001:applied", "0002:running"]);
            assert!(crate::projects::has_table(t.db(), "two"));
            t.run(&["--database", &url, "apply"])
                .assert_failed()
                .assert_msg_contains(&["0002", "was interrupted", "lockstep resolve 0002"]);
            t.db().execute("DROP TABLE two");
            t.run(&["--database", &url, "resolve", "0002", "--mark-rolled-back"])
                .assert_ok();
        }
    }
    let out = t.run(&["--database", &url, "apply"]);
    out.assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
    assert!(crate::projects::has_table(t.db(), "three"));
}

#[test]
fn connection_cut_mid_migration_postgres() {
    cut_mid_migration(Kind::Postgres);
}

#[test]
fn connection_cut_mid_migration_mysql() {
    cut_mid_migration(Kind::Mysql);
}

// ---- The connection cut after N bytes, at points spanning a whole run -----

fn cut_after_bytes(kind: Kind) {
    let Some(reference) = Project::new(kind, Shape::Sample) else {
        return;
    };
    let proxy = Proxy::start(upstream(kind));
    let url = proxy.url(&reference.db().url);
    let run = |p: &Project, cmd: &[&str]| {
        let mut args = vec!["--database", url.as_str()];
        args.extend(cmd);
        p.run(&args)
    };
    run(&reference, &["apply"]).assert_ok();
    let total = proxy.sent();
    let expected = reference.end_state();
    drop(reference);
    let cuts: usize = std::env::var("LOCKSTEP_FAULT_CUTS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(12);
    let mut failed_runs = 0;
    for i in 0..cuts {
        // Spread over the whole run, a little jitter so that each cut lands
        // in a different message.
        let at = 1 + (total * i as u64) / cuts as u64 + (i as u64 * 7) % 13;
        let context = format!("{kind:?}: cut after {at} of {total} bytes");
        let p = Project::new(kind, Shape::Sample).unwrap();
        let url = proxy.url(&p.db().url);
        let run = |cmd: &[&str]| {
            let mut args = vec!["--database", url.as_str()];
            args.extend(cmd);
            p.run(&args)
        };
        proxy.cut_after(at);
        let out = run(&["apply"]);
        if out.code != 0 {
            failed_runs += 1;
            assert_clean_failure(&out, &context);
        }
        crate::projects::wait_for_other_sessions(p.db());
        proxy.heal();
        // Nothing recorded applied that is not there.
        assert_history_is_true(&p, &context);
        let mut next = run(&["apply"]);
        if next.code != 0 && !p.interrupted().is_empty() {
            next.assert_failed()
                .assert_msg_contains(&["lockstep resolve"]);
            p.resolve_as_operator(&context);
            next = run(&["apply"]);
        }
        assert_eq!(
            next.code, 0,
            "{context}: the run after the fault failed:\n{}",
            next.stdout
        );
        if let Some(diff) = p.end_state().diff(&expected) {
            panic!("{context}: the end state differs from an uninterrupted run:\n{diff}");
        }
    }
    assert!(
        failed_runs * 2 >= cuts,
        "{kind:?}: only {failed_runs} of {cuts} cuts hit the run"
    );
    eprintln!("RELIABILITY faults {kind:?}: {cuts} connection cuts over a {total}-byte run, {failed_runs} failed cleanly and converged after");
}

/// Every migration the history calls applied has its table (or index,
/// column) in the database.
fn assert_history_is_true(p: &Project, context: &str) {
    let db = p.db();
    if !crate::projects::has_table(db, "lockstep_migrations") {
        return;
    }
    for row in db.history() {
        let (version, state) = row.split_once(':').unwrap();
        if !lockstep::vocabulary::state::is_applied(state) {
            continue;
        }
        let landed = match version {
            "0001" => crate::projects::has_table(db, "users"),
            "0002" => crate::projects::has_table(db, "items"),
            "0003" => crate::projects::has_table(db, "votes"),
            "0004" => crate::projects::index(db, "items_title_idx") == Some(true),
            "0005" => crate::projects::has_column(db, "users", "display_name"),
            "0006" => crate::projects::has_column(db, "users", "email"),
            _ => true,
        };
        assert!(
            landed,
            "{context}: the history says {row} but it is not in the database"
        );
    }
}

#[test]
fn connection_cut_after_n_bytes_postgres() {
    cut_after_bytes(Kind::Postgres);
}

#[test]
fn connection_cut_after_n_bytes_mysql() {
    cut_after_bytes(Kind::Mysql);
}

// ---- A statement timeout --------------------------------------------------

#[test]
fn statement_timeout_postgres() {
    let Some(t) = Test::with_db(Kind::Postgres) else {
        return;
    };
    let name = t.db().url.rsplit('/').next().unwrap().to_owned();
    t.migration("0001_one.sql", "CREATE TABLE one (id INT);\n");
    t.migration(
        "0002_slow.sql",
        "CREATE TABLE two (id INT);\nSELECT pg_sleep(1);\n",
    );
    // This database only: its sessions time out after 200 ms.
    t.db().execute(&format!(
        "ALTER DATABASE {name} SET statement_timeout = '200ms'"
    ));
    let out = t.run(&["apply"]);
    assert_clean_failure(&out, "statement timeout");
    out.assert_msg_contains(&["0002", "line 2", "statement timeout", "pg_sleep"]);
    assert_eq!(t.db().history(), ["0001:applied"]);
    assert!(!crate::projects::has_table(t.db(), "two"));
    t.db()
        .execute(&format!("ALTER DATABASE {name} RESET statement_timeout"));
    t.run(&["apply"]).assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
}

/// A MariaDB user of its own for one test, dropped at the end.
struct MysqlUser<'a> {
    admin: &'a crate::databases::Db,
    name: String,
}

impl<'a> MysqlUser<'a> {
    fn create(t: &'a Test, options: &str) -> MysqlUser<'a> {
        let db = t.db().url.rsplit('/').next().unwrap();
        let name: String = format!("ls_{}", db.trim_start_matches("lockstep_"))
            .chars()
            .take(60)
            .collect();
        t.db().execute(&format!(
            "CREATE USER '{name}'@'%' IDENTIFIED BY 'pw-Secret-42' {options}"
        ));
        MysqlUser {
            admin: t.db(),
            name,
        }
    }

    fn url(&self, t: &Test) -> String {
        let db = t.db().url.rsplit('/').next().unwrap();
        format!("mysql://{}:pw-Secret-42@127.0.0.1:3306/{db}", self.name)
    }
}

impl Drop for MysqlUser<'_> {
    fn drop(&mut self) {
        self.admin
            .execute(&format!("DROP USER IF EXISTS '{}'@'%'", self.name));
    }
}

#[test]
fn statement_timeout_mysql() {
    let Some(t) = Test::with_db(Kind::Mysql) else {
        return;
    };
    let db = t.db().url.rsplit('/').next().unwrap().to_owned();
    let user = MysqlUser::create(&t, "WITH MAX_STATEMENT_TIME 0.2");
    user.admin
        .execute(&format!("GRANT ALL ON {db}.* TO '{}'@'%'", user.name));
    let url = user.url(&t);
    t.migration("0001_one.sql", "CREATE TABLE one (id INT);\n");
    t.migration(
        "0002_slow.sql",
        "CREATE TABLE two (id INT);\nSELECT SLEEP(1);\n",
    );
    let out = t.run(&["--database", &url, "apply"]);
    assert_clean_failure(&out, "statement timeout");
    out.assert_msg_contains(&[
        "0002",
        "line 2",
        "max_statement_time",
        "lockstep resolve 0002",
    ]);
    assert!(!out.stdout.contains("pw-Secret-42") && !out.stderr.contains("pw-Secret-42"));
    // MariaDB committed `two` on its own; the row says the migration failed.
    assert_eq!(t.db().history(), ["0001:applied", "0002:failed"]);
    // The fault goes; the operator undoes the half and says so.
    user.admin.execute(&format!(
        "ALTER USER '{}'@'%' WITH MAX_STATEMENT_TIME 0",
        user.name
    ));
    t.db().execute("DROP TABLE two");
    t.run(&["--database", &url, "resolve", "0002", "--mark-rolled-back"])
        .assert_ok();
    t.run(&["--database", &url, "apply"]).assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
}

// ---- A database that may not be written -----------------------------------

#[test]
fn read_only_database_postgres() {
    let Some(t) = Test::with_db(Kind::Postgres) else {
        return;
    };
    let name = t.db().url.rsplit('/').next().unwrap().to_owned();
    t.migration("0001_one.sql", "CREATE TABLE one (id INT);\n");
    t.db().execute(&format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = on"
    ));
    // Before anything exists: lockstep's own tables cannot be created.
    let out = t.run(&["apply"]);
    assert_clean_failure(&out, "read-only, fresh");
    out.assert_msg_contains(&["read-only transaction"]);
    reset_read_only(&t, &name);
    t.run(&["apply"]).assert_ok();
    // With history: a new migration is refused with nothing recorded.
    t.migration("0002_two.sql", "CREATE TABLE two (id INT);\n");
    t.db().execute(&format!(
        "ALTER DATABASE {name} SET default_transaction_read_only = on"
    ));
    let out = t.run(&["apply"]);
    assert_clean_failure(&out, "read-only, with history");
    out.assert_msg_contains(&["read-only transaction"]);
    assert_eq!(t.db().history(), ["0001:applied"]);
    reset_read_only(&t, &name);
    t.run(&["apply"]).assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
}

/// Lifts the fault, from another database (sessions on this one are
/// read-only, even the one that would lift it).
fn reset_read_only(t: &Test, name: &str) {
    use sqlx::{Connection, Executor};
    let (server, _) = t.db().url.rsplit_once('/').unwrap();
    let admin = format!("{server}/postgres");
    crate::databases::block_on(async {
        let mut c = sqlx::AnyConnection::connect(&admin).await.unwrap();
        c.execute(format!("ALTER DATABASE {name} RESET default_transaction_read_only").as_str())
            .await
            .unwrap();
        c.close().await.unwrap();
    });
}

#[test]
fn read_only_user_mysql() {
    // MariaDB has no per-database read-only switch (and `SET GLOBAL
    // read_only` would stop the shared server's other users): a user with
    // only SELECT is the same fault for lockstep.
    let Some(t) = Test::with_db(Kind::Mysql) else {
        return;
    };
    let db = t.db().url.rsplit('/').next().unwrap().to_owned();
    t.migration("0001_one.sql", "CREATE TABLE one (id INT);\n");
    t.run(&["apply"]).assert_ok();
    let user = MysqlUser::create(&t, "");
    user.admin
        .execute(&format!("GRANT SELECT ON {db}.* TO '{}'@'%'", user.name));
    let url = user.url(&t);
    t.migration("0002_two.sql", "CREATE TABLE two (id INT);\n");
    let out = t.run(&["--database", &url, "apply"]);
    assert_clean_failure(&out, "read-only user");
    out.assert_msg_contains(&["denied"]);
    assert!(!out.stdout.contains("pw-Secret-42") && !out.stderr.contains("pw-Secret-42"));
    assert_eq!(t.db().history(), ["0001:applied"]);
    assert!(!crate::projects::has_table(t.db(), "two"));
    user.admin
        .execute(&format!("GRANT ALL ON {db}.* TO '{}'@'%'", user.name));
    t.run(&["--database", &url, "apply"]).assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
}
