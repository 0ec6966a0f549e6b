//! diesel's layout (`diesel migration`): one folder per migration,
//! `<version>_<name>/up.sql` and `down.sql`, the version the digits before
//! the first `_` with diesel's dashes removed (`2016-01-01-000000` is
//! `20160101000000`, as diesel records it). diesel orders versions as text,
//! so a version shorter than diesel's 14 timestamp digits is read with
//! zeros added on the right (`2024-03-13_170000_x` is `20240313000000`),
//! which orders it where diesel does. `metadata.toml` with
//! `run_in_transaction = false` runs both scripts outside a transaction.

use super::{entries, plain_migration, read, split_version, text, whole};
use crate::db::migration::Migration;
use crate::error::SourceError;
use crate::vocabulary::Version;
use std::path::Path;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Metadata {
    #[serde(default = "yes")]
    run_in_transaction: bool,
}

fn yes() -> bool {
    true
}

/// Digits of diesel's timestamp versions, `YYYYMMDDHHMMSS`.
const TIMESTAMP_DIGITS: usize = 14;

/// A version with zeros added to 14 digits, so that numeric order is
/// diesel's text order.
pub fn padded(version: &str) -> String {
    format!("{version:0<TIMESTAMP_DIGITS$}")
}

pub fn load(dir: &Path) -> Result<Vec<Migration>, SourceError> {
    let mut migrations = Vec::new();
    for entry in entries(dir, 1)? {
        let name = entry.file_name().to_string_lossy().into_owned();
        if !entry.file_type().is_dir() {
            // diesel keeps `.keep` and schema files beside its folders.
            if name.ends_with(".sql") {
                return Err(SourceError::new(
                    entry.into_path(),
                    None,
                    "a diesel migration is a folder <version>_<name> holding up.sql and down.sql"
                        .to_owned(),
                ));
            }
            continue;
        }
        let folder = entry.path();
        let (version, slug) = split_version(&name, &['-'])
            .and_then(|(v, slug)| Some((Version::parse(&padded(v.as_str()))?, slug)))
            .ok_or_else(|| {
                SourceError::new(
                    folder.to_path_buf(),
                    None,
                    "diesel migration folders are named <version>_<name>, the version digits \
                 (dashes allowed: 2016-01-01-000000_create_users)"
                        .to_owned(),
                )
            })?;
        let up_path = folder.join("up.sql");
        if !up_path.is_file() {
            return Err(SourceError::new(
                folder.to_path_buf(),
                None,
                "no up.sql in this diesel migration folder".to_owned(),
            ));
        }
        let transaction = match std::fs::read_to_string(folder.join("metadata.toml")) {
            Ok(toml_text) => {
                toml::from_str::<Metadata>(&toml_text)
                    .map_err(|e| {
                        SourceError::new(
                            folder.join("metadata.toml"),
                            None,
                            e.message().to_string(),
                        )
                    })?
                    .run_in_transaction
            }
            Err(_) => true,
        };
        let up_bytes = read(&up_path)?;
        let up = whole(text(&up_path, &up_bytes)?, transaction);
        let down_path = folder.join("down.sql");
        let down = if down_path.is_file() {
            let bytes = read(&down_path)?;
            Some(whole(text(&down_path, &bytes)?, transaction))
        } else {
            None
        };
        migrations.push(plain_migration(
            version, slug, &up_path, &up_bytes, up, down,
        ));
    }
    super::in_order(dir, migrations)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_with_dashed_versions_and_metadata() {
        let dir = tempfile::tempdir().unwrap();
        let write = |name: &str, text: &str| {
            let path = dir.path().join(name);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        };
        write("00000000000000_diesel_initial_setup/up.sql", "SELECT 1;\n");
        write(
            "00000000000000_diesel_initial_setup/down.sql",
            "SELECT 2;\n",
        );
        write(
            "2016-01-01-000000_create_users/up.sql",
            "CREATE TABLE users (id INT);\n",
        );
        write(
            "2016-01-01-000000_create_users/metadata.toml",
            "run_in_transaction = false\n",
        );
        write("2016-01-02_120000_late/up.sql", "SELECT 3;\n");
        write(".keep", "");
        let m = load(dir.path()).unwrap();
        assert_eq!(m[1].version.as_str(), "20160101000000");
        assert_eq!(m[1].slug, "create_users");
        assert_eq!(
            m[1].path,
            Path::new("2016-01-01-000000_create_users/up.sql")
        );
        assert!(!m[1].up.portable.as_ref().unwrap().transaction);
        assert!(m[1].down.is_empty());
        assert_eq!(m[0].down.portable.as_ref().unwrap().sql, "SELECT 2;\n");
        assert_eq!(
            (m[2].version.as_str(), m[2].slug.as_str()),
            ("20160102000000", "120000_late")
        );
        write(
            "2016-01-01-000000_create_users/metadata.toml",
            "run_in_transactoin = false\n",
        );
        let e = load(dir.path()).unwrap_err();
        assert!(e.path.ends_with("metadata.toml"), "{e}");
    }
}
