//! One plan: `plan` shows every statement `apply` will run, a YAML
//! migration's parts as `lockstep sql` prints them, and predicts every
//! refusal `apply` makes with the same message and exit code.

use crate::databases::Kind;
use crate::test::{Output, Test};
use serde_json::Value;

const USERS: &str = "CREATE TABLE users (id INTEGER PRIMARY KEY, mail VARCHAR(100));\n\
INSERT INTO users (id, mail) VALUES (1, 'a@x'), (2, 'b@x'), (3, 'c@x');\n";
const RENAME: &str = "operations:\n  - rename_column: {table: users, from: mail, to: email}\n";

/// `plan`'s SQL for the database, as the `--diff` entry carries it.
fn prepared(plan: &Output) -> String {
    plan.json["diff"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["before_header"] == "database")
        .unwrap_or_else(|| panic!("no database diff in {}", plan.stdout))["prepared"]
        .as_str()
        .unwrap()
        .to_owned()
}

/// What `plan` must show, built from `sql`'s statements part by part.
fn from_sql(sql: &Output) -> String {
    let mut text = String::new();
    for m in sql.json["migrations"].as_array().unwrap() {
        text.push_str(&format!(
            "-- {}_{} ({})\n",
            m["version"].as_str().unwrap(),
            m["slug"].as_str().unwrap(),
            m["part"].as_str().unwrap()
        ));
        for s in m["statements"].as_array().unwrap() {
            text.push_str(s.as_str().unwrap());
            text.push_str(";\n");
        }
    }
    text
}

dialects!(plan_shows_each_yaml_part_as_sql_prints_it, |t: Test| {
    t.migration("0001_users.sql", USERS);
    t.run(&["apply"]).assert_ok();
    t.migration("0002_rename_mail.yaml", RENAME);

    let plan = t.run(&["plan"]);
    plan.assert_ok();
    let sql = t.run(&["sql"]);
    sql.assert_ok();
    let parts: Vec<&str> = sql.json["migrations"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["part"].as_str().unwrap())
        .collect();
    assert_eq!(parts, ["expand", "contract"]);
    let shown = prepared(&plan);
    assert_eq!(shown, from_sql(&sql));
    // The dangerous part is there to read, and the backfill says how big.
    let contract = &shown[shown.find("(contract)").unwrap()..];
    assert!(contract.contains("-- sanity check (must be 0):"), "{shown}");
    assert!(
        contract.contains("DROP COLUMN") || contract.contains("DROP TABLE"),
        "{shown}"
    );
    assert!(
        shown.contains("-- backfill of about 3 rows (the table's rows now), batch after batch"),
        "{shown}"
    );
    assert!(!shown.contains("no up SQL"), "{shown}");

    // After expand, plan shows the contract part still to come, as sql does.
    t.run(&["apply", "--phase", "expand"]).assert_ok();
    let plan = t.run(&["plan", "--phase", "contract"]);
    let sql = t.run(&["sql", "--phase", "contract"]);
    assert_eq!(prepared(&plan), from_sql(&sql));
    assert!(prepared(&plan).starts_with("-- 0002_rename_mail (contract)\n"));
});

/// The human `plan` shows the contract's SQL too (the first finding).
#[test]
fn human_plan_shows_the_contract_that_drops_a_column() {
    let Some(t) = Test::with_db(Kind::Sqlite) else {
        return;
    };
    t.migration("0001_users.sql", USERS);
    t.run(&["apply"]).assert_ok();
    t.migration("0002_rename_mail.yaml", RENAME);
    // The host that applied 0001 (as the real run would, plan gates the
    // contract on every other host's check-in).
    let (code, stdout, _) =
        t.run_raw(&["--database", &t.db().url, "--host-id", "test-host", "plan"]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        stdout.contains("-- 0002_rename_mail (contract)\n-- sanity check (must be 0):\n"),
        "{stdout}"
    );
    assert!(
        stdout.contains("ALTER TABLE \"users\" DROP COLUMN \"mail\";\n"),
        "{stdout}"
    );
}

