//! `apply` and `plan`: load the migrations, the history and the host's
//! config state; plan both sides; stop before writing anything if a plan
//! has a problem; otherwise run, in order, database expand, config expand,
//! config contract, database contract; check the host in; report.
//!
//! This file is the orchestration. The plan is [`crate::plan::apply`], built
//! the same way for the preview, check mode and the locked run; the
//! database steps (the online step machine and the contract gate) are in
//! `steps`; the crash-safe config write is [`crate::config::commit`], fed
//! from the plan by `config_commit`; the result's shape is in `report`.

mod config_commit;
mod report;
mod steps;

use super::part_sql::{PartSql, ShowError};
use super::{connect_locked, contract_gate, read_history, Ctx};
use crate::cli::args::ApplyArgs;
use crate::config::commit::{finish_moves, settle_pending_writes};
use crate::config::commit::{Backups, Landed};
use crate::config::load::ConfigInputs;
use crate::config::migration::ConfigMigration;
use crate::config::state::{State, StateLock};
use crate::db::connection::Database;
use crate::db::history::{self, HistoryRow};
use crate::db::layouts::Layout;
use crate::db::migration::Migration;
use crate::plan::apply::{ApplyInputs, ApplyOptions, ApplyPlan};
use crate::plan::config::ConfigOptions;
use crate::plan::database::{self as db_plan, PlanOptions};
use crate::report::Report;
use crate::vocabulary::{Phase, Version};
use anyhow::{anyhow, Context, Result};
use config_commit::write_config;
use std::collections::BTreeMap;

/// Everything loaded from disk before planning.
struct Loaded {
    layout: Layout,
    migrations: Vec<Migration>,
    config_migrations: Vec<ConfigMigration>,
    target: Option<Version>,
    /// With `--diff`: each YAML migration's statements per part, to show.
    part_sql: BTreeMap<String, Result<PartSql, ShowError>>,
}

pub async fn run(ctx: &Ctx, args: &ApplyArgs) -> Result<Report> {
    let target = args
        .target
        .as_deref()
        .map(|t| {
            Version::parse(t).ok_or_else(|| anyhow!("--target {t}: expected a version number"))
        })
        .transpose()?;
    // Reading the files and reading the database wait on different things
    // (the file system, the database's own thread): overlap them. A file
    // error wins and is reported at once, without waiting for the database.
    let (migrations, layout, config_migrations) = (
        ctx.settings.migrations.clone(),
        ctx.settings.migrations_format,
        ctx.settings.config_migrations.clone(),
    );
    let mut files = tokio::task::spawn_blocking(move || -> Result<_> {
        Ok((
            crate::db::layouts::load(&migrations, layout)?,
            crate::config::source::load_dir(&config_migrations)?,
        ))
    });
    let recorded = super::recorded_read_only(ctx);
    tokio::pin!(recorded);
    let mut read = None;
    let files = loop {
        tokio::select! {
            biased;
            files = &mut files => break files.context("the thread reading the migrations failed")??,
            r = &mut recorded, if read.is_none() => read = Some(r),
        }
    };
    let ((layout, migrations), config_migrations) = files;
    let mut loaded = Loaded {
        layout,
        migrations,
        config_migrations,
        target,
        part_sql: BTreeMap::new(),
    };
    let recorded = match read {
        Some(r) => r,
        None => recorded.await,
    }?;
    loaded.part_sql =
        super::part_sql::for_review(ctx, &loaded.migrations, &recorded.0, args.force).await;
    // Plan once without locks: bad input and refused drift fail here with
    // nothing written, not even a lock file or lockstep's own tables.
    let (history, checked_in) = recorded;
    let mut preview = ctx.new_report();
    preview.database.layout = Some(loaded.layout.to_string());
    let seen = State::load(&ctx.settings.state_dir)?;
    let mut state = seen.clone();
    // Test-only (unset in real runs): another apply may run to its end here.
    crate::config::write::pause_in_preview_for_tests();
    // An old file a `move_file` left to remove needs the locked run too.
    let intents = settle_pending_writes(&ctx.settings.config_root, &mut state)
        || state.files.values().any(|r| r.moved_from.is_some());
    let files = load_config_files(ctx, &loaded, &state);
    let plan = build_plan(ctx, &loaded, args, &history, &files, &state);
    report::preview(ctx, &mut preview, &plan, &loaded.part_sql);
    // Whether a real run would write nothing at all, not even a check-in,
    // so it can end here without taking a lock.
    let quiet = !preview.failed
        && !intents
        && !plan.has_pending()
        && plan
            .release
            .as_ref()
            .is_none_or(|r| checked_in.as_deref() == Some(r.as_str()));
    if ctx.settings.check && !args.force && !preview.failed {
        contract_gate::predict(
            ctx,
            &mut preview,
            &plan.database.steps,
            plan.release.as_ref(),
        )
        .await?;
    }
    if quiet && !ctx.settings.check {
        // Nothing to write, this host already checked in: done, no lock.
        return Ok(Report {
            check_mode: false,
            ..preview
        });
    }
    let settled_under_lock = preview
        .problems
        .iter()
        .all(|p| p.kind == db_plan::INTERRUPTED);
    if ctx.settings.check || (preview.failed && !settled_under_lock && !state_moved_on(ctx, &seen))
    {
        return Ok(preview);
    }
    let mut report = ctx.new_report();
    report.database.layout = Some(loaded.layout.to_string());
    let _state_lock = StateLock::acquire(&ctx.settings.state_dir, ctx.settings.lock_timeout)?;
    let (mut db, lock) = connect_locked(ctx).await?;
    let result = apply_locked(ctx, &mut db, &loaded, args, &mut report).await;
    lock.release(&mut db).await;
    db.close().await;
    result?;
    Ok(report)
}

