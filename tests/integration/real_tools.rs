//! lockstep next to the real tools it replaces: dbmate (from npm),
//! sqlx-cli and diesel_cli (from crates.io) migrate a database with a real project's
//! folder (tests/fixtures/migrations), lockstep applies the same folder to
//! a fresh database, and both schemas must be equal; a database the tool
//! really migrated (its own history table, its own checksums) is adopted,
//! the next apply runs only the newer migrations, and an edited file is
//! reported.
//!
//! `scripts/test` installs the tools: dbmate into target/tools/npm, and
//! sqlx-cli and diesel_cli (long builds) into `~/.cache/lockstep-test-tools`,
//! outside the clone, so that later clones reuse them.
//! `LOCKSTEP_TEST_DBMATE`, `LOCKSTEP_TEST_SQLX` and `LOCKSTEP_TEST_DIESEL`
//! name other executables. Without them these tests
//! skip loudly, unless `LOCKSTEP_TEST_REQUIRE_TOOLS=1` (as in CI) makes
//! that a failure.

use crate::databases::{Db, Kind};
use crate::layouts::{fixture, schema};
use crate::test::{copy_dir, repo, Test};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The tool's executable: `$var`, else where scripts/test installs it.
fn tool(var: &str, installed: PathBuf, install: &str) -> Option<PathBuf> {
    let path = std::env::var_os(var).map_or(installed, PathBuf::from);
    if path.is_file() {
        return Some(path);
    }
    assert!(
        std::env::var("LOCKSTEP_TEST_REQUIRE_TOOLS").as_deref() != Ok("1"),
        "{} is missing (LOCKSTEP_TEST_REQUIRE_TOOLS=1): {install}, as scripts/test does",
        path.display()
    );
    crate::test::skip(&format!(
        "{} not installed ({install}, as scripts/test does)",
        path.display()
    ));
    None
}

fn dbmate() -> Option<PathBuf> {
    tool(
        "LOCKSTEP_TEST_DBMATE",
        repo().join("target/tools/npm/node_modules/.bin/dbmate"),
        "npm install --prefix target/tools/npm dbmate",
    )
}

fn sqlx() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    tool(
        "LOCKSTEP_TEST_SQLX",
        home.join(".cache/lockstep-test-tools/sqlx-cli/bin/sqlx"),
        "cargo install sqlx-cli --root ~/.cache/lockstep-test-tools/sqlx-cli",
    )
}

fn diesel() -> Option<PathBuf> {
    let home = std::env::var_os("HOME")
        .map(PathBuf::from)
        .unwrap_or_default();
    tool(
        "LOCKSTEP_TEST_DIESEL",
        home.join(".cache/lockstep-test-tools/diesel_cli/bin/diesel"),
        "cargo install diesel_cli --no-default-features --features postgres,sqlite \
         --root ~/.cache/lockstep-test-tools/diesel_cli",
    )
}

/// Runs the tool; its exit status and output.
fn run(program: &Path, args: &[&str]) -> (bool, String) {
    let out = Command::new(program).args(args).output().unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.success(), text)
}

fn run_ok(program: &Path, args: &[&str]) {
    let (ok, text) = run(program, args);
    assert!(ok, "{} {args:?}:\n{text}", program.display());
}

/// The database's URL as the tools read it.
fn url(db: &Db) -> String {
    match db.kind {
        Kind::Postgres => format!("{}?sslmode=disable", db.url),
        _ => db.url.clone(),
    }
}

/// A database and project: SQLite's file exists, as sqlx-cli wants it.
fn with_db(kind: Kind) -> Option<Test> {
    let t = Test::with_db(kind)?;
    if kind == Kind::Sqlite {
        std::fs::write(t.db().sqlite_file(), b"").unwrap();
    }
    Some(t)
}

fn other_db(kind: Kind, dir: &Path) -> Db {
    let db = Db::create(kind, dir).expect("the server of the project's test");
    if kind == Kind::Sqlite {
        std::fs::write(db.sqlite_file(), b"").unwrap();
    }
    db
}

