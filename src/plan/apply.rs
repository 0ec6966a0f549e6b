//! One plan for `apply`, `plan` and `apply --check` (Ansible's check mode
//! too): what runs on the database, what each config file becomes, and
//! the release this host checks in as. Built by one function from what
//! was loaded: the preview (without locks) builds it, and the locked run
//! builds it again, the same way, from what it re-reads under the lock.

use crate::config::load::ConfigInputs;
use crate::config::migration::ConfigMigration;
use crate::config::state::State;
use crate::db::history::HistoryRow;
use crate::db::migration::Migration;
use crate::plan::config::{self as config_plan, ConfigOptions, ConfigPlan};
use crate::plan::database::{self as db_plan, DatabasePlan, PlanOptions};
use crate::vocabulary::Version;

/// What the plan is made from, loaded before. The plan borrows the
/// migrations and the files (`'a`), not the history or the state (`'r`).
pub struct ApplyInputs<'a, 'r> {
    pub migrations: &'a [Migration],
    pub history: &'r [HistoryRow],
    pub config_migrations: &'a [ConfigMigration],
    /// The config files, resolved and read.
    pub config_files: &'a ConfigInputs,
    /// The host's config state, with the writes a killed run left settled.
    pub state: &'r State,
}

/// The operator's choices for both sides.
pub struct ApplyOptions<'a> {
    pub database: PlanOptions,
    pub config: ConfigOptions<'a>,
    /// The migrations folder as messages name it.
    pub migrations_display: &'a str,
}

pub struct ApplyPlan<'a> {
    pub database: DatabasePlan<'a>,
    pub config: ConfigPlan<'a>,
    /// The release this host runs: the newest migration among its files
    /// (else the newest applied one).
    pub release: Option<Version>,
}

impl<'a> ApplyPlan<'a> {
    pub fn build(inputs: &ApplyInputs<'a, '_>, opts: &ApplyOptions<'_>) -> ApplyPlan<'a> {
        let database = db_plan::plan(
            inputs.migrations,
            inputs.history,
            opts.migrations_display,
            &opts.database,
        );
        let config = config_plan::plan(
            inputs.config_migrations,
            inputs.config_files,
            inputs.state,
            &opts.config,
        );
        let release = inputs
            .migrations
            .iter()
            .map(|m| &m.version)
            .max()
            .or(database.current.as_ref())
            .cloned();
        ApplyPlan {
            database,
            config,
            release,
        }
    }

    /// Whether a migration of either side is pending in this run.
    pub fn has_pending(&self) -> bool {
        !self.database.steps.is_empty() || self.config.files.iter().any(|f| f.has_pending())
    }

    /// How many config files the pending migrations change (bytes or place).
    pub fn changing_files(&self) -> usize {
        self.config
            .files
            .iter()
            .filter(|f| f.changes() && f.has_pending())
            .count()
    }
}
