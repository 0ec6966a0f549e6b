//! `resolve VERSION --resume`: finishes a migration that failed outside a
//! transaction (MariaDB, or `transaction=false`) after its file was fixed.
//! The statements that took effect are not run again; the rest of the fixed
//! file runs from the failed statement on, and the history records the fixed
//! file's checksum. Refused when the statements that already ran were
//! edited, since skipping them would then skip something else.

use super::Ctx;
use crate::db::connection::Database;
use crate::db::failure_point::{self, FailurePoint};
use crate::db::history::HistoryRow;
use crate::db::runner::{self, Direction, StepSql};
use crate::report::payload::{Payload, ResumePayload, Resumed};
use crate::report::{AppliedEntry, Report};
use crate::vocabulary::state;
use crate::vocabulary::Version;
use anyhow::{anyhow, bail, Result};

pub async fn resume(
    ctx: &Ctx,
    db: &mut Database,
    version: &Version,
    row: &HistoryRow,
    report: &mut Report,
) -> Result<()> {
    if row.state != state::FAILED {
        bail!(
            "migration {version} is {}, not failed: only a failed migration can be resumed",
            row.state
        );
    }
    let next = format!(
        "repair the database by hand, then run `lockstep resolve {version} --mark-applied` \
         or `lockstep resolve {version} --mark-rolled-back`"
    );
    if row.kind == "yaml" {
        bail!(
            "migration {version} is a YAML migration, whose parts lockstep reruns itself: {next}"
        );
    }
    let Some(point) = &row.failure_point else {
        bail!(
            "lockstep did not record which statements of migration {version} took effect, \
             so it cannot resume it; {next}"
        );
    };
    let migrations = ctx.load_migrations()?;
    let m = migrations
        .iter()
        .find(|m| m.version == *version)
        .ok_or_else(|| {
            anyhow!(
                "migration {version} has no file in {}: nothing to resume",
                ctx.migrations_display()
            )
        })?;
    let path = format!("{}/{}", ctx.migrations_display(), m.path.display());
    let sql =
        StepSql::new(m, Direction::Up, db.dialect(), &ctx.run_context()).ok_or_else(|| {
            anyhow!(
                "migration {version} ({path}) has no `up` SQL for {}",
                db.dialect()
            )
        })?;
    check_unchanged(version, &path, point, &sql, &next)?;
    let done = point.statements_done;
    let total = sql.statements.len();
    match runner::run_step_from(db, m, &sql, &ctx.migrations_display(), done).await {
        Ok(ms) => {
            if let Err(e) = db
                .run(&failure_point::forget(db.dialect(), &row.version))
                .await
            {
                report.warnings.push(format!(
                    "migration {version} is applied, but lockstep could not forget where it had failed: {e}"
                ));
            }
            report.changed = true;
            report.database.applied.push(AppliedEntry {
                version: m.version.to_string(),
                slug: m.slug.clone(),
                part: m.phase.as_str().to_owned(),
                checksum: m.checksum.to_string(),
                duration_ms: ms,
            });
            report.payload = Payload::Resume(ResumePayload {
                resumed: Resumed {
                    version: m.version.to_string(),
                    skipped_statements: done,
                    ran_statements: total - done,
                    checksum: m.checksum.to_string(),
                    previous_checksum: row.checksum.clone(),
                },
            });
            report.msg = format!(
                "resumed migration {version} from statement {}: {} already in the database and not run again, \
                 ran {}; recorded the checksum of the fixed file {} (was {})",
                done + 1,
                span(0, done),
                span(done, total),
                m.checksum,
                row.checksum
            );
        }
        Err(failure) => {
            report.fail_as("migration_failed", failure.message());
            report.database.failed_migration = Some(failure.entry.into());
        }
    }
    Ok(())
}

/// Refuses when the statements that took effect are not, text for text,
/// the first statements of the fixed file.
fn check_unchanged(
    version: &Version,
    path: &str,
    point: &FailurePoint,
    sql: &StepSql,
    next: &str,
) -> Result<()> {
    let done = point.statements_done;
    let unchanged = sql.statements.len() >= done
        && failure_point::done_checksum(&sql.statements[..done]) == point.done_checksum;
    if !unchanged {
        bail!(
            "cannot resume migration {version} ({path}): {} of the file changed since {} ran, \
             so lockstep cannot tell which of its statements are already in the database. \
             Restore {} as it was and fix only the statements from {} on, or {next}",
            span(0, done),
            if done == 1 { "it" } else { "they" },
            span(0, done),
            span(done, done + 1),
        );
    }
    Ok(())
}

/// "statements 3–4", "statement 3", "no statement" for the 0-based range.
fn span(from: usize, to: usize) -> String {
    match to.saturating_sub(from) {
        0 => "no statement".to_owned(),
        1 => format!("statement {}", from + 1),
        _ => format!("statements {}–{to}", from + 1),
    }
}
