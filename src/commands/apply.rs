//! `apply` and `plan`: load the migrations, the history and the host's
//! config state; plan both sides; stop before writing anything if a plan
//! has a problem; otherwise run, in order, database expand, config expand,
//! config contract, database contract; check the host in; report.

use super::part_sql::PartSql;
use super::{connect_locked, contract_gate, read_history, Ctx};
use crate::checksum::Checksum;
use crate::cli::args::ApplyArgs;
use crate::config::edit;
use crate::config::ini::Document;
use crate::config::load::ConfigInputs;
use crate::config::migration::ConfigMigration;
use crate::config::state::{AppliedConfigMigration, FileRecord, MovedFrom, State, StateLock};
use crate::db::connection::Database;
use crate::db::history;
use crate::db::layouts::Layout;
use crate::db::migration::{Migration, Phase, Version};
use crate::db::online::{self, backfill::BackfillOptions};
use crate::db::runner::{self, Direction, StepSql};
use crate::plan::config::{
    self as config_plan, ConfigOptions, ConfigPlan, FilePlan, PlannedMigration,
};
use crate::plan::database::{self as db_plan, DatabasePlan, PlanOptions, Step};
use crate::report::{
    plural, AppliedEntry, ConfigFile, ConfigFileApplied, DiffEntry, PendingEntry, Report,
};
use anyhow::{anyhow, Context, Result};
use std::collections::BTreeMap;

