//! Flyway's layout: `V<version>__<description>.sql` versioned migrations,
//! searched in subfolders too; the version's parts are separated by `.` or
//! `_` (`V1_2__x.sql` is version 1.2, as Flyway records it) and ordered part
//! by part. `U<version>__<description>.sql` is the undo of that version.
//! A script's `<file>.conf` with `executeInTransaction=false` runs it outside
//! a transaction; without that setting, a script with a statement that
//! PostgreSQL cannot run in a transaction (`CREATE INDEX CONCURRENTLY`,
//! `VACUUM`, …) runs outside one, as Flyway detects it. Repeatable `R__` migrations are refused: lockstep records
//! each migration once.

use super::{entries, plain_migration, read, text, whole};
use crate::db::dialect::postgres;
use crate::db::migration::{Migration, Script};
use crate::error::SourceError;
use crate::vocabulary::Version;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Whether a file name is one of Flyway's: `V1__x.sql`, `U1__x.sql`, `R__x.sql`.
pub fn is_flyway_name(name: &str) -> bool {
    name.starts_with("R__") && name.ends_with(".sql") || versioned(name).is_some()
}

/// `(is_undo, version, description)` of a `V` or `U` file name.
fn versioned(name: &str) -> Option<(bool, Version, &str)> {
    let is_undo = match name.as_bytes().first()? {
        b'V' => false,
        b'U' => true,
        _ => return None,
    };
    let (version, description) = name[1..].strip_suffix(".sql")?.split_once("__")?;
    if description.is_empty() {
        return None;
    }
    Some((
        is_undo,
        Version::parse(&version.replace('_', "."))?,
        description,
    ))
}

pub fn load(dir: &Path) -> Result<Vec<Migration>, SourceError> {
    let mut versions: BTreeMap<(Version, &'static str), PathBuf> = BTreeMap::new();
    let mut scripts: Vec<(bool, Version, String, PathBuf)> = Vec::new();
    for entry in entries(dir, usize::MAX)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().is_file() || !name.ends_with(".sql") {
            continue;
        }
        let path = entry.into_path();
        if name.starts_with("R__") {
            return Err(SourceError::new(
                path,
                None,
                "a repeatable Flyway migration: lockstep applies each migration once and \
                 does not re-run R__ files when they change; turn it into a versioned \
                 V<version>__ file (a new one for each change), or keep it out of this folder"
                    .to_owned(),
            ));
        }
        let (is_undo, version, description) = versioned(&name).ok_or_else(|| {
            SourceError::new(
                path.clone(),
                None,
                "Flyway file names are V<version>__<description>.sql (or U… for an undo), \
                 the version numbers separated by . or _"
                    .to_owned(),
            )
        })?;
        let kind = if is_undo { "undo" } else { "versioned" };
        if let Some(other) = versions.insert((version.clone(), kind), path.clone()) {
            return Err(SourceError::new(
                path,
                None,
                format!(
                    "duplicate {kind} migration version {version}: {} has it too; \
                     every version must be unique",
                    other.display()
                ),
            ));
        }
        scripts.push((is_undo, version, description.to_owned(), path));
    }
    let mut undo: BTreeMap<Version, Script> = BTreeMap::new();
    for (_, version, _, path) in scripts.iter().filter(|s| s.0) {
        let bytes = read(path)?;
        undo.insert(version.clone(), script(path, &bytes)?);
    }
    let mut migrations = Vec::new();
    for (_, version, description, path) in scripts.into_iter().filter(|s| !s.0) {
        let bytes = read(&path)?;
        let up = script(&path, &bytes)?;
        let down = undo.remove(&version);
        migrations.push(plain_migration(
            version,
            &description,
            &path,
            &bytes,
            up,
            down,
        ));
    }
    if let Some(version) = undo.keys().next() {
        return Err(SourceError::new(
            dir.to_path_buf(),
            None,
            format!("an undo migration U{version}__ has no V{version}__ migration"),
        ));
    }
    super::in_order(dir, migrations)
}

