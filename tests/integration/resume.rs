//! A migration that fails outside a transaction (always on MariaDB; with
//! `transaction=false` elsewhere) records which of its statements took
//! effect; every run words the failure the same way; and after the file is
//! fixed, `resolve --resume` runs the rest without running those again, or
//! `--mark-applied` records the fixed file's checksum.

use crate::databases::Kind;
use crate::test::Test;

/// Fails at its third statement (line 4): statements 1 and 2 take effect.
const FAILS_AT_THREE: &str = "-- lockstep:up transaction=false\n\
CREATE TABLE items (id INT PRIMARY KEY, name VARCHAR(20));\n\
INSERT INTO items (id, name) VALUES (1, 'one');\n\
INSERT INTO itemz (id, name) VALUES (2, 'two');\n\
INSERT INTO items (id, name) VALUES (3, 'three');\n";

/// Applies [`FAILS_AT_THREE`] as 0001, which fails, then edits its file.
fn fail_then_edit(t: &Test, edits: &[(&str, &str)]) {
    t.migration("0001_items.sql", FAILS_AT_THREE);
    t.run(&["apply"]).assert_failed();
    let mut text = FAILS_AT_THREE.to_owned();
    for (from, to) in edits {
        text = text.replace(from, to);
    }
    t.migration("0001_items.sql", &text);
}

fn history_checksum(t: &Test, version: &str) -> String {
    t.db().strings(&format!(
        "SELECT checksum FROM lockstep_migrations WHERE version = '{version}'"
    ))[0]
        .clone()
}

fn file_checksum(t: &Test, version: &str) -> String {
    let status = t.run(&["status"]);
    status.json["database"]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["version"] == version)
        .unwrap()["checksum"]
        .as_str()
        .unwrap()
        .to_owned()
}

dialects!(resume_runs_the_rest_of_the_fixed_file, |t: Test| {
    t.migration("0001_first.sql", "CREATE TABLE first (id INT);\n");
    t.migration("0002_items.sql", FAILS_AT_THREE);
    let out = t.run(&["apply"]);
    out.assert_failed().assert_msg_contains(&[
        "migration 0002 (migrations/0002_items.sql) failed at line 4: ",
        "statement: INSERT INTO itemz (id, name) VALUES (2, 'two'); ",
        "statements 1–2 of 4 took effect and are kept (statement 3 failed)",
        "`lockstep resolve 0002 --resume`",
    ]);
    assert!(
        !out.msg().contains("may be partly applied"),
        "{}",
        out.msg()
    );
    assert_eq!(t.db().history(), ["0001:applied", "0002:failed"]);

    // The next run, and plan, word it exactly as the run that failed.
    let again = t.run(&["apply"]);
    again.assert_failed();
    assert_eq!(again.msg(), out.msg());
    let plan = t.run(&["plan", "--detailed-exitcode"]);
    assert_eq!(plan.code, 1);
    assert_eq!(plan.msg(), out.msg());

    // Fixed file, resumed from statement 3.
    let broken = file_checksum(&t, "0002");
    t.migration("0002_items.sql", &FAILS_AT_THREE.replace("itemz", "items"));
    let fixed = file_checksum(&t, "0002");
    assert_ne!(broken, fixed);
    let out = t.run(&["resolve", "0002", "--resume"]);
    out.assert_ok().assert_msg_contains(&[
        "resumed migration 0002 from statement 3",
        "statements 1–2 already in the database and not run again",
        "ran statements 3–4",
        &format!("recorded the checksum of the fixed file {fixed} (was {broken})"),
    ]);
    assert_eq!(out.json["resumed"]["skipped_statements"], 2);
    assert_eq!(out.json["resumed"]["ran_statements"], 2);
    assert_eq!(out.versions("/database/applied"), ["0002"]);
    // Statements 1–2 ran once (a second CREATE TABLE or INSERT of id 1
    // would have failed), 3–4 ran now.
    assert_eq!(
        t.db().strings("SELECT name FROM items ORDER BY id"),
        ["one", "two", "three"]
    );
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
    assert_eq!(history_checksum(&t, "0002"), fixed);
    t.run(&["verify"]).assert_ok();
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], false);
});

