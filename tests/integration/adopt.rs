//! `lockstep adopt`: a database another tool migrated is taken over from
//! that tool's history table, written here exactly as the tool writes it
//! (its own DDL and rows), with the schema its migrations built; and
//! `adopt --baseline` for a database with no history at all.

use crate::databases::{Db, Kind};
use crate::test::Test;
use sha2::{Digest, Sha384};

/// A folder another tool ran: two migrations in the database, one newer.
struct Project {
    /// (file, its SQL as the tool ran it) of the migrations already applied.
    applied: Vec<(&'static str, &'static str)>,
    /// The newer migration's file and content.
    newer: (&'static str, &'static str),
}

fn tables(db: &Db) -> Vec<String> {
    db.tables()
}

/// A test database the tool has written to: SQLite's file exists.
fn with_db(kind: Kind) -> Option<Test> {
    let t = Test::with_db(kind)?;
    if kind == Kind::Sqlite {
        std::fs::write(t.db().sqlite_file(), b"").unwrap();
    }
    Some(t)
}

/// The tool's history table, as the tool creates and fills it.
fn tool_table(db: &Db, statements: &[String]) {
    for s in statements {
        db.execute(s);
    }
}

/// Runs every step of an adoption and what follows it; `up_sql(content)`
/// is the SQL of a file the tool ran (its `up` part).
fn adopt_then_apply(
    t: &Test,
    project: &Project,
    versions: &[&str],
    newer_version: &str,
    up_sql: impl Fn(&str) -> String,
    history: &[String],
    tool_table_name: &str,
) {
    for (file, content) in &project.applied {
        t.migration(file, content);
        t.db().execute(&up_sql(content));
    }
    t.migration(project.newer.0, project.newer.1);
    tool_table(t.db(), history);
    let rows_before = t
        .db()
        .count(&format!("SELECT COUNT(*) FROM {tool_table_name}"));

    let check = t.run(&["adopt", "--check"]);
    check.assert_ok();
    assert_eq!(check.json["changed"], true);
    assert_eq!(check.versions("/adopted"), versions);
    assert_eq!(check.versions("/database/pending"), [newer_version]);
    assert!(
        check
            .msg()
            .starts_with("would adopt 2 migrations recorded by"),
        "{}",
        check.msg()
    );
    assert!(!tables(t.db()).contains(&"lockstep_migrations".to_owned()));

    let out = t.run(&["adopt"]);
    out.assert_ok();
    assert_eq!(out.versions("/adopted"), versions);
    assert_eq!(out.json["adopted_from"], tool_table_name);
    // sqlx's SHA-384 and Flyway's CRC32 of today's files match what they recorded.
    assert_eq!(
        out.json["changed_since_applied"],
        serde_json::json!([]),
        "{}",
        out.stdout
    );
    assert_eq!(
        t.db().history(),
        versions
            .iter()
            .map(|v| format!("{v}:applied"))
            .collect::<Vec<_>>()
    );
    assert_eq!(
        t.db()
            .count(&format!("SELECT COUNT(*) FROM {tool_table_name}")),
        rows_before
    );

    let apply = t.run(&["apply"]);
    apply.assert_ok();
    assert_eq!(apply.versions("/database/applied"), [newer_version]);

    // A file edited after adoption is drift, as for any applied migration.
    let (file, content) = project.applied[0];
    t.migration(file, &format!("{content}\n-- edited\n"));
    t.run(&["apply"])
        .assert_failed()
        .assert_msg_contains(&[versions[0], "was edited after it was applied"]);
    t.migration(file, content);
    t.run(&["adopt"])
        .assert_failed()
        .assert_msg_contains(&["already has lockstep history"]);
}

fn sqlx_project() -> Project {
    Project {
        applied: vec![
            (
                "20240101000000_users.up.sql",
                "CREATE TABLE users (id BIGINT PRIMARY KEY);\n",
            ),
            (
                "20240102000000_posts.sql",
                "-- no-transaction\nCREATE TABLE posts (id BIGINT PRIMARY KEY);\n",
            ),
        ],
        newer: (
            "20240103000000_tags.sql",
            "CREATE TABLE tags (id BIGINT PRIMARY KEY);\n",
        ),
    }
}

fn sha384(content: &str) -> String {
    hex::encode(Sha384::digest(content.as_bytes()))
}

