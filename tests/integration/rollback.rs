//! `rollback --to V` runs `down` sections newest first and records it; a
//! missing `down` is refused before anything runs. Config migrations are
//! rolled back from their prior values: a secret key a migration added is
//! removed, a secret it overwrote (kept only as a hash) is refused.

use crate::test::Test;

dialects!(rollback_runs_down_sections_in_reverse, |t: Test| {
    t.sample_migrations();
    t.run(&["apply", "--target", "0005"]).assert_ok();
    let out = t.run(&["rollback", "--to", "0002"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], true);
    assert_eq!(
        out.versions("/database/rolled_back"),
        ["0005", "0004", "0003"]
    );
    assert_eq!(out.json["database"]["current"], "0002");
    let mut tables = t.db().tables();
    tables.retain(|t| !t.starts_with("lockstep_"));
    assert_eq!(tables, ["items", "users"]);
    assert_eq!(
        t.db().history(),
        [
            "0001:applied",
            "0002:applied",
            "0003:rolled_back",
            "0004:rolled_back",
            "0005:rolled_back"
        ]
    );
    let log = t.db().strings(match t.db().kind {
        crate::databases::Kind::Mysql => "SELECT CAST(CONCAT(version, ' ', action) AS CHAR) FROM lockstep_log WHERE action = 'rollback' ORDER BY id",
        _ => "SELECT version || ' ' || action FROM lockstep_log WHERE action = 'rollback' ORDER BY id",
    });
    assert_eq!(log, ["0005 rollback", "0004 rollback", "0003 rollback"]);
    // Rolled-back migrations are pending again.
    let again = t.run(&["apply"]);
    again.assert_ok();
    assert_eq!(
        again.distinct_versions("/database/applied"),
        ["0003", "0004", "0005", "0006"]
    );
});

dialects!(missing_down_is_refused_before_anything_runs, |t: Test| {
    t.migration(
        "0001_a.sql",
        "-- lockstep:up\nCREATE TABLE a (id INT);\n-- lockstep:down\nDROP TABLE a;\n",
    );
    t.migration("0002_b.sql", "CREATE TABLE b (id INT);\n");
    t.migration(
        "0003_c.sql",
        "-- lockstep:up\nCREATE TABLE c (id INT);\n-- lockstep:down\nDROP TABLE c;\n",
    );
    t.run(&["apply"]).assert_ok();
    let out = t.run(&["rollback", "--to", "0000"]);
    out.assert_failed().assert_msg_contains(&[
        "nothing rolled back",
        "0002",
        "no `-- lockstep:down`",
    ]);
    assert_eq!(
        t.db().history(),
        ["0001:applied", "0002:applied", "0003:applied"]
    );
    assert!(t.db().tables().contains(&"c".to_owned()));
});

#[test]
fn rollback_removes_a_secret_key_the_migration_added() {
    const SECRET: &str = "Added-S3cret-Qx";
    let t = Test::new();
    t.write("app.ini", "[db]\nhost = h\n");
    t.write(
        "config-migrations/0001_base.yaml",
        "file: app.ini\noperations:\n  - set: {section: db, key: pool, value: 5}\n",
    );
    t.write(
        "config-migrations/0002_secret.yaml",
        format!("file: app.ini\noperations:\n  - set: {{section: db, key: password, value: {SECRET}, secret: true}}\n  - set: {{section: db, key: pool, value: 9}}\n"),
    );
    t.run(&["apply"]).assert_ok();
    assert_eq!(
        t.read("app.ini"),
        format!("[db]\nhost = h\npool = 9\npassword = {SECRET}\n").as_bytes()
    );
    let out = t.run(&["rollback", "--to", "0001"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], true);
    assert_eq!(t.read("app.ini"), b"[db]\nhost = h\npool = 5\n");
    t.run(&["verify"]).assert_ok();
    // Applied again, then overwritten by a later secret: that one's prior
    // value is a hash, and rollback refuses it, naming the key.
    t.run(&["apply"]).assert_ok();
    t.write(
        "config-migrations/0003_rotate.yaml",
        "file: app.ini\noperations:\n  - set: {section: db, key: password, value: Rotated-S3cret-Qx, secret: true}\n",
    );
    t.run(&["apply"]).assert_ok();
    let out = t.run(&["rollback", "--to", "0002"]);
    out.assert_failed().assert_msg_contains(&[
        "config migration 0003 set the secret key db.password",
        "restore it by hand",
    ]);
    assert!(!out.stdout.contains(SECRET));
    assert_eq!(
        t.read("app.ini"),
        b"[db]\nhost = h\npool = 9\npassword = Rotated-S3cret-Qx\n"
    );
}

/// Two database migrations with `down` SQL and a config migration that
/// creates a section, all applied.
fn three_to_undo(t: &Test, drop_index: &str) {
    t.migration(
        "0001_a.sql",
        "-- lockstep:up\nCREATE TABLE a (id INT);\n-- lockstep:down\nDROP TABLE a;\n",
    );
    t.migration(
        "0002_b.sql",
        "-- lockstep:up\nCREATE TABLE b (id INT);\n-- lockstep:down\nDROP TABLE b;\n",
    );
    t.migration(
        "0003_c.sql",
        &format!(
            "-- lockstep:up\nCREATE TABLE c (id INT);\nCREATE INDEX c_id ON c (id);\n\
             -- lockstep:down\n{drop_index};\nDROP TABLE c;\n"
        ),
    );
    t.write("app.ini", "[server]\nworkers = 4\n");
    t.write(
        "config-migrations/0002_cache.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 8}\n  \
         - set: {section: cache, key: backend, value: redis}\n",
    );
    t.run(&["apply"]).assert_ok();
}

