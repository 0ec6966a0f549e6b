//! Races: eight `lockstep apply` processes started at once on one database,
//! again and again. Sharing one state dir (one host, eight deploys), and as
//! eight hosts with their own state dirs and config roots. Every migration
//! and every config migration is applied by exactly one process, the files
//! and history equal a single run's, and no process fails, except that with
//! `--lock-timeout` below the run time the waiting ones fail cleanly.

use crate::databases::Kind;
use crate::projects::{EndState, Project, Shape};
use crate::test::{output, run_paused, sample_history, Output, Test};
use std::collections::BTreeMap;

const PROCESSES: usize = 8;
/// Rounds per dialect, each on a fresh database; `LOCKSTEP_RACE_ROUNDS`.
fn rounds() -> usize {
    std::env::var("LOCKSTEP_RACE_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(3)
}

/// Starts `n` copies of a command at once and collects their results.
fn race(children: Vec<std::process::Child>) -> Vec<Output> {
    children
        .into_iter()
        .map(|c| output(c.wait_with_output().unwrap()))
        .collect()
}

/// Versions that each output applied, counted across outputs.
fn applied_by(outputs: &[Output]) -> (BTreeMap<String, usize>, BTreeMap<String, usize>) {
    let mut db: BTreeMap<String, usize> = BTreeMap::new();
    let mut config: BTreeMap<String, usize> = BTreeMap::new();
    for out in outputs {
        for v in out.distinct_versions("/database/applied") {
            *db.entry(v).or_default() += 1;
        }
        for f in out.json["config"]["files"].as_array().unwrap() {
            if f["changed"] == true {
                for v in f["applied"].as_array().unwrap() {
                    *config.entry(v.as_str().unwrap().to_owned()).or_default() += 1;
                }
            }
        }
    }
    (db, config)
}

/// Each finished migration logged once: an apply never ran one twice.
fn assert_logged_once(p: &Project, context: &str) {
    let rows = p.db().strings(match p.kind() {
        Kind::Mysql => "SELECT CAST(CONCAT(version, ' ', action, ' ', state) AS CHAR(200)) FROM lockstep_log WHERE state IN ('applied', 'expanded', 'backfilled', 'contracted') ORDER BY id",
        _ => "SELECT version || ' ' || action || ' ' || state FROM lockstep_log WHERE state IN ('applied', 'expanded', 'backfilled', 'contracted') ORDER BY id",
    });
    let mut seen: BTreeMap<&str, usize> = BTreeMap::new();
    for r in &rows {
        *seen.entry(r.as_str()).or_default() += 1;
    }
    assert!(
        seen.values().all(|&n| n == 1),
        "{context}: logged twice: {rows:#?}"
    );
}

fn reference(kind: Kind) -> Option<EndState> {
    let p = Project::new(kind, Shape::Sample)?;
    p.run(&["apply"]).assert_ok();
    Some(p.end_state())
}

fn one_host_eight_deploys(kind: Kind) {
    let Some(expected) = reference(kind) else {
        return;
    };
    for round in 1..=rounds() {
        let context = format!("{kind:?} round {round}");
        let p = Project::new(kind, Shape::Sample).unwrap();
        let outputs = race((0..PROCESSES).map(|_| p.spawn(&["apply"])).collect());
        for out in &outputs {
            assert_eq!(
                out.code, 0,
                "{context}: a racing apply failed:\n{}\n{}",
                out.stdout, out.stderr
            );
            assert_eq!(
                out.json["database"]["current"], "0006",
                "{context}: {}",
                out.stdout
            );
        }
        let (db, config) = applied_by(&outputs);
        assert_eq!(
            db.keys().cloned().collect::<Vec<_>>(),
            crate::test::SAMPLE_VERSIONS,
            "{context}"
        );
        assert!(db.values().all(|&n| n == 1), "{context}: {db:?}");
        assert_eq!(
            config.keys().cloned().collect::<Vec<_>>(),
            ["0001", "0002", "0003"],
            "{context}"
        );
        assert!(config.values().all(|&n| n == 1), "{context}: {config:?}");
        assert_eq!(p.db().history(), sample_history(), "{context}");
        assert_logged_once(&p, &context);
        if let Some(diff) = p.end_state().diff(&expected) {
            panic!("{context}: the end state differs from a single run:\n{diff}");
        }
        p.assert_status_and_verify(&context);
    }
    eprintln!(
        "RELIABILITY races {kind:?}: {} rounds of {PROCESSES} concurrent applies sharing a state dir",
        rounds()
    );
}

/// Eight hosts (own state dir, own config root) on one database.
fn eight_hosts(kind: Kind) {
    let Some(expected) = reference(kind) else {
        return;
    };
    let expected_file = expected.config_files["app.ini"].clone();
    for round in 1..=rounds() {
        let context = format!("{kind:?} hosts round {round}");
        let p = Project::new(kind, Shape::Sample).unwrap();
        let children = (0..PROCESSES)
            .map(|i| {
                let root = format!("host{i}/etc");
                std::fs::create_dir_all(p.t.path().join(&root)).unwrap();
                let host = format!("host{i}");
                let state = format!("host{i}/state");
                let mut args: Vec<String> = p.args(&["apply"]);
                args[1] = root;
                let mut all = vec![
                    "--host-id".to_owned(),
                    host,
                    "--state-dir".to_owned(),
                    state,
                ];
                all.extend(args);
                let refs: Vec<&str> = all.iter().map(String::as_str).collect();
                p.t.command(&refs)
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect();
        let outputs = race(children);
        for out in &outputs {
            assert_eq!(
                out.code, 0,
                "{context}: a racing apply failed:\n{}\n{}",
                out.stdout, out.stderr
            );
        }
        let (db, config) = applied_by(&outputs);
        assert!(db.values().all(|&n| n == 1), "{context}: {db:?}");
        assert_eq!(
            db.len(),
            crate::test::SAMPLE_VERSIONS.len(),
            "{context}: {db:?}"
        );
        // Each host writes its own file once: 3 config migrations each.
        assert!(
            config.values().all(|&n| n == PROCESSES),
            "{context}: {config:?}"
        );
        assert_eq!(p.db().history(), sample_history(), "{context}");
        assert_logged_once(&p, &context);
        for i in 0..PROCESSES {
            let file =
                std::fs::read_to_string(p.t.path().join(format!("host{i}/etc/app.ini"))).unwrap();
            assert_eq!(file, expected_file, "{context}: host{i}");
        }
        let hosts = p.run(&["hosts"]);
        assert_eq!(
            hosts.json["hosts"].as_array().unwrap().len(),
            PROCESSES,
            "{}",
            hosts.stdout
        );
    }
}

/// A migration that holds the lock for about three seconds.
fn slow(t: &Test) {
    t.migration(
        "0001_slow.sql",
        "-- lockstep:up\nCREATE TABLE slow (id INT);\n\
         WITH RECURSIVE c(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM c WHERE x < 5000000) SELECT COUNT(*) FROM c;\n\
         -- lockstep:up dialect=postgres\nCREATE TABLE slow (id INT);\nSELECT pg_sleep(3);\n\
         -- lockstep:up dialect=mysql\nCREATE TABLE slow (id INT);\nDO SLEEP(3);\n",
    );
    t.write("config/app.ini", "[a]\nx = 1\n");
    t.write(
        "config-migrations/0001_x.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
}

fn lock_timeout_below_the_run_time(kind: Kind) {
    let Some(t) = Test::with_db(kind) else {
        return;
    };
    slow(&t);
    let outputs = race(
        (0..PROCESSES)
            .map(|_| {
                t.command(&["--config-root", "config", "--lock-timeout", "1", "apply"])
                    .stdout(std::process::Stdio::piped())
                    .stderr(std::process::Stdio::piped())
                    .spawn()
                    .unwrap()
            })
            .collect(),
    );
    let (ok, failed): (Vec<&Output>, Vec<&Output>) = outputs.iter().partition(|o| o.code == 0);
    assert_eq!(
        ok.len(),
        1,
        "{kind:?}: exactly the lock holder succeeds: {outputs:#?}"
    );
    for out in &failed {
        out.assert_failed().assert_msg_contains(&[
            "timed out after 1s",
            "lock",
            "another lockstep",
            "--lock-timeout",
        ]);
        assert_eq!(out.json["changed"], false, "{}", out.stdout);
        assert!(
            out.stderr.is_empty() || !out.stderr.contains("panicked"),
            "{}",
            out.stderr
        );
    }
    assert_eq!(t.db().history(), ["0001:applied"]);
    assert_eq!(
        String::from_utf8(t.read("config/app.ini")).unwrap(),
        "[a]\nx = 2\n"
    );
    let again = t.run(&["--config-root", "config", "apply"]);
    again.assert_ok();
    assert_eq!(again.json["changed"], false);
}

/// One test per database for each scenario (each makes its own projects).
macro_rules! per_dialect {
    ($name:ident, $f:expr) => {
        mod $name {
            use super::*;
            #[test]
            fn sqlite() {
                $f(Kind::Sqlite)
            }
            #[test]
            fn postgres() {
                $f(Kind::Postgres)
            }
            #[test]
            fn mysql() {
                $f(Kind::Mysql)
            }
        }
    };
}

per_dialect!(eight_applies_share_one_state_dir, one_host_eight_deploys);
per_dialect!(eight_hosts_share_one_database, eight_hosts);
per_dialect!(
    lock_timeout_fails_the_waiting_applies_cleanly,
    lock_timeout_below_the_run_time
);

// The race below, driven deterministically: apply B's unlocked preview
// reads `config-state.json` (release 1 applied), then waits at the
// test-only pause while apply C applies release 2 to its end (files, state
// and database). B then reads files newer than the state it read. That is
// C's work, not a hand edit: B re-plans under the lock, finds nothing left
// to do and says so, and exits 0.
dialects!(
    preview_overtaken_by_another_apply_replans_under_the_lock,
    |t: Test| {
        let args = ["--config-root", "config", "apply"];
        t.write("config/app.ini", "[s]\nk = 0\n");
        t.write(
            "config-migrations/0001_one.yaml",
            "file: app.ini\noperations:\n  - set: {section: s, key: k, value: 1}\n",
        );
        t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
        t.run(&args).assert_ok();
        // Release 2.
        t.write(
        "config-migrations/0002_two.yaml",
        "file: app.ini\noperations:\n  - set: {section: s, key: k, value: 2}\n  - set: {section: s, key: n, value: x}\n",
    );
        t.migration("0002_b.sql", "CREATE TABLE b (id INT);\n");
        let mut c = None;
        let b = run_paused(&t, "LOCKSTEP_TEST_PAUSE_IN_PREVIEW", &args, || {
            c = Some(t.run(&args));
        });
        let c = c.unwrap();
        c.assert_ok();
        assert_eq!(c.versions("/database/applied"), ["0002"]);
        assert_eq!(
            c.json["config"]["files"][0]["applied"],
            serde_json::json!(["0002"])
        );
        assert_eq!(
            (b.code, b.json["failed"].clone(), b.json["drift"].clone()),
            (0, serde_json::json!(false), serde_json::json!([])),
            "{b:#?}"
        );
        assert_eq!(
            (b.json["changed"].clone(), b.msg()),
            (
                serde_json::json!(false),
                "nothing to do: the database and config files are up to date"
            ),
            "{b:#?}"
        );
        assert_eq!(b.versions("/database/applied"), Vec::<String>::new());
        assert_eq!(b.json["database"]["pending"], serde_json::json!([]));
        assert_eq!(b.json["database"]["current"], "0002");
        let files = b.json["config"]["files"].as_array().unwrap();
        assert_eq!(files.len(), 1, "{b:#?}");
        for (field, expected) in [
            ("path", serde_json::json!("app.ini")),
            ("changed", serde_json::json!(false)),
            ("applied", serde_json::json!([])),
            ("drifted", serde_json::json!(false)),
        ] {
            assert_eq!(files[0][field], expected, "{field}: {b:#?}");
        }
        assert_eq!(t.read("config/app.ini"), b"[s]\nk = 2\nn = x\n");
        assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
        let state: serde_json::Value =
            serde_json::from_slice(&t.read(".lockstep/config-state.json")).unwrap();
        let recorded: Vec<&String> = state["migrations"].as_object().unwrap().keys().collect();
        assert_eq!(recorded, ["0001", "0002"]);
        // And the next run agrees: nothing drifted, nothing to do.
        let again = t.run(&args);
        again.assert_ok();
        assert_eq!(
            (again.json["changed"].clone(), again.json["drift"].clone()),
            (serde_json::json!(false), serde_json::json!([]))
        );
    }
);

/// Two applies on one host, the second started 0–100 ms after the first,
/// over 40 tries: the second's unlocked preview may read the state before
/// the first writes it and the files after. That is no hand edit: it must
/// re-plan under the lock, and both runs succeed.
#[test]
fn staggered_applies_never_report_a_false_hand_edit() {
    let seed = fastrand::u64(..);
    let mut rng = fastrand::Rng::with_seed(seed);
    let files = 20;
    for attempt in 0..40 {
        let t = Test::new();
        for f in 0..files {
            t.write(&format!("config/f{f}.ini"), "[s]\nk = 0\n");
            for v in 1..=3 {
                t.write(
                    &format!("config-migrations/{:04}_f{f}.yaml", f * 3 + v),
                    format!("file: f{f}.ini\noperations:\n  - set: {{section: s, key: k, value: {v}}}\n  - set: {{section: s, key: k{v}, value: x}}\n"),
                );
            }
        }
        t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
        let args = ["--config-root", "config", "apply"];
        let first = t
            .command(&args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let offset = rng.u64(0..=100);
        std::thread::sleep(std::time::Duration::from_millis(offset));
        let second = t
            .command(&args)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        for (which, out) in race(vec![first, second]).iter().enumerate() {
            assert_eq!(
                (out.code, out.json["drift"].clone()),
                (0, serde_json::json!([])),
                "seed {seed}, try {attempt}, offset {offset} ms, run {which}: {}",
                out.stdout
            );
        }
        for f in 0..files {
            assert_eq!(
                t.read(&format!("config/f{f}.ini")),
                b"[s]\nk = 3\nk1 = x\nk2 = x\nk3 = x\n"
            );
        }
    }
}
