//! Other tools' migration folders, read unchanged: real projects' folders
//! (tests/fixtures/migrations, sources in its README) applied by lockstep on
//! each database they target, compared with the schema their own tool
//! builds, re-applied as a no-op and rolled back with their down files.
//!
//! The reference schema is built the way each tool runs a file, on a second
//! database, in the tool's version order: diesel, golang-migrate and sqlx
//! send each `up` file whole (diesel's `batch_execute`, golang-migrate's
//! multi-statement `Exec`), dbmate its `up` section whole; Flyway and goose
//! cut a file into statements and send each on its own.

use crate::databases::{block_on, Db, Kind};
use crate::test::{copy_dir, repo, Test};
use sqlx::{Connection, Executor};
use std::path::{Path, PathBuf};

pub fn fixture(relative: &str) -> PathBuf {
    repo().join("tests/fixtures/migrations").join(relative)
}

/// Tables that record history: lockstep's, and those of the tools whose
/// runs the tests compare with.
pub fn is_history_table(table: &str) -> bool {
    table.starts_with("lockstep_")
        || [
            "schema_migrations",
            "_sqlx_migrations",
            "__diesel_schema_migrations",
        ]
        .contains(&table)
}

/// Every table's columns, indexes and triggers, history tables left out.
pub fn schema(db: &Db) -> Vec<String> {
    db.tables()
        .iter()
        .filter(|t| !is_history_table(t))
        .flat_map(|t| {
            let mut c = db.catalog(t);
            c.insert(0, format!("table {t}"));
            c
        })
        .collect()
}

/// One migration's `up` as its tool sends it: the file, and the SQL of
/// each call the tool makes to the server, in order.
pub struct Up {
    file: PathBuf,
    calls: Vec<String>,
}

/// Each file sent whole, as diesel, golang-migrate, sqlx and Flyway do.
fn whole(files: Vec<PathBuf>) -> Vec<Up> {
    files
        .into_iter()
        .map(|file| Up {
            calls: vec![std::fs::read_to_string(&file).unwrap()],
            file,
        })
        .collect()
}

/// A database built from `ups` the way the original tool runs them.
fn reference(kind: Kind, dir: &Path, ups: &[Up]) -> Db {
    let db = Db::create(kind, dir).expect("the server of the project's test");
    if kind == Kind::Sqlite {
        std::fs::write(db.sqlite_file(), b"").unwrap();
    }
    block_on(async {
        let mut c = db.connect().await;
        for up in ups {
            for sql in &up.calls {
                c.execute(sql.as_str())
                    .await
                    .unwrap_or_else(|e| panic!("{}: {e}\n{sql}", up.file.display()));
            }
        }
        c.close().await.unwrap();
    });
    db
}

/// Applies the folder `migrations` of a real project with lockstep, checks
/// it against the original tool's schema, re-applies it, and (when the
/// project has down files) rolls back to `rollback_to` and compares again.
/// `rollback_to` is a version and the name of its file or folder.
fn real_project(
    kind: Kind,
    folder: &str,
    layout: &str,
    up_files: Vec<Up>,
    rollback_to: Option<(&str, &str)>,
) {
    let Some(t) = Test::with_db(kind) else { return };
    copy_dir(&fixture(folder), &t.path().join("migrations"));
    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(
        out.json["database"]["applied"].as_array().unwrap().len(),
        up_files.len()
    );
    let status = t.run(&["status"]);
    assert_eq!(
        status.json["database"]["layout"], layout,
        "{}",
        status.stdout
    );

    let other = tempfile::tempdir().unwrap();
    let expected = reference(kind, other.path(), &up_files);
    let built = schema(t.db());
    assert!(built.len() > up_files.len(), "{built:?}");
    assert_eq!(built, schema(&expected));

    let again = t.run(&["apply"]);
    again.assert_ok();
    assert_eq!(again.json["changed"], false, "{}", again.stdout);

    if let Some((to, name)) = rollback_to {
        let out = t.run(&["rollback", "--to", to]);
        out.assert_ok();
        let keep = up_files
            .iter()
            .position(|f| f.file.to_string_lossy().contains(name))
            .unwrap()
            + 1;
        let dir = tempfile::tempdir().unwrap();
        let expected = reference(kind, dir.path(), &up_files[..keep]);
        assert_eq!(schema(t.db()), schema(&expected));
        assert!(keep < up_files.len());
    }
}

