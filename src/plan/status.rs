//! What `status` and `verify` say about the migrations: each database
//! migration's state from its file and the history, with how a failed one
//! failed; each config file with what is pending and whether it drifted;
//! each config migration's state on this host; and the counts the summary
//! line gives. Pure: the command loads the files, the history and the
//! state, and reports.

use crate::checksum::Checksum;
use crate::config::load::ConfigInputs;
use crate::config::migration::ConfigMigration;
use crate::config::secrecy::SecretNames;
use crate::config::state::State;
use crate::db::history::HistoryRow;
use crate::db::migration::Migration;
use crate::plan::config::{self as config_plan, ConfigOptions, ConfigPlan};
use crate::plan::database as db_plan;
use crate::plan::options::{OnDrift, PhaseArg};
use crate::report::payload::{ConfigMigrationState, ConfigMigrationStatus};
use crate::report::{ConfigFileStatus, FailureStatus, MigrationStatus, Problem};
use crate::vocabulary::state;
use crate::vocabulary::Version;
use std::collections::BTreeMap;
use std::path::Path;

/// Every database migration with its state, and the counts of each kind.
pub struct DatabaseStatus {
    pub migrations: Vec<MigrationStatus>,
    pub applied: usize,
    pub pending: usize,
    pub failed: usize,
    pub interrupted: usize,
    pub edited: usize,
    pub missing: usize,
}

impl DatabaseStatus {
    /// "database: 3 applied, 1 pending, 1 failed".
    pub fn summary(&self) -> String {
        let mut database = format!(
            "database: {} applied, {} pending",
            self.applied, self.pending
        );
        for (n, what) in [
            (self.failed, "failed"),
            (self.interrupted, "interrupted"),
            (self.edited, "edited"),
            (self.missing, "missing"),
        ] {
            if n > 0 {
                database.push_str(&format!(", {n} {what}"));
            }
        }
        database
    }

    /// How many migrations need someone: failed, interrupted, edited or
    /// missing their file.
    pub fn unhealthy(&self) -> usize {
        self.failed + self.interrupted + self.edited + self.missing
    }
}

/// Each migration's state: from its file (pending) and its history row
/// (applied, failed, rolled back, ...); a row without a file is missing.
/// `problems` are the database plan's: a failed migration's message is the
/// one `apply` gives.
pub fn database(
    migrations: &[Migration],
    history: &[HistoryRow],
    migrations_display: &str,
    problems: &[Problem],
) -> DatabaseStatus {
    let mut rows: BTreeMap<Version, MigrationStatus> = BTreeMap::new();
    let files: BTreeMap<Version, &Migration> =
        migrations.iter().map(|m| (m.version.clone(), m)).collect();
    for m in migrations {
        rows.insert(
            m.version.clone(),
            MigrationStatus {
                version: m.version.to_string(),
                slug: m.slug.clone(),
                phase: m.phase.as_str().to_owned(),
                state: "pending".to_owned(),
                path: Some(format!("{migrations_display}/{}", m.path.display())),
                checksum: Some(m.checksum.to_string()),
                checksum_ok: None,
                applied_at: None,
                host: None,
                failure: None,
            },
        );
    }
    for row in history {
        let Some(version) = Version::parse(&row.version) else {
            continue;
        };
        let file = files.get(&version);
        let entry = rows.entry(version).or_insert_with(|| MigrationStatus {
            version: row.version.clone(),
            slug: row.slug.clone(),
            phase: row.phase.clone(),
            state: "missing".to_owned(),
            path: None,
            checksum: Some(row.checksum.clone()),
            checksum_ok: None,
            applied_at: None,
            host: None,
            failure: None,
        });
        if file.is_some() {
            entry.state = if row.state == state::ROLLED_BACK {
                "pending (rolled back)".to_owned()
            } else {
                row.state.clone()
            };
        }
        if row.state != state::ROLLED_BACK {
            entry.checksum_ok = file.map(|m| m.checksum.as_str() == row.checksum);
            entry.applied_at = Some(row.applied_at.clone());
            entry.host = Some(row.host.clone());
        }
        if row.state == state::FAILED || row.state == state::RUNNING {
            entry.failure = Some(failure_status(
                migrations_display,
                row,
                file.copied(),
                problems,
            ));
        }
    }
    let count = |f: &dyn Fn(&MigrationStatus) -> bool| rows.values().filter(|r| f(r)).count();
    DatabaseStatus {
        pending: count(&|r| r.state.starts_with("pending")),
        applied: count(&|r| state::is_applied(&r.state)),
        failed: count(&|r| r.state == state::FAILED),
        interrupted: count(&|r| r.state == state::RUNNING),
        edited: count(&|r| r.checksum_ok == Some(false)),
        missing: count(&|r| r.state == "missing"),
        migrations: rows.into_values().collect(),
    }
}

