//! `status` (every migration with its state) and `verify` (checksums only,
//! exit 1 on drift). Both read; neither locks nor writes. What each
//! migration's state is comes from [`crate::plan::status`]; this file
//! loads (the history, hosts and backfills, the state, the config files)
//! and reports.

use super::Ctx;
use crate::config::load::ConfigInputs;
use crate::config::state::State;
use crate::db::connection::Database;
use crate::db::history::HistoryRow;
use crate::db::layouts::Layout;
use crate::db::migration::Migration;
use crate::plan::database::{self as db_plan, PlanOptions};
use crate::plan::options::PhaseArg;
use crate::plan::status as status_plan;
use crate::report::payload::{
    BackfillInProgress, ConfigMigrationState, ConfigMigrationStatus, Host, Payload, StatusPayload,
    VerifyPayload,
};
use crate::report::{ConfigFile, Drift, Report};
use crate::vocabulary::state;
use anyhow::Result;

async fn load(ctx: &Ctx) -> Result<(Layout, Vec<Migration>, Vec<HistoryRow>)> {
    let (layout, migrations) = ctx.load_migrations_with_layout()?;
    let history = super::history_read_only(ctx).await?;
    Ok((layout, migrations, history))
}

/// What `status` reads from the database besides the history: the hosts'
/// check-ins and the backfills that have not finished.
#[derive(Default)]
struct Live {
    history: Vec<HistoryRow>,
    hosts: Vec<Host>,
    backfills: Vec<BackfillInProgress>,
}

async fn load_live(ctx: &Ctx) -> Result<Live> {
    let Some(mut db) = super::connect_read_only(ctx).await? else {
        return Ok(Live::default());
    };
    let result = async {
        let history = super::read_history(&mut db).await?;
        if history.is_empty() {
            return Ok(Live::default());
        }
        let hosts = super::hosts::list(&mut db).await?;
        let backfills = unfinished_backfills(&mut db).await;
        Ok(Live {
            history,
            hosts,
            backfills,
        })
    }
    .await;
    db.close().await;
    result
}

/// Every backfill that has not finished, with how far along its key it is.
/// Best effort: a table lockstep cannot read is left out, not an error.
async fn unfinished_backfills(db: &mut Database) -> Vec<BackfillInProgress> {
    use sqlx::Row;
    let sql = format!(
        "SELECT version, table_name, column_name, last_key, rows_done, batches, updated_at \
         FROM {} WHERE finished = 0 ORDER BY version, table_name, column_name",
        crate::db::history::BACKFILLS
    );
    let rows = match db.fetch_all(&sql).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::debug!("cannot read the backfills: {e}");
            return Vec::new();
        }
    };
    let mut out = Vec::new();
    for r in &rows {
        let read = || -> Result<_, sqlx::Error> {
            Ok((
                r.try_get::<String, _>(0)?,
                r.try_get::<String, _>(1)?,
                r.try_get::<String, _>(2)?,
                r.try_get::<Option<i64>, _>(3)?,
                r.try_get::<i64, _>(4)?,
                r.try_get::<i64, _>(5)?,
                r.try_get::<String, _>(6)?,
            ))
        };
        let Ok((version, table, column, last_key, rows_done, batches, updated_at)) = read() else {
            continue;
        };
        let range = key_range(db, &table).await;
        let percent = match (range, last_key) {
            (Some((low, high)), Some(last)) if high > low => Some(
                (((last - low + 1) as f64 / (high - low + 1) as f64) * 100.0)
                    .clamp(0.0, 100.0)
                    .floor() as i64,
            ),
            (Some(_), None) => Some(0),
            _ => None,
        };
        out.push(BackfillInProgress {
            version,
            table,
            column,
            rows: rows_done,
            batches,
            last_key,
            max_key: range.map(|r| r.1),
            percent,
            updated_at,
            finished: false,
        });
    }
    out
}

/// The lowest and highest key of a backfilled table, by its integer
/// primary key.
async fn key_range(db: &mut Database, table: &str) -> Option<(i64, i64)> {
    use sqlx::Row;
    let info = crate::db::online::introspect::table(db, table)
        .await
        .ok()??;
    let key = info.integer_key().ok()?.name.clone();
    let d = db.dialect();
    let k = d.sql().ident(&key);
    let sql = format!(
        "SELECT {}, {} FROM {}",
        d.sql().as_bigint(&format!("MIN({k})")),
        d.sql().as_bigint(&format!("MAX({k})")),
        d.sql().ident(table)
    );
    let rows = db.fetch_all(&sql).await.ok()?;
    let row = rows.first()?;
    Some((
        row.try_get::<Option<i64>, _>(0).ok()??,
        row.try_get::<Option<i64>, _>(1).ok()??,
    ))
}

