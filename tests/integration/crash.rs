//! Crash tests: the real `lockstep apply` is SIGKILLed at random moments
//! (delays from a seeded RNG spanning an uninterrupted run), one to three
//! times in a row, and then a fresh `apply` must converge to exactly what an
//! uninterrupted run leaves: the same schema, history, data, config bytes
//! (no temporary file left), config state, and `status` and `verify` exit 0.
//!
//! Where a migration runs outside a transaction (MariaDB; PostgreSQL's
//! `transaction=false`), a kill can leave it `running`: the next `apply`
//! must refuse and name `lockstep resolve`, and the test then does what an
//! operator would: waits for the killed session to end, looks whether the
//! DDL landed, and marks it applied or rolled back before converging.
//!
//! `LOCKSTEP_CRASH_KILLS` (default 240) is the number of kills across all
//! the tests here; `LOCKSTEP_CRASH_SEED` replays a run.

use crate::databases::Kind;
use crate::projects::{seed, Project, Rng, Shape};
use std::time::Duration;

/// Kills per test: `weight` of the 240 default, scaled by `LOCKSTEP_CRASH_KILLS`.
fn kills(weight: usize) -> usize {
    let total: usize = std::env::var("LOCKSTEP_CRASH_KILLS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(240);
    (total * weight).div_ceil(240).max(1)
}

/// What one crash test did, printed for RELIABILITY.md.
struct Tally {
    kills: usize,
    runs: usize,
    resolved: usize,
}

fn crash(kind: Kind, shape: Shape, wanted: usize, salt: u64) {
    let Some(reference) = Project::new(kind, shape) else {
        return;
    };
    let (out, duration) = reference.timed_apply();
    out.assert_ok();
    reference.assert_status_and_verify("the uninterrupted run");
    let expected = reference.end_state();
    drop(reference);

    let seed = seed(salt);
    let mut rng = Rng::new(seed);
    let mut tally = Tally {
        kills: 0,
        runs: 0,
        resolved: 0,
    };
    // Kill anywhere from the start to a little past a whole run's length.
    let window = duration + duration / 10;
    while tally.kills < wanted {
        tally.runs += 1;
        let p = Project::new(kind, shape).unwrap();
        let chain = 1 + rng.below(3);
        let mut delays = Vec::new();
        for k in 0..chain {
            let delay = rng.duration_up_to(window);
            delays.push(delay);
            let mut child = p.spawn_quiet(&["apply"]);
            std::thread::sleep(delay);
            if child.try_wait().unwrap().is_none() {
                child.kill().unwrap();
                tally.kills += 1;
            }
            child.wait().unwrap();
            if k + 1 < chain {
                // Between kills of a chain, repair as the operator would
                // so the next run has work to be killed in.
                tally.resolved +=
                    p.resolve_as_operator(&context(kind, shape, seed, &tally, &delays));
            }
        }
        let ctx = context(kind, shape, seed, &tally, &delays);
        let out = p.run(&["apply"]);
        if out.code != 0 {
            let interrupted = p.interrupted();
            assert!(
                !interrupted.is_empty(),
                "{ctx}: apply after the kill failed without an interrupted migration:\n{}\n{}",
                out.stdout,
                out.stderr
            );
            assert!(
                kind == Kind::Mysql || kind == Kind::Postgres,
                "{ctx}: a kill left {interrupted:?} on {kind:?}, where every migration is transactional"
            );
            out.assert_failed();
            for (version, _) in &interrupted {
                assert!(
                    out.msg().contains(&format!("lockstep resolve {version}")),
                    "{ctx}: the refusal does not name `lockstep resolve {version}`: {}",
                    out.msg()
                );
            }
            tally.resolved += p.resolve_as_operator(&ctx);
            let again = p.run(&["apply"]);
            assert_eq!(
                again.code, 0,
                "{ctx}: apply after resolve failed:\n{}\n{}",
                again.stdout, again.stderr
            );
        }
        p.assert_status_and_verify(&ctx);
        if let Some(diff) = p.end_state().diff(&expected) {
            panic!("{ctx}: the end state differs from an uninterrupted run:\n{diff}");
        }
        // A second apply has nothing to do.
        let idle = p.run(&["apply"]);
        idle.assert_ok();
        assert_eq!(idle.json["changed"], false, "{ctx}: {}", idle.stdout);
    }
    eprintln!(
        "RELIABILITY crash {kind:?} {shape:?}: {} kills survived in {} runs ({} interrupted migrations resolved by the operator); uninterrupted run {:?}; LOCKSTEP_CRASH_SEED={}",
        tally.kills,
        tally.runs,
        tally.resolved,
        duration,
        crate::projects::base_seed()
    );
}

fn context(kind: Kind, shape: Shape, seed: u64, tally: &Tally, delays: &[Duration]) -> String {
    format!(
        "{kind:?} {shape:?} (replay with LOCKSTEP_CRASH_SEED={}; seed {seed}, run {} after {} kills, kill delays {delays:?})",
        crate::projects::base_seed(),
        tally.runs,
        tally.kills
    )
}

#[test]
fn sample_sqlite() {
    crash(Kind::Sqlite, Shape::Sample, kills(40), 1);
}

#[test]
fn sample_postgres() {
    crash(Kind::Postgres, Shape::Sample, kills(40), 2);
}

#[test]
fn sample_mysql() {
    crash(Kind::Mysql, Shape::Sample, kills(30), 3);
}

#[test]
fn large_sqlite() {
    crash(Kind::Sqlite, Shape::Large, kills(30), 4);
}

#[test]
fn large_postgres() {
    crash(Kind::Postgres, Shape::Large, kills(30), 5);
}

#[test]
fn large_mysql() {
    crash(Kind::Mysql, Shape::Large, kills(30), 6);
}

#[test]
fn config_files_only() {
    crash(Kind::Sqlite, Shape::ConfigOnly, kills(40), 7);
}

// ---- Regressions: a kill at a chosen moment, each of which once left
// ---- lockstep stuck or its history wrong (found by the random kills above).

use crate::load::{seed_users, users_table};
use crate::test::{wait_until, Test};
use std::process::Stdio;

fn spawn_quiet(t: &Test, args: &[&str]) -> std::process::Child {
    t.command(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

fn users(t: &Test, rows: u64) {
    let kind = t.db().kind;
    t.migration(
        "0001_users.sql",
        &format!(
            "-- lockstep:up\n{};\n{};\n",
            users_table(kind),
            seed_users(kind, rows)
        ),
    );
    t.run(&["apply"]).assert_ok();
}

dialects!(killed_backfill_is_resumed_by_the_next_apply, |t: Test| {
    // Found by crash::sample_sqlite: the next apply stopped at `expanded`
    // with a warning, so a killed run never converged by itself.
    users(&t, 20_000);
    t.migration(
        "0002_rename_mail.yaml",
        "operations:\n  - rename_column: {table: users, from: mail, to: email}\n",
    );
    let mut child = spawn_quiet(&t, &["apply", "--batch-size", "100", "--batch-sleep", "10"]);
    wait_until("some batches committed", || {
        t.db().tables().contains(&"lockstep_backfills".to_owned())
            && t.db()
                .count("SELECT COUNT(*) FROM lockstep_backfills WHERE batches >= 10")
                > 0
    });
    child.kill().unwrap();
    child.wait().unwrap();
    assert_eq!(t.db().history(), ["0001:applied", "0002:expanded"]);
    let out = t.run(&["apply", "--batch-size", "1000"]);
    out.assert_ok();
    assert_eq!(out.json["backfills"][0]["finished"], true, "{}", out.stdout);
    assert!(
        out.json["backfills"][0]["resumed_after"].is_i64(),
        "{}",
        out.stdout
    );
    assert_eq!(t.db().history(), ["0001:applied", "0002:contracted"]);
    assert_eq!(
        t.db()
            .count("SELECT COUNT(*) FROM users WHERE email IS NULL"),
        0
    );
});

#[test]
fn killed_sqlite_writer_leaves_a_journal_the_next_run_rolls_back() {
    // Found by crash::sample_sqlite: a writer killed mid-transaction in
    // rollback-journal mode leaves a hot journal, and every read-only open
    // then failed (SQLITE_READONLY_ROLLBACK): `status`, and the plan `apply`
    // makes before locking, failed on every later run. The killed writer
    // here is Python's sqlite3 (the application sharing the file, say),
    // killed after its transaction spilled pages into the database file.
    let t = Test::with_db(Kind::Sqlite).unwrap();
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    let writer = "import os, sqlite3\n\
        c = sqlite3.connect('app.db', isolation_level=None)\n\
        c.execute('PRAGMA journal_mode=DELETE')\n\
        c.execute('CREATE TABLE app_data (x INT)')\n\
        c.execute('PRAGMA cache_size=1')\n\
        c.execute('BEGIN IMMEDIATE')\n\
        for i in range(2000): c.execute('INSERT INTO app_data VALUES (?)', (i,))\n\
        os.kill(os.getpid(), 9)\n";
    let Ok(status) = std::process::Command::new("python3")
        .args(["-c", writer])
        .current_dir(t.path())
        .stderr(Stdio::null())
        .status()
    else {
        crate::test::skip("python3 is not installed");
        return;
    };
    assert!(!status.success());
    let journal = t.path().join("app.db-journal");
    assert!(
        std::fs::metadata(&journal).is_ok_and(|m| m.len() > 0),
        "no hot journal left"
    );
    let status = t.run(&["status"]);
    assert_eq!(status.code, 0, "{}", status.stdout);
    assert!(!journal.exists(), "the journal was not rolled back");
    t.run(&["apply"]).assert_ok();
    assert_eq!(t.db().history(), ["0001:applied"]);
    // The killed transaction is gone: its table is empty.
    assert_eq!(t.db().count("SELECT COUNT(*) FROM app_data"), 0);
}

/// A YAML migration on MariaDB whose `part` holds a 3 s sleep after the
/// rename's own statements, killed during the sleep.
fn killed_mariadb_part(part: &str) -> Option<Test> {
    let t = Test::with_db(Kind::Mysql)?;
    users(&t, 10);
    t.migration(
        "0002_rename_mail.yaml",
        &format!(
            "operations:\n  - rename_column: {{table: users, from: mail, to: email}}\n  - sql: {{phase: {part}, up: {{mysql: \"DO SLEEP(3)\", postgres: \"SELECT 1\", sqlite: \"SELECT 1\"}}}}\n"
        ),
    );
    let mut child = spawn_quiet(&t, &["apply"]);
    wait_until("the sleep runs", || {
        t.db().count("SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() AND info LIKE 'DO SLEEP%'") > 0
    });
    child.kill().unwrap();
    child.wait().unwrap();
    Some(t)
}

#[test]
fn killed_contract_on_mariadb_is_refused_then_resolved() {
    // Found by crash::sample_mysql: the contract ran without a `running`
    // row, so a kill after it dropped `mail` left `backfilled`, and every
    // later apply failed in the sanity check (Unknown column 'mail') with
    // nothing to resolve.
    let Some(t) = killed_mariadb_part("contract") else {
        return;
    };
    let refused = t.run(&["apply"]);
    refused.assert_failed().assert_msg_contains(&[
        "0002",
        "was interrupted",
        "lockstep resolve 0002 --mark-applied",
    ]);
    // The operator sees the contract's DDL done (only the sleep was cut).
    assert!(!crate::projects::has_column(t.db(), "users", "mail"));
    let resolved = t.run(&["resolve", "0002", "--mark-applied"]);
    resolved.assert_ok().assert_msg_contains(&["contracted"]);
    assert_eq!(t.db().history(), ["0001:applied", "0002:contracted"]);
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], false, "{}", out.stdout);
}

#[test]
fn killed_expand_on_mariadb_marked_applied_still_contracts() {
    // `resolve --mark-applied` recorded a YAML migration `applied`, a state
    // with no contract to come: the old column and triggers stayed forever.
    let Some(t) = killed_mariadb_part("expand") else {
        return;
    };
    t.run(&["apply"])
        .assert_failed()
        .assert_msg_contains(&["0002", "lockstep resolve 0002"]);
    assert!(crate::projects::has_column(t.db(), "users", "email"));
    t.run(&["resolve", "0002", "--mark-applied"])
        .assert_ok()
        .assert_msg_contains(&["expanded"]);
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:contracted"]);
    assert!(!crate::projects::has_column(t.db(), "users", "mail"));
    assert_eq!(
        t.db()
            .count("SELECT COUNT(*) FROM users WHERE email IS NULL"),
        0
    );
}

#[test]
fn temporary_files_of_a_killed_write_are_removed_by_the_next_run() {
    // Found by crash::config_files_only: a run killed inside an atomic
    // write leaves its temporary file (`.NAME.XXXXXX.lockstep-tmp`) beside
    // the config file or the state file, and nothing ever removed it.
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    t.write(
        "config-migrations/0001_x.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    // What a kill between create and rename leaves.
    t.write("config/.app.ini.k1Ll3d.lockstep-tmp", "[a]\nx = half");
    t.write(
        ".lockstep/.config-state.json.k1Ll3d.lockstep-tmp",
        "{\"format\": 1, \"fi",
    );
    // Not lockstep's: left alone.
    t.write("config/.other.tmp", "mine");
    t.write(
        "config-migrations/0002_y.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: y, value: 3}\n",
    );
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    let config = crate::projects::files_under(&t.path().join("config"));
    assert_eq!(config.keys().collect::<Vec<_>>(), [".other.tmp", "app.ini"]);
    let state = crate::projects::files_under(&t.path().join(".lockstep"));
    assert!(
        state.keys().all(|k| !k.ends_with(".lockstep-tmp")),
        "{:?}",
        state.keys()
    );
}