/// Everything loaded from disk before planning.
struct Loaded {
    layout: Layout,
    migrations: Vec<Migration>,
    config_migrations: Vec<ConfigMigration>,
    target: Option<Version>,
    /// With `--diff`: each YAML migration's statements per part, to show.
    part_sql: BTreeMap<String, Result<PartSql, String>>,
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
    let history = recorded.0.clone();
    let (mut preview, quiet, seen) = preview(ctx, &loaded, args, recorded)?;
    if ctx.settings.check && !args.force && !preview.failed {
        let plan = db_plan::plan(
            &loaded.migrations,
            &history,
            &ctx.migrations_display(),
            &db_options(ctx, &loaded, args),
        );
        let release = release(&loaded, &plan);
        contract_gate::predict(ctx, &mut preview, &plan.steps, release.as_ref()).await?;
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

/// What apply would do, read without locks: the whole result in check mode.
/// Also says whether a real run would write nothing at all, not even a
/// check-in, so it can end here without taking a lock, and hands back the
/// config state it read.
fn preview(
    ctx: &Ctx,
    loaded: &Loaded,
    args: &ApplyArgs,
    (history, checked_in): (Vec<history::HistoryRow>, Option<String>),
) -> Result<(Report, bool, State)> {
    let mut report = ctx.new_report();
    report.database.layout = Some(loaded.layout.to_string());
    let seen = State::load(&ctx.settings.state_dir)?;
    let mut state = seen.clone();
    // Test-only (unset in real runs): another apply may run to its end here.
    crate::config::write::pause_in_preview_for_tests();
    // An old file a `move_file` left to remove needs the locked run too.
    let intents = settle_pending_writes(ctx, &mut state)
        || state.files.values().any(|r| r.moved_from.is_some());
    let db = db_plan::plan(
        &loaded.migrations,
        &history,
        &ctx.migrations_display(),
        &db_options(ctx, loaded, args),
    );
    let inputs = ConfigInputs::for_migrations(
        &ctx.settings.config_root,
        &loaded.config_migrations,
        &state,
        &ctx.settings.vars,
    );
    let config = config_plan::plan(
        &loaded.config_migrations,
        &inputs,
        &state,
        &config_options(ctx, loaded),
    );
    fill_plans(ctx, &mut report, &db, &config, &loaded.part_sql);
    if !report.failed {
        report.database.pending = db
            .steps
            .iter()
            .chain(&db.deferred)
            .map(|s| pending_entry(ctx, s))
            .collect();
        report.payload.apply().would_apply = Some(
            db.steps
                .iter()
                .map(|s| s.migration.version.to_string())
                .collect(),
        );
        report.config.files = config
            .files
            .iter()
            .map(|f| file_entry(f, None, None))
            .collect();
        let changing = config
            .files
            .iter()
            .filter(|f| f.changes() && f.has_pending())
            .count();
        report.changed = !db.steps.is_empty() || changing > 0;
        let versions: std::collections::BTreeSet<&str> = db
            .steps
            .iter()
            .map(|s| s.migration.version.as_str())
            .collect();
        report.msg = summary(versions.len(), changing, true);
    }
    let release = release(loaded, &db);
    let quiet = !report.failed
        && !intents
        && db.steps.is_empty()
        && !config.files.iter().any(|f| f.has_pending())
        && release.is_none_or(|r| checked_in.as_deref() == Some(r.as_str()));
    Ok((report, quiet, seen))
}

/// The release this host runs: the newest migration among its files.
fn release(loaded: &Loaded, plan: &DatabasePlan<'_>) -> Option<Version> {
    loaded
        .migrations
        .iter()
        .map(|m| &m.version)
        .max()
        .or(plan.current.as_ref())
        .cloned()
}

fn db_options(ctx: &Ctx, loaded: &Loaded, args: &ApplyArgs) -> PlanOptions {
    PlanOptions {
        phase: ctx.settings.phase,
        target: loaded.target.clone(),
        allow_out_of_order: args.allow_out_of_order,
    }
}

fn config_options<'a>(ctx: &'a Ctx, loaded: &Loaded) -> ConfigOptions<'a> {
    ConfigOptions {
        phase: ctx.settings.phase,
        target: loaded.target.clone(),
        on_drift: ctx.settings.on_drift,
        check: ctx.settings.check,
        vars: &ctx.settings.vars,
        secret_names: &ctx.settings.secret_names,
        migrations_dir: &ctx.settings.config_migrations,
    }
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
    if settle_pending_writes(ctx, &mut state) | finish_moves(ctx, &mut state) {
        state.save(&ctx.settings.state_dir)?;
    }
    let db_plan = db_plan::plan(
        &loaded.migrations,
        &history,
        &ctx.migrations_display(),
        &db_options(ctx, loaded, args),
    );
    let inputs = ConfigInputs::for_migrations(
        &ctx.settings.config_root,
        &loaded.config_migrations,
        &state,
        &ctx.settings.vars,
    );
    let config = config_plan::plan(
        &loaded.config_migrations,
        &inputs,
        &state,
        &config_options(ctx, loaded),
    );
    fill_plans(ctx, report, &db_plan, &config, &loaded.part_sql);
    if report.failed {
        return Ok(());
    }
    // Under the state lock no other lockstep writes these files: any
    // temporary file beside them is a killed run's.
    for f in &config.files {
        f.target.remove_stale_temp_files();
    }

