//! The walk both sides share: every `<version>_<slug>` file with a given
//! extension under a migrations directory (recursively, hidden entries
//! skipped), read and parsed, in version order, each version once.

use crate::error::SourceError;
use crate::vocabulary::Version;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A parsed migration file, whichever side it is for.
pub trait Versioned {
    fn version(&self) -> &Version;
    /// Sets the path relative to the migrations directory.
    fn set_relative_path(&mut self, path: PathBuf);
    fn relative_path(&self) -> &Path;
}

/// Loads every file under `dir` whose extension is in `extensions` with
/// `parse(path, extension, bytes)`. A missing directory is an empty set.
pub fn load<T: Versioned>(
    dir: &Path,
    extensions: &[&str],
    what: &str,
    parse: impl Fn(&Path, &str, &[u8]) -> Result<T, SourceError>,
) -> Result<Vec<T>, SourceError> {
    if !dir.exists() {
        return Ok(Vec::new());
    }
    let mut found: BTreeMap<Version, T> = BTreeMap::new();
    // Not sorted while walking: the versions order the result, and sorting
    // a thousand names cost a fifth of a no-op run.
    let walker = walkdir::WalkDir::new(dir)
        .follow_links(true)
        .into_iter()
        .filter_entry(|e| e.depth() == 0 || !e.file_name().to_string_lossy().starts_with('.'));
    for entry in walker {
        let entry = entry.map_err(|e| {
            SourceError::new(
                e.path().unwrap_or(dir).to_path_buf(),
                None,
                format!("cannot read the {what} directory: {e}"),
            )
        })?;
        let path = entry.path();
        let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
        if !entry.file_type().is_file() || !extensions.contains(&ext) {
            continue;
        }
        let bytes = read_file(path)?;
        let mut item = parse(path, ext, &bytes)?;
        item.set_relative_path(path.strip_prefix(dir).unwrap_or(path).to_path_buf());
        if let Some(existing) = found.get(item.version()) {
            // Named in path order, whichever the walk met first.
            let mut both = [dir.join(existing.relative_path()), path.to_path_buf()];
            both.sort();
            return Err(SourceError::new(
                both[1].clone(),
                None,
                format!(
                    "duplicate {what} version {}: {} has it too; every version must be unique",
                    item.version(),
                    both[0].display()
                ),
            ));
        }
        found.insert(item.version().clone(), item);
    }
    Ok(found.into_values().collect())
}

/// The bytes of one migration file, every layout's files alike.
pub fn read_file(path: &Path) -> Result<Vec<u8>, SourceError> {
    crate::files::read_regular(path).map_err(|e| {
        SourceError::new(
            path.to_path_buf(),
            None,
            format!("cannot read the file: {e}"),
        )
    })
}

/// Splits `0004_add_email.sql` into its version and slug.
pub fn parse_file_name(path: &Path) -> Result<(Version, String), SourceError> {
    let stem = path.file_stem().and_then(|s| s.to_str()).unwrap_or("");
    let parsed = stem
        .split_once('_')
        .and_then(|(v, slug)| Some((Version::parse(v)?, slug)))
        .filter(|(_, slug)| !slug.is_empty());
    match parsed {
        Some((version, slug)) => Ok((version, slug.to_owned())),
        None => Err(SourceError::new(
            path.to_path_buf(),
            None,
            "file name must be <version>_<slug> with a numeric version, e.g. 0004_add_email.sql"
                .to_owned(),
        )),
    }
}
