//! A folder shared by three dialects, where some migrations have SQL for
//! one dialect only: on the others they are recorded `skipped` (JSON part
//! `skipped`, state `skipped` in status), never run, never pending, and
//! never in the way of later migrations.

use crate::test::Test;

dialects!(merged_three_dialect_folder, |t: Test| {
    t.migration(
        "0001_users.sql",
        "CREATE TABLE users (id INT PRIMARY KEY);\n",
    );
    t.migration(
        "0002_users_index.sql",
        "-- lockstep:up dialect=postgres\nCREATE INDEX users_pg ON users (id);\n",
    );
    t.migration(
        "0003_users_index.sql",
        "-- lockstep:up dialect=mysql\nCREATE INDEX users_my ON users (id);\n\
         -- lockstep:up dialect=sqlite\nCREATE INDEX users_lite ON users (id);\n",
    );
    t.migration(
        "0004_posts.sql",
        "CREATE TABLE posts (id INT PRIMARY KEY);\n",
    );
    let dialect = t.db().url.split(':').next().unwrap().to_owned();
    let (pg, other) = ("expand", "skipped");
    let (p2, p3) = if dialect == "postgres" {
        (pg, other)
    } else {
        (other, pg)
    };

    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(
        out.version_and("/database/applied", "part"),
        [
            "0001:expand".to_owned(),
            format!("0002:{p2}"),
            format!("0003:{p3}"),
            "0004:expand".to_owned()
        ]
    );
    assert_eq!(out.json["database"]["current"], "0004");
    let state = |p: &str| if p == "skipped" { "skipped" } else { "applied" };
    assert_eq!(
        t.db().history(),
        [
            "0001:applied".to_owned(),
            format!("0002:{}", state(p2)),
            format!("0003:{}", state(p3)),
            "0004:applied".to_owned()
        ]
    );
    let indexes = t
        .db()
        .catalog("users")
        .into_iter()
        .filter(|c| ["index users_pg", "index users_my", "index users_lite"].contains(&c.as_str()))
        .collect::<Vec<_>>();
    assert_eq!(indexes.len(), 1, "{indexes:?}");

    let again = t.run(&["apply"]);
    again.assert_ok();
    assert_eq!(again.json["changed"], false, "{}", again.stdout);
    assert_eq!(again.json["warnings"], serde_json::json!([]));

    let status = t.run(&["status"]);
    status.assert_ok();
    let states = status.version_and("/database/migrations", "state");
    assert_eq!(states[1], format!("0002:{}", state(p2)));

    t.migration("0005_tags.sql", "CREATE TABLE tags (id INT PRIMARY KEY);\n");
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(
        out.version_and("/database/applied", "part"),
        ["0005:expand"]
    );
});

/// `lint` names a migration whose dialects differ from its neighbours'; a
/// complementary pair (one file per dialect group) and a reasoned
/// `lint-ignore` are not findings.
#[test]
fn lint_reports_coverage_that_differs_from_the_neighbours() {
    let t = Test::new();
    t.migration(
        "0001_users.sql",
        "CREATE TABLE users (id INT PRIMARY KEY);\n",
    );
    t.migration(
        "0002_users_index.sql",
        "-- lockstep:up dialect=postgres\nCREATE TABLE pg_only (id INT PRIMARY KEY);\n",
    );
    t.migration(
        "0003_posts.sql",
        "CREATE TABLE posts (id INT PRIMARY KEY);\n",
    );
    let out = t.run(&["lint"]);
    out.assert_failed();
    let findings = out.json["findings"].as_array().unwrap();
    assert_eq!(findings.len(), 1, "{}", out.stdout);
    assert_eq!(findings[0]["rule"], "dialect_coverage");
    assert_eq!(findings[0]["path"], "migrations/0002_users_index.sql");
    let message = findings[0]["message"].as_str().unwrap();
    assert!(
        message.starts_with(
            "up SQL for postgres only, while 0001 and 0003 have it for postgres, mysql, sqlite: "
        ),
        "{message}"
    );

    t.migration(
        "0002_users_index.sql",
        "-- lockstep:lint-ignore dialect_coverage the other databases need no index here\n\
         -- lockstep:up dialect=postgres\nCREATE TABLE pg_only (id INT PRIMARY KEY);\n",
    );
    t.run(&["lint"]).assert_ok();

    t.migration(
        "0002_users_index.sql",
        "-- lockstep:up dialect=postgres\nCREATE TABLE pg_only (id INT PRIMARY KEY);\n",
    );
    t.migration(
        "0003_posts.sql",
        "-- lockstep:up dialect=mysql\nCREATE TABLE my_only (id INT PRIMARY KEY);\n\
         -- lockstep:up dialect=sqlite\nCREATE TABLE lite_only (id INT PRIMARY KEY);\n",
    );
    t.migration("0004_tags.sql", "CREATE TABLE tags (id INT PRIMARY KEY);\n");
    t.run(&["lint"]).assert_ok();
}
