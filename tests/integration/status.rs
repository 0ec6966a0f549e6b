//! `status` shows everything that is wrong, in JSON and in words: a failed
//! migration with its statement and line, an edited migration counted under
//! the database, a backfill in progress with how far it got, config drift;
//! each host's check-in and the folders it read; and its summary says
//! `attention:` instead of `ok:` when something needs a look.

use crate::databases::Kind;
use crate::test::Test;
use serde_json::Value;

/// `status` as an operator reads it: human output, colour off.
fn human_status(t: &Test) -> (i32, String) {
    let (code, stdout, stderr) = t.run_raw(&[
        "--format",
        "human",
        "--database",
        &t.db().url,
        "--host-id",
        "web-1",
        "status",
    ]);
    (code, format!("{stdout}{stderr}"))
}

fn migration<'a>(status: &'a Value, version: &str) -> &'a Value {
    status["database"]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["version"] == version)
        .unwrap_or_else(|| panic!("no migration {version} in {status}"))
}

#[test]
fn failed_mariadb_migration() {
    let Some(t) = Test::with_db(Kind::Mysql) else {
        return;
    };
    t.migration("0001_first.sql", "CREATE TABLE first (id INT);\n");
    t.migration(
        "0002_items.sql",
        "CREATE TABLE items (id INT PRIMARY KEY);\nINSERT INTO items VALUES (1);\n\
         INSERT INTO itemz VALUES (2);\nINSERT INTO items VALUES (3);\n",
    );
    let apply = t.run(&["apply"]);
    apply.assert_failed();

    let out = t.run(&["status"]);
    out.assert_ok();
    assert_eq!(out.json["healthy"], false);
    assert_eq!(
        out.msg(),
        "database: 1 applied, 0 pending, 1 failed; config: 0 pending"
    );
    let m = migration(&out.json, "0002");
    assert_eq!(m["state"], "failed");
    let failure = &m["failure"];
    assert_eq!(failure["statement"], "INSERT INTO itemz VALUES (2)");
    assert_eq!(failure["line"], 3);
    assert_eq!(failure["statements_done"], 2);
    assert_eq!(failure["statements_total"], 4);
    assert!(
        failure["error"].as_str().unwrap().contains("itemz"),
        "{failure}"
    );
    // The same words apply used, naming what to run next.
    assert_eq!(failure["msg"], apply.json["msg"]);
    assert!(migration(&out.json, "0001").get("failure").is_none());

    let (code, text) = human_status(&t);
    assert_eq!(code, 0, "{text}");
    assert!(
        text.contains(&format!("  failed 0002: {}\n", apply.msg())),
        "{text}"
    );
    assert!(
        text.contains("statements 1–2 of 4 took effect and are kept (statement 3 failed)"),
        "{text}"
    );
    assert!(
        text.ends_with("attention: database: 1 applied, 0 pending, 1 failed; config: 0 pending\n"),
        "{text}"
    );
}

dialects!(edited_migration_counts_under_the_database, |t: Test| {
    t.migration("0001_first.sql", "CREATE TABLE first (id INT);\n");
    t.migration("0002_second.sql", "CREATE TABLE second (id INT);\n");
    t.run(&["apply"]).assert_ok();
    t.migration("0002_second.sql", "CREATE TABLE second (id BIGINT);\n");

    let out = t.run(&["status"]);
    out.assert_ok();
    assert_eq!(out.json["healthy"], false);
    assert_eq!(
        out.msg(),
        "database: 2 applied, 0 pending, 1 edited; config: 0 pending"
    );
    assert_eq!(migration(&out.json, "0002")["checksum_ok"], false);
    assert_eq!(out.json["drift"][0]["kind"], "migration_edited");

    let (_, text) = human_status(&t);
    assert!(text.contains("EDITED"), "{text}");
    assert!(
        text.ends_with("attention: database: 2 applied, 0 pending, 1 edited; config: 0 pending\n"),
        "{text}"
    );
});