/// diesel's `up.sql` files in diesel's order: folder names sorted.
fn diesel_up_files(folder: &str) -> Vec<PathBuf> {
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(fixture(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.join("up.sql").is_file())
        .collect();
    dirs.sort();
    dirs.into_iter().map(|d| d.join("up.sql")).collect()
}

/// golang-migrate's `.up.sql` files by version number.
fn numbered_up_files(folder: &str) -> Vec<PathBuf> {
    numbered_files(folder, ".up.sql")
}

/// The files ending in `suffix`, by the version number before their first `_`.
fn numbered_files(folder: &str, suffix: &str) -> Vec<PathBuf> {
    let mut files: Vec<(u64, PathBuf)> = std::fs::read_dir(fixture(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.to_string_lossy().ends_with(suffix))
        .map(|p| {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            (name.split('_').next().unwrap().parse().unwrap(), p)
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

#[test]
fn vaultwarden_diesel_sqlite() {
    let folder = "diesel/vaultwarden/sqlite";
    real_project(
        Kind::Sqlite,
        folder,
        "diesel",
        whole(diesel_up_files(folder)),
        Some(("20260309005927", "2026-03-09-005927")),
    );
}

#[test]
fn vaultwarden_diesel_postgres() {
    let folder = "diesel/vaultwarden/postgresql";
    real_project(
        Kind::Postgres,
        folder,
        "diesel",
        whole(diesel_up_files(folder)),
        Some(("20260309005927", "2026-03-09-005927")),
    );
}

#[test]
fn atuin_sqlx_postgres() {
    let folder = "sqlx/atuin/server-postgres";
    real_project(
        Kind::Postgres,
        folder,
        "lockstep",
        whole(numbered_files(folder, ".sql")),
        None,
    );
}

#[test]
fn atuin_sqlx_sqlite() {
    let folder = "sqlx/atuin/server-sqlite";
    real_project(
        Kind::Sqlite,
        folder,
        "lockstep",
        whole(numbered_files(folder, ".sql")),
        None,
    );
}

#[test]
fn flipt_golang_migrate_sqlite() {
    let folder = "golang-migrate/flipt/sqlite3";
    real_project(
        Kind::Sqlite,
        folder,
        "sqlx",
        whole(numbered_up_files(folder)),
        None,
    );
}

#[test]
fn flipt_golang_migrate_postgres() {
    let folder = "golang-migrate/flipt/postgres";
    real_project(
        Kind::Postgres,
        folder,
        "sqlx",
        whole(numbered_up_files(folder)),
        None,
    );
}

#[test]
fn flipt_golang_migrate_mysql() {
    let folder = "golang-migrate/flipt/mysql";
    real_project(
        Kind::Mysql,
        folder,
        "sqlx",
        whole(numbered_up_files(folder)),
        None,
    );
}

/// Flyway's versioned files (`V<version>__<description>.sql`) in Flyway's
/// order: the dotted (or `_`-separated) parts of the version as numbers.
fn flyway_files(folder: &str) -> Vec<PathBuf> {
    let mut files: Vec<(Vec<u64>, PathBuf)> = std::fs::read_dir(fixture(folder))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter_map(|p| {
            let name = p.file_name()?.to_str()?.to_owned();
            let version = name.strip_prefix('V')?.split("__").next()?.to_owned();
            let parts = version.split(['.', '_']).map(|n| n.parse().unwrap());
            Some((parts.collect(), p))
        })
        .collect();
    files.sort();
    files.into_iter().map(|(_, p)| p).collect()
}

/// dbmate's `up` sections: the text between `-- migrate:up` and
/// `-- migrate:down`, sent whole in one call, as dbmate runs it.
fn dbmate_ups(folder: &str) -> Vec<Up> {
    numbered_files(folder, ".sql")
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let up = text.split("-- migrate:down").next().unwrap();
            let up = up.split_once("-- migrate:up").unwrap().1.to_owned();
            Up {
                file,
                calls: vec![up],
            }
        })
        .collect()
}

/// The statements of `lines` as goose's and Flyway's parsers cut them: after
/// each line that ends with the delimiter (`;`, or what a MySQL client's
/// `DELIMITER` line sets, as Flyway's MySQL parser reads it), except inside
/// a `$$` body or between goose's `StatementBegin` and `StatementEnd`; a
/// piece with nothing but comments is not sent.
fn statements<'a>(lines: impl Iterator<Item = &'a str>) -> Vec<String> {
    let mut calls = Vec::new();
    let (mut statement, mut block, mut dollars) = (String::new(), false, false);
    let mut delimiter = ";".to_owned();
    for line in lines {
        let trimmed = line.trim();
        match trimmed {
            "-- +goose StatementBegin" => block = true,
            "-- +goose StatementEnd" => {
                block = false;
                calls.push(std::mem::take(&mut statement));
            }
            _ if trimmed.to_ascii_uppercase().starts_with("DELIMITER ") => {
                delimiter = trimmed["DELIMITER ".len()..].trim().to_owned();
            }
            _ => {
                dollars ^= line.matches("$$").count() % 2 == 1 && delimiter == ";";
                let end = !block && !dollars && line.trim_end().ends_with(delimiter.as_str());
                let line = match end && delimiter != ";" {
                    true => line.trim_end().strip_suffix(delimiter.as_str()).unwrap(),
                    false => line,
                };
                statement.push_str(line);
                statement.push('\n');
                if end {
                    calls.push(std::mem::take(&mut statement));
                }
            }
        }
    }
    calls.push(statement);
    calls.retain(|c| {
        c.lines()
            .any(|l| !l.trim().is_empty() && !l.trim().starts_with("--"))
    });
    calls
}

/// Flyway's files, each statement sent on its own (a JDBC `execute` each).
fn flyway_ups(folder: &str) -> Vec<Up> {
    flyway_files(folder)
        .into_iter()
        .map(|file| Up {
            calls: statements(std::fs::read_to_string(&file).unwrap().lines()),
            file,
        })
        .collect()
}

/// goose's `up` statements: the lines after `-- +goose Up` up to
/// `-- +goose Down`, each statement sent on its own, as goose runs them.
fn goose_ups(folder: &str) -> Vec<Up> {
    numbered_files(folder, ".sql")
        .into_iter()
        .map(|file| {
            let text = std::fs::read_to_string(&file).unwrap();
            let up = text
                .lines()
                .skip_while(|l| l.trim() != "-- +goose Up")
                .skip(1)
                .take_while(|l| l.trim() != "-- +goose Down");
            Up {
                calls: statements(up),
                file,
            }
        })
        .collect()
}

#[test]
fn conductor_flyway_postgres() {
    let folder = "flyway/conductor/postgres";
    real_project(Kind::Postgres, folder, "flyway", flyway_ups(folder), None);
}

#[test]
fn conductor_flyway_sqlite() {
    let folder = "flyway/conductor/sqlite";
    real_project(Kind::Sqlite, folder, "flyway", flyway_ups(folder), None);
}

#[test]
fn conductor_flyway_mysql() {
    let folder = "flyway/conductor/mysql";
    real_project(Kind::Mysql, folder, "flyway", flyway_ups(folder), None);
}

#[test]
fn openfga_goose_postgres() {
    let folder = "goose/openfga/postgres";
    real_project(
        Kind::Postgres,
        folder,
        "goose",
        goose_ups(folder),
        Some(("004", "004_")),
    );
}

#[test]
fn openfga_goose_sqlite() {
    let folder = "goose/openfga/sqlite";
    real_project(
        Kind::Sqlite,
        folder,
        "goose",
        goose_ups(folder),
        Some(("005", "005_")),
    );
}

#[test]
fn dbmate_testdata_sqlite() {
    let folder = "dbmate/dbmate";
    real_project(
        Kind::Sqlite,
        folder,
        "dbmate",
        dbmate_ups(folder),
        Some(("20151129054053", "20151129054053")),
    );
}

#[test]
fn dbmate_testdata_postgres() {
    let folder = "dbmate/dbmate";
    real_project(
        Kind::Postgres,
        folder,
        "dbmate",
        dbmate_ups(folder),
        Some(("20151129054053", "20151129054053")),
    );
}

#[test]
fn dbmate_testdata_mysql() {
    let folder = "dbmate/dbmate";
    real_project(
        Kind::Mysql,
        folder,
        "dbmate",
        dbmate_ups(folder),
        Some(("20151129054053", "20151129054053")),
    );
}

/// The layout is forced by `--migrations-format` or `migrations_format` in
/// lockstep.ini: golang-migrate's files run outside a transaction, so a
/// failing file leaves its migration `failed`, as golang-migrate leaves it
/// dirty; a name that is no layout is refused naming the file.
#[test]
fn the_layout_is_forced_by_flag_or_settings_file() {
    let Some(t) = Test::with_db(Kind::Sqlite) else {
        return;
    };
    t.migration(
        "1_a.up.sql",
        "CREATE TABLE a (id INT);\nCREATE TABLE b (x);\nSELECT nope FROM a;\n",
    );
    t.migration("1_a.down.sql", "DROP TABLE a;\n");
    let out = t.run(&["--migrations-format", "golang-migrate", "apply"]);
    out.assert_failed();
    assert_eq!(t.db().history(), ["1:failed"]);
    assert_eq!(
        t.db()
            .tables()
            .iter()
            .filter(|t| !t.starts_with("lockstep_"))
            .count(),
        2
    );

    let Some(t) = Test::with_db(Kind::Sqlite) else {
        return;
    };
    t.write("lockstep.ini", "[lockstep]\nmigrations_format = dbmate\n");
    t.migration("20200101000000_a.sql", "CREATE TABLE a (id INT);\n");
    t.run(&["apply"]).assert_failed().assert_msg_contains(&[
        "20200101000000_a.sql",
        "no `up` section: a dbmate migration needs one",
    ]);
    t.write(
        "lockstep.ini",
        "[lockstep]\nmigrations_format = liquibase\n",
    );
    let out = t.run(&["apply"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("migrations_format = liquibase: expected auto|lockstep|sqlx|diesel|golang-migrate|flyway|dbmate|goose")
        || out.msg().contains("migrations_format = liquibase"), "{}{}", out.stdout, out.stderr);
}
