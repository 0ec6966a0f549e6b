//! `status` (every migration with its state) and `verify` (checksums only,
//! exit 1 on drift). Both read; neither locks nor writes.

use super::Ctx;
use crate::checksum::Checksum;
use crate::cli::args::{OnDrift, PhaseArg};
use crate::config::state::State;
use crate::db::history::HistoryRow;
use crate::db::migration::{Migration, Version};
use crate::plan::config::{self as config_plan, ConfigOptions};
use crate::plan::database::{self as db_plan, state, PlanOptions};
use crate::report::{MigrationStatus, Report};
use anyhow::Result;
use std::collections::BTreeMap;

async fn load(ctx: &Ctx) -> Result<(Vec<Migration>, Vec<HistoryRow>)> {
    let migrations = ctx.load_migrations()?;
    let history = super::history_read_only(ctx).await?;
    Ok((migrations, history))
}

/// The config side as status and verify see it: every file, drift noted,
/// nothing refused.
fn config_status(ctx: &Ctx, report: &mut Report) -> Result<usize> {
    let migrations = ctx.load_config_migrations()?;
    let mut state = State::load(&ctx.settings.state_dir)?;
    super::apply::settle_pending_writes(ctx, &mut state);
    let opts = ConfigOptions {
        phase: PhaseArg::All,
        target: None,
        on_drift: OnDrift::Force,
        check: true,
        vars: &ctx.settings.vars,
        config_root: &ctx.settings.config_root,
        migrations_dir: &ctx.settings.config_migrations,
    };
    let plan = config_plan::plan(&migrations, &state, &opts);
    report.drift.extend(plan.drift.iter().cloned());
    report.secrets.extend(plan.secret_values.iter().cloned());
    report.config.files = plan
        .files
        .iter()
        .map(|f| {
            serde_json::json!({
                "path": f.file,
                "pending": f.expand.iter().chain(&f.contract).map(|p| p.migration.version.to_string()).collect::<Vec<_>>(),
                "drifted": f.drift.is_some(),
                "drift": f.drift,
                "sha256": f.before.as_deref().map(|t| Checksum::of_bytes(t.as_bytes()).to_string()),
            })
        })
        .collect();
    let rows: Vec<serde_json::Value> = migrations
        .iter()
        .map(|m| {
            let applied = state.migrations.get(m.version.as_str());
            serde_json::json!({
                "version": m.version.to_string(),
                "slug": m.slug,
                "file": m.file,
                "phase": m.phase.as_str(),
                "state": if applied.is_some() { "applied" } else { "pending" },
                "checksum_ok": applied.map(|a| a.checksum == m.checksum.as_str()),
                "applied_at": applied.map(|a| a.applied_at.clone()),
            })
        })
        .collect();
    let pending = rows.iter().filter(|r| r["state"] == "pending").count();
    report
        .extra
        .insert("config_migrations".to_owned(), rows.into());
    Ok(pending)
}

pub async fn status(ctx: &Ctx) -> Result<Report> {
    let (migrations, history) = load(ctx).await?;
    let mut report = ctx.new_report();
    let plan = db_plan::plan(
        &migrations,
        &history,
        &ctx.migrations_display(),
        &all_phases(),
    );
    report.drift = plan.drift.clone();
    report.warnings = plan.warnings.clone();
    report.problems = plan.problems.clone();
    let config_pending = config_status(ctx, &mut report)?;
    report.extra.insert(
        "settings_file".to_owned(),
        ctx.settings
            .settings_file
            .as_ref()
            .map(|p| p.display().to_string())
            .into(),
    );
    report
        .extra
        .insert("system_mode".to_owned(), ctx.settings.system_mode.into());
    report.extra.insert(
        "state_dir".to_owned(),
        ctx.settings.state_dir.display().to_string().into(),
    );
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
            },
        );
    }
    for row in &history {
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
    }
    let pending = rows
        .values()
        .filter(|r| r.state.starts_with("pending"))
        .count();
    let applied = rows
        .values()
        .filter(|r| state::is_applied(&r.state))
        .count();
    report.msg = format!(
        "database: {applied} applied, {pending} pending; config: {config_pending} pending{}",
        if report.drift.is_empty() {
            String::new()
        } else {
            format!(", {} drifted", report.drift.len())
        }
    );
    report.database.migrations = Some(rows.into_values().collect());
    Ok(report)
}

pub async fn verify(ctx: &Ctx) -> Result<Report> {
    let (migrations, history) = load(ctx).await?;
    let mut report = ctx.new_report();
    let plan = db_plan::plan(
        &migrations,
        &history,
        &ctx.migrations_display(),
        &all_phases(),
    );
    report.drift = plan.drift.clone();
    config_status(ctx, &mut report)?;
    report.database.current = plan.current.as_ref().map(|v| v.to_string());
    if report.drift.is_empty() {
        let applied = history
            .iter()
            .filter(|r| state::is_applied(&r.state))
            .count();
        report.msg = format!(
            "checksums match: {applied} applied migration{} verified",
            super::apply::plural(applied)
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
