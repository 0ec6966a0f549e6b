//! Decides what `apply` would do to the database: compares the migrations
//! found on disk with the recorded history and yields the steps to run, in
//! order, and everything that stops them (edited or failed migrations,
//! out-of-order versions). Pure: no I/O.

use crate::db::history::HistoryRow;
use crate::db::migration::Migration;
use crate::db::runner::failure_message;
use crate::db::runner::Failure;
use crate::plan::options::PhaseArg;
use crate::report::{Drift, Problem};
use crate::vocabulary::state;
use crate::vocabulary::Side;
use crate::vocabulary::{Phase, Version};
use std::collections::BTreeMap;

/// The problem kind of a migration recorded as running: another lockstep
/// may still be running it, so only a plan made under the lock can call it
/// interrupted.
pub const INTERRUPTED: &str = "migration_interrupted";

#[derive(Debug, Clone)]
pub struct PlanOptions {
    pub phase: PhaseArg,
    pub target: Option<Version>,
    pub allow_out_of_order: bool,
}

/// One migration part to run.
#[derive(Debug, Clone)]
pub struct Step<'a> {
    pub migration: &'a Migration,
    pub part: Phase,
}

#[derive(Debug, Default)]
pub struct DatabasePlan<'a> {
    pub steps: Vec<Step<'a>>,
    /// Pending migrations that this phase does not run.
    pub deferred: Vec<Step<'a>>,
    pub drift: Vec<Drift>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Newest version recorded as applied.
    pub current: Option<Version>,
}

pub fn plan<'a>(
    migrations: &'a [Migration],
    history: &[HistoryRow],
    dir_display: &str,
    opts: &PlanOptions,
) -> DatabasePlan<'a> {
    let mut plan = DatabasePlan::default();
    let by_version: BTreeMap<Version, &Migration> =
        migrations.iter().map(|m| (m.version.clone(), m)).collect();
    let mut recorded: BTreeMap<Version, &HistoryRow> = BTreeMap::new();
    for row in history {
        match Version::parse(&row.version) {
            Some(v) => {
                recorded.insert(v, row);
            }
            None => plan.warnings.push(format!(
                "the history holds a row with version `{}`, which is not a number; ignored. \
                 Delete that row from lockstep_migrations if nothing should have written it",
                row.version
            )),
        }
    }

    // Newest applied version per phase, for the out-of-order check: an
    // expand applied after a pending contract is a normal rolling deploy.
    let mut newest: BTreeMap<&str, Version> = BTreeMap::new();
    for (version, row) in &recorded {
        match row.state.as_str() {
            s if state::is_applied(s) => {
                plan.current = Some(version.clone());
                newest.insert(row.phase.as_str(), version.clone());
            }
            state::FAILED | state::RUNNING => {
                let file = by_version
                    .get(version)
                    .map_or(format!("{}_{}", row.version, row.slug), |m| {
                        m.path.display().to_string()
                    });
                let path = format!("{dir_display}/{file}");
                let (kind, msg) = if row.state == state::RUNNING {
                    (
                        INTERRUPTED,
                        format!(
                            "migration {} ({path}) was interrupted; its changes may be partly applied. \
                             Repair the database by hand, then run `lockstep resolve {} --mark-applied` \
                             or `lockstep resolve {} --mark-rolled-back`",
                            row.version, row.version, row.version
                        ),
                    )
                } else {
                    (
                        "migration_failed",
                        failure_message(
                            &failed_entry(row, path),
                            row.failure_point.as_ref(),
                            false,
                        ),
                    )
                };
                plan.problems.push(Problem::new(kind, msg));
            }
            _ => {}
        }
        // A skipped migration's file is checked too: SQL added for this
        // dialect later is an edit to review, not something to run silently.
        if state::is_applied(&row.state) || row.state == state::SKIPPED {
            match by_version.get(version) {
                Some(m) if m.checksum.as_str() != row.checksum => {
                    let path = format!("{dir_display}/{}", m.path.display());
                    plan.drift.push(Drift::MigrationEdited {
                        version: row.version.clone(),
                        path: path.clone(),
                        recorded: row.checksum.clone(),
                        actual: m.checksum.to_string(),
                    });
                    plan.problems.push(Problem::new(
                        "migration_edited",
                        format!(
                            "migration {} ({path}) was edited after it was applied \
                             (recorded {}, file {}); revert the edit, or accept it with \
                             `lockstep resolve --restamp {}`",
                            row.version,
                            row.checksum,
                            m.checksum,
                            Side::Database.restamp_arg(&row.version)
                        ),
                    ));
                }
                Some(_) => {}
                None => {
                    plan.drift.push(Drift::MigrationMissing {
                        version: row.version.clone(),
                        slug: row.slug.clone(),
                    });
                    plan.warnings.push(format!(
                        "applied migration {}_{} has no file in {dir_display} any more; restore it from \
                         the release that shipped it so that verify and rollback can check and undo it",
                        row.version, row.slug
                    ));
                }
            }
        }
    }

    let mut expand = Vec::new();
    let mut contract = Vec::new();
    for m in migrations {
        if opts.target.as_ref().is_some_and(|t| m.version > *t) {
            continue;
        }
        let row = recorded.get(&m.version);
        // A YAML migration runs in two parts: expand now, contract once
        // every host has moved on.
        if m.online.is_some() {
            let expanded = row.is_some_and(|r| state::awaits_contract(&r.state));
            let expand_pending = row.is_none_or(|r| r.state == state::ROLLED_BACK);
            if expanded || expand_pending {
                contract.push(Step {
                    migration: m,
                    part: Phase::Contract,
                });
            }
            if !expand_pending {
                continue;
            }
        } else if row.is_some_and(|r| r.state != state::ROLLED_BACK) {
            continue;
        }
        if let Some(newer) = newest.get(m.phase.as_str()).filter(|n| **n > m.version) {
            if !opts.allow_out_of_order {
                plan.problems.push(Problem::new(
                    "out_of_order",
                    format!(
                        "migration {} ({dir_display}/{}) is older than {newer}, which is already applied; \
                         renumber it, or pass --allow-out-of-order to apply it anyway",
                        m.version,
                        m.path.display()
                    ),
                ));
                continue;
            }
        }
        let step = Step {
            migration: m,
            part: m.phase,
        };
        match m.phase {
            Phase::Expand => expand.push(step),
            Phase::Contract => contract.push(step),
        }
    }
    // Expand parts first, then contract parts: database expand happens
    // before the fleet moves, contract after.
    let (run_expand, run_contract) = match opts.phase {
        PhaseArg::Expand => (true, false),
        PhaseArg::Contract => (false, true),
        PhaseArg::All => (true, true),
    };
    for (run, steps) in [(run_expand, expand), (run_contract, contract)] {
        if run {
            plan.steps.extend(steps);
        } else {
            plan.deferred.extend(steps);
        }
    }
    plan
}

/// A failed migration as its history row records it, in the shape a run
/// reports a failure.
pub fn failed_entry(row: &HistoryRow, path: String) -> Failure {
    Failure {
        version: row.version.clone(),
        slug: row.slug.clone(),
        path,
        statement: row
            .failed_statement
            .clone()
            .unwrap_or_else(|| "?".to_owned()),
        line: row.failure_point.as_ref().map_or(0, |p| p.line),
        error: row
            .error
            .clone()
            .unwrap_or_else(|| "unknown error".to_owned()),
    }
}
