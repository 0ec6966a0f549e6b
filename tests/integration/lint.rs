//! `lint` reports each unsafe pattern with file, line, rule and the safe
//! alternative, and stays quiet on the safe form; `apply` only warns.

use crate::test::Test;

/// (rule, an unsafe migration that triggers it, its safe form).
const CASES: &[(&str, &str, &str)] = &[
    (
        "add_not_null_without_default",
        "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL;\n",
        "ALTER TABLE users ADD COLUMN age INTEGER NOT NULL DEFAULT 0;\n",
    ),
    (
        "volatile_default",
        "-- lockstep:up dialect=postgres\nALTER TABLE users ADD COLUMN token UUID DEFAULT gen_random_uuid();\n",
        "-- lockstep:up dialect=postgres\nALTER TABLE users ADD COLUMN token UUID;\n",
    ),
    (
        "set_not_null",
        "-- lockstep:up dialect=postgres\nALTER TABLE users ALTER COLUMN name SET NOT NULL;\n",
        "-- lockstep:up dialect=postgres\nALTER TABLE users ADD CONSTRAINT name_nn CHECK (name IS NOT NULL) NOT VALID;\n",
    ),
    (
        "index_not_concurrent",
        "-- lockstep:up dialect=postgres\nCREATE INDEX users_name ON users (name);\n",
        "-- lockstep:up dialect=postgres transaction=false\nCREATE INDEX CONCURRENTLY users_name ON users (name);\n",
    ),
    (
        "concurrently_in_transaction",
        "-- lockstep:up dialect=postgres\nCREATE INDEX CONCURRENTLY users_name ON users (name);\n",
        "-- lockstep:up dialect=postgres transaction=false\nCREATE INDEX CONCURRENTLY users_name ON users (name);\n",
    ),
    (
        "constraint_not_valid",
        "-- lockstep:up dialect=postgres\nALTER TABLE items ADD CONSTRAINT items_user FOREIGN KEY (user_id) REFERENCES users (id);\n",
        "-- lockstep:up dialect=postgres\nALTER TABLE items ADD CONSTRAINT items_user FOREIGN KEY (user_id) REFERENCES users (id) NOT VALID;\n",
    ),
    (
        "unique_constraint",
        "-- lockstep:up dialect=postgres\nALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE (name);\n",
        "-- lockstep:up dialect=postgres\nALTER TABLE users ADD CONSTRAINT users_name_key UNIQUE USING INDEX users_name_idx;\n",
    ),
    (
        "column_type_change",
        "-- lockstep:up dialect=postgres\nALTER TABLE users ALTER COLUMN age TYPE BIGINT;\n",
        "-- lockstep:up dialect=postgres\nALTER TABLE users ADD COLUMN age_big BIGINT;\n",
    ),
    (
        "rename",
        "ALTER TABLE users RENAME COLUMN mail TO email;\n",
        "ALTER TABLE users ADD COLUMN email VARCHAR(255);\n",
    ),
    (
        "rename_table",
        "ALTER TABLE users RENAME TO accounts;\n",
        "CREATE VIEW accounts AS SELECT * FROM users;\n",
    ),
    (
        "rename_table",
        "-- lockstep:up dialect=mysql\nRENAME TABLE users TO accounts;\n",
        "-- lockstep:up dialect=mysql\nCREATE VIEW accounts AS SELECT * FROM users;\n",
    ),
    (
        "drop_in_expand",
        "ALTER TABLE users DROP COLUMN mail;\n",
        "-- lockstep:phase contract\nALTER TABLE users DROP COLUMN mail;\n",
    ),
    (
        "create_in_contract",
        "-- lockstep:phase contract\nCREATE TABLE audit (id INTEGER);\n",
        "CREATE TABLE audit (id INTEGER);\n",
    ),
    (
        "mysql_copy_algorithm",
        "-- lockstep:up dialect=mysql\nALTER TABLE users ADD COLUMN age INT NULL, ALGORITHM=COPY;\n",
        "-- lockstep:up dialect=mysql\nALTER TABLE users ADD COLUMN age INT NULL, ALGORITHM=INPLACE, LOCK=NONE;\n",
    ),
];

#[test]
fn every_rule_fires_on_its_fixture_and_not_on_the_safe_form() {
    for (rule, unsafe_sql, safe_sql) in CASES {
        let t = Test::new();
        t.migration("0009_case.sql", unsafe_sql);
        let out = t.run(&["lint"]);
        out.assert_failed();
        let findings = out.json["findings"].as_array().unwrap();
        let hit = findings
            .iter()
            .find(|f| f["rule"] == *rule)
            .unwrap_or_else(|| panic!("{rule} not reported: {}", out.stdout));
        assert_eq!(hit["path"], "migrations/0009_case.sql");
        let expected_line = unsafe_sql
            .lines()
            .position(|l| !l.starts_with("--"))
            .unwrap()
            + 1;
        assert_eq!(hit["line"], expected_line, "{rule}");
        assert!(
            out.msg().contains(&format!(
                "migrations/0009_case.sql:{expected_line}: [{rule}]"
            )),
            "{}",
            out.msg()
        );
        assert!(!hit["message"].as_str().unwrap().is_empty());

        let t = Test::new();
        t.migration("0009_case.sql", safe_sql);
        let out = t.run(&["lint"]);
        let rules: Vec<&str> = out.json["findings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["rule"].as_str().unwrap())
            .collect();
        assert!(
            !rules.contains(rule),
            "{rule} fired on the safe form: {}",
            out.stdout
        );
    }
}

#[test]
fn lint_ignore_silences_one_finding() {
    let t = Test::new();
    t.migration(
        "0001_a.sql",
        "-- lockstep:lint-ignore rename the column is new and unused\nALTER TABLE users RENAME COLUMN a TO b;\nALTER TABLE users RENAME COLUMN c TO d;\n",
    );
    let out = t.run(&["lint"]);
    out.assert_failed();
    let lines: Vec<i64> = out.json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["line"].as_i64().unwrap())
        .collect();
    assert_eq!(lines, [3]);
    t.migration(
        "0001_a.sql",
        "-- lockstep:lint-ignore rename\nALTER TABLE users RENAME COLUMN a TO b;\n",
    );
    t.run(&["lint"])
        .assert_failed()
        .assert_msg_contains(&["0001_a.sql:1:", "needs a reason"]);
}

#[test]
fn sample_migrations_are_clean_and_apply_warns() {
    let t = Test::new();
    t.sample_migrations();
    let out = t.run(&["lint"]);
    out.assert_ok();
    t.migration(
        "0009_rename.sql",
        "ALTER TABLE users RENAME COLUMN name TO login;\n",
    );
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert!(
        out.json["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .any(|w| w.as_str().unwrap().contains("[rename]")),
        "{}",
        out.stdout
    );
}

#[test]
fn a_table_rename_points_to_rename_table() {
    let t = Test::new();
    t.migration("0009_rename.sql", "ALTER TABLE users RENAME TO accounts;\n");
    let out = t.run(&["lint"]);
    out.assert_failed();
    let findings = out.json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{}", out.stdout);
    assert_eq!(findings[0]["rule"], "rename_table");
    assert!(
        findings[0]["message"]
            .as_str()
            .unwrap()
            .contains("use a YAML rename_table"),
        "{}",
        out.stdout
    );
}