/// The fixture's file names, sorted (both tools' order for these folders).
fn files(folder: &str) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(fixture(folder))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

fn version(file: &str) -> String {
    file.split('_').next().unwrap().to_owned()
}

/// The versions in dbmate's `schema_migrations`, as text.
fn dbmate_versions(db: &Db) -> Vec<String> {
    let version = match db.kind {
        Kind::Postgres => "CAST(version AS TEXT)",
        Kind::Mysql => "CAST(version AS CHAR)",
        Kind::Sqlite => "version",
    };
    db.strings(&format!(
        "SELECT {version} FROM schema_migrations ORDER BY version"
    ))
}

/// `dbmate up` or `dbmate rollback` with the migrations of `dir`.
fn dbmate_run(dbmate: &Path, db: &Db, dir: &Path, command: &str) {
    run_ok(
        dbmate,
        &[
            "--url",
            &url(db),
            "--migrations-dir",
            dir.to_str().unwrap(),
            "--no-dump-schema",
            command,
        ],
    );
}

/// dbmate and lockstep build the same schema from dbmate's folder, and
/// `dbmate rollback` and `lockstep rollback` undo the last migration alike.
fn dbmate_and_lockstep_build_the_same_schema(kind: Kind) {
    let Some(dbmate) = dbmate() else { return };
    let Some(t) = Test::with_db(kind) else { return };
    let folder = "dbmate/dbmate";
    copy_dir(&fixture(folder), &t.path().join("migrations"));
    let dir = tempfile::tempdir().unwrap();
    let theirs = Db::create(kind, dir.path()).unwrap();
    dbmate_run(&dbmate, &theirs, &fixture(folder), "up");
    let versions: Vec<String> = files(folder).iter().map(|f| version(f)).collect();
    assert_eq!(dbmate_versions(&theirs), versions);

    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.versions("/database/applied"), versions);
    assert_eq!(out.json["database"]["layout"], "dbmate");
    let ours = schema(t.db());
    assert!(ours.contains(&"table posts".to_owned()), "{ours:?}");
    assert_eq!(ours, schema(&theirs));
    assert_eq!(t.run(&["apply"]).json["changed"], false);

    dbmate_run(&dbmate, &theirs, &fixture(folder), "rollback");
    t.run(&["rollback", "--to", &versions[0]]).assert_ok();
    let ours = schema(t.db());
    assert!(!ours.contains(&"table posts".to_owned()), "{ours:?}");
    assert_eq!(ours, schema(&theirs));
}

#[test]
fn dbmate_and_lockstep_build_the_same_schema_on_sqlite() {
    dbmate_and_lockstep_build_the_same_schema(Kind::Sqlite);
}

#[test]
fn dbmate_and_lockstep_build_the_same_schema_on_postgres() {
    dbmate_and_lockstep_build_the_same_schema(Kind::Postgres);
}

#[test]
fn dbmate_and_lockstep_build_the_same_schema_on_mysql() {
    dbmate_and_lockstep_build_the_same_schema(Kind::Mysql);
}

/// Adopts a database dbmate migrated (dbmate has no dirty state to refuse:
/// it records a version only once its migration has run).
fn adopts_what_dbmate_migrated(kind: Kind) {
    let Some(dbmate) = dbmate() else { return };
    let Some(t) = Test::with_db(kind) else { return };
    let names = files("dbmate/dbmate");
    let content = |f: &str| std::fs::read_to_string(fixture("dbmate/dbmate").join(f)).unwrap();
    t.migration(&names[0], &content(&names[0]));
    dbmate_run(&dbmate, t.db(), &t.path().join("migrations"), "up");
    t.migration(&names[1], &content(&names[1]));
    let (old, new) = (version(&names[0]), version(&names[1]));

    let check = t.run(&["adopt", "--check"]);
    check.assert_ok();
    assert_eq!(check.versions("/adopted"), [old.as_str()]);
    assert_eq!(check.versions("/database/pending"), [new.as_str()]);
    assert!(!t.db().history_exists());

    let out = t.run(&["adopt"]);
    out.assert_ok();
    assert_eq!(out.json["adopted_from"], "schema_migrations");
    assert_eq!(t.db().history(), [format!("{old}:applied")]);

    let apply = t.run(&["apply"]);
    apply.assert_ok();
    assert_eq!(apply.versions("/database/applied"), [new.as_str()]);
    // The first migration's row is there once: it did not run again.
    assert_eq!(t.db().count("SELECT COUNT(*) FROM users"), 1);
    // dbmate's table is as dbmate left it, so the team can go back.
    assert_eq!(dbmate_versions(t.db()), [old.as_str()]);

    t.migration(&names[0], &format!("{}\n-- edited\n", content(&names[0])));
    t.run(&["apply"])
        .assert_failed()
        .assert_msg_contains(&[&old, "was edited after it was applied"]);
}

