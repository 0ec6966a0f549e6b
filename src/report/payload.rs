//! What each command adds to a [`Report`](super::Report) besides the common
//! keys: `status` its settings and tables, `sql` its script, `hosts` its
//! list, and so on. One struct per command, flattened into the report's top
//! level, so the whole JSON shape is written down here and the schema in
//! `docs/output.schema.json` is generated from it (see [`super::schema`]).

use super::schema::{Checksum, Timestamp, Version, Versions};
use schemars::{JsonSchema, Schema, SchemaGenerator};
use serde::Serialize;
use std::borrow::Cow;

/// A command's own keys. Serialised flat into the report: `None` adds
/// nothing, any other variant adds its struct's keys.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(untagged)]
pub enum Payload {
    #[default]
    None,
    Apply(ApplyPayload),
    Rollback(RollbackPayload),
    Status(StatusPayload),
    Verify(VerifyPayload),
    Sql(SqlPayload),
    Hosts(HostsPayload),
    Adopt(AdoptPayload),
    New(NewPayload),
    Lint(LintPayload),
    Resume(ResumePayload),
}

/// `apply`, `plan` and `backfill`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct ApplyPayload {
    /// apply --check and plan: the versions of the database migrations that would run.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Versions")]
    pub would_apply: Option<Vec<String>>,
    /// apply and backfill: the batched backfills this run ran or resumed, one per backfilled column.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<BackfillRun>")]
    pub backfills: Option<Vec<BackfillRun>>,
    /// apply and plan: the hosts a refused contract waits for, as `name (at V)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<String>")]
    pub lagging_hosts: Option<Vec<String>>,
}

/// One backfilled column of a run.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BackfillRun {
    pub table: String,
    pub column: String,
    /// Rows rewritten so far, earlier runs included.
    pub rows: i64,
    /// Batches committed so far, earlier runs included.
    pub batches: i64,
    /// The key after which this run started; null when it started from the beginning.
    pub resumed_after: Option<i64>,
    /// The key the last committed batch ended at.
    pub last_key: Option<i64>,
    /// The longest batch transaction of this run.
    pub longest_batch_ms: u64,
    /// The fewest rows a batch of this run was given: below --batch-size when batches ran over their time budget (50 ms) and were made smaller; null when this run ran no batch.
    pub smallest_batch: Option<i64>,
    pub finished: bool,
    /// The table's lowest key when this run started; null for an empty table.
    pub min_key: Option<i64>,
    /// The table's highest key when this run started (the progress bar's total); null for an empty table.
    pub max_key: Option<i64>,
    pub version: String,
    /// How long this run's backfills of the migration took.
    pub duration_ms: u64,
}

/// `rollback`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct RollbackPayload {
    /// rollback: the config migrations whose prior values were (or would be) restored.
    #[schemars(with = "Versions")]
    pub config_rolled_back: Vec<String>,
    /// rollback --check: the versions that would be rolled back, newest first.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Versions")]
    pub would_roll_back: Option<Vec<String>>,
    /// rollback: every migration undone (or, in check mode, to be undone), database ones newest first, then config ones.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<RollbackEntry>")]
    pub rollback: Option<Vec<RollbackEntry>>,
}

/// A migration a rollback undoes.
#[derive(Debug, Clone, Serialize, JsonSchema)]
#[serde(tag = "side", rename_all = "snake_case")]
pub enum RollbackEntry {
    Database {
        version: String,
        slug: String,
        /// The migration file.
        path: String,
        /// The statements that undo it.
        down: Vec<String>,
    },
    Config {
        version: String,
        slug: String,
        /// The file it restores.
        file: String,
        /// Each key put back, `section.key = value` or `section.key removed (it was not there)`.
        restores: Vec<String>,
    },
}

