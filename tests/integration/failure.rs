//! A migration that fails halfway. PostgreSQL and SQLite roll it back with
//! its history row; MariaDB records it failed with the statement, refuses
//! the next run naming `resolve`, and proceeds after `resolve`.

use crate::databases::Kind;
use crate::test::Test;

const BROKEN: &str = "-- lockstep:up\nCREATE TABLE half (id INT);\nINSERT INTO half VALUES (1);\nINSERT INTO no_such_table VALUES (1);\n";

dialects!(failing_migration_halfway, |t: Test| {
    t.migration("0001_ok.sql", "CREATE TABLE ok (id INT);\n");
    t.migration("0002_broken.sql", BROKEN);
    let out = t.run(&["apply"]);
    out.assert_failed().assert_msg_contains(&[
        "0002",
        "migrations/0002_broken.sql",
        "line 4",
        "no_such_table",
    ]);
    assert_eq!(out.versions("/database/applied"), ["0001"]);
    let failed = &out.json["database"]["failed_migration"];
    assert_eq!(failed["version"], "0002");
    assert_eq!(failed["line"], 4);
    assert_eq!(failed["statement"], "INSERT INTO no_such_table VALUES (1)");

    if t.db().kind == Kind::Mysql {
        // DDL committed on its own: the table is there, the row says failed.
        assert!(t.db().tables().contains(&"half".to_owned()));
        assert_eq!(t.db().history(), ["0001:applied", "0002:failed"]);
        let again = t.run(&["apply"]);
        again.assert_failed().assert_msg_contains(&[
            "0002",
            "lockstep resolve 0002 --mark-applied",
            "--mark-rolled-back",
        ]);
        // The operator undoes it by hand and says so.
        t.db().execute("DROP TABLE half");
        t.run(&["resolve", "0002", "--mark-rolled-back"])
            .assert_ok();
        assert_eq!(t.db().history(), ["0001:applied", "0002:rolled_back"]);
        // Fixed file: the next run proceeds.
        t.migration(
            "0002_broken.sql",
            "-- lockstep:up\nCREATE TABLE half (id INT);\n",
        );
        let out = t.run(&["apply"]);
        out.assert_ok();
        assert_eq!(out.versions("/database/applied"), ["0002"]);
    } else {
        // Exactly as before: no table, no history row.
        let mut tables = t.db().tables();
        tables.retain(|t| !t.starts_with("lockstep_"));
        assert_eq!(tables, ["ok"]);
        assert_eq!(t.db().history(), ["0001:applied"]);
        let again = t.run(&["apply"]);
        again.assert_failed();
        assert_eq!(
            again.json["database"]["failed_migration"]["version"],
            "0002"
        );
    }
});

dialects!(resolve_mark_applied_lets_the_next_run_proceed, |t: Test| {
    // Only non-transactional runs leave a `failed` row on every database.
    t.migration("0001_broken.sql", "-- lockstep:up transaction=false\nCREATE TABLE one (id INT);\nSELECT * FROM missing_table;\n");
    t.migration("0002_next.sql", "CREATE TABLE two (id INT);\n");
    t.run(&["apply"]).assert_failed();
    assert_eq!(t.db().history(), ["0001:failed"]);
    t.run(&["apply"])
        .assert_failed()
        .assert_msg_contains(&["lockstep resolve 0001"]);
    t.run(&["resolve", "0002", "--mark-applied"])
        .assert_failed()
        .assert_msg_contains(&["0002"]);
    t.run(&["resolve", "0001", "--mark-applied"]).assert_ok();
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.versions("/database/applied"), ["0002"]);
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
});