#[test]
fn adopts_what_dbmate_migrated_on_sqlite() {
    adopts_what_dbmate_migrated(Kind::Sqlite);
}

#[test]
fn adopts_what_dbmate_migrated_on_postgres() {
    adopts_what_dbmate_migrated(Kind::Postgres);
}

#[test]
fn adopts_what_dbmate_migrated_on_mysql() {
    adopts_what_dbmate_migrated(Kind::Mysql);
}

/// `sqlx migrate run`: its exit status and output.
fn sqlx_run(sqlx: &Path, db: &Db, dir: &Path) -> (bool, String) {
    sqlx_migrate(sqlx, db, dir, "run")
}

/// `sqlx migrate COMMAND` with the migrations of `dir`.
fn sqlx_migrate(sqlx: &Path, db: &Db, dir: &Path, command: &str) -> (bool, String) {
    run(
        sqlx,
        &[
            "migrate",
            command,
            "--source",
            dir.to_str().unwrap(),
            "--database-url",
            &url(db),
        ],
    )
}

/// `sqlx migrate run` and lockstep build the same schema from atuin's folder.
fn sqlx_and_lockstep_build_the_same_schema(kind: Kind, folder: &str) {
    let Some(sqlx) = sqlx() else { return };
    let Some(t) = with_db(kind) else { return };
    copy_dir(&fixture(folder), &t.path().join("migrations"));
    let dir = tempfile::tempdir().unwrap();
    let theirs = other_db(kind, dir.path());
    let (ok, text) = sqlx_run(&sqlx, &theirs, &fixture(folder));
    assert!(ok, "{text}");
    let versions: Vec<String> = files(folder).iter().map(|f| version(f)).collect();
    assert_eq!(
        theirs.count("SELECT COUNT(*) FROM _sqlx_migrations WHERE success"),
        versions.len() as i64
    );

    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.versions("/database/applied"), versions);
    let ours = schema(t.db());
    assert!(ours.len() > versions.len(), "{ours:?}");
    assert_eq!(ours, schema(&theirs));
    assert_eq!(t.run(&["apply"]).json["changed"], false);
}

#[test]
fn sqlx_and_lockstep_build_the_same_schema_on_postgres() {
    sqlx_and_lockstep_build_the_same_schema(Kind::Postgres, "sqlx/atuin/server-postgres");
}

#[test]
fn sqlx_and_lockstep_build_the_same_schema_on_sqlite() {
    sqlx_and_lockstep_build_the_same_schema(Kind::Sqlite, "sqlx/atuin/server-sqlite");
}

/// A project whose database sqlx migrated with all of `folder` but its
/// newest file, which is then added: (test, adopted versions, newest).
fn migrated_by_sqlx(sqlx: &Path, kind: Kind, folder: &str) -> Option<(Test, Vec<String>, String)> {
    let t = with_db(kind)?;
    let mut names = files(folder);
    let newest = names.pop().unwrap();
    for name in &names {
        std::fs::copy(fixture(folder).join(name), {
            std::fs::create_dir_all(t.path().join("migrations")).unwrap();
            t.path().join("migrations").join(name)
        })
        .unwrap();
    }
    let (ok, text) = sqlx_run(sqlx, t.db(), &t.path().join("migrations"));
    assert!(ok, "{text}");
    std::fs::copy(
        fixture(folder).join(&newest),
        t.path().join("migrations").join(&newest),
    )
    .unwrap();
    let versions = names.iter().map(|n| version(n)).collect();
    Some((t, versions, version(&newest)))
}

