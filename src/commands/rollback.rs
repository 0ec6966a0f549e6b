//! `rollback --to VERSION`: undo every applied migration newer than VERSION,
//! newest first, with its `down` SQL. Refuses before running anything when
//! one of them has no `down` for this dialect or no file. The plan of both
//! sides is [`crate::plan::rollback`]; this file loads, writes and reports.

use super::{connect_locked, read_history, Ctx};
use crate::config::ini::Syntax;
use crate::config::load::ConfigInputs;
use crate::config::migration::ConfigMigration;
use crate::config::state::{FileRecord, State, StateLock};
use crate::db::connection::Database;
use crate::db::history::HistoryRow;
use crate::db::migration::Migration;
use crate::db::runner::{self, Direction, StepSql};
use crate::plan::rollback::Restore;
use crate::report::{AppliedEntry, Report};
use crate::vocabulary::state;
use crate::vocabulary::Version;
use anyhow::{anyhow, Context, Result};
use std::path::Path;

/// How far back each side goes; `None` leaves that side as it is.
#[derive(Debug, Clone, Default)]
pub struct Targets {
    pub database: Option<String>,
    pub config: Option<String>,
}

pub async fn run(ctx: &Ctx, targets: &Targets) -> Result<Report> {
    let parse = |flag: &str, t: &Option<String>| {
        t.as_deref()
            .map(|t| {
                Version::parse(t).ok_or_else(|| anyhow!("{flag} {t}: expected a version number"))
            })
            .transpose()
    };
    let db_to = parse("--database-to", &targets.database)?;
    let config_to = parse("--config-to", &targets.config)?;
    let migrations = ctx.load_migrations()?;
    let config_migrations = ctx.load_config_migrations()?;
    let mut report = ctx.new_report();
    let _state_lock = if ctx.settings.check {
        None
    } else {
        Some(StateLock::acquire(
            &ctx.settings.state_dir,
            ctx.settings.lock_timeout,
        )?)
    };
    let mut state = State::load(&ctx.settings.state_dir)?;
    crate::config::commit::settle_pending_writes(&ctx.settings.config_root, &mut state);
    let files = match &config_to {
        Some(to) => load_config_files(ctx, &state, to),
        None => ConfigInputs::default(),
    };
    let restores = match &config_to {
        Some(to) => match plan_config(ctx, &config_migrations, &state, &files, to, &mut report) {
            Some(r) => r,
            None => return Ok(report),
        },
        None => Vec::new(),
    };
    report.payload.rollback().config_rolled_back =
        restores.iter().flat_map(|r| r.versions.clone()).collect();
    if ctx.settings.check {
        let history = super::history_read_only(ctx).await?;
        let steps = match &db_to {
            Some(to) => plan(ctx, &migrations, &history, to, &mut report),
            None => Some(Vec::new()),
        };
        if let Some(steps) = steps {
            report.changed = !steps.is_empty() || restores.iter().any(|r| r.changes());
            report.database.pending = Vec::new();
            report.payload.rollback().would_roll_back =
                Some(steps.iter().map(|m| m.version.to_string()).collect());
            let mut db = super::connect_read_only(ctx).await?;
            super::rollback_preview::describe(
                ctx,
                db.as_mut(),
                &steps,
                &preview_files(&restores, &state),
                &mut report,
            )
            .await;
            if let Some(db) = db {
                db.close().await;
            }
            report.msg = summary(&steps, &restores, &db_to, &config_to, true);
        }
        return Ok(report);
    }
    let (mut db, lock) = connect_locked(ctx).await?;
    // Refuse before anything runs if the database side cannot be undone.
    let history = read_history(&mut db).await?;
    let steps = match &db_to {
        Some(to) => plan(ctx, &migrations, &history, to, &mut report),
        None => Some(Vec::new()),
    };
    let Some(steps) = steps else {
        lock.release(&mut db).await;
        db.close().await;
        return Ok(report);
    };
    super::rollback_preview::describe(
        ctx,
        Some(&mut db),
        &steps,
        &preview_files(&restores, &state),
        &mut report,
    )
    .await;
    let config_result = write_restores(ctx, &mut state, &restores, &mut report);
    if let Err(e) = config_result {
        lock.release(&mut db).await;
        db.close().await;
        return Err(e);
    }
    let result = match &db_to {
        Some(to) => roll_back_locked(ctx, &mut db, &migrations, to, &mut report).await,
        None => Ok(()),
    };
    lock.release(&mut db).await;
    db.close().await;
    result?;
    if !report.failed {
        report.msg = summary(&steps, &restores, &db_to, &config_to, false);
    }
    Ok(report)
}

/// The config side of the preview: each file's restore with the migrations
/// it undoes and the values they recorded.
fn preview_files<'a>(
    restores: &'a [Restore<'_>],
    state: &'a State,
) -> Vec<super::rollback_preview::FileRollback<'a>> {
    restores
        .iter()
        .map(|r| super::rollback_preview::FileRollback {
            file: &r.file,
            before: &r.before,
            after: &r.after,
            secrecy: &r.secrecy,
            migrations: r
                .versions
                .iter()
                .filter_map(|v| state.migrations.get(v))
                .collect(),
        })
        .collect()
}