/// Runs `plan --detailed-exitcode`, `apply --check` and `apply` with `args`
/// and asserts they refuse alike: exit 1, `failed`, the same message and
/// problem kinds. Returns apply's result.
#[track_caller]
fn refused_alike(t: &Test, args: &[&str], kind: &str) -> Output {
    let run = |first: &[&str]| {
        let mut all = first.to_vec();
        all.extend(args);
        t.run(&all)
    };
    let plan = run(&["plan", "--detailed-exitcode"]);
    let check = run(&["apply", "--check"]);
    let apply = run(&["apply"]);
    let kinds = |o: &Output| -> Vec<Value> {
        o.json["problems"]
            .as_array()
            .map(|p| p.iter().map(|p| p["kind"].clone()).collect())
            .unwrap_or_default()
    };
    for (name, o) in [("plan", &plan), ("apply --check", &check)] {
        assert_eq!(o.code, 1, "{name}: {}", o.stdout);
        assert_eq!(o.json["failed"], true, "{name}");
        assert_eq!(o.msg(), apply.msg(), "{name} words it otherwise than apply");
        assert_eq!(kinds(o), kinds(&apply), "{name}");
    }
    apply.assert_failed();
    assert_eq!(kinds(&apply)[0], kind, "{}", apply.stdout);
    apply
}

dialects!(refusal_edited_migration, |t: Test| {
    t.migration("0001_users.sql", USERS);
    t.run(&["apply"]).assert_ok();
    t.migration("0001_users.sql", &format!("{USERS}-- edited\n"));
    t.migration("0002_more.sql", "CREATE TABLE more (id INT);\n");
    let out = refused_alike(&t, &[], "migration_edited");
    out.assert_msg_contains(&["lockstep resolve --restamp db:0001"]);
    assert!(!t.db().tables().contains(&"more".to_owned()));
});

dialects!(refusal_failed_migration_needs_resolve, |t: Test| {
    t.migration(
        "0001_broken.sql",
        "-- lockstep:up transaction=false\nCREATE TABLE one (id INT);\nINSERT INTO nowhere VALUES (1);\n",
    );
    t.run(&["apply"]).assert_failed();
    let out = refused_alike(&t, &[], "migration_failed");
    out.assert_msg_contains(&["failed at line 3", "lockstep resolve 0001 --resume"]);
});

dialects!(refusal_out_of_order, |t: Test| {
    t.migration("0002_second.sql", "CREATE TABLE second (id INT);\n");
    t.run(&["apply"]).assert_ok();
    t.migration("0001_first.sql", "CREATE TABLE first (id INT);\n");
    let out = refused_alike(&t, &[], "out_of_order");
    out.assert_msg_contains(&["--allow-out-of-order"]);
    assert!(!t.db().tables().contains(&"first".to_owned()));
});

/// A project with app.ini managed, then edited by hand, and a new config
/// migration of the key `key`.
fn drifted_config(t: &Test, key: &str) {
    t.write("app.ini", "[server]\nworkers = 4\nlisten = :80\n");
    t.write(
        "config-migrations/0001_workers.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 8}\n",
    );
    t.run(&["apply"]).assert_ok();
    t.write("app.ini", "[server]\nworkers = 16\nlisten = :80\n");
    t.write(
        "config-migrations/0002_more.yaml",
        format!("file: app.ini\noperations:\n  - set: {{section: server, key: {key}, value: x}}\n"),
    );
}

#[test]
fn refusal_config_drift_policy_fail() {
    let t = Test::new();
    drifted_config(&t, "listen");
    refused_alike(&t, &[], "config_drift");
    assert_eq!(t.read("app.ini"), b"[server]\nworkers = 16\nlisten = :80\n");
}

#[test]
fn refusal_config_drift_merge_conflict() {
    let t = Test::new();
    drifted_config(&t, "workers");
    refused_alike(&t, &["--on-drift", "merge"], "config_drift_conflict");
    assert_eq!(t.read("app.ini"), b"[server]\nworkers = 16\nlisten = :80\n");
}

#[test]
fn refusal_edited_config_migration() {
    let t = Test::new();
    t.write("app.ini", "[server]\nworkers = 4\n");
    t.write(
        "config-migrations/0001_workers.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 8}\n",
    );
    t.run(&["apply"]).assert_ok();
    t.write(
        "config-migrations/0001_workers.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 9}\n",
    );
    t.write(
        "config-migrations/0002_more.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: threads, value: 2}\n",
    );
    let out = refused_alike(&t, &[], "config_migration_edited");
    out.assert_msg_contains(&["lockstep resolve --restamp config:0001"]);
}