/// Adopts a database sqlx migrated: its SHA-384 checksums match today's
/// files; a file changed since is named; a failed row is refused by both.
fn adopts_what_sqlx_migrated(kind: Kind, folder: &str) {
    let Some(sqlx) = sqlx() else { return };
    let Some((t, versions, newest)) = migrated_by_sqlx(&sqlx, kind, folder) else {
        return;
    };
    let rows = "SELECT COUNT(*) FROM _sqlx_migrations";
    let before = t.db().count(rows);
    let check = t.run(&["adopt", "--check"]);
    check.assert_ok();
    assert_eq!(check.versions("/adopted"), versions);
    assert_eq!(check.versions("/database/pending"), [newest.as_str()]);
    assert!(!t.db().history_exists());

    let out = t.run(&["adopt"]);
    out.assert_ok();
    assert_eq!(out.json["adopted_from"], "_sqlx_migrations");
    assert_eq!(
        out.json["changed_since_applied"],
        serde_json::json!([]),
        "{}",
        out.stdout
    );
    assert_eq!(t.db().history().len(), versions.len());
    let apply = t.run(&["apply"]);
    apply.assert_ok();
    assert_eq!(apply.versions("/database/applied"), [newest.as_str()]);
    assert_eq!(t.db().count(rows), before);
    let first = files(folder)[0].clone();
    let path = t.path().join("migrations").join(&first);
    let original = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{original}\n-- edited\n")).unwrap();
    t.run(&["apply"])
        .assert_failed()
        .assert_msg_contains(&[&versions[0], "was edited after it was applied"]);

    // A file edited after sqlx ran it, before adoption: named with sqlx's checksum.
    let Some((t, versions, _)) = migrated_by_sqlx(&sqlx, kind, folder) else {
        return;
    };
    let path = t.path().join("migrations").join(&first);
    std::fs::write(&path, format!("{original}\n-- edited\n")).unwrap();
    let check = t.run(&["adopt", "--check"]);
    check.assert_ok();
    assert_eq!(
        check.json["changed_since_applied"][0]["version"],
        versions[0]
    );
    assert!(
        check.json["warnings"].to_string().contains(&format!(
            "migration {} (migrations/{first}) changed since sqlx applied it",
            versions[0]
        )),
        "{}",
        check.stdout
    );

    // A row sqlx reads as dirty (success = false, as a failed migration of
    // an older sqlx left it): `sqlx migrate run` and `lockstep adopt` refuse.
    let Some((t, versions, _)) = migrated_by_sqlx(&sqlx, kind, folder) else {
        return;
    };
    let last = versions.last().unwrap();
    t.db().execute(&format!(
        "UPDATE _sqlx_migrations SET success = false WHERE version = {last}"
    ));
    let (ok, text) = sqlx_run(&sqlx, t.db(), &t.path().join("migrations"));
    assert!(!ok && text.contains("partially applied"), "{text}");
    let tables = t.db().tables();
    t.run(&["adopt"]).assert_failed().assert_msg_contains(&[
        &format!("_sqlx_migrations records migration {last} as failed"),
        "lockstep adopts only a clean history",
    ]);
    assert_eq!(t.db().tables(), tables);
}

#[test]
fn adopts_what_sqlx_migrated_on_postgres() {
    adopts_what_sqlx_migrated(Kind::Postgres, "sqlx/atuin/server-postgres");
}

#[test]
fn adopts_what_sqlx_migrated_on_sqlite() {
    adopts_what_sqlx_migrated(Kind::Sqlite, "sqlx/atuin/server-sqlite");
}

