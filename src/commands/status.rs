//! `status` (every migration with its state) and `verify` (checksums only,
//! exit 1 on drift). Both read; neither locks nor writes.

use super::Ctx;
use crate::checksum::Checksum;
use crate::cli::args::{OnDrift, PhaseArg};
use crate::config::load::ConfigInputs;
use crate::config::state::State;
use crate::db::connection::Database;
use crate::db::history::HistoryRow;
use crate::db::layouts::Layout;
use crate::db::migration::{Migration, Version};
use crate::plan::config::{self as config_plan, ConfigOptions};
use crate::plan::database::{self as db_plan, state, PlanOptions};
use crate::report::payload::{
    BackfillInProgress, ConfigMigrationState, ConfigMigrationStatus, Host, Payload, StatusPayload,
    VerifyPayload,
};
use crate::report::{ConfigFile, ConfigFileStatus, Drift, FailureStatus, MigrationStatus, Report};
use anyhow::Result;
use std::collections::BTreeMap;

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
    let k = d.ident(&key);
    let sql = format!(
        "SELECT {}, {} FROM {}",
        d.as_bigint(&format!("MIN({k})")),
        d.as_bigint(&format!("MAX({k})")),
        d.ident(table)
    );
    let rows = db.fetch_all(&sql).await.ok()?;
    let row = rows.first()?;
    Some((
        row.try_get::<Option<i64>, _>(0).ok()??,
        row.try_get::<Option<i64>, _>(1).ok()??,
    ))
}

