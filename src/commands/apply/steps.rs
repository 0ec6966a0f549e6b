//! The database steps of a run, in order: each contract step behind the
//! contract gate (no host may still run a release before it), a plain SQL
//! migration through the runner, and a YAML (online) migration through its
//! step machine: expand, then its backfills; contract once the backfill
//! finished and its sanity checks pass.

use super::super::backfill;
use super::super::{contract_gate, part_sql, read_history, Ctx};
use crate::cli::args::ApplyArgs;
use crate::db::connection::Database;
use crate::db::online::{self, backfill::BackfillOptions};
use crate::db::runner::{self, Direction, Failure, StepSql};
use crate::plan::database::Step;
use crate::report::{AppliedEntry, Report};
use crate::vocabulary::{Phase, Version};

pub(super) async fn run_db_steps(
    ctx: &Ctx,
    db: &mut Database,
    steps: &[&Step<'_>],
    args: &ApplyArgs,
    report: &mut Report,
    current: &mut Option<Version>,
) {
    let run_ctx = ctx.run_context();
    for step in steps {
        if step.part == Phase::Contract && !args.force {
            match online::runner::lagging_hosts(db, &step.migration.version).await {
                Ok(lagging) if !lagging.is_empty() => {
                    contract_gate::refuse(report, &step.migration.version, lagging);
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    report.fail(format!("cannot read the hosts for contract gating: {e:#}"));
                    return;
                }
            }
        }
        if step.migration.online.is_some() {
            match run_online_step(ctx, db, step, args, report).await {
                Ok(Some(ms)) => {
                    report.changed = true;
                    report.database.applied.push(AppliedEntry {
                        version: step.migration.version.to_string(),
                        slug: step.migration.slug.clone(),
                        part: step.part.as_str().to_owned(),
                        checksum: step.migration.checksum.to_string(),
                        duration_ms: ms,
                    });
                    if current.as_ref().is_none_or(|c| step.migration.version > *c) {
                        *current = Some(step.migration.version.clone());
                    }
                    continue;
                }
                Ok(None) => continue,
                Err(StepStopped::Failed {
                    kind,
                    msg,
                    migration,
                }) => {
                    report.fail_as(kind, msg);
                    report.database.failed_migration = migration.map(Into::into);
                    return;
                }
                Err(StepStopped::Backfill) => return,
            }
        }
        let (sql, part) = match StepSql::new(step.migration, Direction::Up, db.dialect(), &run_ctx)
        {
            Some(sql) => (sql, step.part.as_str()),
            None => (
                StepSql::skipped(step.migration, db.dialect(), &run_ctx),
                crate::vocabulary::state::SKIPPED,
            ),
        };
        match runner::run_step(db, step.migration, &sql, &ctx.migrations_display()).await {
            Ok(ms) => {
                report.changed = true;
                report.database.applied.push(AppliedEntry {
                    version: step.migration.version.to_string(),
                    slug: step.migration.slug.clone(),
                    part: part.to_owned(),
                    checksum: step.migration.checksum.to_string(),
                    duration_ms: ms,
                });
                if part != crate::vocabulary::state::SKIPPED
                    && current.as_ref().is_none_or(|c| step.migration.version > *c)
                {
                    *current = Some(step.migration.version.clone());
                }
            }
            Err(failure) => {
                report.fail_as("migration_failed", failure.message());
                report.database.failed_migration = Some(failure.entry.into());
                return;
            }
        }
    }
}

/// Why a part of a YAML migration stopped.
enum StepStopped {
    /// A problem of `kind` (`migration_failed`, `sanity_check`, `error`),
    /// with the migration that failed where one did.
    Failed {
        kind: &'static str,
        msg: String,
        migration: Option<Failure>,
    },
    /// The backfill stopped ([`backfill::BackfillStopped`]); it has
    /// reported why, with its progress.
    Backfill,
}

impl StepStopped {
    fn error(msg: String) -> Self {
        StepStopped::Failed {
            kind: "error",
            msg,
            migration: None,
        }
    }

    fn migration(msg: String, failure: Failure) -> Self {
        StepStopped::Failed {
            kind: "migration_failed",
            msg,
            migration: Some(failure),
        }
    }
}

/// Runs one part of a YAML migration: expand (then its backfills unless
/// --no-backfill), or contract once its backfill finished and its sanity
/// checks pass. `Ok(None)`: nothing ran (a contract waiting for a
/// backfill). `Err`: why it stopped, for the caller to report.
async fn run_online_step(
    ctx: &Ctx,
    db: &mut Database,
    step: &Step<'_>,
    args: &ApplyArgs,
    report: &mut Report,
) -> Result<Option<u64>, StepStopped> {
    let m = step.migration;
    let path = format!("{}/{}", ctx.migrations_display(), m.path.display());
    let run_ctx = ctx.run_context();
    let compiled = match online::live::compile_live(db, m, crate::db::online::Read::Now).await {
        Ok(c) => c,
        Err(e) => {
            return Err(StepStopped::error(format!(
                "migration {} ({path}): {e:#}",
                m.version
            )))
        }
    };
    if step.part == Phase::Contract {
        let about = |note: &String| format!("migration {} ({path}): {note}", m.version);
        report.warnings.extend(compiled.notes.iter().map(about));
    }
    let batches = BackfillOptions {
        batch_size: args.batches.batch_size,
        batch_sleep: std::time::Duration::from_millis(args.batches.batch_sleep),
    };
    match step.part {
        Phase::Expand => {
            let ms = match online::runner::expand(db, m, &compiled, &path, &run_ctx).await {
                Ok(ms) => ms,
                Err(f) => return Err(StepStopped::migration(f.message(), f.entry)),
            };
            if !args.no_backfill {
                backfill::run_backfills(db, m, &compiled, &batches, &run_ctx, report)
                    .await
                    .map_err(|_| StepStopped::Backfill)?;
            }
            Ok(Some(ms))
        }
        Phase::Contract => {
            let state = read_history(db)
                .await
                .ok()
                .and_then(|h| h.into_iter().find(|r| r.version == m.version.as_str()))
                .map(|r| r.state);
            if state.as_deref() == Some(crate::vocabulary::state::EXPANDED) {
                if args.no_backfill {
                    report.warnings.push(format!(
                        "migration {} is expanded but its backfill has not finished; run `lockstep backfill`, then contract",
                        m.version
                    ));
                    return Ok(None);
                }
                // A backfill that a killed run (or `--no-backfill`) left
                // unfinished: resume it after its last committed batch, so
                // that apply converges instead of stopping at `expanded`.
                backfill::run_backfills(db, m, &compiled, &batches, &run_ctx, report)
                    .await
                    .map_err(|_| StepStopped::Backfill)?;
            }
            match online::runner::sanity(db, &compiled).await {
                Ok(wrong) if !wrong.is_empty() && !args.force => {
                    return Err(StepStopped::Failed {
                        kind: "sanity_check",
                        msg: part_sql::sanity_refusal(m.version.as_str(), &wrong),
                        migration: None,
                    });
                }
                Ok(_) => {}
                Err(e) => {
                    return Err(StepStopped::error(format!(
                        "sanity check of migration {} failed to run: {e:#}",
                        m.version
                    )));
                }
            }
            match online::runner::contract(db, m, &compiled, &path, &run_ctx).await {
                Ok(ms) => Ok(Some(ms)),
                Err(f) => Err(StepStopped::migration(f.message(), f.entry)),
            }
        }
    }
}
