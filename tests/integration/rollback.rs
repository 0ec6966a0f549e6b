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