    // Check in first: this host runs the release its files are from, and
    // its own contract steps below must see it.
    let release = release(loaded, &db_plan);
    if let Some(version) = release {
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

    let mut current = db_plan.current.clone();
    let (db_expand, db_contract): (Vec<_>, Vec<_>) =
        db_plan.steps.iter().partition(|s| s.part == Phase::Expand);
    let mut backups: BTreeMap<String, String> = BTreeMap::new();
    let mut landed = Landed::new();
    run_db_steps(ctx, db, &db_expand, args, report, &mut current).await;
    crate::config::write::pause_for_tests();
    if !report.failed {
        write_config(
            ctx,
            &mut state,
            &config,
            Phase::Expand,
            args.backup,
            report,
            &mut backups,
            &mut landed,
        )?;
    }
    if !report.failed {
        write_config(
            ctx,
            &mut state,
            &config,
            Phase::Contract,
            args.backup,
            report,
            &mut backups,
            &mut landed,
        )?;
    }
    if !report.failed {
        run_db_steps(ctx, db, &db_contract, args, report, &mut current).await;
    }

    report.database.current = current.as_ref().map(|v| v.to_string());
    report.database.pending = db_plan
        .steps
        .iter()
        .filter(|s| {
            !report
                .database
                .applied
                .iter()
                .any(|a| a.version == s.migration.version.as_str())
        })
        .chain(db_plan.deferred.iter())
        .map(|s| pending_entry(ctx, s))
        .collect();
    report.config.files = config
        .files
        .iter()
        .map(|f| file_entry(f, Some(&landed), backups.get(&f.file).map(String::as_str)))
        .collect();
    if !report.failed {
        let changed_files = config
            .files
            .iter()
            .filter(|f| f.changes() && f.has_pending())
            .count();
        report.changed = report.changed || changed_files > 0;
        let migrations: std::collections::BTreeSet<&str> = report
            .database
            .applied
            .iter()
            .map(|a| a.version.as_str())
            .collect();
        report.msg = summary(migrations.len(), changed_files, false);
    }
    Ok(())
}

async fn run_db_steps(
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
                Err(()) => return,
            }
        }
        let (sql, part) = match StepSql::new(step.migration, Direction::Up, db.dialect(), &run_ctx)
        {
            Some(sql) => (sql, step.part.as_str()),
            None => (
                StepSql::skipped(step.migration, db.dialect(), &run_ctx),
                db_plan::state::SKIPPED,
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
                if part != db_plan::state::SKIPPED
                    && current.as_ref().is_none_or(|c| step.migration.version > *c)
                {
                    *current = Some(step.migration.version.clone());
                }
            }
            Err(failure) => {
                report.fail_as("migration_failed", failure.message());
                report.database.failed_migration = Some(failure.entry);
                return;
            }
        }
    }
}

/// Runs one part of a YAML migration: expand (then its backfills unless
/// --no-backfill), or contract once its backfill finished and its sanity
/// checks pass. `Ok(None)`: nothing ran (a contract waiting for a
/// backfill). `Err`: the report says why.
async fn run_online_step(
    ctx: &Ctx,
    db: &mut Database,
    step: &Step<'_>,
    args: &ApplyArgs,
    report: &mut Report,
) -> Result<Option<u64>, ()> {
    let m = step.migration;
    let path = format!("{}/{}", ctx.migrations_display(), m.path.display());
    let run_ctx = ctx.run_context();
    let compiled = match online::live::compile_live(db, m).await {
        Ok(c) => c,
        Err(e) => {
            report.fail(format!("migration {} ({path}): {e:#}", m.version));
            return Err(());
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
                Err(f) => {
                    report.fail_as("migration_failed", f.message());
                    report.database.failed_migration = Some(f.entry);
                    return Err(());
                }
            };
            if !args.no_backfill
                && super::backfill::run_backfills(db, m, &compiled, &batches, &run_ctx, report)
                    .await
                    .is_err()
            {
                return Err(());
            }
            Ok(Some(ms))
        }
        Phase::Contract => {
            let state = read_history(db)
                .await
                .ok()
                .and_then(|h| h.into_iter().find(|r| r.version == m.version.as_str()))
                .map(|r| r.state);
            if state.as_deref() == Some(db_plan::state::EXPANDED) {
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
                super::backfill::run_backfills(db, m, &compiled, &batches, &run_ctx, report)
                    .await
                    .map_err(|_| ())?;
            }
            match online::runner::sanity(db, &compiled).await {
                Ok(wrong) if !wrong.is_empty() && !args.force => {
                    report.fail_as(
                        "sanity_check",
                        super::part_sql::sanity_refusal(m.version.as_str(), &wrong),
                    );
                    return Err(());
                }
                Ok(_) => {}
                Err(e) => {
                    report.fail(format!(
                        "sanity check of migration {} failed to run: {e:#}",
                        m.version
                    ));
                    return Err(());
                }
            }
            match online::runner::contract(db, m, &compiled, &path, &run_ctx).await {
                Ok(ms) => Ok(Some(ms)),
                Err(f) => {
                    report.fail_as("migration_failed", f.message());
                    report.database.failed_migration = Some(f.entry);
                    Err(())
                }
            }
        }
    }
}

