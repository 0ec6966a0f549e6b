//! Several lockstep processes on one database: the lock makes each
//! migration run exactly once; a lock held too long is a clean failure.

use crate::test::{output, sample_history, wait_until, Test, SAMPLE_VERSIONS};
use std::collections::BTreeMap;

dialects!(
    four_concurrent_applies_apply_each_migration_once,
    |t: Test| {
        t.sample_migrations();
        let children: Vec<_> = (0..4)
            .map(|_| {
                t.command(&["apply"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs: Vec<_> = children
            .into_iter()
            .map(|c| output(c.wait_with_output().unwrap()))
            .collect();
        let mut applied_by: BTreeMap<String, usize> = BTreeMap::new();
        for out in &outputs {
            out.assert_ok();
            assert_eq!(out.json["database"]["current"], "0006", "{}", out.stdout);
            for v in out.distinct_versions("/database/applied") {
                *applied_by.entry(v).or_default() += 1;
            }
        }
        // Each migration applied by exactly one process; all agree on the end.
        assert_eq!(
            applied_by.keys().cloned().collect::<Vec<_>>(),
            SAMPLE_VERSIONS
        );
        assert!(applied_by.values().all(|&n| n == 1), "{applied_by:?}");
        assert_eq!(t.db().history(), sample_history());
    }
);

/// A migration that holds the lock for a while, per dialect.
fn slow_migration(t: &Test) {
    t.migration(
        "0001_slow.sql",
        "-- lockstep:up\nCREATE TABLE slow (id INT);\n\
         -- lockstep:up dialect=postgres\nSELECT pg_sleep(4);\n\
         -- lockstep:up dialect=mysql\nDO SLEEP(4);\n",
    );
}

/// Waits until a session holds lockstep's lock on the test's database:
/// PostgreSQL's advisory lock in this database, MariaDB's named lock
/// (`lockstep:` and the first 40 hex digits of the SHA-256 of the
/// database's name).
fn wait_for_lock_held(t: &Test, kind: crate::databases::Kind) {
    let sql = match kind {
        crate::databases::Kind::Postgres => {
            "SELECT COUNT(*) FROM pg_locks WHERE locktype = 'advisory' AND granted \
             AND database = (SELECT oid FROM pg_database WHERE datname = current_database())"
        }
        crate::databases::Kind::Mysql => {
            "SELECT COUNT(IS_USED_LOCK(CONCAT('lockstep:', LEFT(SHA2(DATABASE(), 256), 40))))"
        }
        crate::databases::Kind::Sqlite => unreachable!("SQLite's lock is a file lock"),
    };
    wait_until("the first apply holds the lock", || t.db().count(sql) > 0);
}

#[test]
fn lock_timeout_on_postgres_and_mysql_is_a_clean_failure() {
    for kind in [
        crate::databases::Kind::Postgres,
        crate::databases::Kind::Mysql,
    ] {
        let Some(t) = Test::with_db(kind) else {
            continue;
        };
        slow_migration(&t);
        let mut holder = t
            .command(&["apply"])
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        wait_for_lock_held(&t, kind);
        let waiting = t.run(&["apply", "--lock-timeout", "1"]);
        waiting
            .assert_failed()
            .assert_msg_contains(&["timed out", "lock", "--lock-timeout"]);
        assert_eq!(waiting.json["changed"], false);
        assert!(holder.wait().unwrap().success());
    }
}

#[test]
fn lock_timeout_on_sqlite_is_a_clean_failure() {
    use fs4::fs_std::FileExt;
    let t = Test::with_db(crate::databases::Kind::Sqlite).unwrap();
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    let lock_path = format!("{}.lockstep-lock", t.db().sqlite_file().display());
    let file = std::fs::File::create(&lock_path).unwrap();
    file.lock_exclusive().unwrap();
    let out = t.run(&["apply", "--lock-timeout", "1"]);
    out.assert_failed()
        .assert_msg_contains(&["timed out after 1s", "another lockstep"]);
    FileExt::unlock(&file).unwrap();
    t.run(&["apply"]).assert_ok();
}