/// The config side as status and verify see it: every file, drift noted,
/// nothing refused. Fills the config side of `report` and returns every
/// config migration with its state on this host.
fn config_status(ctx: &Ctx, report: &mut Report) -> Result<Vec<ConfigMigrationStatus>> {
    let migrations = ctx.load_config_migrations()?;
    let mut state = State::load(&ctx.settings.state_dir)?;
    crate::config::commit::settle_pending_writes(&ctx.settings.config_root, &mut state);
    let inputs = ConfigInputs::for_migrations(
        &ctx.settings.config_root,
        &migrations,
        &state,
        &ctx.settings.vars,
    );
    let status = status_plan::config(
        &migrations,
        &inputs,
        &state,
        &ctx.settings.vars,
        &ctx.settings.secret_names,
        &ctx.settings.config_migrations,
    );
    for value in &status.plan.secret_values {
        crate::redact::remember(value);
    }
    if let Some(msg) = status.unreadable {
        anyhow::bail!("{msg}");
    }
    report.drift.extend(status.plan.drift.iter().cloned());
    report
        .secrets
        .extend(status.plan.secret_values.iter().cloned());
    report.config.files = status.files.into_iter().map(ConfigFile::Status).collect();
    Ok(status.migrations)
}

pub async fn status(ctx: &Ctx) -> Result<Report> {
    let (layout, migrations) = ctx.load_migrations_with_layout()?;
    let live = load_live(ctx).await?;
    let history = &live.history;
    let mut report = ctx.new_report();
    report.database.layout = Some(layout.to_string());
    let plan = db_plan::plan(
        &migrations,
        history,
        &ctx.migrations_display(),
        &all_phases(),
    );
    report.drift = plan.drift.clone();
    report.warnings = plan.warnings.clone();
    report.problems = plan.problems.clone();
    let config_migrations = config_status(ctx, &mut report)?;
    let config_pending = config_migrations
        .iter()
        .filter(|m| m.state == ConfigMigrationState::Pending)
        .count();
    report.database.current = plan.current.as_ref().map(|v| v.to_string());
    report.database.pending = Vec::new();

    let database = status_plan::database(
        &migrations,
        history,
        &ctx.migrations_display(),
        &report.problems,
    );
    let config_drifted = report
        .drift
        .iter()
        .filter(|d| {
            matches!(
                d,
                Drift::ConfigEdited { .. } | Drift::ConfigMigrationEdited { .. }
            )
        })
        .count();
    let mut config = format!("config: {config_pending} pending");
    if config_drifted > 0 {
        config.push_str(&format!(", {config_drifted} drifted"));
    }
    report.msg = format!("{}; {config}", database.summary());
    if !live.backfills.is_empty() {
        report.msg.push_str(&format!(
            "; {} backfill{} in progress",
            live.backfills.len(),
            crate::report::plural(live.backfills.len())
        ));
    }
    let folder = |p: &std::path::Path| p.display().to_string();
    let settings = &ctx.settings;
    report.payload = Payload::Status(StatusPayload {
        config_migrations,
        settings_file: settings.settings_file.as_deref().map(folder),
        system_mode: settings.system_mode,
        state_dir: folder(&settings.state_dir),
        migrations_dir: folder(&settings.migrations),
        config_migrations_dir: folder(&settings.config_migrations),
        config_root: folder(&settings.config_root),
        healthy: database.unhealthy() + config_drifted == 0,
        backfills_in_progress: live.backfills,
        hosts: live.hosts,
    });
    report.database.migrations = Some(database.migrations);
    Ok(report)
}

pub async fn verify(ctx: &Ctx) -> Result<Report> {
    let (layout, migrations, history) = load(ctx).await?;
    let mut report = ctx.new_report();
    report.database.layout = Some(layout.to_string());
    let plan = db_plan::plan(
        &migrations,
        &history,
        &ctx.migrations_display(),
        &all_phases(),
    );
    report.drift = plan.drift.clone();
    let config_migrations = config_status(ctx, &mut report)?;
    report.payload = Payload::Verify(VerifyPayload { config_migrations });
    report.database.current = plan.current.as_ref().map(|v| v.to_string());
    if report.drift.is_empty() {
        let applied = history
            .iter()
            .filter(|r| state::is_applied(&r.state))
            .count();
        report.msg = format!(
            "checksums match: {applied} applied migration{} verified",
            crate::report::plural(applied)
        );
    } else {
        let what: Vec<String> = report.drift.iter().map(|d| d.describe()).collect();
        report.fail_as("drift", format!("drift found: {}", what.join("; ")));
    }
    Ok(report)
}

fn all_phases() -> PlanOptions {
    PlanOptions {
        phase: PhaseArg::All,
        target: None,
        allow_out_of_order: true,
    }
}