/// The payload the reversible pair's migrations change, one row.
fn payload(db: &Db) -> i64 {
    db.count("SELECT some_payload FROM migrations_reversible_test")
}

/// sqlx's reversible pairs (`.up.sql`/`.down.sql`): `sqlx migrate run` and
/// `lockstep apply` build the same schema and data, `sqlx migrate revert`
/// and `lockstep rollback` undo the newest alike; a database sqlx migrated
/// is adopted, its checksums match, and lockstep rolls it back with the
/// down file.
fn sqlx_reversible_pairs(kind: Kind) {
    let Some(sqlx) = sqlx() else { return };
    let Some(t) = with_db(kind) else { return };
    let folder = "sqlx/sqlx/reversible";
    copy_dir(&fixture(folder), &t.path().join("migrations"));
    let dir = tempfile::tempdir().unwrap();
    let theirs = other_db(kind, dir.path());
    let (ok, text) = sqlx_run(&sqlx, &theirs, &fixture(folder));
    assert!(ok, "{text}");

    let out = t.run(&["apply"]);
    out.assert_ok();
    assert_eq!(out.json["database"]["layout"], "sqlx");
    assert_eq!(
        out.versions("/database/applied"),
        ["20220721124650", "20220721125033"]
    );
    assert_eq!(schema(t.db()), schema(&theirs));
    assert_eq!((payload(t.db()), payload(&theirs)), (101, 101));

    let (ok, text) = sqlx_migrate(&sqlx, &theirs, &fixture(folder), "revert");
    assert!(ok, "{text}");
    t.run(&["rollback", "--to", "20220721124650"]).assert_ok();
    assert_eq!(schema(t.db()), schema(&theirs));
    assert_eq!((payload(t.db()), payload(&theirs)), (100, 100));

    // Adopted from what sqlx ran: the `.up.sql` checksums match, and the
    // down file undoes the newest.
    let Some(t) = with_db(kind) else { return };
    copy_dir(&fixture(folder), &t.path().join("migrations"));
    let (ok, text) = sqlx_run(&sqlx, t.db(), &t.path().join("migrations"));
    assert!(ok, "{text}");
    let out = t.run(&["adopt"]);
    out.assert_ok();
    assert_eq!(
        out.versions("/adopted"),
        ["20220721124650", "20220721125033"]
    );
    assert_eq!(out.json["changed_since_applied"], serde_json::json!([]));
    assert_eq!(t.run(&["apply"]).json["changed"], false);
    t.run(&["rollback", "--to", "20220721124650"]).assert_ok();
    assert_eq!(payload(t.db()), 100);
}

#[test]
fn sqlx_reversible_pairs_on_sqlite() {
    sqlx_reversible_pairs(Kind::Sqlite);
}

#[test]
fn sqlx_reversible_pairs_on_postgres() {
    sqlx_reversible_pairs(Kind::Postgres);
}

#[test]
fn sqlx_reversible_pairs_on_mysql() {
    sqlx_reversible_pairs(Kind::Mysql);
}

