//! `lockstep new SLUG [--yaml] [--config FILE]`: a correctly numbered file
//! from a template.

use crate::test::Test;

#[test]
fn sql_migration_gets_the_next_number_and_its_phase() {
    let t = Test::new();
    t.migration("release-1/0009_a.sql", "SELECT 1;\n");
    let out = t.run(&["--phase", "contract", "new", "drop_mail"]);
    out.assert_ok();
    assert_eq!(out.json["version"], "0010");
    assert_eq!(out.json["path"], "migrations/0010_drop_mail.sql");
    let text = String::from_utf8(t.read("migrations/0010_drop_mail.sql")).unwrap();
    assert!(
        text.starts_with("-- lockstep:phase contract\n-- lockstep:up\n"),
        "{text}"
    );
    // The new file loads: an empty migration is valid SQL.
    t.run(&["status"]).assert_ok();
}

#[test]
fn yaml_migration_template_numbers_after_sql_and_yaml_files() {
    let t = Test::new();
    t.migration("0003_a.sql", "SELECT 1;\n");
    t.write("migrations/0007_b.yaml", "description: b\noperations: []\n");
    let out = t.run(&["new", "add_email", "--yaml", "--check"]);
    out.assert_ok();
    assert_eq!(out.json["path"], "migrations/0008_add_email.yaml");
    assert!(!t.path().join("migrations/0008_add_email.yaml").exists());
    let out = t.run(&["new", "add_email", "--yaml"]);
    out.assert_ok();
    let text = String::from_utf8(t.read("migrations/0008_add_email.yaml")).unwrap();
    assert!(
        text.contains("description: add email\noperations:\n"),
        "{text}"
    );
    assert!(
        text.contains("#   - add_column") || text.contains("# - add_column"),
        "{text}"
    );
    let warning = out.json["warnings"][0].as_str().unwrap();
    assert!(warning.contains("fill in `operations`"), "{warning}");
}

#[test]
fn config_migration_template_names_the_file_and_fails_until_filled_in() {
    let t = Test::new();
    t.write(
        "config-migrations/0002_x.yaml",
        "file: app.ini\ncreate: true\noperations:\n  - set: {section: a, key: b, value: c}\n",
    );
    let out = t.run(&["new", "cache_section", "--config", "app.ini"]);
    out.assert_ok();
    assert_eq!(
        out.json["path"],
        "config-migrations/0003_cache_section.yaml"
    );
    let text = String::from_utf8(t.read("config-migrations/0003_cache_section.yaml")).unwrap();
    assert!(text.contains("\nfile: app.ini\nphase: expand\n"), "{text}");
    // Unfilled, it is refused by name instead of applied as a no-op.
    let out = t.run(&["apply"]);
    out.assert_failed()
        .assert_msg_contains(&["0003_cache_section.yaml"]);
    // Filled in, it applies.
    t.write(
        "config-migrations/0003_cache_section.yaml",
        text.replace(
            "operations:\n",
            "operations:\n  - set: {section: cache, key: ttl, value: 5}\n",
        ),
    );
    t.run(&["apply"]).assert_ok();
    assert!(String::from_utf8(t.read("app.ini"))
        .unwrap()
        .contains("[cache]\nttl = 5\n"));
}

#[test]
fn a_bad_slug_is_refused() {
    let t = Test::new();
    t.run(&["new", "add email"])
        .assert_failed()
        .assert_msg_contains(&["slug `add email`"]);
}
