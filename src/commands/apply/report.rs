//! The result of `apply` and `plan`, shaped from the plan: drift,
//! problems and warnings, `--diff`, each file's entry, what is pending, and
//! the summary line.

use super::super::part_sql::{self, PartSql, ShowError};
use super::super::Ctx;
use crate::checksum::Checksum;
use crate::config::commit::Landed;
use crate::config::edit;
use crate::config::ini::Document;
use crate::db::migration::Migration;
use crate::plan::apply::ApplyPlan;
use crate::plan::config::FilePlan;
use crate::plan::database::Step;
use crate::report::{plural, ConfigFile, ConfigFileApplied, DiffEntry, PendingEntry, Report};
use crate::vocabulary::{Phase, Version};
use std::collections::BTreeMap;

/// What the preview says: the whole result in check mode.
pub(super) fn preview(
    ctx: &Ctx,
    report: &mut Report,
    plan: &ApplyPlan<'_>,
    part_sql: &BTreeMap<String, Result<PartSql, ShowError>>,
) {
    fill_plans(ctx, report, plan, part_sql);
    let (db, config) = (&plan.database, &plan.config);
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
        let changing = plan.changing_files();
        report.changed = !db.steps.is_empty() || changing > 0;
        let versions: std::collections::BTreeSet<&str> = db
            .steps
            .iter()
            .map(|s| s.migration.version.as_str())
            .collect();
        report.msg = summary(versions.len(), changing, true);
    }
}

/// What the locked run did: the database's version, what is still pending,
/// each file's entry with what landed.
pub(super) fn after_run(
    ctx: &Ctx,
    report: &mut Report,
    plan: &ApplyPlan<'_>,
    current: Option<Version>,
    landed: &Landed,
    backups: &BTreeMap<String, String>,
) {
    let (db_plan, config) = (&plan.database, &plan.config);
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
        .map(|f| file_entry(f, Some(landed), backups.get(&f.file).map(String::as_str)))
        .collect();
    if !report.failed {
        let changed_files = plan.changing_files();
        report.changed = report.changed || changed_files > 0;
        let migrations: std::collections::BTreeSet<&str> = report
            .database
            .applied
            .iter()
            .map(|a| a.version.as_str())
            .collect();
        report.msg = summary(migrations.len(), changed_files, false);
    }
}

/// Fills what the plans say: drift, warnings, problems, diffs, secrets.
pub(super) fn fill_plans(
    ctx: &Ctx,
    report: &mut Report,
    plan: &ApplyPlan<'_>,
    part_sql: &BTreeMap<String, Result<PartSql, ShowError>>,
) {
    let (db, config) = (&plan.database, &plan.config);
    report.drift.extend(db.drift.iter().cloned());
    report.drift.extend(config.drift.iter().cloned());
    report.warnings.extend(db.warnings.iter().cloned());
    report.warnings.extend(config.warnings.iter().cloned());
    report.problems.extend(db.problems.iter().cloned());
    report.problems.extend(config.problems.iter().cloned());
    report
        .problems
        .extend(part_sql::refusals(ctx, &db.steps, part_sql));
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
    part_sql: &BTreeMap<String, Result<PartSql, ShowError>>,
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
                        out.push_str(&format!(
                            "-- cannot compile it: {}\n",
                            crate::error::chain(e)
                        ));
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