/// sqlx's `_sqlx_migrations` (sqlx-core's migrate code, per database).
fn sqlx_history(kind: Kind, project: &Project, success: &[bool], edited: bool) -> Vec<String> {
    let (installed_on, blob, literal): (&str, &str, fn(&str) -> String) = match kind {
        Kind::Postgres => ("TIMESTAMPTZ NOT NULL DEFAULT now()", "BYTEA", |h| {
            format!("decode('{h}', 'hex')")
        }),
        _ => (
            "TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP",
            "BLOB",
            |h| format!("X'{h}'"),
        ),
    };
    let mut out = vec![format!(
        "CREATE TABLE IF NOT EXISTS _sqlx_migrations (\n    version BIGINT PRIMARY KEY,\n    \
         description TEXT NOT NULL,\n    installed_on {installed_on},\n    success BOOLEAN NOT NULL,\n    \
         checksum {blob} NOT NULL,\n    execution_time BIGINT NOT NULL\n)"
    )];
    for (i, (file, content)) in project.applied.iter().enumerate() {
        let version = file.split('_').next().unwrap();
        let checksum = if edited && i == 1 {
            sha384("CREATE TABLE posts (id INT);\n")
        } else {
            sha384(content)
        };
        out.push(format!(
            "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
             VALUES ({version}, 'm {i}', {}, {}, 1000)",
            success[i],
            literal(&checksum)
        ));
    }
    out
}

fn sqlx(kind: Kind) {
    let Some(t) = with_db(kind) else { return };
    let project = sqlx_project();
    let history = sqlx_history(kind, &project, &[true, true], false);
    adopt_then_apply(
        &t,
        &project,
        &["20240101000000", "20240102000000"],
        "20240103000000",
        |sql| sql.to_owned(),
        &history,
        "_sqlx_migrations",
    );

    // A file changed since sqlx applied it is reported, named with both checksums.
    let Some(t) = with_db(kind) else { return };
    for (file, content) in &project.applied {
        t.migration(file, content);
    }
    tool_table(t.db(), &sqlx_history(kind, &project, &[true, true], true));
    let out = t.run(&["adopt", "--check"]);
    out.assert_ok();
    let warnings = out.json["warnings"].to_string();
    assert!(warnings.contains("migration 20240102000000 (migrations/20240102000000_posts.sql) changed since sqlx applied it (sqlx recorded sha384:"), "{warnings}");
    assert_eq!(
        out.json["changed_since_applied"][0]["version"],
        "20240102000000"
    );
    assert_eq!(
        out.json["changed_since_applied"][0]["recorded"],
        format!("sha384:{}", sha384("CREATE TABLE posts (id INT);\n"))
    );

    // A failed migration (sqlx's dirty state) is refused, naming it.
    let Some(t) = with_db(kind) else { return };
    for (file, content) in &project.applied {
        t.migration(file, content);
    }
    tool_table(t.db(), &sqlx_history(kind, &project, &[true, false], false));
    t.run(&["adopt"]).assert_failed().assert_msg_contains(&[
        "_sqlx_migrations records migration 20240102000000 as failed",
        "lockstep adopts only a clean history",
    ]);
    assert!(!t.db().history_exists());
}

#[test]
fn sqlx_on_sqlite() {
    sqlx(Kind::Sqlite);
}

#[test]
fn sqlx_on_postgres() {
    sqlx(Kind::Postgres);
}

#[test]
fn diesel_on_postgres() {
    let Some(t) = with_db(Kind::Postgres) else {
        return;
    };
    let project = Project {
        applied: vec![
            (
                "2024-01-01-000000_users/up.sql",
                "CREATE TABLE users (id BIGINT PRIMARY KEY);\n",
            ),
            (
                "2024-01-02-000000_posts/up.sql",
                "CREATE TABLE posts (id BIGINT PRIMARY KEY);\n",
            ),
        ],
        newer: (
            "2024-01-03-000000_tags/up.sql",
            "CREATE TABLE tags (id BIGINT PRIMARY KEY);\n",
        ),
    };
    // diesel_migrations' table, and the rows `diesel migration run` writes.
    let history = vec![
        "CREATE TABLE IF NOT EXISTS __diesel_schema_migrations (\n       version VARCHAR(50) PRIMARY KEY NOT NULL,\n       run_on TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n)".to_owned(),
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240101000000')".to_owned(),
        "INSERT INTO __diesel_schema_migrations (version) VALUES ('20240102000000')".to_owned(),
    ];
    adopt_then_apply(
        &t,
        &project,
        &["20240101000000", "20240102000000"],
        "20240103000000",
        |s| s.to_owned(),
        &history,
        "__diesel_schema_migrations",
    );
}