/// `status`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct StatusPayload {
    /// status and verify: every config migration with its state on this host.
    pub config_migrations: Vec<ConfigMigrationStatus>,
    /// status: the settings file read (a project's lockstep.ini or the system one), null when none.
    pub settings_file: Option<String>,
    /// status: whether settings_file is the system file (/etc/lockstep/lockstep.ini or $LOCKSTEP_SYSTEM_CONFIG).
    pub system_mode: bool,
    /// status: the per-host state dir used.
    pub state_dir: String,
    /// status: the folder the database migrations were read from.
    pub migrations_dir: String,
    /// status: the folder the config migrations were read from.
    pub config_migrations_dir: String,
    /// status: the folder config migrations name their files relative to.
    pub config_root: String,
    /// status: false when something needs a look: a failed or interrupted migration, an edited or missing migration file, a config file edited by hand or an edited config migration. The human summary then starts with `attention:`.
    pub healthy: bool,
    /// status: every backfill that started and has not finished (a killed or interrupted run); `lockstep backfill` resumes it.
    pub backfills_in_progress: Vec<BackfillInProgress>,
    /// hosts and status: every host that checked in, with the release it last checked in at.
    pub hosts: Vec<Host>,
}

/// `verify`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct VerifyPayload {
    /// status and verify: every config migration with its state on this host.
    pub config_migrations: Vec<ConfigMigrationStatus>,
}

/// One config migration as `status` and `verify` show it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ConfigMigrationStatus {
    #[schemars(with = "Version")]
    pub version: String,
    pub slug: String,
    pub file: String,
    #[schemars(extend("enum" = ["expand", "contract"]))]
    pub phase: String,
    pub state: ConfigMigrationState,
    pub checksum_ok: Option<bool>,
    #[schemars(with = "Option<Timestamp>")]
    pub applied_at: Option<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ConfigMigrationState {
    Applied,
    Pending,
}

impl ConfigMigrationState {
    pub fn as_str(self) -> &'static str {
        match self {
            ConfigMigrationState::Applied => "applied",
            ConfigMigrationState::Pending => "pending",
        }
    }
}

/// A backfill that started and has not finished.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct BackfillInProgress {
    pub version: String,
    pub table: String,
    pub column: String,
    /// Rows rewritten so far.
    pub rows: i64,
    /// Batches committed so far.
    pub batches: i64,
    /// The key the last committed batch ended at.
    pub last_key: Option<i64>,
    /// The table's highest key now; null when lockstep cannot read it.
    pub max_key: Option<i64>,
    /// How far along the key range the backfill is, rounded down; null when unknown.
    pub percent: Option<i64>,
    #[schemars(with = "Timestamp")]
    pub updated_at: String,
    #[schemars(extend("const" = false))]
    pub finished: bool,
}

/// `sql`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SqlPayload {
    /// sql: the SQL apply would run, lockstep's bookkeeping included, as one script.
    pub sql: String,
    /// sql: the same, per migration.
    pub migrations: Vec<SqlMigration>,
}

/// One migration's part as `sql` shows it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct SqlMigration {
    #[schemars(with = "Version")]
    pub version: String,
    pub slug: String,
    #[schemars(with = "super::schema::Part")]
    pub part: String,
    /// Whether the statements run in one transaction with the history row.
    pub transaction: bool,
    pub statements: Vec<String>,
}

/// `hosts`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct HostsPayload {
    /// hosts and status: every host that checked in, with the release it last checked in at.
    pub hosts: Vec<Host>,
}

/// A host's last check-in.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Host {
    pub host_id: String,
    /// The newest migration the host was at when it checked in.
    pub version: String,
    #[schemars(with = "Timestamp")]
    pub checked_in_at: String,
    pub lockstep_version: String,
    pub retired: bool,
}

/// `adopt`.
#[derive(Debug, Clone, Default, Serialize, JsonSchema)]
pub struct AdoptPayload {
    /// adopt from a tool: the migrations whose file changed since the tool applied them.
    #[serde(skip_serializing_if = "Option::is_none")]
    #[schemars(with = "Vec<AdoptChanged>")]
    pub changed_since_applied: Option<Vec<AdoptChanged>>,
    /// adopt: the migrations recorded as applied (or that would be).
    pub adopted: Vec<AdoptedEntry>,
    /// adopt: the other tool's history table, or `baseline`.
    pub adopted_from: String,
}

/// A migration `adopt` records.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AdoptedEntry {
    #[schemars(with = "Version")]
    pub version: String,
    pub slug: String,
    pub path: String,
    #[schemars(with = "Checksum")]
    pub checksum: String,
}

/// A migration whose file changed since the other tool applied it.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct AdoptChanged {
    #[schemars(with = "Version")]
    pub version: String,
    pub path: String,
    /// The checksum the tool recorded, in its own form.
    pub recorded: String,
    #[schemars(with = "Checksum")]
    pub checksum: String,
}

