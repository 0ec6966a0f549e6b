//! `rollback --to V` runs `down` sections newest first and records it; a
//! missing `down` is refused before anything runs.

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
