//! The result of a command as the user sees it: one [`Report`], printed as
//! Ansible-style JSON (`changed`, `failed`, `msg`, `diff`, `warnings`) or as
//! a short human summary. Commands fill it; nothing else prints.

pub mod human;
pub mod payload;
pub mod progress;
pub mod schema;

pub use payload::Payload;

use crate::config::edit::KeyChanges;
use crate::db::runner::Failure;
use crate::vocabulary::Side;
use schema::{Checksum, Timestamp, Version, Versions};
use schemars::JsonSchema;
use serde::Serialize;

/// The one JSON object every lockstep command prints on stdout with --format json (and in Ansible's binary-module mode). Keys may be added in later versions, none removed or renamed: objects therefore allow properties not listed here. The test suite validates every result it produces against this schema, which is generated from lockstep's report types (`cargo run --example output-schema`). See docs/output.md.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(title = "lockstep result")]
pub struct Report {
    /// Something changed; in check mode, something would change.
    pub changed: bool,
    /// The command failed; the exit status is then 1 and msg says why.
    pub failed: bool,
    /// --check (or plan, or _ansible_check_mode): nothing was changed.
    pub check_mode: bool,
    /// The phase the command ran for (--phase).
    #[schemars(extend("enum" = ["expand", "contract", "all"]))]
    pub phase: String,
    /// One line for a person: what was done, or what failed, where, and what to run next.
    pub msg: String,
    pub database: DatabaseReport,
    pub config: ConfigReport,
    /// Everything edited behind lockstep's back.
    pub drift: Vec<Drift>,
    /// Ansible diff entries, filled with --diff (and by plan).
    pub diff: Vec<DiffEntry>,
    pub warnings: Vec<String>,
    /// What stopped the run; present only when something did.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub problems: Vec<Problem>,
    /// Values to mask in everything printed (never serialised).
    #[serde(skip)]
    pub secrets: Vec<String>,
    /// Command-specific results (`status` tables, `sql` text, hosts, …).
    #[serde(flatten)]
    pub payload: Payload,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct DatabaseReport {
    /// The database URL with any password replaced by ***; empty when the command failed before reading settings.
    pub url: String,
    #[schemars(extend("enum" = ["sqlite", "postgres", "mysql", ""]))]
    pub dialect: String,
    /// status and apply: the layout the migrations folder was read in (the migrations_format setting, or found from the folder).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    #[schemars(extend("enum" = ["lockstep", "sqlx", "diesel", "golang-migrate", "flyway", "dbmate", "goose"]))]
    pub layout: Option<String>,
    /// Migrations (parts) applied by this run, in order.
    pub applied: Vec<AppliedEntry>,
    /// Migrations (parts) not applied: what apply would run, or what is left after a failure.
    pub pending: Vec<PendingEntry>,
    /// The newest applied version after the run; null on an empty database.
    #[schemars(with = "Option<Version>")]
    pub current: Option<String>,
    /// rollback: the migrations undone, newest first.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rolled_back: Vec<AppliedEntry>,
    /// The migration that failed in this run, with the statement and its line.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "FailedEntry")]
    pub failed_migration: Option<FailedEntry>,
    /// status: every migration, on disk or recorded, in version order.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<MigrationStatus>")]
    pub migrations: Option<Vec<MigrationStatus>>,
}

/// A migration (part) applied or rolled back by this run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AppliedEntry {
    #[schemars(with = "Version")]
    pub version: String,
    pub slug: String,
    #[schemars(with = "schema::Part")]
    pub part: String,
    #[schemars(with = "Checksum")]
    pub checksum: String,
    pub duration_ms: u64,
}

/// A migration (part) not applied.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct PendingEntry {
    #[schemars(with = "Version")]
    pub version: String,
    pub slug: String,
    #[schemars(with = "schema::Part")]
    pub part: String,
    /// The migration file, under the migrations directory.
    pub path: String,
}

/// A migration that failed: which one, the statement and its line in the file, and the database's error (secrets scrubbed).
#[derive(Debug, Clone, serde::Serialize, schemars::JsonSchema)]
pub struct FailedEntry {
    pub version: String,
    pub slug: String,
    /// The migration file.
    pub path: String,
    /// The statement that failed.
    pub statement: String,
    /// Its line in the migration file.
    pub line: usize,
    /// The database's message.
    pub error: String,
}

impl From<Failure> for FailedEntry {
    fn from(f: Failure) -> Self {
        FailedEntry {
            version: f.version,
            slug: f.slug,
            path: f.path,
            statement: f.statement,
            line: f.line,
            error: f.error,
        }
    }
}

/// One row of `status`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct MigrationStatus {
    #[schemars(with = "Version")]
    pub version: String,
    pub slug: String,
    #[schemars(extend("enum" = ["expand", "contract"]))]
    pub phase: String,
    /// applied, pending, failed, running (interrupted), missing (recorded, no file), pending (rolled back); YAML migrations add expanded, backfilling, backfilled, contracted.
    pub state: String,
    /// The migration file; null when the file is missing.
    pub path: Option<String>,
    #[schemars(with = "Option<Checksum>")]
    pub checksum: Option<String>,
    /// false when the file no longer matches what was applied; null when not applied or missing.
    pub checksum_ok: Option<bool>,
    #[schemars(with = "Option<Timestamp>")]
    pub applied_at: Option<String>,
    /// The host that applied it.
    pub host: Option<String>,
    /// A failed or running (interrupted) migration: where and why it stopped. Absent otherwise.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "FailureStatus")]
    pub failure: Option<FailureStatus>,
}