/// `new`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct NewPayload {
    /// new: the file created (or that would be created).
    pub path: String,
    /// new: the version of the file created.
    #[schemars(regex(pattern = r"^[0-9]+$"))]
    pub version: String,
}

/// `lint`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LintPayload {
    /// lint: every finding, by file and line.
    pub findings: Vec<LintFinding>,
}

/// Something `lint` found in a migration.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct LintFinding {
    pub path: String,
    pub line: usize,
    /// The rule that found it.
    pub rule: String,
    /// The dialect the statement was read in.
    pub dialect: String,
    pub message: String,
}

/// `resolve --resume`.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct ResumePayload {
    /// resolve --resume: what ran of the fixed file.
    pub resumed: Resumed,
}

/// resolve --resume: what ran of the fixed file.
#[derive(Debug, Clone, Serialize, JsonSchema)]
pub struct Resumed {
    #[schemars(with = "Version")]
    pub version: String,
    /// Statements that had taken effect and were not run again.
    pub skipped_statements: usize,
    /// Statements run now, from the one that had failed.
    pub ran_statements: usize,
    /// The fixed file's checksum, now recorded.
    #[schemars(with = "Checksum")]
    pub checksum: String,
    #[schemars(with = "Checksum")]
    pub previous_checksum: String,
}

impl Payload {
    /// The `apply` payload, made empty first if the report had none.
    pub fn apply(&mut self) -> &mut ApplyPayload {
        if !matches!(self, Payload::Apply(_)) {
            *self = Payload::Apply(ApplyPayload::default());
        }
        match self {
            Payload::Apply(p) => p,
            _ => unreachable!("set just above"),
        }
    }

    /// The `adopt` payload, made empty first if the report had none.
    pub fn adopt(&mut self) -> &mut AdoptPayload {
        if !matches!(self, Payload::Adopt(_)) {
            *self = Payload::Adopt(AdoptPayload::default());
        }
        match self {
            Payload::Adopt(p) => p,
            _ => unreachable!("set just above"),
        }
    }

    /// The `rollback` payload, made empty first if the report had none.
    pub fn rollback(&mut self) -> &mut RollbackPayload {
        if !matches!(self, Payload::Rollback(_)) {
            *self = Payload::Rollback(RollbackPayload::default());
        }
        match self {
            Payload::Rollback(p) => p,
            _ => unreachable!("set just above"),
        }
    }

    /// The hosts that checked in, where the command lists them.
    pub fn hosts(&self) -> Option<&[Host]> {
        match self {
            Payload::Status(s) => Some(&s.hosts),
            Payload::Hosts(h) => Some(&h.hosts),
            _ => None,
        }
    }
}

/// The payload's schema: every key any command adds, none required, since
/// which are present depends on the command. (A derived schema of the
/// untagged enum would be an `anyOf` that the empty variant makes accept
/// anything.) A key two commands share must have one schema.
impl JsonSchema for Payload {
    fn schema_name() -> Cow<'static, str> {
        "Payload".into()
    }

    fn inline_schema() -> bool {
        true
    }

    fn json_schema(generator: &mut SchemaGenerator) -> Schema {
        let mut properties = serde_json::Map::new();
        for schema in [
            ApplyPayload::json_schema(generator),
            RollbackPayload::json_schema(generator),
            StatusPayload::json_schema(generator),
            VerifyPayload::json_schema(generator),
            SqlPayload::json_schema(generator),
            HostsPayload::json_schema(generator),
            AdoptPayload::json_schema(generator),
            NewPayload::json_schema(generator),
            LintPayload::json_schema(generator),
            ResumePayload::json_schema(generator),
        ] {
            let Some(serde_json::Value::Object(props)) = schema.get("properties") else {
                continue;
            };
            for (key, value) in props {
                if let Some(seen) = properties.get(key) {
                    assert_eq!(
                        seen, value,
                        "two payloads give the key `{key}` different schemas"
                    );
                }
                properties.insert(key.clone(), value.clone());
            }
        }
        let mut schema = Schema::default();
        schema.insert("type".to_owned(), "object".into());
        schema.insert("properties".to_owned(), properties.into());
        schema
    }
}
