//! Bad input: exit 1, `failed: true`, a message that names the problem and
//! the file and line, and nothing written.

use crate::databases::Kind;
use crate::test::Test;

fn assert_nothing_written(t: &Test) {
    assert_eq!(t.db().tables(), Vec::<String>::new());
}

dialects!(duplicate_version, |t: Test| {
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    t.migration("sub/1_b.sql", "CREATE TABLE b (id INT);\n");
    t.run(&["apply"]).assert_failed().assert_msg_contains(&[
        "duplicate migration version",
        "0001_a.sql",
        "sub/1_b.sql",
    ]);
    assert_nothing_written(&t);
});

dialects!(malformed_marker, |t: Test| {
    t.migration(
        "0001_a.sql",
        "-- lockstep:up\nCREATE TABLE a (id INT);\n-- lockstep:down transaction\nDROP TABLE a;\n",
    );
    t.run(&["apply"]).assert_failed().assert_msg_contains(&[
        "migrations/0001_a.sql:3:",
        "malformed marker attribute `transaction`",
    ]);
    t.migration("0001_a.sql", "-- lockstep:upp\nCREATE TABLE a (id INT);\n");
    t.run(&["apply"]).assert_failed().assert_msg_contains(&[
        "migrations/0001_a.sql:1:",
        "unknown marker `-- lockstep:upp`",
    ]);
    assert_nothing_written(&t);
});

dialects!(unknown_dialect, |t: Test| {
    t.migration(
        "0001_a.sql",
        "-- lockstep:up\nSELECT 1;\n\n-- lockstep:up dialect=oracle\nSELECT 1 FROM dual;\n",
    );
    t.run(&["apply"])
        .assert_failed()
        .assert_msg_contains(&["migrations/0001_a.sql:4:", "unknown dialect `oracle`"]);
    assert_nothing_written(&t);
});

#[test]
fn bad_file_name() {
    let t = Test::with_db(Kind::Sqlite).unwrap();
    t.migration("add_users.sql", "SELECT 1;\n");
    t.run(&["apply"])
        .assert_failed()
        .assert_msg_contains(&["add_users.sql", "<version>_<slug>"]);
}

#[test]
fn unreachable_database() {
    let t = Test::new();
    t.migration("0001_a.sql", "SELECT 1;\n");
    for url in [
        "postgres://app:hunter2secret@127.0.0.1:1/app",
        "mysql://app:hunter2secret@127.0.0.1:1/app",
    ] {
        let out = t.run(&["--database", url, "apply"]);
        out.assert_failed()
            .assert_msg_contains(&["cannot connect to", "127.0.0.1:1"]);
        assert!(
            !out.stdout.contains("hunter2secret") && !out.stderr.contains("hunter2secret"),
            "{}",
            out.stdout
        );
        assert!(
            out.json["database"]["url"]
                .as_str()
                .unwrap()
                .contains("app:***@"),
            "{}",
            out.stdout
        );
    }
}

#[test]
fn wrong_password_is_not_echoed() {
    let Some(t) = Test::with_db(Kind::Mysql) else {
        return;
    };
    t.migration("0001_a.sql", "SELECT 1;\n");
    let url = t.db().url.replacen("root@", "root:Wr0ngPassw0rd@", 1);
    let out = t.run(&["--database", &url, "apply"]);
    out.assert_failed()
        .assert_msg_contains(&["cannot connect to", "Access denied", "password"]);
    assert!(!out.stdout.contains("Wr0ngPassw0rd") && !out.stderr.contains("Wr0ngPassw0rd"));
    assert!(out.msg().contains("root:***@"), "{}", out.msg());
    // Human output masks it as well.
    let (code, stdout, stderr) = t.run_raw(&["--database", &url, "apply"]);
    assert_eq!(code, 1);
    assert!(!stdout.contains("Wr0ngPassw0rd") && !stderr.contains("Wr0ngPassw0rd"));
    assert!(
        stderr.contains("error: cannot connect to mysql://root:***@"),
        "{stderr}"
    );
}

#[test]
fn password_in_a_working_url_never_reaches_output() {
    // Trust auth accepts any password, so the run succeeds with one in the URL.
    let Some(t) = Test::with_db(Kind::Postgres) else {
        return;
    };
    t.sample_migrations();
    let url = t
        .db()
        .url
        .replacen("postgres@", "postgres:S3cretPassw0rd@", 1);
    for args in [
        vec!["apply", "--diff"],
        vec!["status"],
        vec!["plan"],
        vec!["sql"],
    ] {
        let mut full = vec!["--database", url.as_str()];
        full.extend(args);
        let out = t.run(&full);
        out.assert_ok();
        assert!(!out.stdout.contains("S3cretPassw0rd") && !out.stderr.contains("S3cretPassw0rd"));
        assert!(out.json["database"]["url"]
            .as_str()
            .unwrap()
            .contains("postgres:***@"));
    }
}

#[test]
fn usage_errors_exit_2() {
    let t = Test::new();
    let (code, _, stderr) = t.run_raw(&["apply", "--no-such-flag"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("--no-such-flag"));
    let (code, _, _) = t.run_raw(&["resolve"]);
    assert_eq!(code, 2);
}

dialects!(unknown_history_state_is_refused_naming_it, |t: Test| {
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    t.migration("0002_b.sql", "CREATE TABLE b (id INT);\n");
    t.run(&["apply", "--target", "0001"]).assert_ok();
    // A newer lockstep's state, or a hand edit: not applied, not failed.
    t.db()
        .execute("UPDATE lockstep_migrations SET state = 'paused' WHERE version = '0001'");
    for args in [&["apply"][..], &["status"], &["verify"], &["plan"]] {
        let out = t.run(args);
        out.assert_failed().assert_msg_contains(&[
            "lockstep_migrations",
            "migration 0001 has state `paused`",
            "(known: applied, ",
        ]);
    }
    // Nothing ran: 0002 is still pending, 0001 not run again.
    let mut tables = t.db().tables();
    tables.retain(|t| !t.starts_with("lockstep_"));
    assert_eq!(tables, ["a"]);
});