/// A failed or interrupted migration as `status` shows it: the statement,
/// the line, how many statements took effect, and the message `apply` gives.
fn failure_status(
    migrations_display: &str,
    row: &HistoryRow,
    file: Option<&Migration>,
    problems: &[Problem],
) -> FailureStatus {
    let path = file.map_or(format!("{}_{}", row.version, row.slug), |m| {
        format!("{migrations_display}/{}", m.path.display())
    });
    let entry = db_plan::failed_entry(row, path.clone());
    let msg = problems
        .iter()
        .find(|p| p.msg.starts_with(&format!("migration {} (", row.version)))
        .map(|p| p.msg.clone())
        .unwrap_or_default();
    let point = row.failure_point.as_ref();
    FailureStatus {
        statement: row.failed_statement.clone(),
        line: point.map(|p| p.line),
        error: row.error.clone(),
        statements_done: point.map(|p| p.statements_done),
        statements_total: point.map(|p| p.statements_total),
        msg: if msg.is_empty() {
            crate::db::runner::failure_message(&entry, point, false)
        } else {
            msg
        },
    }
}

/// The config side as status and verify see it.
pub struct ConfigStatus<'a> {
    /// Every file planned with every migration, drift noted, nothing
    /// refused: its drift and secrets go into the result.
    pub plan: ConfigPlan<'a>,
    /// Why a file cannot be read, if one cannot.
    pub unreadable: Option<String>,
    pub files: Vec<ConfigFileStatus>,
    /// Every config migration with its state on this host.
    pub migrations: Vec<ConfigMigrationStatus>,
}

/// The config side. A file that cannot be read (a FIFO, a device) has no
/// status to show: `unreadable` says why, and the command fails.
pub fn config<'a>(
    migrations: &'a [ConfigMigration],
    files: &'a ConfigInputs,
    state: &State,
    vars: &BTreeMap<String, String>,
    secret_names: &SecretNames,
    migrations_dir: &Path,
) -> ConfigStatus<'a> {
    let opts = ConfigOptions {
        phase: PhaseArg::All,
        target: None,
        on_drift: OnDrift::Force,
        check: true,
        vars,
        secret_names,
        migrations_dir,
    };
    let plan = config_plan::plan(migrations, files, state, &opts);
    let unreadable = plan
        .problems
        .iter()
        .find(|p| p.kind == "config_unreadable")
        .map(|p| p.msg.clone());
    let files = plan
        .files
        .iter()
        .map(|f| ConfigFileStatus {
            path: f.file.clone(),
            pending: f
                .expand
                .iter()
                .chain(&f.contract)
                .map(|p| p.migration.version.to_string())
                .collect(),
            drifted: f.drift.is_some(),
            drift: f.drift.clone(),
            sha256: f
                .before
                .as_deref()
                .map(|t| Checksum::of_bytes(t.as_bytes()).to_string()),
        })
        .collect();
    let migrations = migrations
        .iter()
        .map(|m| {
            let applied = state.migrations.get(m.version.as_str());
            ConfigMigrationStatus {
                version: m.version.to_string(),
                slug: m.slug.clone(),
                file: m.file.clone(),
                phase: m.phase.as_str().to_owned(),
                state: if applied.is_some() {
                    ConfigMigrationState::Applied
                } else {
                    ConfigMigrationState::Pending
                },
                checksum_ok: applied.map(|a| a.checksum == m.checksum.as_str()),
                applied_at: applied.map(|a| a.applied_at.clone()),
            }
        })
        .collect();
    ConfigStatus {
        plan,
        unreadable,
        files,
        migrations,
    }
}
