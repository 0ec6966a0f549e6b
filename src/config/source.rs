//! Finds config migrations on disk: `<version>_<slug>.yaml` (or `.yml`)
//! under the config-migrations directory, searched recursively and ordered
//! by version.

use crate::config::migration::{self, ConfigMigration};
use crate::error::SourceError;
use std::path::Path;

pub fn load_dir(dir: &Path) -> Result<Vec<ConfigMigration>, SourceError> {
    crate::migration_files::load(
        dir,
        &["yaml", "yml"],
        "config migration",
        |path, _, bytes| migration::parse(path, bytes),
    )
}