dialects!(
    resume_refuses_when_the_statements_that_ran_changed,
    |t: Test| {
        // Statement 2 edited as well as 3: which rows are in the table now?
        fail_then_edit(&t, &[("itemz", "items"), ("'one'", "'uno'")]);
        t.run(&["resolve", "0001", "--resume"])
            .assert_failed()
            .assert_msg_contains(&[
                "cannot resume migration 0001 (migrations/0001_items.sql)",
                "statements 1–2 of the file changed since they ran",
                "--mark-applied",
            ]);
        assert_eq!(t.db().history(), ["0001:failed"]);
        assert_eq!(t.db().strings("SELECT name FROM items"), ["one"]);
    }
);

dialects!(resume_that_fails_again_records_the_new_point, |t: Test| {
    // Statement 3 fixed, statement 4 now broken.
    fail_then_edit(
        &t,
        &[
            ("itemz", "items"),
            ("(3, 'three')", "(3, 'three', 'extra')"),
        ],
    );
    let out = t.run(&["resolve", "0001", "--resume"]);
    out.assert_failed().assert_msg_contains(&[
        "failed at line 5",
        "statements 1–3 of 4 took effect and are kept (statement 4 failed)",
    ]);
    assert_eq!(t.db().history(), ["0001:failed"]);
    t.migration("0001_items.sql", &FAILS_AT_THREE.replace("itemz", "items"));
    t.run(&["resolve", "0001", "--resume"])
        .assert_ok()
        .assert_msg_contains(&["ran statement 4;"]);
    assert_eq!(
        t.db().strings("SELECT name FROM items ORDER BY id"),
        ["one", "two", "three"]
    );
    t.run(&["verify"]).assert_ok();
});

dialects!(
    a_first_statement_failure_says_nothing_took_effect,
    |t: Test| {
        t.migration(
        "0001_broken.sql",
        "-- lockstep:up transaction=false\nINSERT INTO nowhere VALUES (1);\nCREATE TABLE later (id INT);\n",
    );
        let out = t.run(&["apply"]);
        out.assert_failed().assert_msg_contains(&[
            "failed at line 2",
            "its first statement failed, so none of its 2 statements took effect",
        ]);
        assert!(!out.msg().contains("partly"), "{}", out.msg());
    }
);

dialects!(mark_applied_records_the_fixed_files_checksum, |t: Test| {
    t.migration("0001_items.sql", FAILS_AT_THREE);
    t.run(&["apply"]).assert_failed();
    let broken = file_checksum(&t, "0001");
    // Finished by hand, and the file fixed to say what the database holds.
    t.db()
        .execute("INSERT INTO items (id, name) VALUES (2, 'two'), (3, 'three')");
    t.migration("0001_items.sql", &FAILS_AT_THREE.replace("itemz", "items"));
    let fixed = file_checksum(&t, "0001");
    t.run(&["resolve", "0001", "--mark-applied"])
        .assert_ok()
        .assert_msg_contains(&[&format!(
            "marked migration 0001 as applied; recorded the checksum of its current file {fixed} (was {broken})"
        )]);
    assert_eq!(history_checksum(&t, "0001"), fixed);
    t.run(&["verify"]).assert_ok();
});

/// MariaDB counts an error's line from the statement's first line: the
/// message names the file's line, once.
#[test]
fn mariadb_syntax_error_names_one_line_of_the_file() {
    let Some(t) = Test::with_db(Kind::Mysql) else {
        return;
    };
    t.migration(
        "0001_typo.sql",
        "CREATE TABLE a (id INT);\n\nSELECT id\nFRM a;\n",
    );
    let out = t.run(&["apply"]);
    out.assert_failed().assert_msg_contains(&[
        "failed at line 4: ",
        "near 'a'; statement: SELECT id\nFRM a;",
        "statement 1 of 2 took effect and is kept (statement 2 failed)",
    ]);
    assert_eq!(out.msg().matches("line").count(), 1, "{}", out.msg());
    assert_eq!(out.json["database"]["failed_migration"]["line"], 4);
    let again = t.run(&["apply"]);
    assert_eq!(again.msg(), out.msg());
}
