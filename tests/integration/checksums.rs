//! An applied migration edited afterwards is drift: apply and verify fail
//! naming it; a CRLF or BOM checkout of the same text is not an edit;
//! `resolve --restamp` reaches a database or a config migration of the same
//! version through `db:V` / `config:V`.

use crate::test::Test;

dialects!(edited_migration_fails_apply_and_verify, |t: Test| {
    t.sample_migrations();
    t.run(&["apply"]).assert_ok();
    let file = "migrations/release-1/0002_create_items.sql";
    let original = t.read(file);
    let mut edited = original.clone();
    let pos = edited.iter().position(|&b| b == b'L').unwrap();
    edited[pos] = b'l';
    t.write(file, &edited);
    for command in ["apply", "verify"] {
        let out = t.run(&[command]);
        out.assert_failed().assert_msg_contains(&[
            "0002",
            "release-1/0002_create_items.sql",
            "lockstep resolve --restamp db:0002",
        ]);
        assert_eq!(out.json["drift"][0]["kind"], "migration_edited");
        assert_eq!(out.json["drift"][0]["version"], "0002");
    }

    // A Windows checkout of the original text is not an edit.
    let text = String::from_utf8(original).unwrap();
    let crlf = format!("\u{feff}{}", text.replace('\n', "\r\n"));
    t.write(file, crlf);
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], false);
    t.run(&["verify"])
        .assert_ok()
        .assert_msg_contains(&["6 applied migrations verified"]);
});

dialects!(restamp_accepts_an_intended_edit, |t: Test| {
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    t.run(&["apply"]).assert_ok();
    t.migration(
        "0001_a.sql",
        "-- a comment added later\nCREATE TABLE a (id INT);\n",
    );
    t.run(&["apply"]).assert_failed();
    let out = t.run(&["resolve", "--restamp", "0001"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], true);
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], false);
    t.run(&["verify"]).assert_ok();
    let again = t.run(&["resolve", "--restamp", "0001"]);
    assert_eq!(again.json["changed"], false);
});

/// A database migration and a config migration both numbered 0002, both
/// applied, both edited afterwards.
fn same_version_on_both_sides(t: &Test) {
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    t.migration("0002_b.sql", "CREATE TABLE b (id INT);\n");
    t.write("app.ini", "[s]\nk = 1\n");
    t.write(
        "config-migrations/0002_k.yaml",
        "file: app.ini\noperations:\n  - set: {section: s, key: k, value: 2}\n",
    );
    t.run(&["apply"]).assert_ok();
    t.migration("0002_b.sql", "-- reviewed\nCREATE TABLE b (id INT);\n");
    t.write(
        "config-migrations/0002_k.yaml",
        "# reviewed\nfile: app.ini\noperations:\n  - set: {section: s, key: k, value: 2}\n",
    );
}

dialects!(
    restamp_addresses_database_and_config_of_one_version,
    |t: Test| {
        same_version_on_both_sides(&t);
        // Every message names the form that reaches its migration.
        let out = t.run(&["apply"]);
        out.assert_failed().assert_msg_contains(&[
            "migration 0002 (migrations/0002_b.sql)",
            "`lockstep resolve --restamp db:0002`",
            "config migration 0002",
            "`lockstep resolve --restamp config:0002`",
        ]);
        for pointer in ["/drift/0", "/drift/1"] {
            assert_eq!(out.json.pointer(pointer).unwrap()["version"], "0002");
        }
        // The bare version names both: refused, naming both forms.
        let out = t.run(&["resolve", "--restamp", "0002"]);
        out.assert_failed().assert_msg_contains(&[
            "ambiguous",
            "--restamp db:0002",
            "--restamp config:0002",
        ]);
        assert_eq!(out.json["changed"], false);
        // The database one: the config one is still edited.
        let out = t.run(&["resolve", "--restamp", "db:0002"]);
        out.assert_ok()
            .assert_msg_contains(&["re-stamped migration 0002"]);
        let out = t.run(&["apply"]);
        out.assert_failed()
            .assert_msg_contains(&["`lockstep resolve --restamp config:0002`"]);
        assert!(!out.msg().contains("db:0002"), "{}", out.msg());
        // Then the config one.
        t.run(&["resolve", "--restamp", "config:0002"])
            .assert_ok()
            .assert_msg_contains(&["re-stamped config migration 0002"]);
        let out = t.run(&["apply"]);
        out.assert_ok();
        assert_eq!(out.json["changed"], false);
        t.run(&["verify"]).assert_ok();
        for (arg, msg) in [
            ("db:0002", "migration 0002 already matches its file"),
            (
                "config:0002",
                "config migration 0002 already matches its file",
            ),
        ] {
            let out = t.run(&["resolve", "--restamp", arg]);
            out.assert_ok().assert_msg_contains(&[msg]);
            assert_eq!(out.json["changed"], false);
        }
    }
);

#[test]
fn restamp_bare_version_works_when_unambiguous_and_bad_forms_are_refused() {
    let t = Test::new();
    same_version_on_both_sides(&t);
    // 0001 is only a database migration, 0003 only a config migration.
    t.migration("0001_a.sql", "-- reviewed\nCREATE TABLE a (id INT);\n");
    t.write(
        "config-migrations/0003_m.yaml",
        "file: app.ini\noperations:\n  - set: {section: s, key: m, value: 3}\n",
    );
    t.run(&["resolve", "--restamp", "db:0002"]).assert_ok();
    t.run(&["resolve", "--restamp", "config:0002"]).assert_ok();
    t.run(&["apply"]).assert_failed();
    t.run(&["resolve", "--restamp", "0001"])
        .assert_ok()
        .assert_msg_contains(&["re-stamped migration 0001"]);
    t.run(&["apply"]).assert_ok();
    t.write(
        "config-migrations/0003_m.yaml",
        "# reviewed\nfile: app.ini\noperations:\n  - set: {section: s, key: m, value: 3}\n",
    );
    t.run(&["resolve", "--restamp", "0003"])
        .assert_ok()
        .assert_msg_contains(&["re-stamped config migration 0003"]);
    t.run(&["verify"]).assert_ok();
    for (arg, msg) in [
        ("schema:0002", "unknown prefix `schema:`"),
        ("db:two", "`two` is not a migration version"),
        ("config:0009", "config migration 0009 has no file"),
    ] {
        t.run(&["resolve", "--restamp", arg])
            .assert_failed()
            .assert_msg_contains(&[msg]);
    }
}
