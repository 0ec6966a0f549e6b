//! The data types of a database migration as found on disk: its version,
//! its phase, and the SQL of each part per dialect. Nothing here touches a
//! database or the file system.

use crate::checksum::Checksum;
use crate::db::dialect::Dialect;
use std::cmp::Ordering;
use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;

/// A migration version: the digits of its file name, ordered numerically
/// (`0004` and `4` are the same version), displayed as written. Flyway's
/// dotted versions (`1.2.10`) order part by part, and trailing zero parts
/// do not count (`1.0` is `1`), as Flyway orders them.
#[derive(Debug, Clone)]
pub struct Version {
    text: String,
    number: u128,
    /// The parts after the first dot, trailing zeros removed; empty (and
    /// not allocated) for the plain numbers almost every layout uses.
    rest: Vec<u128>,
}

impl Version {
    pub fn parse(text: &str) -> Option<Version> {
        let mut parts = text.split('.');
        let number = parse_part(parts.next()?)?;
        let mut rest = parts.map(parse_part).collect::<Option<Vec<_>>>()?;
        while rest.last() == Some(&0) {
            rest.pop();
        }
        Some(Version {
            text: text.to_owned(),
            number,
            rest,
        })
    }

    pub fn as_str(&self) -> &str {
        &self.text
    }
}

fn parse_part(text: &str) -> Option<u128> {
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    text.parse().ok()
}

impl PartialEq for Version {
    fn eq(&self, other: &Self) -> bool {
        self.number == other.number && self.rest == other.rest
    }
}
impl Eq for Version {}
impl PartialOrd for Version {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Version {
    fn cmp(&self, other: &Self) -> Ordering {
        self.number
            .cmp(&other.number)
            .then_with(|| self.rest.cmp(&other.rest))
    }
}
impl std::hash::Hash for Version {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.number.hash(state);
        self.rest.hash(state);
    }
}
impl fmt::Display for Version {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.text)
    }
}

/// When in a rolling deploy a migration (or a part of one) runs: `expand`
/// before the new code is deployed (additive, old code keeps working),
/// `contract` after every host runs the new code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    Expand,
    Contract,
}

impl Phase {
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::Expand => "expand",
            Phase::Contract => "contract",
        }
    }

    pub fn parse(text: &str) -> Option<Phase> {
        match text {
            "expand" => Some(Phase::Expand),
            "contract" => Some(Phase::Contract),
            _ => None,
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

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
