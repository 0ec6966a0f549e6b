//! sqlx's layout (`sqlx migrate`): `<version>_<description>.sql` files, or
//! reversible pairs `<version>_<description>.up.sql` + `.down.sql`, in one
//! folder (no subfolders). A file whose first line is `-- no-transaction`
//! runs outside a transaction. The checksum lockstep records is of the
//! `up` file; sqlx's own SHA-384 is compared by `lockstep adopt`.

use super::{plain_migration, read, split_version, sql_files, text, whole};
use crate::db::migration::Migration;
use crate::error::SourceError;
use crate::vocabulary::Version;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

const NO_TRANSACTION: &str = "-- no-transaction";

/// Whether a reversible pair's half: `(version, slug, is_up)`.
pub fn pair_name(name: &str) -> Option<(Version, &str, bool)> {
    let (stem, is_up) = match name.strip_suffix(".up.sql") {
        Some(stem) => (stem, true),
        None => (name.strip_suffix(".down.sql")?, false),
    };
    let (version, slug) = split_version(stem, &[])?;
    Some((version, slug, is_up))
}

pub fn load(dir: &Path) -> Result<Vec<Migration>, SourceError> {
    load_pairs(dir, "sqlx", true, |text| !text.starts_with(NO_TRANSACTION))
}

/// A single (not reversible) sqlx file.
pub fn parse_single(path: &Path, bytes: &[u8]) -> Result<Migration, SourceError> {
    let name = path
        .file_name()
        .map_or(String::new(), |n| n.to_string_lossy().into_owned());
    let stem = name.strip_suffix(".sql").unwrap_or(&name);
    let (version, slug) = split_version(stem, &[]).ok_or_else(|| bad_name(path, "sqlx", true))?;
    let sql = text(path, bytes)?;
    Ok(plain_migration(
        version,
        slug,
        path,
        bytes,
        whole(sql, !sql.starts_with(NO_TRANSACTION)),
        None,
    ))
}

fn bad_name(path: &Path, tool: &str, singles: bool) -> SourceError {
    let single = if singles {
        "<version>_<description>.sql or "
    } else {
        ""
    };
    SourceError::new(
        path.to_path_buf(),
        None,
        format!(
            "{tool} file names are {single}<version>_<description>.up.sql with a .down.sql \
             beside it, the version a number"
        ),
    )
}

/// Reads a folder of `.up.sql`/`.down.sql` pairs (and, with `singles`,
/// single files); `transaction(text)` says whether a script runs in a
/// transaction.
pub(super) fn load_pairs(
    dir: &Path,
    tool: &str,
    singles: bool,
    transaction: impl Fn(&str) -> bool,
) -> Result<Vec<Migration>, SourceError> {
    #[derive(Default)]
    struct Pair {
        up: Option<PathBuf>,
        down: Option<PathBuf>,
    }
    let mut pairs: BTreeMap<(Version, String), Pair> = BTreeMap::new();
    let mut migrations = Vec::new();
    for (name, path) in sql_files(dir)? {
        match pair_name(&name) {
            Some((version, slug, is_up)) => {
                let pair = pairs.entry((version, slug.to_owned())).or_default();
                *(if is_up { &mut pair.up } else { &mut pair.down }) = Some(path);
            }
            None if singles => migrations.push(parse_single(&path, &read(&path)?)?),
            None => return Err(bad_name(&path, tool, false)),
        }
    }
    for ((version, slug), pair) in pairs {
        let Some(up_path) = pair.up else {
            let down = pair.down.unwrap_or_default();
            return Err(SourceError::new(
                down,
                None,
                format!("a down file with no {version}_{slug}.up.sql beside it"),
            ));
        };
        let up_bytes = read(&up_path)?;
        let up_text = text(&up_path, &up_bytes)?;
        let down = match pair.down {
            Some(path) => {
                let bytes = read(&path)?;
                let sql = text(&path, &bytes)?;
                Some(whole(sql, transaction(sql)))
            }
            None => None,
        };
        migrations.push(plain_migration(
            version,
            &slug,
            &up_path,
            &up_bytes,
            whole(up_text, transaction(up_text)),
            down,
        ));
    }
    super::in_order(dir, migrations)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::db::dialect::Dialect;

    #[test]
    fn reversible_pairs_and_no_transaction() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| std::fs::write(dir.path().join(name), text).unwrap();
        write(
            "20240101000000_users.up.sql",
            "CREATE TABLE users (id INT);\n",
        );
        write("20240101000000_users.down.sql", "DROP TABLE users;\n");
        write(
            "20240102000000_index.up.sql",
            "-- no-transaction\nCREATE INDEX CONCURRENTLY i ON users (id);\n",
        );
        write("20240103000000_plain.sql", "-- no-transaction\nSELECT 1;\n");
        let m = load(dir.path()).unwrap();
        assert_eq!(m.len(), 3);
        assert_eq!(m[0].slug, "users");
        assert_eq!(m[0].path, Path::new("20240101000000_users.up.sql"));
        assert_eq!(
            m[0].down.for_dialect(Dialect::Postgres).unwrap().sql,
            "DROP TABLE users;\n"
        );
        assert!(m[0].up.portable.as_ref().unwrap().transaction);
        assert!(!m[1].up.portable.as_ref().unwrap().transaction);
        assert!(!m[2].up.portable.as_ref().unwrap().transaction);
        write("20240104000000_orphan.down.sql", "SELECT 1;\n");
        let e = load(dir.path()).unwrap_err();
        assert!(e.message.contains("no 20240104000000_orphan.up.sql"), "{e}");
    }
}