/// Whether another lockstep changed the config state since the preview
/// read it: then the preview read the state before that run's writes and
/// the files after (or in between), and its drift may be that run's work,
/// not a hand edit. Only a plan made under the lock can tell.
fn state_moved_on(ctx: &Ctx, seen: &State) -> bool {
    State::load(&ctx.settings.state_dir).map_or(true, |now| now != *seen)
}

/// The config files the plan reads, loaded through the config root.
fn load_config_files(ctx: &Ctx, loaded: &Loaded, state: &State) -> ConfigInputs {
    ConfigInputs::for_migrations(
        &ctx.settings.config_root,
        &loaded.config_migrations,
        state,
        &ctx.settings.vars,
    )
}

/// The one plan of a run, for the preview and, again, under the lock.
fn build_plan<'a>(
    ctx: &'a Ctx,
    loaded: &'a Loaded,
    args: &ApplyArgs,
    history: &[HistoryRow],
    files: &'a ConfigInputs,
    state: &State,
) -> ApplyPlan<'a> {
    let display = ctx.migrations_display();
    let plan = ApplyPlan::build(
        &ApplyInputs {
            migrations: &loaded.migrations,
            history,
            config_migrations: &loaded.config_migrations,
            config_files: files,
            state,
        },
        &ApplyOptions {
            database: PlanOptions {
                phase: ctx.settings.phase,
                target: loaded.target.clone(),
                allow_out_of_order: args.allow_out_of_order,
            },
            config: ConfigOptions {
                phase: ctx.settings.phase,
                target: loaded.target.clone(),
                on_drift: ctx.settings.on_drift,
                check: ctx.settings.check,
                vars: &ctx.settings.vars,
                secret_names: &ctx.settings.secret_names,
                migrations_dir: &ctx.settings.config_migrations,
            },
            migrations_display: &display,
        },
    );
    for value in &plan.config.secret_values {
        crate::redact::remember(value);
    }
    plan
}

async fn apply_locked(
    ctx: &Ctx,
    db: &mut Database,
    loaded: &Loaded,
    args: &ApplyArgs,
    report: &mut Report,
) -> Result<()> {
    let history = read_history(db).await?;
    let mut state = State::load(&ctx.settings.state_dir)?;
    let root = &ctx.settings.config_root;
    if settle_pending_writes(root, &mut state) | finish_moves(root, &mut state) {
        state.save(&ctx.settings.state_dir)?;
    }
    let files = load_config_files(ctx, loaded, &state);
    let plan = build_plan(ctx, loaded, args, &history, &files, &state);
    report::fill_plans(ctx, report, &plan, &loaded.part_sql);
    if report.failed {
        return Ok(());
    }
    // Under the state lock no other lockstep writes these files: any
    // temporary file beside them is a killed run's.
    for f in &plan.config.files {
        f.target.remove_stale_temp_files();
    }

    // Check in first: this host runs the release its files are from, and
    // its own contract steps below must see it.
    if let Some(version) = &plan.release {
        for b in history::check_in(
            db.dialect(),
            &ctx.settings.host_id,
            version.as_str(),
            &crate::vocabulary::now(),
        ) {
            db.run(&b)
                .await
                .map_err(|e| anyhow!("cannot check this host in: {e}"))?;
        }
    }

    let mut current = plan.database.current.clone();
    let (db_expand, db_contract): (Vec<_>, Vec<_>) = plan
        .database
        .steps
        .iter()
        .partition(|s| s.part == Phase::Expand);
    let mut backups = Backups {
        wanted: args.backup,
        ..Backups::default()
    };
    let mut landed = Landed::new();
    steps::run_db_steps(ctx, db, &db_expand, args, report, &mut current).await;
    crate::config::write::pause_for_tests();
    for phase in [Phase::Expand, Phase::Contract] {
        if !report.failed {
            write_config(
                ctx,
                &mut state,
                &plan.config,
                phase,
                report,
                &mut backups,
                &mut landed,
            )?;
        }
    }
    if !report.failed {
        steps::run_db_steps(ctx, db, &db_contract, args, report, &mut current).await;
    }
    report::after_run(ctx, report, &plan, current, &landed, &backups.made);
    Ok(())
}