fn flyway_history(project: &Project, success: bool) -> Vec<String> {
    let mut out = vec![
        "CREATE TABLE \"flyway_schema_history\" (\n    \"installed_rank\" INT NOT NULL,\n    \"version\" VARCHAR(50),\n    \
         \"description\" VARCHAR(200) NOT NULL,\n    \"type\" VARCHAR(20) NOT NULL,\n    \"script\" VARCHAR(1000) NOT NULL,\n    \
         \"checksum\" INTEGER,\n    \"installed_by\" VARCHAR(100) NOT NULL,\n    \"installed_on\" TIMESTAMP NOT NULL DEFAULT now(),\n    \
         \"execution_time\" INTEGER NOT NULL,\n    \"success\" BOOLEAN NOT NULL\n)".to_owned(),
        "ALTER TABLE \"flyway_schema_history\" ADD CONSTRAINT \"flyway_schema_history_pk\" PRIMARY KEY (\"installed_rank\")".to_owned(),
        "CREATE INDEX \"flyway_schema_history_s_idx\" ON \"flyway_schema_history\" (\"success\")".to_owned(),
        "INSERT INTO flyway_schema_history VALUES (0, NULL, '<< Flyway Schema Creation >>', 'SCHEMA', '\"public\"', NULL, 'postgres', now(), 0, true)".to_owned(),
    ];
    for (i, (file, content)) in project.applied.iter().enumerate() {
        let version = file[1..].split("__").next().unwrap().replace('_', ".");
        let crc = crc_of(content);
        out.push(format!(
            "INSERT INTO flyway_schema_history VALUES ({}, '{version}', 'm', 'SQL', '{file}', {crc}, 'postgres', now(), 5, {})",
            i + 1,
            success || i == 0
        ));
    }
    out
}

/// Flyway's checksum: CRC32 of the lines without their line ends.
fn crc_of(content: &str) -> i32 {
    let crc = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let mut digest = crc.digest();
    for line in content.lines() {
        digest.update(line.as_bytes());
    }
    digest.finalize() as i32
}

#[test]
fn flyway_on_postgres() {
    let project = Project {
        applied: vec![
            (
                "V1__users.sql",
                "CREATE TABLE users (id BIGINT PRIMARY KEY);\n",
            ),
            (
                "V1_1__posts.sql",
                "CREATE TABLE posts (id BIGINT PRIMARY KEY);\n",
            ),
        ],
        newer: (
            "V1_2__tags.sql",
            "CREATE TABLE tags (id BIGINT PRIMARY KEY);\n",
        ),
    };
    let Some(t) = with_db(Kind::Postgres) else {
        return;
    };
    adopt_then_apply(
        &t,
        &project,
        &["1", "1.1"],
        "1.2",
        |s| s.to_owned(),
        &flyway_history(&project, true),
        "flyway_schema_history",
    );

    let Some(t) = with_db(Kind::Postgres) else {
        return;
    };
    for (file, content) in &project.applied {
        t.migration(file, content);
    }
    tool_table(t.db(), &flyway_history(&project, false));
    t.run(&["adopt"]).assert_failed().assert_msg_contains(&[
        "flyway_schema_history records migration 1.1 as failed",
        "flyway repair",
    ]);
}

fn golang_migrate_history(dirty: bool) -> Vec<String> {
    vec![
        "CREATE TABLE IF NOT EXISTS `schema_migrations` (version bigint not null primary key, dirty boolean not null)".to_owned(),
        format!("INSERT INTO `schema_migrations` (version, dirty) VALUES (2, {dirty})"),
    ]
}

