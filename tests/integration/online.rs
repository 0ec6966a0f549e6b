//! Zero-downtime migrations end to end, on all three databases: online
//! rename and type change under load from old and new application
//! versions, NOT NULL columns with a backfill, a backfill killed and
//! resumed, contract gated on the fleet, rollback of an expand under load.

use crate::databases::Kind;
use crate::load::{differs, seed_users, users_table, Runner, Workload};
use crate::test::Test;
use std::time::Duration;

const ROWS: u64 = 100_000;

fn setup_users(t: &Test, rows: u64) {
    let kind = t.db().kind;
    t.migration(
        "0001_users.sql",
        &format!(
            "-- lockstep:up\n{};\n{};\n",
            users_table(kind),
            seed_users(kind, rows)
        ),
    );
    t.run(&["apply"]).assert_ok();
    assert_eq!(t.db().count("SELECT COUNT(*) FROM users"), rows as i64);
}

fn workload(name: &'static str, statements: &[&str], inserts: u64) -> Workload {
    Workload {
        name,
        statements: statements.iter().map(|s| s.to_string()).collect(),
        inserts_per_round: inserts,
    }
}

fn pause() {
    std::thread::sleep(Duration::from_millis(700));
}

dialects!(online_rename_under_load, |t: Test| {
    let kind = t.db().kind;
    setup_users(&t, ROWS);
    // Release 1 is live: it writes and reads only `mail`.
    let old_writer = Runner::start(
        &t.db().url,
        kind,
        workload(
            "old-writer",
            &[
                "INSERT INTO users (name, mail) VALUES ('{n}', '{n}@old')",
                "UPDATE users SET mail = 'upd-{n}@old' WHERE id = {id}",
            ],
            1,
        ),
        ROWS,
    );
    let old_reader = Runner::start(
        &t.db().url,
        kind,
        workload("old-reader", &["SELECT mail FROM users WHERE id = {id}"], 0),
        ROWS,
    );
    pause();
    t.migration(
        "0002_rename_mail.yaml",
        "operations:\n  - rename_column: {table: users, from: mail, to: email}\n",
    );
    let expand = t.run(&["apply", "--phase", "expand"]);
    expand.assert_ok();
    assert_eq!(expand.json["database"]["applied"][0]["part"], "expand");
    assert_eq!(expand.json["backfills"][0]["table"], "users");
    // Rows the old writer updated meanwhile were synced by the trigger.
    assert!(expand.json["backfills"][0]["rows"].as_i64().unwrap() > ROWS as i64 / 2);
    // Release 2 rolls out beside release 1: it uses only `email`.
    let new_writer = Runner::start(
        &t.db().url,
        kind,
        workload(
            "new-writer",
            &[
                "INSERT INTO users (name, email) VALUES ('{n}', '{n}@new')",
                "UPDATE users SET email = 'upd-{n}@new' WHERE id = {id}",
            ],
            1,
        ),
        ROWS,
    );
    let new_reader = Runner::start(
        &t.db().url,
        kind,
        workload(
            "new-reader",
            &["SELECT email FROM users WHERE id = {id}"],
            0,
        ),
        ROWS,
    );
    let disagree = format!(
        "SELECT COUNT(*) FROM users WHERE {}",
        differs(kind, "mail", "email")
    );
    for _ in 0..4 {
        pause();
        let n = t.db().count(&disagree);
        if n > 0 {
            let rows = t.db().strings(&format!("SELECT CAST(id AS TEXT) || ' ' || COALESCE(mail, 'NULL') || ' ' || COALESCE(email, 'NULL') FROM users WHERE {} LIMIT 5", differs(kind, "mail", "email")));
            panic!("{n} rows disagree: {rows:?}");
        }
    }
    // Release 1 is gone; contract.
    let (_, old_inserted) = old_writer.stop();
    old_reader.stop();
    let contract = t.run(&["apply", "--phase", "contract"]);
    contract.assert_ok();
    assert_eq!(contract.json["database"]["applied"][0]["part"], "contract");
    pause();
    let (_, new_inserted) = new_writer.stop();
    new_reader.stop();
    let columns = t
        .db()
        .catalog("users")
        .into_iter()
        .filter(|c| {
            !c.starts_with("index") && !c.starts_with("trigger") && !c.starts_with("function")
        })
        .map(|c| c.split(' ').next().unwrap().to_owned())
        .collect::<Vec<_>>();
    assert_eq!(columns, ["id", "name", "email"]);
    assert_eq!(
        t.db().count("SELECT COUNT(*) FROM users"),
        (ROWS + old_inserted + new_inserted) as i64,
        "rows lost"
    );
    assert_eq!(
        t.db()
            .count("SELECT COUNT(*) FROM users WHERE email IS NULL"),
        0
    );
    assert_eq!(t.db().history(), ["0001:applied", "0002:contracted"]);
});

