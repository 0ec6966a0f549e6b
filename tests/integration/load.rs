//! Application load for the online-migration tests: threads acting as old
//! and new versions of an application, each on its own connection, writing
//! and reading until told to stop, counting every operation and error.

use crate::databases::Kind;
use sqlx::{AnyConnection, Connection, Executor};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;

/// What one simulated application instance runs, over and over.
#[derive(Clone)]
pub struct Workload {
    pub name: &'static str,
    /// Statements per round; `{n}` is a counter, `{id}` a random existing key.
    pub statements: Vec<String>,
    /// Statements that insert one row each (for the no-row-lost check).
    pub inserts_per_round: u64,
}

#[derive(Default)]
pub struct Stats {
    pub ops: AtomicU64,
    pub inserted: AtomicU64,
    pub errors: Mutex<Vec<String>>,
}

pub struct Runner {
    stop: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    pub stats: Arc<Stats>,
    pub name: &'static str,
}

impl Runner {
    pub fn start(url: &str, kind: Kind, workload: Workload, max_id: u64) -> Runner {
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(Stats::default());
        let (url, s2, st2) = (url.to_owned(), stop.clone(), stats.clone());
        let name = workload.name;
        let handle = std::thread::spawn(move || {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            rt.block_on(async move {
                sqlx::any::install_default_drivers();
                let mut conn = match AnyConnection::connect(&url).await {
                    Ok(c) => c,
                    Err(e) => {
                        st2.errors.lock().unwrap().push(format!("connect: {e}"));
                        return;
                    }
                };
                if kind == Kind::Sqlite {
                    let _ = conn.execute("PRAGMA busy_timeout = 60000").await;
                }
                let mut n: u64 = 0;
                let mut seed: u64 = 0x9E37_79B9_7F4A_7C15 ^ (name.len() as u64);
                while !s2.load(Ordering::Relaxed) {
                    n += 1;
                    seed ^= seed << 13;
                    seed ^= seed >> 7;
                    seed ^= seed << 17;
                    let id = 1 + seed % max_id;
                    for template in &workload.statements {
                        let sql = template
                            .replace("{n}", &format!("{name}{n}"))
                            .replace("{id}", &id.to_string());
                        let result = if sql.starts_with("SELECT") {
                            conn.execute(sql.as_str()).await.map(|_| ())
                        } else {
                            write(&mut conn, kind, &sql).await
                        };
                        match result {
                            Ok(()) => {
                                st2.ops.fetch_add(1, Ordering::Relaxed);
                            }
                            Err(e) => st2.errors.lock().unwrap().push(format!("{sql}: {e}")),
                        }
                    }
                    st2.inserted
                        .fetch_add(workload.inserts_per_round, Ordering::Relaxed);
                    tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                }
                let _ = conn.close().await;
            });
        });
        Runner {
            stop,
            handle: Some(handle),
            stats,
            name,
        }
    }

    /// Stops the thread; panics with the errors it saw, if any.
    pub fn stop(mut self) -> (u64, u64) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            h.join().unwrap();
        }
        assert_no_errors(self.name, &self.stats.errors.lock().unwrap());
        let ops = self.stats.ops.load(Ordering::Relaxed);
        assert!(ops > 0, "{} never ran", self.name);
        (ops, self.stats.inserted.load(Ordering::Relaxed))
    }
}

impl Drop for Runner {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(h) = self.handle.take() {
            let _ = h.join();
        }
    }
}

/// Panics with the first of the errors an application instance saw.
#[track_caller]
pub fn assert_no_errors(name: &str, errors: &[String]) {
    assert!(
        errors.is_empty(),
        "{name} saw {} errors, first: {}",
        errors.len(),
        errors[0]
    );
}

/// Runs one write as an application would: on SQLite it takes the write
/// lock up front, as an application on SQLite must to avoid SQLITE_BUSY.
pub async fn write(conn: &mut AnyConnection, kind: Kind, sql: &str) -> Result<(), sqlx::Error> {
    if kind != Kind::Sqlite {
        return conn.execute(sql).await.map(|_| ());
    }
    conn.execute("BEGIN IMMEDIATE").await?;
    match conn.execute(sql).await {
        Ok(_) => conn.execute("COMMIT").await.map(|_| ()),
        Err(e) => {
            let _ = conn.execute("ROLLBACK").await;
            Err(e)
        }
    }
}

/// SQL that fills `users (name, mail)` with `rows` rows, per dialect.
pub fn seed_users(kind: Kind, rows: u64) -> String {
    match kind {
        Kind::Postgres => format!(
            "INSERT INTO users (name, mail) SELECT 'u' || g, 'u' || g || '@x' FROM generate_series(1, {rows}) g"
        ),
        Kind::Mysql => format!(
            "SET SESSION max_recursive_iterations = 10000000;\n\
             INSERT INTO users (name, mail) WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {rows}) \
             SELECT CONCAT('u', n), CONCAT('u', n, '@x') FROM seq"
        ),
        Kind::Sqlite => format!(
            "INSERT INTO users (name, mail) WITH RECURSIVE seq(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM seq WHERE n < {rows}) \
             SELECT 'u' || n, 'u' || n || '@x' FROM seq"
        ),
    }
}

/// `CREATE TABLE users` with an auto-incrementing integer key.
pub fn users_table(kind: Kind) -> &'static str {
    match kind {
        Kind::Postgres => "CREATE TABLE users (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, name VARCHAR(100) NOT NULL, mail VARCHAR(255))",
        Kind::Mysql => "CREATE TABLE users (id BIGINT AUTO_INCREMENT PRIMARY KEY, name VARCHAR(100) NOT NULL, mail VARCHAR(255)) ENGINE=InnoDB",
        Kind::Sqlite => "CREATE TABLE users (id INTEGER PRIMARY KEY, name VARCHAR(100) NOT NULL, mail VARCHAR(255))",
    }
}

/// A null-safe "differs" for assertions.
pub fn differs(kind: Kind, a: &str, b: &str) -> String {
    match kind {
        Kind::Postgres => format!("({a}) IS DISTINCT FROM ({b})"),
        Kind::Mysql => format!("NOT (({a}) <=> ({b}))"),
        Kind::Sqlite => format!("({a}) IS NOT ({b})"),
    }
}