#[test]
fn golang_migrate_on_mysql() {
    let project = Project {
        applied: vec![
            (
                "000001_users.up.sql",
                "CREATE TABLE users (id BIGINT PRIMARY KEY);\n",
            ),
            (
                "000002_posts.up.sql",
                "CREATE TABLE posts (id BIGINT PRIMARY KEY);\n",
            ),
        ],
        newer: (
            "000003_tags.up.sql",
            "CREATE TABLE tags (id BIGINT PRIMARY KEY);\n",
        ),
    };
    let Some(mut t) = with_db(Kind::Mysql) else {
        return;
    };
    t.env("LOCKSTEP_MIGRATIONS_FORMAT", "golang-migrate");
    adopt_then_apply(
        &t,
        &project,
        &["000001", "000002"],
        "000003",
        |s| s.to_owned(),
        &golang_migrate_history(false),
        "schema_migrations",
    );

    let Some(t) = with_db(Kind::Mysql) else {
        return;
    };
    for (file, content) in &project.applied {
        t.migration(file, content);
    }
    tool_table(t.db(), &golang_migrate_history(true));
    t.run(&["adopt"])
        .assert_failed()
        .assert_msg_contains(&["golang-migrate's schema_migrations says version 2 is dirty"]);
}

#[test]
fn dbmate_on_sqlite() {
    let Some(t) = with_db(Kind::Sqlite) else {
        return;
    };
    let project = Project {
        applied: vec![
            ("20240101000000_users.sql", "-- migrate:up\nCREATE TABLE users (id BIGINT PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE users;\n"),
            ("20240102000000_posts.sql", "-- migrate:up\nCREATE TABLE posts (id BIGINT PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE posts;\n"),
        ],
        newer: ("20240103000000_tags.sql", "-- migrate:up\nCREATE TABLE tags (id BIGINT PRIMARY KEY);\n\n-- migrate:down\nDROP TABLE tags;\n"),
    };
    // dbmate's sqlite driver: the table and one row per applied version.
    let history = vec![
        "create table if not exists \"schema_migrations\" (version varchar(128) primary key)"
            .to_owned(),
        "insert into \"schema_migrations\" (version) values ('20240101000000')".to_owned(),
        "insert into \"schema_migrations\" (version) values ('20240102000000')".to_owned(),
    ];
    let up = |s: &str| {
        s.split("-- migrate:down")
            .next()
            .unwrap()
            .replace("-- migrate:up", "")
    };
    adopt_then_apply(
        &t,
        &project,
        &["20240101000000", "20240102000000"],
        "20240103000000",
        up,
        &history,
        "schema_migrations",
    );
}

#[test]
fn goose_on_postgres() {
    let Some(t) = with_db(Kind::Postgres) else {
        return;
    };
    let project = Project {
        applied: vec![
            ("00001_users.sql", "-- +goose Up\nCREATE TABLE users (id BIGINT PRIMARY KEY);\n-- +goose Down\nDROP TABLE users;\n"),
            ("00002_posts.sql", "-- +goose Up\nCREATE TABLE posts (id BIGINT PRIMARY KEY);\n-- +goose Down\nDROP TABLE posts;\n"),
        ],
        newer: ("00003_tags.sql", "-- +goose Up\nCREATE TABLE tags (id BIGINT PRIMARY KEY);\n-- +goose Down\nDROP TABLE tags;\n"),
    };
    // goose's postgres dialect: the table, its version-0 row, then one row
    // per `up` (and per `down`, with is_applied false).
    let history = vec![
        "CREATE TABLE goose_db_version (\n\t\tid serial NOT NULL,\n\t\tversion_id bigint NOT NULL,\n\t\tis_applied boolean NOT NULL,\n\t\ttstamp timestamp NULL default now(),\n\t\tPRIMARY KEY(id)\n\t)".to_owned(),
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (0, true)".to_owned(),
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (1, true)".to_owned(),
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (2, true)".to_owned(),
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, true)".to_owned(),
        "INSERT INTO goose_db_version (version_id, is_applied) VALUES (3, false)".to_owned(),
    ];
    let up = |s: &str| {
        s.split("-- +goose Down")
            .next()
            .unwrap()
            .replace("-- +goose Up", "")
    };
    adopt_then_apply(
        &t,
        &project,
        &["00001", "00002"],
        "00003",
        up,
        &history,
        "goose_db_version",
    );
}