/// Per dialect: the integer type and casts for the price test.
fn casts(kind: Kind) -> (&'static str, &'static str, &'static str) {
    match kind {
        Kind::Postgres => (
            "BIGINT",
            "CAST(price AS BIGINT)",
            "CAST(price_num AS VARCHAR(20))",
        ),
        Kind::Mysql => (
            "BIGINT",
            "CAST(price AS SIGNED)",
            "CAST(price_num AS CHAR(20))",
        ),
        Kind::Sqlite => (
            "INTEGER",
            "CAST(price AS INTEGER)",
            "CAST(price_num AS TEXT)",
        ),
    }
}

dialects!(alter_column_type_change_under_load, |t: Test| {
    let kind = t.db().kind;
    let rows = ROWS;
    let table = match kind {
        Kind::Postgres => "CREATE TABLE items (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, price VARCHAR(20))",
        Kind::Mysql => "CREATE TABLE items (id BIGINT AUTO_INCREMENT PRIMARY KEY, price VARCHAR(20)) ENGINE=InnoDB",
        Kind::Sqlite => "CREATE TABLE items (id INTEGER PRIMARY KEY, price VARCHAR(20))",
    };
    let seed = seed_users(kind, rows)
        .replace(
            "INSERT INTO users (name, mail)",
            "INSERT INTO items (price)",
        )
        .replace(
            "SELECT 'u' || g, 'u' || g || '@x'",
            "SELECT CAST(g AS VARCHAR(20))",
        )
        .replace(
            "SELECT CONCAT('u', n), CONCAT('u', n, '@x')",
            "SELECT CAST(n AS CHAR(20))",
        )
        .replace(
            "SELECT 'u' || n, 'u' || n || '@x'",
            "SELECT CAST(n AS TEXT)",
        );
    t.migration(
        "0001_items.sql",
        &format!("-- lockstep:up\n{table};\n{seed};\n"),
    );
    t.run(&["apply"]).assert_ok();
    let old = Runner::start(
        &t.db().url,
        kind,
        workload(
            "old-writer",
            &[
                "INSERT INTO items (price) VALUES ('42')",
                "UPDATE items SET price = '7' WHERE id = {id}",
            ],
            1,
        ),
        rows,
    );
    pause();
    let (ty, up, down) = casts(kind);
    t.migration(
        "0002_price_number.yaml",
        &format!("operations:\n  - alter_column:\n      table: items\n      column: price\n      to: price_num\n      type: {ty}\n      up: \"{up}\"\n      down: \"{down}\"\n"),
    );
    t.run(&["apply", "--phase", "expand"]).assert_ok();
    let new = Runner::start(
        &t.db().url,
        kind,
        workload(
            "new-writer",
            &[
                "INSERT INTO items (price_num) VALUES (99)",
                "UPDATE items SET price_num = 13 WHERE id = {id}",
            ],
            1,
        ),
        rows,
    );
    pause();
    pause();
    let wrong = format!(
        "SELECT COUNT(*) FROM items WHERE {}",
        differs(kind, "price_num", up)
    );
    assert_eq!(t.db().count(&wrong), 0);
    let (_, a) = old.stop();
    t.run(&["apply", "--phase", "contract"]).assert_ok();
    let (_, b) = new.stop();
    assert_eq!(
        t.db().count("SELECT COUNT(*) FROM items"),
        (rows + a + b) as i64
    );
    assert_eq!(
        t.db()
            .count("SELECT COUNT(*) FROM items WHERE price_num IS NULL"),
        0
    );
    assert!(
        t.db()
            .count("SELECT COUNT(*) FROM items WHERE price_num = 13")
            > 0
    );
});