/// The files, by phase, whose write landed (or whose migrations were
/// recorded without a change of bytes).
type Landed = std::collections::BTreeSet<(String, Phase)>;

/// Writes each file's content after `phase`, bracketed by state writes.
#[allow(clippy::too_many_arguments)]
fn write_config(
    ctx: &Ctx,
    state: &mut State,
    plan: &ConfigPlan<'_>,
    phase: Phase,
    backup: bool,
    report: &mut Report,
    backups: &mut BTreeMap<String, String>,
    landed_files: &mut Landed,
) -> Result<()> {
    let state_dir = &ctx.settings.state_dir;
    /// One file of this phase, ready to write and to record.
    struct Write<'p> {
        file: &'p str,
        /// The name the state records it under: the new one once moved.
        name: &'p str,
        target: &'p crate::config::path::ConfigPath,
        /// The file a `move_file` moves in this phase, with its name and sha256.
        moving: Option<(&'p crate::config::path::ConfigPath, MovedFrom)>,
        /// The old name of a file moved in this phase: its record goes.
        old_name: Option<&'p str>,
        content: &'p str,
        new_file: crate::config::write::Creation,
        record: FileRecord,
        applied: Vec<AppliedConfigMigration>,
        /// Bytes change (else only the state records the migrations).
        replace: bool,
        new_record: bool,
    }
    let mut writes = Vec::new();
    for f in &plan.files {
        let (migrations, content, secrecy) = match phase {
            Phase::Expand => (&f.expand, &f.after_expand, &f.secrecy_after_expand),
            Phase::Contract => (&f.contract, &f.after, &f.secrecy),
        };
        if migrations.is_empty() {
            continue;
        }
        let (name, target) = match &f.moved {
            Some(m) if m.by(phase) => (m.file.as_str(), m.target),
            _ => (f.file.as_str(), f.target),
        };
        let moves_now = f.moved.as_ref().filter(|m| m.phase == phase);
        let moving = moves_now.filter(|m| !m.done).map(|_| {
            let sha = f.target.read().ok().flatten();
            let from = MovedFrom {
                file: f.file.clone(),
                sha256: sha.map_or(String::new(), |b| Checksum::of_bytes(&b).to_string()),
            };
            (f.target, from)
        });
        let on_disk = target.read().ok().flatten();
        let replace = on_disk.as_deref() != Some(content.as_bytes());
        if replace && backup && on_disk.is_some() && !backups.contains_key(&f.file) {
            let path = target.backup()?;
            backups.insert(f.file.clone(), path.display().to_string());
        }
        let record = FileRecord::of(content, secrecy, f.syntax);
        let applied = applied_records(ctx, name, migrations);
        let new_record = !state.files.contains_key(name);
        if replace {
            // Intent first, so a crash between the two state writes is
            // settled from each file's sha256 instead of looking like a
            // hand edit.
            let current = state
                .files
                .entry(name.to_owned())
                .or_insert_with(|| FileRecord {
                    sha256: on_disk
                        .as_deref()
                        .map_or(String::new(), |b| Checksum::of_bytes(b).to_string()),
                    snapshot: String::new(),
                    secret_keys: Vec::new(),
                    public_keys: Vec::new(),
                    updated_at: crate::vocabulary::now(),
                    pending: None,
                    moved_from: None,
                });
            let mut intent = record.intent(applied.clone(), Vec::new(), new_record);
            intent.moved_from = moving.as_ref().map(|(_, from)| from.clone());
            current.pending = Some(intent);
        }
        writes.push(Write {
            file: &f.file,
            name,
            moving,
            old_name: moves_now.map(|_| f.file.as_str()),
            target,
            content,
            new_file: f.new_file,
            record,
            applied,
            replace,
            new_record,
        });
    }
    if writes.is_empty() {
        return Ok(());
    }
    // One state write for every intent of the phase, one for every commit:
    // a hundred files cost two state writes, not two hundred.
    if writes.iter().any(|w| w.replace) {
        state.save(state_dir)?;
    }
    let mut failure = None;
    let mut landed = 0;
    for w in &writes {
        if w.replace {
            let created;
            let target = if w.target.lacks_directories() {
                match w.target.create_directories() {
                    Ok(t) => {
                        created = t;
                        &created
                    }
                    Err(e) => {
                        let e = crate::error::chain(&e);
                        failure = Some(format!("{}: {e}; the file is unchanged", w.file));
                        break;
                    }
                }
            } else {
                w.target
            };
            let from = w.moving.as_ref().map(|(from, _)| *from);
            if let Err(e) = target.replace_moved(w.content.as_bytes(), from, w.new_file) {
                failure = Some(format!("{}: {e:#}; the file is unchanged", w.file));
                break;
            }
        }
        landed += 1;
    }
    for (i, w) in writes.into_iter().enumerate() {
        if i < landed {
            landed_files.insert((w.file.to_owned(), phase));
            let mut record = w.record;
            if let Some(old) = w.old_name {
                state.files.remove(old);
            }
            record.moved_from = w.moving.map(|(_, from)| from);
            state.files.insert(w.name.to_owned(), record);
            for a in w.applied {
                state.migrations.insert(a.version.clone(), a);
            }
        } else if w.new_record {
            state.files.remove(w.name);
        } else if let Some(r) = state.files.get_mut(w.name) {
            r.pending = None;
        }
    }
    state
        .save(state_dir)
        .context("cannot record the config state")?;
    if finish_moves(ctx, state) {
        state
            .save(state_dir)
            .context("cannot record the config state")?;
    }
    if let Some(msg) = failure {
        report.fail(msg);
    }
    Ok(())
}