dialects!(refusal_backfill_without_an_integer_key, |t: Test| {
    t.migration(
        "0001_tags.sql",
        "CREATE TABLE tags (name VARCHAR(20) PRIMARY KEY, mail VARCHAR(100));\n",
    );
    t.run(&["apply"]).assert_ok();
    t.migration(
        "0002_rename_mail.yaml",
        "operations:\n  - rename_column: {table: tags, from: mail, to: email}\n",
    );
    let out = refused_alike(&t, &[], "migration_invalid");
    out.assert_msg_contains(&["0002", "integer primary key"]);
    assert_eq!(t.db().history(), ["0001:applied"]);
});

dialects!(rollback_check_refuses_as_rollback_does, |t: Test| {
    t.migration(
        "0001_users.sql",
        "-- lockstep:up\nCREATE TABLE users (id INT);\n-- lockstep:down\nDROP TABLE users;\n",
    );
    t.migration("0002_no_down.sql", "CREATE TABLE more (id INT);\n");
    t.run(&["apply"]).assert_ok();
    let check = t.run(&["rollback", "--to", "0000", "--check"]);
    let real = t.run(&["rollback", "--to", "0000"]);
    real.assert_failed()
        .assert_msg_contains(&["0002", "no `-- lockstep:down` section"]);
    check.assert_failed();
    assert_eq!(check.msg(), real.msg());
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
});

/// A backfilled migration whose new column someone rewrote behind the sync
/// triggers' back: its contract's sanity check fails, and plan says so.
fn backfilled_then_tampered(t: &Test) {
    t.migration("0001_users.sql", USERS);
    t.migration("0002_rename_mail.yaml", RENAME);
    t.run(&["apply", "--phase", "expand"]).assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:backfilled"]);
    t.db().execute(match t.db().kind {
        Kind::Sqlite => {
            "INSERT INTO lockstep_guard (active) VALUES (1); \
                         UPDATE users SET email = 'wrong@x' WHERE id = 2; \
                         DELETE FROM lockstep_guard"
        }
        _ => {
            "SET session_replication_role = replica; \
              UPDATE users SET email = 'wrong@x' WHERE id = 2"
        }
    });
}

#[test]
fn refusal_sanity_check_before_contract() {
    for kind in [Kind::Sqlite, Kind::Postgres] {
        let Some(t) = Test::with_db(kind) else {
            continue;
        };
        backfilled_then_tampered(&t);
        let out = refused_alike(&t, &["--phase", "contract"], "sanity_check");
        out.assert_msg_contains(&[
            "contract of migration 0002 refused by its sanity check: 1 row of users where mail and email disagree (key: 2)",
        ]);
        assert_eq!(t.db().history(), ["0001:applied", "0002:backfilled"]);
        // --force is the documented way past it, in plan as in apply.
        let plan = t.run(&[
            "plan",
            "--phase",
            "contract",
            "--force",
            "--detailed-exitcode",
        ]);
        assert_eq!(plan.code, 2, "{}", plan.stdout);
    }
}

// A YAML migration that runs next, on a table the database does not have:
// refused before anything runs, and by `plan` alike, naming the table
// (not asking for a `type` as if there were no database).
dialects!(refusal_yaml_on_a_table_that_does_not_exist, |t: Test| {
    t.migration("0001_users.sql", USERS);
    t.run(&["apply"]).assert_ok();
    t.migration(
        "0002_rename.yaml",
        "operations:\n  - rename_column: {table: nowhere, from: mail, to: email}\n",
    );
    let out = refused_alike(&t, &[], "migration_invalid");
    assert_eq!(
        out.msg(),
        "migration 0002 (migrations/0002_rename.yaml): operation 1 (rename_column): table nowhere does not exist"
    );
    assert_eq!(t.db().history(), ["0001:applied"]);
});

// The same migration after one that creates the table, both pending: the
// table is not there yet when `plan` reads the schema, so `plan` does not
// refuse, and `apply` compiles it once the table exists.
dialects!(yaml_on_a_table_created_in_the_same_run, |t: Test| {
    t.migration("0001_users.sql", USERS);
    t.migration("0002_rename_mail.yaml", RENAME);
    let plan = t.run(&["plan"]);
    plan.assert_ok();
    let apply = t.run(&["apply"]);
    apply.assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:contracted"]);
});