dialects!(add_not_null_column_with_backfill_under_load, |t: Test| {
    let kind = t.db().kind;
    setup_users(&t, ROWS);
    let old = Runner::start(
        &t.db().url,
        kind,
        workload(
            "old-writer",
            &[
                "INSERT INTO users (name, mail) VALUES ('{n}', 'x')",
                "UPDATE users SET name = 'renamed-{n}' WHERE id = {id}",
            ],
            1,
        ),
        ROWS,
    );
    pause();
    t.migration(
        "0002_name_length.yaml",
        "operations:\n  - add_column:\n      table: users\n      column: {name: name_len, type: INTEGER, nullable: false}\n      up: LENGTH(name)\n",
    );
    t.run(&["apply", "--phase", "expand"]).assert_ok();
    pause();
    let (_, inserted) = old.stop();
    let contract = t.run(&["apply", "--phase", "contract"]);
    contract.assert_ok();
    assert_eq!(
        t.db()
            .count("SELECT COUNT(*) FROM users WHERE name_len IS NULL"),
        0
    );
    // Rows never renamed (seeded, or inserted by old code during expand)
    // hold exactly up(row); renamed ones keep the value they were given.
    assert_eq!(
        t.db().count(&format!(
            "SELECT COUNT(*) FROM users WHERE name NOT LIKE 'renamed-%' AND {}",
            differs(kind, "name_len", "LENGTH(name)")
        )),
        0
    );
    assert_eq!(
        t.db().count("SELECT COUNT(*) FROM users"),
        (ROWS + inserted) as i64
    );
    if kind != Kind::Sqlite {
        // The column is NOT NULL now.
        assert!(
            t.db()
                .catalog("users")
                .iter()
                .any(|c| c.starts_with("name_len ") && (c.ends_with(" NO"))),
            "{:?}",
            t.db().catalog("users")
        );
    }
});