/// The config side as status and verify see it: every file, drift noted,
/// nothing refused.
/// Fills the config side of `report` and returns every config migration
/// with its state on this host.
fn config_status(ctx: &Ctx, report: &mut Report) -> Result<Vec<ConfigMigrationStatus>> {
    let migrations = ctx.load_config_migrations()?;
    let mut state = State::load(&ctx.settings.state_dir)?;
    crate::config::commit::settle_pending_writes(&ctx.settings.config_root, &mut state);
    let opts = ConfigOptions {
        phase: PhaseArg::All,
        target: None,
        on_drift: OnDrift::Force,
        check: true,
        vars: &ctx.settings.vars,
        secret_names: &ctx.settings.secret_names,
        migrations_dir: &ctx.settings.config_migrations,
    };
    let inputs = ConfigInputs::for_migrations(
        &ctx.settings.config_root,
        &migrations,
        &state,
        &ctx.settings.vars,
    );
    let plan = config_plan::plan(&migrations, &inputs, &state, &opts);
    // A file that cannot be read (a FIFO, a device) has no status to show.
    if let Some(p) = plan.problems.iter().find(|p| p.kind == "config_unreadable") {
        anyhow::bail!("{}", p.msg);
    }
    report.drift.extend(plan.drift.iter().cloned());
    report.secrets.extend(plan.secret_values.iter().cloned());
    report.config.files = plan
        .files
        .iter()
        .map(|f| {
            ConfigFile::Status(ConfigFileStatus {
                path: f.file.clone(),
                pending: f
                    .expand
                    .iter()
                    .chain(&f.contract)
                    .map(|p| p.migration.version.to_string())
                    .collect(),
                drifted: f.drift.is_some(),
                drift: f.drift.clone(),
                sha256: f
                    .before
                    .as_deref()
                    .map(|t| Checksum::of_bytes(t.as_bytes()).to_string()),
            })
        })
        .collect();
    Ok(migrations
        .iter()
        .map(|m| {
            let applied = state.migrations.get(m.version.as_str());
            ConfigMigrationStatus {
                version: m.version.to_string(),
                slug: m.slug.clone(),
                file: m.file.clone(),
                phase: m.phase.as_str().to_owned(),
                state: if applied.is_some() {
                    ConfigMigrationState::Applied
                } else {
                    ConfigMigrationState::Pending
                },
                checksum_ok: applied.map(|a| a.checksum == m.checksum.as_str()),
                applied_at: applied.map(|a| a.applied_at.clone()),
            }
        })
        .collect())
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

    let mut rows: BTreeMap<Version, MigrationStatus> = BTreeMap::new();
    let files: BTreeMap<Version, &Migration> =
        migrations.iter().map(|m| (m.version.clone(), m)).collect();
    for m in &migrations {
        rows.insert(
            m.version.clone(),
            MigrationStatus {
                version: m.version.to_string(),
                slug: m.slug.clone(),
                phase: m.phase.as_str().to_owned(),
                state: "pending".to_owned(),
                path: Some(format!("{}/{}", ctx.migrations_display(), m.path.display())),
                checksum: Some(m.checksum.to_string()),
                checksum_ok: None,
                applied_at: None,
                host: None,
                failure: None,
            },
        );
    }
    for row in history {
        let Some(version) = Version::parse(&row.version) else {
            continue;
        };
        let file = files.get(&version);
        let entry = rows.entry(version).or_insert_with(|| MigrationStatus {
            version: row.version.clone(),
            slug: row.slug.clone(),
            phase: row.phase.clone(),
            state: "missing".to_owned(),
            path: None,
            checksum: Some(row.checksum.clone()),
            checksum_ok: None,
            applied_at: None,
            host: None,
            failure: None,
        });
        if file.is_some() {
            entry.state = if row.state == state::ROLLED_BACK {
                "pending (rolled back)".to_owned()
            } else {
                row.state.clone()
            };
        }
        if row.state != state::ROLLED_BACK {
            entry.checksum_ok = file.map(|m| m.checksum.as_str() == row.checksum);
            entry.applied_at = Some(row.applied_at.clone());
            entry.host = Some(row.host.clone());
        }
        if row.state == state::FAILED || row.state == state::RUNNING {
            entry.failure = Some(failure_status(ctx, row, file.copied(), &report));
        }
    }
    let count = |f: &dyn Fn(&MigrationStatus) -> bool| rows.values().filter(|r| f(r)).count();
    let pending = count(&|r| r.state.starts_with("pending"));
    let applied = count(&|r| state::is_applied(&r.state));
    let failed = count(&|r| r.state == state::FAILED);
    let interrupted = count(&|r| r.state == state::RUNNING);
    let edited = count(&|r| r.checksum_ok == Some(false));
    let missing = count(&|r| r.state == "missing");
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
    let mut database = format!("database: {applied} applied, {pending} pending");
    for (n, what) in [
        (failed, "failed"),
        (interrupted, "interrupted"),
        (edited, "edited"),
        (missing, "missing"),
    ] {
        if n > 0 {
            database.push_str(&format!(", {n} {what}"));
        }
    }
    let mut config = format!("config: {config_pending} pending");
    if config_drifted > 0 {
        config.push_str(&format!(", {config_drifted} drifted"));
    }
    report.msg = format!("{database}; {config}");
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
        healthy: failed + interrupted + edited + missing + config_drifted == 0,
        backfills_in_progress: live.backfills,
        hosts: live.hosts,
    });
    report.database.migrations = Some(rows.into_values().collect());
    Ok(report)
}

/// A failed or interrupted migration as `status` shows it: the statement,
/// the line, how many statements took effect, and the message `apply` gives.
fn failure_status(
    ctx: &Ctx,
    row: &HistoryRow,
    file: Option<&Migration>,
    report: &Report,
) -> FailureStatus {
    let path = file.map_or(format!("{}_{}", row.version, row.slug), |m| {
        format!("{}/{}", ctx.migrations_display(), m.path.display())
    });
    let entry = db_plan::failed_entry(row, path.clone());
    let msg = report
        .problems
        .iter()
        .find(|p| p.msg.starts_with(&format!("migration {} (", row.version)))
        .map(|p| p.msg.clone())
        .unwrap_or_default();
    let point = row.failure_point.as_ref();
    FailureStatus {
        statement: row.failed_statement.clone(),
        line: point.map(|p| p.line),
        error: row.error.clone(),
        statements_done: point.map(|p| p.statements_done),
        statements_total: point.map(|p| p.statements_total),
        msg: if msg.is_empty() {
            crate::db::runner::failure_message(&entry, point, false)
        } else {
            msg
        },
    }
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