fn applied_records(
    ctx: &Ctx,
    file: &str,
    migrations: &[PlannedMigration<'_>],
) -> Vec<AppliedConfigMigration> {
    let at = crate::vocabulary::now();
    migrations
        .iter()
        .map(|p| AppliedConfigMigration {
            version: p.migration.version.to_string(),
            slug: p.migration.slug.clone(),
            file: file.to_owned(),
            phase: p.migration.phase.as_str().to_owned(),
            checksum: p.migration.checksum.to_string(),
            applied_at: at.clone(),
            host: ctx.settings.host_id.clone(),
            prior: p.prior.clone(),
        })
        .collect()
}

/// Settles writes a killed run left in flight: the file has the intended
/// bytes (the write landed: record it) or not (forget the intent, and the
/// record it was the first of). Returns whether the state changed.
pub fn settle_pending_writes(ctx: &Ctx, state: &mut State) -> bool {
    let mut changed = false;
    let mut never_written = Vec::new();
    let mut moved = Vec::new();
    for (file, record) in state.files.iter_mut() {
        let Some(pending) = record.pending.take() else {
            continue;
        };
        changed = true;
        let actual = crate::config::path::resolve(&ctx.settings.config_root, file)
            .ok()
            .and_then(|p| p.read().ok().flatten())
            .map(|b| Checksum::of_bytes(&b).to_string());
        if actual.as_deref() == Some(pending.sha256.as_str()) {
            record.sha256 = pending.sha256;
            record.snapshot = pending.snapshot;
            record.secret_keys = pending.secret_keys;
            record.public_keys = pending.public_keys;
            record.updated_at = crate::vocabulary::now();
            for m in pending.migrations {
                state.migrations.insert(m.version.clone(), m);
            }
            for v in &pending.rolled_back {
                state.migrations.remove(v);
            }
            if let Some(from) = pending.moved_from {
                moved.push(from.file.clone());
                record.moved_from = Some(from);
            }
        } else if pending.new_record {
            // Otherwise a file lockstep never wrote would be "managed", and
            // its absence reported as a hand edit that blocks every run.
            never_written.push(file.clone());
        }
    }
    for file in never_written.into_iter().chain(moved) {
        state.files.remove(&file);
    }
    changed
}

/// Removes the files `move_file` moved away from, once the state records
/// the new one: each only while it still has the bytes it was moved with
/// (one edited since is left alone, no longer managed). Returns whether
/// the state changed.
pub fn finish_moves(ctx: &Ctx, state: &mut State) -> bool {
    let mut changed = false;
    for record in state.files.values_mut() {
        let Some(from) = record.moved_from.take() else {
            continue;
        };
        let Ok(old) = crate::config::path::resolve(&ctx.settings.config_root, &from.file) else {
            changed = true;
            continue;
        };
        let sha = old
            .read()
            .ok()
            .flatten()
            .map(|b| Checksum::of_bytes(&b).to_string());
        if sha.as_deref() == Some(from.sha256.as_str()) && old.remove().is_err() {
            // Tried again by the next run.
            record.moved_from = Some(from);
        } else {
            changed = true;
        }
    }
    changed
}

/// Fills what the plans say: drift, warnings, problems, diffs, secrets.
fn fill_plans(
    ctx: &Ctx,
    report: &mut Report,
    db: &DatabasePlan<'_>,
    config: &ConfigPlan<'_>,
    part_sql: &BTreeMap<String, Result<PartSql, String>>,
) {
    report.drift.extend(db.drift.iter().cloned());
    report.drift.extend(config.drift.iter().cloned());
    report.warnings.extend(db.warnings.iter().cloned());
    report.warnings.extend(config.warnings.iter().cloned());
    report.problems.extend(db.problems.iter().cloned());
    report.problems.extend(config.problems.iter().cloned());
    report
        .problems
        .extend(super::part_sql::refusals(ctx, &db.steps, part_sql));
    report.secrets.extend(config.secret_values.iter().cloned());
    // Unsafe patterns in what is about to run: a warning here, `lint` fails.
    let pending: Vec<Migration> = db.steps.iter().map(|s| s.migration.clone()).collect();
    for finding in crate::plan::lint::lint(
        &pending,
        &ctx.migrations_display(),
        Some(ctx.target.dialect),
    ) {
        report.warnings.push(finding.describe());
    }
    report.database.current = db.current.as_ref().map(|v| v.to_string());
    if ctx.settings.diff {
        for f in config
            .files
            .iter()
            .filter(|f| f.changes() && f.has_pending())
        {
            // Each side by its own secrecy: a key renamed by the
            // migrations is secret under its old name before, its new after.
            let mask = |text: &str, secrecy| {
                edit::masked(&Document::parse_as(text, f.syntax), secrecy, |_| {
                    "********".to_owned()
                })
                .to_string()
            };
            report.diff.push(DiffEntry {
                before_header: f.file.clone(),
                after_header: f.final_name().to_owned(),
                before: Some(
                    f.before
                        .as_deref()
                        .map(|t| mask(t, &f.secrecy_before))
                        .unwrap_or_default(),
                ),
                after: Some(mask(&f.after, &f.secrecy)),
                prepared: None,
            });
        }
        if !db.steps.is_empty() {
            report.diff.push(DiffEntry {
                before_header: "database".to_owned(),
                after_header: format!("database ({})", ctx.target.display),
                before: None,
                after: None,
                prepared: Some(prepared_sql(ctx, &db.steps, part_sql)),
            });
        }
    }
    if !report.problems.is_empty() {
        report.fail_with_problems();
    }
}

/// A file's entry in the report: all it would do (`landed`: `None`), or
/// what did land.
fn file_entry(f: &FilePlan<'_>, landed: Option<&Landed>, backup: Option<&str>) -> ConfigFile {
    let sha = |t: Option<&str>| t.map(|t| Checksum::of_bytes(t.as_bytes()).to_string());
    let did = |phase| landed.is_none_or(|l| l.contains(&(f.file.clone(), phase)));
    let mut applied = Vec::new();
    let mut now = f.before.as_deref();
    for (phase, ms, after) in [
        (Phase::Expand, &f.expand, &f.after_expand),
        (Phase::Contract, &f.contract, &f.after),
    ] {
        if !ms.is_empty() && did(phase) {
            applied.extend(ms.iter().map(|p| p.migration.version.to_string()));
            now = Some(after.as_str());
        }
    }
    let moved = f
        .moved
        .as_ref()
        .filter(|m| did(m.phase))
        .map(|m| (m.file.clone(), !m.done));
    ConfigFile::Applied(ConfigFileApplied {
        path: f.file.clone(),
        changed: f.has_pending()
            && (now != f.before.as_deref() || moved.as_ref().is_some_and(|(_, new)| *new)),
        applied,
        sha256_before: sha(f.before.as_deref()),
        sha256_after: sha(Some(&f.after)),
        drifted: f.drift.is_some(),
        moved_to: moved.map(|(to, _)| to),
        overwritten: f.overwritten.clone(),
        backup_file: backup.map(str::to_owned),
    })
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

/// The SQL of the steps, for `--diff`: what a reviewer wants to read, a
/// YAML migration's parts as `lockstep sql` prints them.
fn prepared_sql(
    ctx: &Ctx,
    steps: &[Step<'_>],
    part_sql: &BTreeMap<String, Result<PartSql, String>>,
) -> String {
    let dialect = ctx.target.dialect;
    let mut out = String::new();
    for s in steps {
        out.push_str(&format!(
            "-- {}_{} ({})\n",
            s.migration.version, s.migration.slug, s.part
        ));
        let statements: Vec<String> =
            match (&s.migration.online, s.migration.up.for_dialect(dialect)) {
                (Some(_), _) => match part_sql.get(s.migration.version.as_str()) {
                    Some(Ok(parts)) => parts.part(s.part).to_vec(),
                    Some(Err(e)) => {
                        out.push_str(&format!("-- cannot compile it: {e}\n"));
                        continue;
                    }
                    None => Vec::new(),
                },
                (None, Some(script)) => crate::db::statements::split(&script.sql, dialect)
                    .into_iter()
                    .map(|stmt| stmt.sql)
                    .collect(),
                (None, None) => {
                    out.push_str(&format!("-- no up SQL for {dialect}\n"));
                    continue;
                }
            };
        for stmt in statements {
            out.push_str(&stmt);
            out.push_str(";\n");
        }
    }
    out
}

fn summary(migrations: usize, files: usize, check: bool) -> String {
    if migrations == 0 && files == 0 {
        return "nothing to do: the database and config files are up to date".to_owned();
    }
    let mut parts = Vec::new();
    if migrations > 0 {
        parts.push(format!(
            "{migrations} database migration{}",
            plural(migrations)
        ));
    }
    if files > 0 {
        parts.push(format!("{files} config file{}", plural(files)));
    }
    let verb = if check { "would change" } else { "changed" };
    match (migrations > 0, files > 0) {
        (true, true) => format!(
            "{} {}, {verb} {}",
            if check { "would apply" } else { "applied" },
            parts[0],
            parts[1]
        ),
        (true, false) => format!(
            "{} {}",
            if check { "would apply" } else { "applied" },
            parts[0]
        ),
        _ => format!("{verb} {}", parts[0]),
    }
}
