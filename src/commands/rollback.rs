//! `rollback --to VERSION`: undo every applied migration newer than VERSION,
//! newest first, with its `down` SQL. Refuses before running anything when
//! one of them has no `down` for this dialect or no file.

use super::{connect_locked, connect_read_only, read_history, Ctx};
use crate::db::connection::Database;
use crate::db::history::HistoryRow;
use crate::db::migration::{SqlMigration, Version};
use crate::db::runner::{self, Direction, StepSql};
use crate::plan::database::state;
use crate::report::{AppliedEntry, Report};
use anyhow::{anyhow, Result};

pub async fn run(ctx: &Ctx, to: &str) -> Result<Report> {
    let to = Version::parse(to).ok_or_else(|| anyhow!("--to {to}: expected a version number"))?;
    let migrations = ctx.load_migrations()?;
    let mut report = ctx.new_report();
    if ctx.settings.check {
        let history = match connect_read_only(ctx).await? {
            Some(mut db) => {
                let h = read_history(&mut db).await?;
                db.close().await;
                h
            }
            None => Vec::new(),
        };
        if let Some(steps) = plan(ctx, &migrations, &history, &to, &mut report) {
            report.changed = !steps.is_empty();
            report.database.pending = Vec::new();
            report.extra.insert(
                "would_roll_back".to_owned(),
                steps.iter().map(|m| m.version.to_string()).collect(),
            );
            report.msg = format!(
                "would roll back {} migration{}",
                steps.len(),
                super::apply::plural(steps.len())
            );
        }
        return Ok(report);
    }
    let (mut db, lock) = connect_locked(ctx).await?;
    let result = roll_back_locked(ctx, &mut db, &migrations, &to, &mut report).await;
    lock.release(&mut db).await;
    db.close().await;
    result?;
    Ok(report)
}

/// The migrations to undo, newest first; `None` (and the report failed)
/// when one cannot be undone.
fn plan<'a>(
    ctx: &Ctx,
    migrations: &'a [SqlMigration],
    history: &[HistoryRow],
    to: &Version,
    report: &mut Report,
) -> Option<Vec<&'a SqlMigration>> {
    let dialect = ctx.target.dialect;
    let mut applied: Vec<(Version, &HistoryRow)> = history
        .iter()
        .filter(|r| r.state == state::APPLIED)
        .filter_map(|r| Some((Version::parse(&r.version)?, r)))
        .filter(|(v, _)| v > to)
        .collect();
    applied.sort_by(|a, b| b.0.cmp(&a.0));
    let mut steps = Vec::new();
    let mut refusals = Vec::new();
    for (version, row) in applied {
        match migrations.iter().find(|m| m.version == version) {
            None => refusals.push(format!(
                "migration {}_{} has no file in {}, so its down SQL is unknown",
                row.version,
                row.slug,
                ctx.migrations_display()
            )),
            Some(m) if m.down.for_dialect(dialect).is_none() => refusals.push(format!(
                "migration {} ({}/{}) has no `-- lockstep:down` section for {dialect}",
                m.version,
                ctx.migrations_display(),
                m.path.display()
            )),
            Some(m) if m.checksum.as_str() != row.checksum => refusals.push(format!(
                "migration {} ({}/{}) was edited after it was applied; its down SQL may not match; \
                 run `lockstep resolve --restamp {}` first if the edit is intended",
                m.version,
                ctx.migrations_display(),
                m.path.display(),
                m.version
            )),
            Some(m) => steps.push(m),
        }
    }
    if !refusals.is_empty() {
        report.fail(format!("nothing rolled back: {}", refusals.join("; ")));
        return None;
    }
    Some(steps)
}

async fn roll_back_locked(
    ctx: &Ctx,
    db: &mut Database,
    migrations: &[SqlMigration],
    to: &Version,
    report: &mut Report,
) -> Result<()> {
    let history = read_history(db).await?;
    let Some(steps) = plan(ctx, migrations, &history, to, report) else {
        return Ok(());
    };
    let run_ctx = ctx.run_context();
    for m in steps {
        let Some(sql) = StepSql::new(m, Direction::Down, db.dialect(), &run_ctx) else {
            continue;
        };
        match runner::run_step(db, m, &sql, &ctx.migrations_display()).await {
            Ok(ms) => {
                report.changed = true;
                report.database.rolled_back.push(AppliedEntry {
                    version: m.version.to_string(),
                    slug: m.slug.clone(),
                    part: "down".to_owned(),
                    checksum: m.checksum.to_string(),
                    duration_ms: ms,
                });
            }
            Err(failure) => {
                report.fail(failure.message());
                report.database.failed_migration = Some(failure.entry);
                break;
            }
        }
    }
    let history = read_history(db).await?;
    report.database.current = history
        .iter()
        .filter(|r| r.state == state::APPLIED)
        .filter_map(|r| Version::parse(&r.version))
        .max()
        .map(|v| v.to_string());
    if !report.failed {
        let n = report.database.rolled_back.len();
        report.msg = if n == 0 {
            format!("nothing to roll back: no applied migration is newer than {to}")
        } else {
            format!(
                "rolled back {n} migration{} to {to}",
                super::apply::plural(n)
            )
        };
    }
    Ok(())
}
