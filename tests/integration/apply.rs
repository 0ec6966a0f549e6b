//! The first apply migrates; the second reports `changed: false`.

use crate::test::{sample_history, Test, SAMPLE_VERSIONS};

dialects!(first_apply_then_nothing_to_do, |t: Test| {
    t.sample_migrations();
    let first = t.run(&["apply"]);
    first.assert_ok();
    assert_eq!(first.json["changed"], true);
    assert_eq!(
        first.distinct_versions("/database/applied"),
        SAMPLE_VERSIONS
    );
    assert_eq!(first.json["database"]["current"], "0006");
    assert_eq!(first.json["msg"], "applied 6 database migrations");
    let parts: Vec<&str> = first.json["database"]["applied"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["part"].as_str().unwrap())
        .collect();
    assert_eq!(
        parts,
        ["expand", "expand", "expand", "expand", "expand", "expand", "contract"]
    );
    for entry in first.json["database"]["applied"].as_array().unwrap() {
        assert!(entry["checksum"].as_str().unwrap().starts_with("sha256:"));
    }
    let mut tables = t.db().tables();
    tables.retain(|t| !t.starts_with("lockstep_"));
    assert_eq!(tables, ["items", "users", "votes"]);
    assert_eq!(t.db().history(), sample_history());

    let second = t.run(&["apply"]);
    second.assert_ok();
    assert_eq!(second.json["changed"], false);
    assert_eq!(second.versions("/database/applied"), Vec::<String>::new());
    assert_eq!(second.json["database"]["current"], "0006");
});

dialects!(host_checks_in_at_its_release, |t: Test| {
    // The release is the newest migration this host's files have, however
    // far the database is.
    t.sample_migrations();
    t.run(&["apply", "--target", "0003"]).assert_ok();
    let hosts = t.run(&["hosts"]);
    hosts.assert_ok();
    assert_eq!(hosts.json["hosts"][0]["host_id"], "test-host");
    assert_eq!(hosts.json["hosts"][0]["version"], "0006");
    assert_eq!(hosts.json["hosts"][0]["retired"], false);
    let retire = t.run(&["hosts", "--retire", "test-host"]);
    retire.assert_ok();
    assert_eq!(retire.json["changed"], true);
    assert_eq!(t.run(&["hosts"]).json["hosts"][0]["retired"], true);
    t.run(&["hosts", "--retire", "nobody"])
        .assert_failed()
        .assert_msg_contains(&["nobody"]);
});

dialects!(target_stops_at_a_version, |t: Test| {
    t.sample_migrations();
    let out = t.run(&["apply", "--target", "0002"]);
    out.assert_ok();
    assert_eq!(out.versions("/database/applied"), ["0001", "0002"]);
    assert_eq!(out.versions("/database/pending"), Vec::<String>::new());
    let status = t.run(&["status"]);
    let states: Vec<String> = status.json["database"]["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            format!(
                "{}:{}",
                m["version"].as_str().unwrap(),
                m["state"].as_str().unwrap()
            )
        })
        .collect();
    assert_eq!(
        states,
        [
            "0001:applied",
            "0002:applied",
            "0003:pending",
            "0004:pending",
            "0005:pending",
            "0006:pending"
        ]
    );
});

dialects!(out_of_order_is_refused_unless_allowed, |t: Test| {
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    t.migration("0003_c.sql", "CREATE TABLE c (id INT);\n");
    t.run(&["apply"]).assert_ok();
    t.migration("0002_b.sql", "CREATE TABLE b (id INT);\n");
    t.run(&["apply"]).assert_failed().assert_msg_contains(&[
        "0002",
        "0002_b.sql",
        "older than 0003",
        "--allow-out-of-order",
    ]);
    assert!(!t.db().tables().contains(&"b".to_owned()));
    let out = t.run(&["apply", "--allow-out-of-order"]);
    out.assert_ok();
    assert_eq!(out.versions("/database/applied"), ["0002"]);
});

#[test]
fn default_database_is_an_embedded_sqlite_file_in_the_state_dir() {
    let t = Test::new();
    t.sample_migrations();
    let (code, stdout, _) = t.run_raw(&["apply"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("changed: applied 6 database migrations"),
        "{stdout}"
    );
    assert!(t.path().join(".lockstep/lockstep.db").is_file());
    let (code, stdout, _) = t.run_raw(&["apply"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("ok: nothing to do"), "{stdout}");
}

#[test]
fn missing_file_of_an_applied_migration_is_a_warning_in_apply_and_drift_in_verify() {
    let t = Test::with_db(crate::databases::Kind::Sqlite).unwrap();
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    t.migration("0002_b.sql", "CREATE TABLE b (id INT);\n");
    t.run(&["apply"]).assert_ok();
    std::fs::remove_file(t.path().join("migrations/0002_b.sql")).unwrap();
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(
        out.json["warnings"][0],
        "applied migration 0002_b has no file in migrations any more; restore it from the \
         release that shipped it so that verify and rollback can check and undo it"
    );
    assert_eq!(out.json["drift"][0]["kind"], "migration_missing");
    t.run(&["verify"])
        .assert_failed()
        .assert_msg_contains(&["0002_b"]);
}
