//! Finds config migrations on disk: `<version>_<slug>.yaml` (or `.yml`)
//! under the config-migrations directory, searched recursively and ordered
//! by version.

use crate::config::migration::{self, ConfigMigration};
use crate::db::migration::Version;
use crate::error::SourceError;
use std::collections::BTreeMap;
use std::path::Path;

pub fn load_dir(dir: &Path) -> Result<Vec<ConfigMigration>, SourceError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut found: BTreeMap<Version, ConfigMigration> = BTreeMap::new();
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .sort_by_file_name()
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| {
            SourceError::new(
                e.path().unwrap_or(dir).to_path_buf(),
                None,
                format!("cannot read the config-migrations directory: {e}"),
            )
        })?;
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !entry.file_type().is_file() || !matches!(ext, "yaml" | "yml") {
            continue;
        }
        let bytes = std::fs::read(path).map_err(|e| {
            SourceError::new(
                path.to_path_buf(),
                None,
                format!("cannot read the file: {e}"),
            )
        })?;
        let mut m = migration::parse(path, &bytes)?;
        m.path = path.strip_prefix(dir).unwrap_or(path).to_path_buf();
        if let Some(existing) = found.get(&m.version) {
            return Err(SourceError::new(
                path.to_path_buf(),
                None,
                format!(
                    "duplicate config migration version {}: {} has it too; every version must be unique",
                    m.version,
                    dir.join(&existing.path).display()
                ),
            ));
        }
        found.insert(m.version.clone(), m);
    }
    Ok(found.into_values().collect())
}