dialects!(backfill_in_progress_with_how_far_it_got, |t: Test| {
    let rows: Vec<String> = (1..=200).map(|i| format!("({i}, 'u{i}@x')")).collect();
    t.migration(
        "0001_users.sql",
        &format!(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, mail VARCHAR(100));\n\
             INSERT INTO users (id, mail) VALUES {};\n",
            rows.join(", ")
        ),
    );
    t.migration(
        "0002_rename_mail.yaml",
        "operations:\n  - rename_column: {table: users, from: mail, to: email}\n",
    );
    t.run(&["apply", "--phase", "expand", "--no-backfill"])
        .assert_ok();
    // Where a run killed after its first batch of 50 rows leaves it.
    t.db().execute(
        "INSERT INTO lockstep_backfills (version, table_name, column_name, last_key, rows_done, \
         batches, finished, updated_at) VALUES ('0002', 'users', 'email', 50, 50, 1, 0, \
         '2026-12-01T10:00:00.000Z')",
    );

    let out = t.run(&["status"]);
    out.assert_ok();
    assert_eq!(out.json["healthy"], true);
    assert_eq!(
        out.msg(),
        "database: 2 applied, 0 pending; config: 0 pending; 1 backfill in progress"
    );
    assert_eq!(migration(&out.json, "0002")["state"], "expanded");
    let b = &out.json["backfills_in_progress"][0];
    assert_eq!(b["version"], "0002");
    assert_eq!(b["table"], "users");
    assert_eq!(b["column"], "email");
    assert_eq!(b["rows"], 50);
    assert_eq!(b["batches"], 1);
    assert_eq!(b["last_key"], 50);
    assert_eq!(b["max_key"], 200);
    assert_eq!(b["percent"], 25);

    let (_, text) = human_status(&t);
    assert!(
        text.contains(
            "backfills in progress\n  0002 users.email: 50 rows in 1 batch, key 50 of 200 (25%), \
             last batch 2026-12-01T10:00:00.000Z; `lockstep backfill` resumes it\n"
        ),
        "{text}"
    );
    assert!(
        text.ends_with(
            "ok: database: 2 applied, 0 pending; config: 0 pending; 1 backfill in progress\n"
        ),
        "{text}"
    );
});

#[test]
fn config_drift_hosts_and_folders() {
    let Some(t) = Test::with_db(Kind::Sqlite) else {
        return;
    };
    t.migration("0001_first.sql", "CREATE TABLE first (id INT);\n");
    t.write("etc/app.ini", "[server]\nworkers = 4\n");
    t.write(
        "config-migrations/0001_workers.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 8}\n",
    );
    t.write("lockstep.ini", "[lockstep]\nconfig_root = etc\n");
    t.run(&["apply", "--host-id", "web-1"]).assert_ok();
    t.run(&["apply", "--host-id", "web-2"]).assert_ok();
    t.write("etc/app.ini", "[server]\nworkers = 16\n");

    let out = t.run(&["status"]);
    out.assert_ok();
    assert_eq!(out.json["healthy"], false);
    assert_eq!(
        out.msg(),
        "database: 1 applied, 0 pending; config: 0 pending, 1 drifted"
    );
    assert_eq!(out.json["drift"][0]["kind"], "config_edited");
    assert_eq!(out.json["config"]["files"][0]["drifted"], true);
    let hosts: Vec<&str> = out.json["hosts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["host_id"].as_str().unwrap())
        .collect();
    assert_eq!(hosts, ["web-1", "web-2"]);
    assert_eq!(out.json["hosts"][0]["version"], "0001");
    assert!(out.json["settings_file"]
        .as_str()
        .unwrap()
        .ends_with("lockstep.ini"));
    assert_eq!(out.json["migrations_dir"], "migrations");
    assert_eq!(out.json["config_migrations_dir"], "config-migrations");
    assert_eq!(out.json["config_root"], "etc");

    let (_, text) = human_status(&t);
    for line in [
        "migrations migrations\n",
        "config migrations config-migrations\n",
        "config root etc\n",
        "hosts\n  web-1 ",
        "\n  web-2 ",
        "  app.ini  -        EDITED",
    ] {
        assert!(text.contains(line), "no `{line}` in {text}");
    }
    assert!(
        text.ends_with("attention: database: 1 applied, 0 pending; config: 0 pending, 1 drifted\n"),
        "{text}"
    );
}
