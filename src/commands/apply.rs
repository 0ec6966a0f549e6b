//! `apply` and `plan`: load the migrations and the history, plan, run the
//! pending steps (not in check mode), check the host in, report.

use super::{connect_locked, connect_read_only, read_history, Ctx};
use crate::cli::args::ApplyArgs;
use crate::db::connection::Database;
use crate::db::history;
use crate::db::migration::{SqlMigration, Version};
use crate::db::runner::{self, Direction, StepSql};
use crate::plan::database::{self as db_plan, DatabasePlan, PlanOptions, Step};
use crate::report::{AppliedEntry, DiffEntry, PendingEntry, Report};
use anyhow::{anyhow, Result};

pub async fn run(ctx: &Ctx, args: &ApplyArgs) -> Result<Report> {
    let migrations = ctx.load_migrations()?;
    let target = args
        .target
        .as_deref()
        .map(|t| {
            Version::parse(t).ok_or_else(|| anyhow!("--target {t}: expected a version number"))
        })
        .transpose()?;
    let opts = PlanOptions {
        phase: ctx.settings.phase,
        target,
        allow_out_of_order: args.allow_out_of_order,
    };
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
        let plan = db_plan::plan(&migrations, &history, &ctx.migrations_display(), &opts);
        fill_plan(ctx, &mut report, &plan, true);
        return Ok(report);
    }

    let (mut db, lock) = connect_locked(ctx).await?;
    let result = apply_locked(ctx, &mut db, &migrations, &opts, &mut report).await;
    lock.release(&mut db).await;
    db.close().await;
    result?;
    Ok(report)
}

async fn apply_locked(
    ctx: &Ctx,
    db: &mut Database,
    migrations: &[SqlMigration],
    opts: &PlanOptions,
    report: &mut Report,
) -> Result<()> {
    let history = read_history(db).await?;
    let plan = db_plan::plan(migrations, &history, &ctx.migrations_display(), opts);
    fill_plan(ctx, report, &plan, false);
    if report.failed {
        return Ok(());
    }
    let run_ctx = ctx.run_context();
    let dialect = db.dialect();
    let mut current = plan.current.clone();
    for step in &plan.steps {
        let Some(sql) = StepSql::new(step.migration, Direction::Up, dialect, &run_ctx) else {
            // The planner only yields migrations with an up script; a
            // dialect-only migration for another dialect has none here.
            report.warnings.push(format!(
                "migration {} has no `up` SQL for {dialect}; skipped",
                step.migration.version
            ));
            continue;
        };
        match runner::run_step(db, step.migration, &sql, &ctx.migrations_display()).await {
            Ok(ms) => {
                report.changed = true;
                report.database.applied.push(AppliedEntry {
                    version: step.migration.version.to_string(),
                    slug: step.migration.slug.clone(),
                    part: step.part.as_str().to_owned(),
                    checksum: step.migration.checksum.to_string(),
                    duration_ms: ms,
                });
                if current.as_ref().is_none_or(|c| step.migration.version > *c) {
                    current = Some(step.migration.version.clone());
                }
            }
            Err(failure) => {
                report.fail(failure.message());
                report.database.failed_migration = Some(failure.entry);
                break;
            }
        }
    }
    report.database.current = current.as_ref().map(|v| v.to_string());
    report.database.pending = plan
        .steps
        .iter()
        .filter(|s| {
            !report
                .database
                .applied
                .iter()
                .any(|a| a.version == s.migration.version.as_str())
        })
        .chain(plan.deferred.iter())
        .map(|s| pending_entry(ctx, s))
        .collect();
    if !report.failed {
        if let Some(version) = &current {
            for b in history::check_in(
                dialect,
                &ctx.settings.host_id,
                version.as_str(),
                &runner::now(),
            ) {
                db.run(&b)
                    .await
                    .map_err(|e| anyhow!("cannot check this host in: {e}"))?;
            }
        }
        report.msg = summary(report.database.applied.len(), false);
    }
    Ok(())
}

/// Fills what the plan says: drift, problems, and in check mode the steps.
fn fill_plan(ctx: &Ctx, report: &mut Report, plan: &DatabasePlan<'_>, check: bool) {
    report.drift.extend(plan.drift.iter().cloned());
    report.warnings.extend(plan.warnings.iter().cloned());
    report.problems.extend(plan.problems.iter().cloned());
    report.database.current = plan.current.as_ref().map(|v| v.to_string());
    if ctx.settings.diff && !plan.steps.is_empty() {
        report.diff.push(DiffEntry {
            before_header: "database".to_owned(),
            after_header: format!("database ({})", ctx.target.display),
            before: None,
            after: None,
            prepared: Some(prepared_sql(ctx, &plan.steps)),
        });
    }
    if !report.problems.is_empty() {
        report.fail_with_problems();
        return;
    }
    if check {
        report.database.pending = plan
            .steps
            .iter()
            .chain(plan.deferred.iter())
            .map(|s| pending_entry(ctx, s))
            .collect();
        report.changed = !plan.steps.is_empty();
        report.msg = summary(plan.steps.len(), true);
        report.extra.insert(
            "would_apply".to_owned(),
            plan.steps
                .iter()
                .map(|s| s.migration.version.to_string())
                .collect(),
        );
    }
}

fn pending_entry(ctx: &Ctx, s: &Step<'_>) -> PendingEntry {
    PendingEntry {
        version: s.migration.version.to_string(),
        slug: s.migration.slug.clone(),
        part: s.part.as_str().to_owned(),
        path: format!(
            "{}/{}",
            ctx.migrations_display(),
            s.migration.path.display()
        ),
    }
}

/// The SQL of the steps, for `--diff`: what a reviewer wants to read.
fn prepared_sql(ctx: &Ctx, steps: &[Step<'_>]) -> String {
    let dialect = ctx.target.dialect;
    let mut out = String::new();
    for s in steps {
        out.push_str(&format!(
            "-- {}_{} ({})\n",
            s.migration.version, s.migration.slug, s.part
        ));
        match s.migration.up.for_dialect(dialect) {
            Some(script) => {
                for stmt in crate::db::statements::split(&script.sql, dialect) {
                    out.push_str(&stmt.sql);
                    out.push_str(";\n");
                }
            }
            None => out.push_str(&format!("-- no up SQL for {dialect}\n")),
        }
    }
    out
}

fn summary(n: usize, check: bool) -> String {
    match (check, n) {
        (_, 0) => "nothing to do: the database is up to date".to_owned(),
        (true, n) => format!("would apply {n} database migration{}", plural(n)),
        (false, n) => format!("applied {n} database migration{}", plural(n)),
    }
}

pub fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