/// Why a recorded migration is `failed` or `running`, as `status` shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct FailureStatus {
    /// The statement that failed; null for an interrupted migration.
    pub statement: Option<String>,
    /// Its line in the migration file, when lockstep recorded it.
    pub line: Option<usize>,
    /// The database's message.
    pub error: Option<String>,
    /// How many statements took effect, when the migration ran outside a transaction and lockstep recorded it.
    pub statements_done: Option<usize>,
    /// Of how many statements.
    pub statements_total: Option<usize>,
    /// The message apply refuses with, naming what to run next.
    pub msg: String,
}

#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ConfigReport {
    /// Managed config files: as apply and plan see them, or as status and verify see them.
    pub files: Vec<ConfigFile>,
}

/// A managed config file, as `apply` and `plan` or as `status` and `verify` see it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(untagged)]
pub enum ConfigFile {
    Applied(ConfigFileApplied),
    Status(ConfigFileStatus),
}

impl ConfigFile {
    pub fn path(&self) -> &str {
        match self {
            ConfigFile::Applied(f) => &f.path,
            ConfigFile::Status(f) => &f.path,
        }
    }

    /// Whether the run changed it (or would); `status` does not say.
    pub fn changed(&self) -> bool {
        match self {
            ConfigFile::Applied(f) => f.changed,
            ConfigFile::Status(_) => false,
        }
    }

    pub fn drifted(&self) -> bool {
        match self {
            ConfigFile::Applied(f) => f.drifted,
            ConfigFile::Status(f) => f.drifted,
        }
    }
}

/// apply and plan: one managed config file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConfigFileApplied {
    /// Relative to the config root.
    pub path: String,
    pub changed: bool,
    /// Config migrations applied (or that would be) to it.
    #[schemars(with = "Versions")]
    pub applied: Vec<String>,
    /// null when the file did not exist.
    #[schemars(with = "Option<Checksum>")]
    pub sha256_before: Option<String>,
    #[schemars(with = "Option<Checksum>")]
    pub sha256_after: Option<String>,
    /// The file was edited by hand since lockstep last wrote it.
    pub drifted: bool,
    /// move_file: where the file was (or would be) moved, relative to the config root.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub moved_to: Option<String>,
    /// --on-drift force: the hand-edited keys (section.key) this run overwrote.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub overwritten: Vec<String>,
    /// --backup: the copy kept before writing.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub backup_file: Option<String>,
}

/// status and verify: one managed config file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConfigFileStatus {
    pub path: String,
    /// Config migrations not applied to it yet.
    #[schemars(with = "Versions")]
    pub pending: Vec<String>,
    pub drifted: bool,
    /// Keys (section.key) edited by hand; null when none were.
    pub drift: Option<KeyChanges>,
    /// null when the file does not exist.
    #[schemars(with = "Option<Checksum>")]
    pub sha256: Option<String>,
}

#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Drift {
    /// A database migration edited after it was applied.
    MigrationEdited {
        #[schemars(with = "Version")]
        version: String,
        path: String,
        #[schemars(with = "Checksum")]
        recorded: String,
        #[schemars(with = "Checksum")]
        actual: String,
    },
    /// An applied database migration whose file is gone.
    MigrationMissing {
        #[schemars(with = "Version")]
        version: String,
        slug: String,
    },
    /// Filled by the config side: a file edited by hand.
    ConfigEdited { path: String, keys: KeyChanges },
    /// A config migration edited after it was applied.
    ConfigMigrationEdited {
        #[schemars(with = "Version")]
        version: String,
        path: String,
        #[schemars(with = "Checksum")]
        recorded: String,
        #[schemars(with = "Checksum")]
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
                let what: Vec<String> = [
                    ("changed", &keys.changed),
                    ("added", &keys.added),
                    ("removed", &keys.removed),
                ]
                .iter()
                .filter(|(_, names)| !names.is_empty())
                .map(|(k, names)| format!("{k}: {}", names.join(", ")))
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

#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Problem {
    /// Machine-readable: error (any other failure), migration_failed, migration_interrupted, migration_edited, out_of_order, contract_gated, sanity_check, drift, config_drift, config_drift_conflict, config_migration_edited, config_missing, config_operation, config_path, config_unreadable, …
    #[schemars(regex(pattern = r"^[a-z][a-z_]*$"))]
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
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[schemars(extend("anyOf" = [{ "required": ["before", "after"] }, { "required": ["prepared"] }]))]
pub struct DiffEntry {
    pub before_header: String,
    pub after_header: String,
    /// A config file's whole content before (secrets masked).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub before: Option<String>,
    /// … and after.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
    pub after: Option<String>,
    /// The SQL that runs (or would run).
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "String")]
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
            payload: Payload::None,
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