#[test]
fn alembic_is_a_stamp_to_baseline_from() {
    let Some(t) = with_db(Kind::Sqlite) else {
        return;
    };
    t.migration("0001_users.sql", "CREATE TABLE users (id INT);\n");
    t.db().execute("CREATE TABLE alembic_version (version_num VARCHAR(32) NOT NULL, CONSTRAINT alembic_version_pkc PRIMARY KEY (version_num)); INSERT INTO alembic_version VALUES ('ae1027a6acf')");
    t.run(&["adopt"]).assert_failed().assert_msg_contains(&[
        "managed by Alembic, at revision ae1027a6acf",
        "lockstep adopt --baseline VERSION",
    ]);
}

crate::dialects!(
    baseline_records_up_to_a_version_and_apply_runs_the_rest,
    |t: Test| {
        if t.db().kind == Kind::Sqlite {
            std::fs::write(t.db().sqlite_file(), b"").unwrap();
        }
        t.migration(
            "0001_users.sql",
            "CREATE TABLE users (id INT PRIMARY KEY);\n",
        );
        t.migration(
            "0002_posts.sql",
            "CREATE TABLE posts (id INT PRIMARY KEY);\n",
        );
        t.migration("0003_tags.sql", "CREATE TABLE tags (id INT PRIMARY KEY);\n");
        // The schema exists, built by hand or by a tool that kept no history.
        t.db().execute("CREATE TABLE users (id INT PRIMARY KEY)");
        t.db().execute("CREATE TABLE posts (id INT PRIMARY KEY)");

        let check = t.run(&["adopt", "--baseline", "0002", "--check"]);
        check.assert_ok();
        assert_eq!(check.versions("/adopted"), ["0001", "0002"]);
        assert_eq!(check.json["adopted_from"], "baseline");
        assert!(!t.db().history_exists());

        let out = t.run(&["adopt"]);
        out.assert_failed()
            .assert_msg_contains(&["no other tool's history table", "--baseline VERSION"]);
        assert!(!t.db().history_exists());

        let out = t.run(&["adopt", "--baseline", "0002"]);
        out.assert_ok();
        assert_eq!(out.msg(), "adopted 2 migrations up to the baseline 0002; 1 newer migration pending: run `lockstep apply`");
        assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
        let apply = t.run(&["apply"]);
        apply.assert_ok();
        assert_eq!(apply.versions("/database/applied"), ["0003"]);
        assert_eq!(t.run(&["apply"]).json["changed"], false);
    }
);

/// Every table of the database, lockstep's included, with its columns,
/// indexes and triggers.
fn everything(db: &Db) -> Vec<String> {
    db.tables()
        .iter()
        .flat_map(|t| {
            let mut c = db.catalog(t);
            c.insert(0, format!("table {t}"));
            c
        })
        .collect()
}

crate::dialects!(
    a_refused_adopt_and_a_check_leave_the_database_as_it_was,
    |t: Test| {
        let kind = t.db().kind;
        if kind == Kind::Sqlite {
            std::fs::write(t.db().sqlite_file(), b"").unwrap();
        }
        let project = sqlx_project();
        for (file, content) in &project.applied {
            t.migration(file, content);
            t.db()
                .execute(content.trim_start_matches("-- no-transaction\n"));
        }
        let before = everything(t.db());
        assert!(before.contains(&"table users".to_owned()), "{before:?}");

        // No history table at all, and no baseline.
        t.run(&["adopt"])
            .assert_failed()
            .assert_msg_contains(&["no other tool's history table"]);
        assert_eq!(everything(t.db()), before);
        // The baseline, checked only.
        let check = t.run(&["adopt", "--baseline", "20240102000000", "--check"]);
        check.assert_ok();
        assert_eq!(everything(t.db()), before);

        // sqlx's history with a failed migration.
        tool_table(t.db(), &sqlx_history(kind, &project, &[true, false], false));
        let before = everything(t.db());
        t.run(&["adopt"])
            .assert_failed()
            .assert_msg_contains(&["as failed", "lockstep adopts only a clean history"]);
        assert_eq!(everything(t.db()), before);
        t.run(&["adopt", "--check"]).assert_failed();
        assert_eq!(everything(t.db()), before);

        // A clean history, checked only; then adopted for real.
        t.db()
            .execute("UPDATE _sqlx_migrations SET success = TRUE WHERE version = 20240102000000");
        let before = everything(t.db());
        t.run(&["adopt", "--check"]).assert_ok();
        assert_eq!(everything(t.db()), before);
        t.run(&["adopt"]).assert_ok();
        assert!(t.db().history_exists());
    }
);
