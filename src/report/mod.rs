//! The result of a command as the user sees it: one [`Report`], printed as
//! Ansible-style JSON (`changed`, `failed`, `msg`, `diff`, `warnings`) or as
//! a short human summary. Commands fill it; nothing else prints.

pub mod human;
pub mod progress;

use crate::vocabulary::Side;
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub changed: bool,
    pub failed: bool,
    pub check_mode: bool,
    pub phase: String,
    pub msg: String,
    pub database: DatabaseReport,
    pub config: ConfigReport,
    pub drift: Vec<Drift>,
    pub diff: Vec<DiffEntry>,
    pub warnings: Vec<String>,
    /// What stopped the run, each with a machine-readable kind.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// Values to mask in everything printed (never serialised).
    #[serde(skip)]
    pub secrets: Vec<String>,
    /// Command-specific results (`status` tables, `sql` text, hosts, …).
    #[serde(flatten)]
    pub extra: serde_json::Map<String, Value>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct DatabaseReport {
    pub url: String,
    pub dialect: String,
    /// The layout the migrations folder was read in, where one was read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub layout: Option<String>,
    pub applied: Vec<AppliedEntry>,
    pub pending: Vec<PendingEntry>,
    pub current: Option<String>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rolled_back: Vec<AppliedEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failed_migration: Option<FailedEntry>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub migrations: Option<Vec<MigrationStatus>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AppliedEntry {
    pub version: String,
    pub slug: String,
    pub part: String,
    pub checksum: String,
    pub duration_ms: u64,
}

#[derive(Debug, Clone, Serialize)]
pub struct PendingEntry {
    pub version: String,
    pub slug: String,
    pub part: String,
    pub path: String,
}

/// The database migration that failed, as the database side reports it.
pub use crate::db::runner::FailedEntry;

/// One row of `status`.
#[derive(Debug, Clone, Serialize)]
pub struct MigrationStatus {
    pub version: String,
    pub slug: String,
    pub phase: String,
    /// applied, pending, failed, running, rolled_back, missing
    pub state: String,
    pub path: Option<String>,
    pub checksum: Option<String>,
    /// `false` when the file no longer matches what was applied.
    pub checksum_ok: Option<bool>,
    pub applied_at: Option<String>,
    pub host: Option<String>,
    /// A failed or interrupted migration: where and why it stopped.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub failure: Option<FailureStatus>,
}

/// Why a recorded migration is `failed` or `running`, as `status` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct FailureStatus {
    /// The statement that failed; `None` for an interrupted migration.
    pub statement: Option<String>,
    /// Its line in the file, when lockstep recorded it.
    pub line: Option<usize>,
    pub error: Option<String>,
    /// How many statements took effect, of how many, when the migration ran
    /// outside a transaction and lockstep recorded it.
    pub statements_done: Option<usize>,
    pub statements_total: Option<usize>,
    /// The message `apply` refuses with, naming what to run next.
    pub msg: String,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct ConfigReport {
    pub files: Vec<Value>,
}

#[derive(Debug, Clone, Serialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drift {
    MigrationEdited {
        version: String,
        path: String,
        recorded: String,
        actual: String,
    },
    MigrationMissing {
        version: String,
        slug: String,
    },
    /// Filled by the config side: a file edited by hand.
    ConfigEdited {
        path: String,
        keys: Value,
    },
    ConfigMigrationEdited {
        version: String,
        path: String,
        recorded: String,
        actual: String,
    },
}

impl Drift {
    /// One line for a message: what drifted and what to run about it.
    pub fn describe(&self) -> String {
        match self {
            Drift::MigrationEdited { version, path, .. } => format!(
                "migration {version} ({path}) was edited after it was applied; revert the edit or run \
                 `lockstep resolve --restamp {}`",
                Side::Database.restamp_arg(version)
            ),
            Drift::MigrationMissing { version, slug } => {
                format!("applied migration {version}_{slug} has no file any more")
            }
            Drift::ConfigEdited { path, keys } => {
                let what: Vec<String> = ["changed", "added", "removed"]
                    .iter()
                    .filter_map(|k| {
                        let names: Vec<&str> = keys[*k]
                            .as_array()?
                            .iter()
                            .filter_map(Value::as_str)
                            .collect();
                        (!names.is_empty()).then(|| format!("{k}: {}", names.join(", ")))
                    })
                    .collect();
                format!(
                    "{path} was edited by hand ({}); revert the edit or run \
                     `lockstep resolve --adopt {path}`",
                    if what.is_empty() { "whitespace or comments".to_owned() } else { what.join("; ") }
                )
            }
            Drift::ConfigMigrationEdited { version, path, .. } => format!(
                "config migration {version} ({path}) was edited after it was applied; revert the edit \
                 or run `lockstep resolve --restamp {}`",
                Side::Config.restamp_arg(version)
            ),
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Problem {
    pub kind: String,
    pub msg: String,
}

impl Problem {
    pub fn new(kind: &str, msg: String) -> Self {
        Problem {
            kind: kind.to_owned(),
            msg,
        }
    }
}

/// An Ansible diff entry: a file's whole before/after, or SQL as `prepared`.
#[derive(Debug, Clone, Serialize)]
pub struct DiffEntry {
    pub before_header: String,
    pub after_header: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub before: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub after: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prepared: Option<String>,
}

impl Report {
    pub fn new(phase: &str, check_mode: bool) -> Report {
        Report {
            changed: false,
            failed: false,
            check_mode,
            phase: phase.to_owned(),
            msg: String::new(),
            database: DatabaseReport::default(),
            config: ConfigReport::default(),
            drift: Vec::new(),
            diff: Vec::new(),
            warnings: Vec::new(),
            problems: Vec::new(),
            secrets: Vec::new(),
            extra: serde_json::Map::new(),
        }
    }

    /// Marks the run failed with `msg`, keeping what was done before.
    pub fn fail(&mut self, msg: impl Into<String>) {
        self.fail_as("error", msg);
    }

    /// Fails with a problem of `kind`, unless problems already say why.
    pub fn fail_as(&mut self, kind: &str, msg: impl Into<String>) {
        self.failed = true;
        self.msg = msg.into();
        if self.problems.is_empty() {
            self.problems.push(Problem::new(kind, self.msg.clone()));
        }
    }

    /// Fails with every problem found, so one run names them all.
    pub fn fail_with_problems(&mut self) {
        if let Some(first) = self.problems.first() {
            let msg = if self.problems.len() == 1 {
                first.msg.clone()
            } else {
                format!(
                    "{} problems: {}",
                    self.problems.len(),
                    self.problems
                        .iter()
                        .map(|p| p.msg.as_str())
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            self.fail(msg);
        }
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_else(|e| {
            format!("{{\"failed\": true, \"changed\": false, \"msg\": \"cannot encode the result: {e}\"}}")
        })
    }
}
/// The `s` of a plural noun in a message: `1 file`, `2 files`.
pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