/// "rolled back database migrations 0003_c, 0002_b to 0001 and config
/// migration 0002 (app.ini) to 0001".
fn summary(
    steps: &[&Migration],
    restores: &[Restore<'_>],
    db_to: &Option<Version>,
    config_to: &Option<Version>,
    check: bool,
) -> String {
    let mut parts = Vec::new();
    if let Some(to) = db_to {
        if !steps.is_empty() {
            let names: Vec<String> = steps
                .iter()
                .map(|m| format!("{}_{}", m.version, m.slug))
                .collect();
            parts.push(format!(
                "database migration{} {} to {to}",
                crate::report::plural(steps.len()),
                names.join(", ")
            ));
        }
    }
    if let Some(to) = config_to {
        let names: Vec<String> = restores
            .iter()
            .flat_map(|r| r.versions.iter().map(move |v| format!("{v} ({})", r.file)))
            .collect();
        if !names.is_empty() {
            parts.push(format!(
                "config migration{} {} to {to}",
                crate::report::plural(names.len()),
                names.join(", ")
            ));
        }
    }
    if parts.is_empty() {
        let to = db_to
            .as_ref()
            .or(config_to.as_ref())
            .map(|v| v.to_string())
            .unwrap_or_default();
        return format!("nothing to roll back: no applied migration is newer than {to}");
    }
    format!(
        "{} {}",
        if check {
            "would roll back"
        } else {
            "rolled back"
        },
        parts.join(" and ")
    )
}

/// The files the config migrations newer than `to` edited, resolved and
/// read for the plan.
fn load_config_files(ctx: &Ctx, state: &State, to: &Version) -> ConfigInputs {
    let newer = state
        .migrations
        .values()
        .filter(|a| Version::parse(&a.version).is_some_and(|v| v > *to))
        .map(|a| a.file.clone());
    ConfigInputs::of_files(&ctx.settings.config_root, newer)
}

/// Every config file's restore; `None` (and the report failed) when one
/// cannot be restored.
fn plan_config<'a>(
    ctx: &Ctx,
    migrations: &[ConfigMigration],
    state: &State,
    files: &'a ConfigInputs,
    to: &Version,
    report: &mut Report,
) -> Option<Vec<Restore<'a>>> {
    let opts = crate::plan::rollback::ConfigOptions {
        on_drift: ctx.settings.on_drift,
        secret_names: &ctx.settings.secret_names,
        migrations_dir: &ctx.settings.config_migrations,
    };
    match crate::plan::rollback::config(migrations, state, files, to, &opts) {
        Ok(restores) => Some(restores),
        Err(refusals) => {
            refused(report, &refusals);
            None
        }
    }
}

/// The migrations to undo, newest first; `None` (and the report failed)
/// when one cannot be undone.
fn plan<'a>(
    ctx: &Ctx,
    migrations: &'a [Migration],
    history: &[HistoryRow],
    to: &Version,
    report: &mut Report,
) -> Option<Vec<&'a Migration>> {
    let dir = ctx.migrations_display();
    match crate::plan::rollback::database(migrations, history, to, ctx.target.dialect, &dir) {
        Ok(steps) => Some(steps),
        Err(refusals) => {
            refused(report, &refusals);
            None
        }
    }
}

async fn roll_back_locked(
    ctx: &Ctx,
    db: &mut Database,
    migrations: &[Migration],
    to: &Version,
    report: &mut Report,
) -> Result<()> {
    let history = read_history(db).await?;
    let Some(steps) = plan(ctx, migrations, &history, to, report) else {
        return Ok(());
    };
    let run_ctx = ctx.run_context();
    for m in steps {
        let result = if m.online.is_some() {
            // Undo expand: triggers and new columns go, the old schema stays.
            let path = format!("{}/{}", ctx.migrations_display(), m.path.display());
            let compiled =
                crate::db::online::live::compile_live(db, m, crate::db::online::Read::Now).await?;
            crate::db::online::runner::undo(db, m, &compiled, &path, &run_ctx)
                .await
                .map_err(|f| (f.message(), f.entry))
        } else {
            let Some(sql) = StepSql::new(m, Direction::Down, db.dialect(), &run_ctx) else {
                continue;
            };
            runner::run_step(db, m, &sql, &ctx.migrations_display())
                .await
                .map_err(|f| (f.message(), f.entry))
        };
        match result {
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
            Err((message, entry)) => {
                report.fail_as("migration_failed", message);
                report.database.failed_migration = Some(entry.into());
                break;
            }
        }
    }
    let history = read_history(db).await?;
    report.database.current = history
        .iter()
        .filter(|r| state::is_applied(&r.state))
        .filter_map(|r| Version::parse(&r.version))
        .max()
        .map(|v| v.to_string());
    Ok(())
}

fn write_restores(
    ctx: &Ctx,
    state: &mut State,
    restores: &[Restore<'_>],
    report: &mut Report,
) -> Result<()> {
    let dir = &ctx.settings.state_dir;
    for r in restores {
        let restored = FileRecord::of(&r.after, &r.secrecy, Syntax::for_path(Path::new(&r.file)));
        if r.changes() {
            if let Some(record) = state.files.get_mut(&r.file) {
                record.pending = Some(restored.intent(Vec::new(), r.versions.clone(), false));
                state.save(dir)?;
            }
            r.path
                .replace(
                    r.after.as_bytes(),
                    crate::config::write::Creation::mode(0o644),
                )
                .with_context(|| format!("{}: the file is unchanged", r.file))?;
            report.changed = true;
        }
        for v in &r.versions {
            state.migrations.remove(v);
        }
        state.files.insert(r.file.clone(), restored);
        state.save(dir)?;
    }
    Ok(())
}

/// Fails the report with every reason nothing is rolled back.
fn refused(report: &mut Report, refusals: &[crate::plan::rollback::Refusal]) {
    let reasons: Vec<String> = refusals.iter().map(|r| crate::error::chain(r)).collect();
    report.fail(format!("nothing rolled back: {}", reasons.join("; ")));
}