/// `diesel migration COMMAND` with the migrations of `dir`, run from an
/// empty folder (diesel reads a `diesel.toml` from where it runs).
fn diesel_migration(diesel: &Path, db: &Db, dir: &Path, command: &str) {
    let url = match db.kind {
        Kind::Sqlite => db.sqlite_file().display().to_string(),
        _ => db.url.clone(),
    };
    let cwd = tempfile::tempdir().unwrap();
    let out = Command::new(diesel)
        .current_dir(cwd.path())
        .args(["migration", command, "--migration-dir"])
        .arg(dir)
        .args(["--database-url", &url])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "diesel migration {command}:\n{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// lockstep's version of a diesel folder `YYYY-MM-DD-HHMMSS_name`.
fn diesel_version(folder: &str) -> String {
    folder.split('_').next().unwrap().replace('-', "")
}

/// `diesel migration run` and lockstep build the same schema from
/// vaultwarden's folder; `diesel migration revert` and `lockstep rollback`
/// undo the newest alike.
fn diesel_and_lockstep_build_the_same_schema(kind: Kind, folder: &str) {
    let Some(diesel) = diesel() else { return };
    let Some(t) = with_db(kind) else { return };
    copy_dir(&fixture(folder), &t.path().join("migrations"));
    let dir = tempfile::tempdir().unwrap();
    let theirs = other_db(kind, dir.path());
    diesel_migration(&diesel, &theirs, &fixture(folder), "run");

    let out = t.run(&["apply"]);
    out.assert_ok();
    let applied = out.versions("/database/applied");
    assert_eq!(applied.len(), files(folder).len());
    assert_eq!(
        theirs.count("SELECT COUNT(*) FROM __diesel_schema_migrations"),
        applied.len() as i64
    );
    let ours = schema(t.db());
    assert!(ours.len() > applied.len(), "{ours:?}");
    assert_eq!(ours, schema(&theirs));
    assert_eq!(t.run(&["apply"]).json["changed"], false);

    diesel_migration(&diesel, &theirs, &fixture(folder), "revert");
    t.run(&["rollback", "--to", &applied[applied.len() - 2]])
        .assert_ok();
    assert_eq!(schema(t.db()), schema(&theirs));
    assert_ne!(schema(t.db()), ours);
}

#[test]
fn diesel_and_lockstep_build_the_same_schema_on_sqlite() {
    diesel_and_lockstep_build_the_same_schema(Kind::Sqlite, "diesel/vaultwarden/sqlite");
}

#[test]
fn diesel_and_lockstep_build_the_same_schema_on_postgres() {
    diesel_and_lockstep_build_the_same_schema(Kind::Postgres, "diesel/vaultwarden/postgresql");
}

/// Adopts a database diesel migrated (diesel keeps no checksum and no
/// dirty state: it records a version in the transaction that ran it).
fn adopts_what_diesel_migrated(kind: Kind, folder: &str) {
    let Some(diesel) = diesel() else { return };
    let Some(t) = with_db(kind) else { return };
    let mut names = files(folder);
    let newest = names.pop().unwrap();
    for name in &names {
        copy_dir(
            &fixture(folder).join(name),
            &t.path().join("migrations").join(name),
        );
    }
    diesel_migration(&diesel, t.db(), &t.path().join("migrations"), "run");
    copy_dir(
        &fixture(folder).join(&newest),
        &t.path().join("migrations").join(&newest),
    );
    let rows = "SELECT COUNT(*) FROM __diesel_schema_migrations";
    let before = t.db().count(rows);

    let check = t.run(&["adopt", "--check"]);
    check.assert_ok();
    assert_eq!(check.versions("/adopted").len(), names.len());
    assert_eq!(
        check.versions("/database/pending"),
        [diesel_version(&newest)]
    );
    assert!(!t.db().history_exists());

    let out = t.run(&["adopt"]);
    out.assert_ok();
    assert_eq!(out.json["adopted_from"], "__diesel_schema_migrations");
    assert_eq!(t.db().history().len(), names.len());
    let apply = t.run(&["apply"]);
    apply.assert_ok();
    assert_eq!(
        apply.versions("/database/applied"),
        [diesel_version(&newest)]
    );
    assert_eq!(t.db().count(rows), before);

    let up = t.path().join("migrations").join(&names[0]).join("up.sql");
    let original = std::fs::read_to_string(&up).unwrap();
    std::fs::write(&up, format!("{original}\n-- edited\n")).unwrap();
    t.run(&["apply"]).assert_failed().assert_msg_contains(&[
        &diesel_version(&names[0]),
        "was edited after it was applied",
    ]);
}

#[test]
fn adopts_what_diesel_migrated_on_sqlite() {
    adopts_what_diesel_migrated(Kind::Sqlite, "diesel/vaultwarden/sqlite");
}

#[test]
fn adopts_what_diesel_migrated_on_postgres() {
    adopts_what_diesel_migrated(Kind::Postgres, "diesel/vaultwarden/postgresql");
}