dialects!(killed_backfill_resumes_where_it_stopped, |t: Test| {
    let kind = t.db().kind;
    setup_users(&t, 20_000);
    t.migration(
        "0002_rename_mail.yaml",
        "operations:\n  - rename_column: {table: users, from: mail, to: email}\n",
    );
    let mut child = t
        .command(&[
            "apply",
            "--phase",
            "expand",
            "--batch-size",
            "100",
            "--batch-sleep",
            "10",
        ])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    // Wait until some batches have committed, then kill -9.
    let progress = "SELECT COUNT(*) FROM lockstep_backfills WHERE batches >= 20";
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    loop {
        let tables = t.db().tables();
        if tables.contains(&"lockstep_backfills".to_owned()) && t.db().count(progress) > 0 {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the backfill never got going"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    let done_before = t.db().count("SELECT batches FROM lockstep_backfills");
    let last_key = t.db().count("SELECT last_key FROM lockstep_backfills");
    assert!((20..200).contains(&done_before), "{done_before} batches");
    assert_eq!(t.db().count("SELECT finished FROM lockstep_backfills"), 0);
    assert_eq!(t.db().history(), ["0001:applied", "0002:expanded"]);

    let resumed = t.run(&["backfill", "--batch-size", "100"]);
    resumed.assert_ok();
    let b = &resumed.json["backfills"][0];
    assert_eq!(b["resumed_after"], last_key, "{}", resumed.stdout);
    // 20,000 rows, each counted by exactly one committed batch (none done
    // twice); batches of 100, so 200 of them unless a batch slower than the
    // time budget made the next ones smaller (a loaded machine).
    assert_eq!(
        t.db().count("SELECT rows_done FROM lockstep_backfills"),
        20_000
    );
    let batches = t.db().count("SELECT batches FROM lockstep_backfills");
    assert!(batches >= 200, "{batches} batches");
    assert_eq!(
        b["batches"].as_i64().unwrap(),
        batches,
        "{}",
        resumed.stdout
    );
    assert_eq!(t.db().count("SELECT finished FROM lockstep_backfills"), 1);
    assert_eq!(t.db().history(), ["0001:applied", "0002:backfilled"]);
    let _ = kind;
    t.run(&["apply", "--phase", "contract"]).assert_ok();
    assert_eq!(
        t.db()
            .count("SELECT COUNT(*) FROM users WHERE email IS NULL"),
        0
    );
});

dialects!(
    backfill_covers_sparse_negative_and_extreme_keys,
    |t: Test| {
        // Keys with growing gaps, negative ones, and both ends of BIGINT: at
        // the default batch size each batch's key range is cut into several
        // UPDATE statements on a server, and no row may fall between two of
        // them.
        let mut keys: Vec<i64> = (0..1_000i64).map(|i| i * i - 250_000).collect();
        keys.extend([i64::MIN + 1, i64::MAX, i64::MAX - 1, -1, 0]);
        keys.sort();
        keys.dedup();
        let inserts: Vec<String> = keys
            .chunks(200)
            .map(|chunk| {
                let rows: Vec<String> = chunk
                    .iter()
                    .map(|k| format!("({k}, {})", k % 1000))
                    .collect();
                format!("INSERT INTO points (id, val) VALUES {};\n", rows.join(", "))
            })
            .collect();
        t.migration(
            "0001_points.sql",
            &format!(
            "-- lockstep:up\nCREATE TABLE points (id BIGINT PRIMARY KEY, val BIGINT NOT NULL);\n{}",
            inserts.concat()
        ),
        );
        t.run(&["apply"]).assert_ok();
        t.migration(
        "0002_doubled.yaml",
        "operations:\n  - add_column:\n      table: points\n      column: {name: doubled, type: BIGINT, nullable: false}\n      up: val * 2\n",
    );
        let out = t.run(&["apply", "--phase", "expand"]);
        out.assert_ok();
        let b = &out.json["backfills"][0];
        let n = keys.len() as i64;
        assert_eq!(b["rows"].as_i64().unwrap(), n, "{}", out.stdout);
        assert_eq!(
            b["batches"].as_i64().unwrap(),
            (n + 999) / 1000,
            "{}",
            out.stdout
        );
        assert_eq!(b["last_key"].as_i64().unwrap(), i64::MAX, "{}", out.stdout);
        assert_eq!(
            t.db()
                .count("SELECT COUNT(*) FROM points WHERE doubled IS NULL OR doubled <> val * 2"),
            0
        );
        t.run(&["apply", "--phase", "contract"]).assert_ok();
        assert_eq!(t.db().count("SELECT COUNT(*) FROM points"), n);
    }
);

dialects!(contract_waits_for_every_host, |t: Test| {
    setup_users(&t, 100);
    // Host b checked in with release 1 (only 0001 in its files).
    let b = t.run(&["--host-id", "b", "apply"]);
    b.assert_ok();
    t.migration(
        "0002_rename_mail.yaml",
        "operations:\n  - rename_column: {table: users, from: mail, to: email}\n",
    );
    let a = t.run(&["--host-id", "a", "apply", "--phase", "expand"]);
    a.assert_ok();
    // Host c did the same as b, then was decommissioned.
    let refused = t.run(&["--host-id", "a", "apply", "--phase", "contract"]);
    refused.assert_failed().assert_msg_contains(&[
        "contract of migration 0002 refused",
        "b (at 0001)",
        "test-host (at 0001)",
        "hosts --retire",
    ]);
    assert_eq!(t.db().history(), ["0001:applied", "0002:backfilled"]);
    // b upgrades; the test's default host is retired.
    t.run(&["--host-id", "b", "apply", "--phase", "expand"])
        .assert_ok();
    t.run(&["hosts", "--retire", "test-host"]).assert_ok();
    let ok = t.run(&["--host-id", "a", "apply", "--phase", "contract"]);
    ok.assert_ok();
    assert_eq!(t.db().history(), ["0001:applied", "0002:contracted"]);
});

dialects!(
    rollback_after_expand_restores_the_schema_under_load,
    |t: Test| {
        let kind = t.db().kind;
        setup_users(&t, ROWS / 10);
        let before = t.db().catalog("users");
        let old = Runner::start(
            &t.db().url,
            kind,
            workload(
                "old-writer",
                &[
                    "INSERT INTO users (name, mail) VALUES ('{n}', '{n}@old')",
                    "UPDATE users SET mail = 'upd-{n}' WHERE id = {id}",
                    "SELECT mail FROM users WHERE id = {id}",
                ],
                1,
            ),
            ROWS / 10,
        );
        pause();
        t.migration("0002_rename_mail.yaml", "operations:\n  - rename_column: {table: users, from: mail, to: email}\n  - create_index: {table: users, name: users_name_idx, columns: [name]}\n");
        t.run(&["apply", "--phase", "expand"]).assert_ok();
        assert_ne!(t.db().catalog("users"), before);
        pause();
        let out = t.run(&["rollback", "--to", "0001"]);
        out.assert_ok();
        assert_eq!(out.versions("/database/rolled_back"), ["0002"]);
        pause();
        let (_, inserted) = old.stop();
        assert_eq!(t.db().catalog("users"), before);
        assert_eq!(
            t.db().count("SELECT COUNT(*) FROM users"),
            (ROWS / 10 + inserted) as i64
        );
        assert_eq!(t.db().history(), ["0001:applied", "0002:rolled_back"]);
        // It can be applied again.
        t.run(&["apply"]).assert_ok();
        assert_eq!(t.db().history(), ["0001:applied", "0002:contracted"]);
    }
);

#[test]
fn contracted_migration_cannot_be_rolled_back() {
    let t = Test::with_db(Kind::Sqlite).unwrap();
    setup_users(&t, 10);
    t.migration(
        "0002_rename_mail.yaml",
        "operations:\n  - rename_column: {table: users, from: mail, to: email}\n",
    );
    t.run(&["apply"]).assert_ok();
    t.run(&["rollback", "--to", "0001"])
        .assert_failed()
        .assert_msg_contains(&["0002", "is contracted"]);
}

#[test]
fn table_without_a_usable_key_is_refused_before_anything_runs() {
    let t = Test::with_db(Kind::Sqlite).unwrap();
    t.migration(
        "0001_logs.sql",
        "CREATE TABLE logs (msg TEXT, at TEXT);\nINSERT INTO logs VALUES ('a', 'b');\n",
    );
    t.run(&["apply"]).assert_ok();
    t.migration(
        "0002_rename.yaml",
        "operations:\n  - rename_column: {table: logs, from: msg, to: message}\n",
    );
    t.run(&["apply"]).assert_failed().assert_msg_contains(&[
        "0002",
        "logs.message",
        "has no primary key",
    ]);
    assert_eq!(t.db().history(), ["0001:applied"]);
}

// One contract drops a replaced column after the operations that follow
// it: SQLite refuses to drop a column that an index, or another
// operation's sync trigger, still names.
dialects!(
    contract_drops_replaced_columns_after_the_operations_that_follow,
    |t: Test| {
        t.migration(
            "0001_users.sql",
            "CREATE TABLE users (id INTEGER PRIMARY KEY, mail VARCHAR(100), hits INTEGER);\n\
         CREATE INDEX users_mail_idx ON users (mail);\n\
         INSERT INTO users (id, mail, hits) VALUES (1, 'a@x', 1), (2, 'b@x', NULL);\n",
        );
        t.run(&["apply"]).assert_ok();
        t.migration(
            "0002_email.yaml",
            "operations:\n  - rename_column: {table: users, from: mail, to: email}\n  \
         - drop_index: {table: users, name: users_mail_idx}\n  \
         - rename_column: {table: users, from: hits, to: visits}\n  \
         - add_column: {table: users, column: {name: twice, type: BIGINT}, up: hits * 2}\n",
        );
        t.run(&["apply"]).assert_ok();
        assert_eq!(t.db().history(), ["0001:applied", "0002:contracted"]);
        let catalog = t.db().catalog("users");
        let columns: Vec<&str> = catalog
            .iter()
            .filter_map(|l| l.split(' ').next())
            .filter(|w| !["index", "trigger", "function"].contains(w))
            .collect();
        assert_eq!(columns, ["id", "email", "visits", "twice"]);
        assert!(
            !catalog
                .iter()
                .any(|l| l.contains("lockstep") || l.contains("mail_idx")),
            "{catalog:?}"
        );
        assert_eq!(
        t.db()
            .count("SELECT COUNT(*) FROM users WHERE id = 1 AND email = 'a@x' AND visits = 1 AND twice = 2"),
        1
    );
    }
);
