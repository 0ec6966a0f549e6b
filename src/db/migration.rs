//! The data types of a database migration as found on disk: its version,
//! its phase, and the SQL of each part per dialect. Nothing here touches a
//! database or the file system.

use crate::checksum::Checksum;
use crate::db::dialect::Dialect;
use crate::vocabulary::{Phase, Version};
use std::collections::BTreeMap;
use std::path::PathBuf;

/// One block of SQL: the statements between two markers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Script {
    pub sql: String,
    /// Run inside a transaction together with the history row (the default);
    /// `false` for statements a database refuses in one, such as
    /// `CREATE INDEX CONCURRENTLY`.
    pub transaction: bool,
    /// 1-based line of the first SQL line in the file, for error messages.
    pub line: usize,
}

/// The `up` or `down` SQL of a migration: a portable script and optional
/// per-dialect replacements.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Scripts {
    pub portable: Option<Script>,
    pub per_dialect: BTreeMap<Dialect, Script>,
}

impl Scripts {
    /// The script to run on `dialect`: its own variant, else the portable one.
    pub fn for_dialect(&self, dialect: Dialect) -> Option<&Script> {
        self.per_dialect.get(&dialect).or(self.portable.as_ref())
    }

    pub fn is_empty(&self) -> bool {
        self.portable.is_none() && self.per_dialect.is_empty()
    }
}

/// A `<version>_<slug>.sql` migration file, parsed.
#[derive(Debug, Clone)]
pub struct Migration {
    pub version: Version,
    pub slug: String,
    /// Path relative to the migrations directory, for messages and status.
    pub path: PathBuf,
    pub checksum: Checksum,
    pub phase: Phase,
    pub up: Scripts,
    pub down: Scripts,
    /// A YAML migration's operations; `up`/`down` are empty then.
    pub online: Option<crate::db::online::OnlineMigration>,
    /// `-- lockstep:lint-ignore RULE reason`: (line, rule).
    pub lint_ignores: Vec<(usize, String)>,
}

impl Migration {
    /// `sql` or `yaml`, as recorded in the history.
    pub fn kind(&self) -> &'static str {
        if self.online.is_some() {
            "yaml"
        } else {
            "sql"
        }
    }
}

impl crate::migration_files::Versioned for Migration {
    fn version(&self) -> &Version {
        &self.version
    }
    fn set_relative_path(&mut self, path: PathBuf) {
        self.path = path;
    }
    fn relative_path(&self) -> &std::path::Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    use super::Version;

    fn v(text: &str) -> Version {
        Version::parse(text).unwrap()
    }

    #[test]
    fn versions_order_numerically_and_part_by_part() {
        assert_eq!(v("0004"), v("4"));
        assert!(v("9") < v("10"));
        assert!(v("1.2") < v("1.10"));
        assert!(v("1.9.9") < v("2"));
        assert!(v("1") < v("1.0.1"));
        assert_eq!(v("1.0"), v("1"));
        assert_eq!(v("1.0").to_string(), "1.0");
        for bad in ["", "1.", ".1", "1..2", "1a", "v1", "1_1"] {
            assert!(Version::parse(bad).is_none(), "{bad}");
        }
    }
}