/// A script, run in a transaction unless its `.conf` file or one of its
/// statements says otherwise.
fn script(path: &Path, bytes: &[u8]) -> Result<Script, SourceError> {
    let sql = text(path, bytes)?;
    let transaction = match conf_in_transaction(path)? {
        Some(setting) => setting,
        None => !postgres::refuses_transaction(sql),
    };
    Ok(whole(sql, transaction))
}

/// `executeInTransaction` from the script's `.conf` file, when it has one.
fn conf_in_transaction(script: &Path) -> Result<Option<bool>, SourceError> {
    let mut conf = script.as_os_str().to_owned();
    conf.push(".conf");
    let conf = PathBuf::from(conf);
    let Ok(text) = std::fs::read_to_string(&conf) else {
        return Ok(None);
    };
    let mut transaction = None;
    for (index, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        match line.split_once('=').map(|(k, v)| (k.trim(), v.trim())) {
            Some(("executeInTransaction", "false")) => transaction = Some(false),
            Some(("executeInTransaction", "true")) => transaction = Some(true),
            _ => {
                return Err(SourceError::new(
                    conf,
                    Some(index + 1),
                    format!("`{line}`: lockstep reads only executeInTransaction=true|false here"),
                ))
            }
        }
    }
    Ok(transaction)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dotted_versions_undo_files_and_conf() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("V1__init.sql", "CREATE TABLE a (id INT);\n");
        write("U1__init.sql", "DROP TABLE a;\n");
        write("release2/V1_10__later.sql", "SELECT 10;\n");
        write("V1.2__earlier.sql", "SELECT 2;\n");
        write(
            "V1.2__earlier.sql.conf",
            "# comment\nexecuteInTransaction=false\n",
        );
        let m = load(dir.path()).unwrap();
        let versions: Vec<_> = m.iter().map(|m| m.version.to_string()).collect();
        assert_eq!(versions, ["1", "1.2", "1.10"]);
        assert_eq!(m[2].path, Path::new("release2/V1_10__later.sql"));
        assert_eq!(m[0].down.portable.as_ref().unwrap().sql, "DROP TABLE a;\n");
        assert!(!m[1].up.portable.as_ref().unwrap().transaction);
        assert!(m[2].up.portable.as_ref().unwrap().transaction);
        write("R__views.sql", "SELECT 1;\n");
        let e = load(dir.path()).unwrap_err();
        assert!(e.message.contains("repeatable Flyway migration"), "{e}");
        std::fs::remove_file(dir.path().join("R__views.sql")).unwrap();
        write("V1_2__again.sql", "SELECT 1;\n");
        let e = load(dir.path()).unwrap_err();
        assert!(
            e.message
                .contains("duplicate versioned migration version 1.2"),
            "{e}"
        );
    }

    #[test]
    fn a_statement_postgres_refuses_in_a_transaction_runs_the_script_without_one() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "V1__index.sql",
            "-- drop the old one\nDROP INDEX CONCURRENTLY IF EXISTS a_i;\n\
             create unique index\n  concurrently b_i ON b (x);\n",
        );
        write(
            "V2__plain.sql",
            "CREATE INDEX c_i ON c (x);\n-- CONCURRENTLY later\n",
        );
        write("V3__vacuum.sql", "VACUUM ANALYZE c;\n");
        write(
            "V4__forced.sql",
            "CREATE INDEX CONCURRENTLY d_i ON d (x);\n",
        );
        write("V4__forced.sql.conf", "executeInTransaction=true\n");
        write(
            "V5__reindex.sql",
            "REINDEX TABLE c;\nREINDEX INDEX CONCURRENTLY c_i;\n",
        );
        let m = load(dir.path()).unwrap();
        let transaction: Vec<bool> = m
            .iter()
            .map(|m| m.up.portable.as_ref().unwrap().transaction)
            .collect();
        assert_eq!(transaction, [false, true, false, true, false]);
    }
}