dialects!(
    rollback_preview_names_each_migration_with_its_down_sql,
    |t: Test| {
        // MariaDB's DROP INDEX names the table.
        let drop_index = if t.db().kind == crate::databases::Kind::Mysql {
            "DROP INDEX c_id ON c"
        } else {
            "DROP INDEX c_id"
        };
        three_to_undo(&t, drop_index);
        let out = t.run(&["rollback", "--to", "0001", "--check", "--diff"]);
        out.assert_ok();
        assert_eq!(out.json["changed"], true);
        assert_eq!(
        out.msg(),
        "would roll back database migrations 0003_c, 0002_b to 0001 and config migration 0002 (app.ini) to 0001"
    );
        let r = out.json["rollback"].as_array().unwrap();
        assert_eq!(r.len(), 3, "{}", out.stdout);
        assert_eq!(r[0]["side"], "database");
        assert_eq!(r[0]["version"], "0003");
        assert_eq!(
            r[0]["down"],
            serde_json::json!([drop_index, "DROP TABLE c"])
        );
        assert_eq!(r[1]["version"], "0002");
        assert_eq!(r[1]["down"], serde_json::json!(["DROP TABLE b"]));
        assert_eq!(r[2]["side"], "config");
        assert_eq!(r[2]["file"], "app.ini");
        assert_eq!(
            r[2]["restores"],
            serde_json::json!([
                "server.workers = 4",
                "cache.backend removed (it was not there)"
            ])
        );
        let sql = out.json["diff"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["before_header"] == "database")
            .unwrap()["prepared"]
            .clone();
        assert_eq!(
            sql,
            format!(
                "-- 0003_c (down)\n{drop_index};\nDROP TABLE c;\n-- 0002_b (down)\nDROP TABLE b;\n"
            )
        );
        let file = out.json["diff"]
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["before_header"] == "app.ini")
            .unwrap();
        assert_eq!(file["after"], "[server]\nworkers = 4\n");
        // A preview: nothing changed.
        assert_eq!(
            t.db().history(),
            ["0001:applied", "0002:applied", "0003:applied"]
        );
        assert!(String::from_utf8(t.read("app.ini"))
            .unwrap()
            .contains("[cache]"));

        // The real run does what the preview said, and leaves no empty [cache].
        let real = t.run(&["rollback", "--to", "0001"]);
        real.assert_ok();
        assert_eq!(
        real.msg(),
        "rolled back database migrations 0003_c, 0002_b to 0001 and config migration 0002 (app.ini) to 0001"
    );
        assert_eq!(t.read("app.ini"), b"[server]\nworkers = 4\n");
        assert_eq!(
            t.db().history(),
            ["0001:applied", "0002:rolled_back", "0003:rolled_back"]
        );
    }
);

#[test]
fn database_and_config_targets_are_separate() {
    let Some(t) = Test::with_db(crate::databases::Kind::Sqlite) else {
        return;
    };
    three_to_undo(&t, "DROP INDEX c_id");
    let out = t.run(&["rollback", "--database-to", "0002"]);
    out.assert_ok();
    assert_eq!(out.msg(), "rolled back database migration 0003_c to 0002");
    assert_eq!(out.json["config_rolled_back"], serde_json::json!([]));
    assert_eq!(
        t.db().history(),
        ["0001:applied", "0002:applied", "0003:rolled_back"]
    );
    assert!(String::from_utf8(t.read("app.ini"))
        .unwrap()
        .contains("workers = 8"));

    let out = t.run(&["rollback", "--config-to", "0001"]);
    out.assert_ok();
    assert_eq!(
        out.msg(),
        "rolled back config migration 0002 (app.ini) to 0001"
    );
    assert_eq!(t.read("app.ini"), b"[server]\nworkers = 4\n");
    assert_eq!(
        t.db().history(),
        ["0001:applied", "0002:applied", "0003:rolled_back"]
    );

    // --to sets both, a side's own flag overrides it.
    t.run(&["apply"]).assert_ok();
    let out = t.run(&[
        "rollback",
        "--to",
        "0001",
        "--database-to",
        "0002",
        "--check",
    ]);
    out.assert_ok();
    assert_eq!(
        out.msg(),
        "would roll back database migration 0003_c to 0002 and config migration 0002 (app.ini) to 0001"
    );
}

#[test]
fn a_section_with_a_comment_stays_after_rollback() {
    let t = Test::new();
    t.write("app.ini", "[server]\nworkers = 4\n");
    t.write(
        "config-migrations/0001_cache.yaml",
        "file: app.ini\noperations:\n  - set: {section: cache, key: backend, value: redis}\n",
    );
    t.run(&["apply"]).assert_ok();
    // Someone wrote a note into the new section.
    t.write(
        "app.ini",
        "[server]\nworkers = 4\n\n[cache]\n; tuned by ops\nbackend = redis\n",
    );
    t.run(&["resolve", "--adopt", "app.ini"]).assert_ok();
    t.run(&["rollback", "--to", "0000"]).assert_ok();
    assert_eq!(
        t.read("app.ini"),
        b"[server]\nworkers = 4\n\n[cache]\n; tuned by ops\n"
    );
}
