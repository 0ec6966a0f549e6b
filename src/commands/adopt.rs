//! `adopt`: take over a database that another tool migrated, or one with no
//! history at all. lockstep records the migrations already in the database
//! as applied, without running them, so the next `apply` runs only newer
//! ones:
//!
//! - from another tool's history table (sqlx, diesel, Flyway,
//!   golang-migrate, dbmate, goose): every version it recorded must have a
//!   file; a failed or dirty state is refused; where the tool kept a checksum
//!   (sqlx's SHA-384, Flyway's CRC32) a file changed since is reported. The
//!   other tool's table is only read, so the team can go back.
//! - `--baseline VERSION`: every migration up to VERSION, as Flyway's
//!   baseline (and Alembic's `stamp`).

use super::{connect_locked, connect_read_only, read_history, Ctx};
use crate::db::connection::Database;
use crate::db::history::{self, LogEntry};
use crate::db::migration::Migration;
use crate::db::runner::StepSql;
use crate::db::tool_history::{self, Tool};
use crate::report::payload::{AdoptChanged, AdoptedEntry};
use crate::report::{PendingEntry, Report};
use crate::vocabulary::state;
use crate::vocabulary::Version;
use anyhow::{anyhow, bail, Result};
use std::collections::BTreeSet;

/// Where the list of applied migrations came from.
enum Source {
    Tool(Tool),
    Baseline(Version),
}

impl Source {
    fn describe(&self) -> String {
        match self {
            Source::Tool(tool) => format!("recorded by {tool} in {}", tool.table()),
            Source::Baseline(v) => format!("up to the baseline {v}"),
        }
    }
}

pub async fn run(ctx: &Ctx, baseline: Option<&str>) -> Result<Report> {
    let migrations = ctx.load_migrations()?;
    let baseline = baseline
        .map(|b| {
            Version::parse(b).ok_or_else(|| anyhow!("--baseline {b}: expected a version number"))
        })
        .transpose()?;
    // Everything that can refuse is checked without the lock first: taking
    // it creates lockstep's tables, and a refused adopt (or `--check`) must
    // leave the database exactly as it was.
    let preview = match connect_read_only(ctx).await? {
        None => adopt(ctx, None, &migrations, baseline.clone(), false).await,
        Some(mut db) => {
            let result = adopt(ctx, Some(&mut db), &migrations, baseline.clone(), false).await;
            db.close().await;
            result
        }
    };
    if ctx.settings.check {
        return preview;
    }
    preview?;
    let (mut db, lock) = connect_locked(ctx).await?;
    let result = adopt(ctx, Some(&mut db), &migrations, baseline, true).await;
    lock.release(&mut db).await;
    db.close().await;
    result
}

async fn adopt(
    ctx: &Ctx,
    mut db: Option<&mut Database>,
    migrations: &[Migration],
    baseline: Option<Version>,
    write: bool,
) -> Result<Report> {
    let mut report = ctx.new_report();
    let dir = ctx.migrations_display();
    if let Some(db) = db.as_deref_mut() {
        let history = read_history(db).await?;
        if !history.is_empty() {
            bail!(
                "this database already has lockstep history ({} migration{} recorded); \
                 adopt only takes over a database lockstep has not run on. \
                 `lockstep status` shows what is recorded",
                history.len(),
                crate::report::plural(history.len())
            );
        }
    }
    let (source, chosen) = match baseline {
        Some(version) => {
            let chosen: Vec<&Migration> =
                migrations.iter().filter(|m| m.version <= version).collect();
            if chosen.is_empty() {
                bail!("no migration in {dir} is at or before the baseline {version}");
            }
            (Source::Baseline(version), chosen)
        }
        None => {
            let Some(db) = db.as_deref_mut() else {
                bail!("the database does not exist yet: there is nothing to adopt; run `lockstep apply`");
            };
            from_tool(ctx, db, migrations, &mut report).await?
        }
    };

    let adopted: BTreeSet<&Version> = chosen.iter().map(|m| &m.version).collect();
    let newest = chosen.iter().map(|m| &m.version).max().cloned();
    for m in migrations.iter().filter(|m| !adopted.contains(&m.version)) {
        if newest.as_ref().is_some_and(|n| m.version < *n) {
            report.warnings.push(format!(
                "migration {} ({dir}/{}) is older than {} but not recorded as applied; \
                 the next apply refuses it as out of order unless --allow-out-of-order",
                m.version,
                m.path.display(),
                newest.as_ref().map(ToString::to_string).unwrap_or_default()
            ));
        }
        report.database.pending.push(PendingEntry {
            version: m.version.to_string(),
            slug: m.slug.clone(),
            part: m.phase.as_str().to_owned(),
            path: format!("{dir}/{}", m.path.display()),
        });
    }
    let payload = report.payload.adopt();
    payload.adopted = chosen
        .iter()
        .map(|m| AdoptedEntry {
            version: m.version.to_string(),
            slug: m.slug.clone(),
            path: format!("{dir}/{}", m.path.display()),
            checksum: m.checksum.to_string(),
        })
        .collect();
    payload.adopted_from = match &source {
        Source::Tool(tool) => tool.table().to_owned(),
        Source::Baseline(_) => "baseline".to_owned(),
    };
    report.database.current = newest.as_ref().map(ToString::to_string);
    report.changed = !chosen.is_empty();
    let verb = if ctx.settings.check {
        "would adopt"
    } else {
        "adopted"
    };
    let pending = report.database.pending.len();
    report.msg = format!(
        "{verb} {} migration{} {}; {pending} newer migration{} pending{}",
        chosen.len(),
        crate::report::plural(chosen.len()),
        source.describe(),
        crate::report::plural(pending),
        if pending == 0 {
            ""
        } else {
            ": run `lockstep apply`"
        }
    );
    if write {
        if let Some(db) = db {
            record(ctx, db, &chosen, &source).await?;
        }
    }
    Ok(report)
}

/// The migrations another tool recorded, each matched to its file.
async fn from_tool<'a>(
    ctx: &Ctx,
    db: &mut Database,
    migrations: &'a [Migration],
    report: &mut Report,
) -> Result<(Source, Vec<&'a Migration>)> {
    let dir = ctx.migrations_display();
    let tools = tool_history::present(db).await?;
    let tool = match tools.as_slice() {
        [] => bail!(
            "no other tool's history table in this database (looked for _sqlx_migrations, \
             __diesel_schema_migrations, flyway_schema_history, schema_migrations, \
             goose_db_version, alembic_version); for a database with a schema but no \
             history, run `lockstep adopt --baseline VERSION` with the newest migration \
             already in it"
        ),
        [tool] => *tool,
        several => bail!(
            "this database has the history tables of {}; adopt one tool's history at a \
             time: drop the stale table, or record by hand with `lockstep adopt --baseline VERSION`",
            several
                .iter()
                .map(|t| format!("{t} ({})", t.table()))
                .collect::<Vec<_>>()
                .join(" and ")
        ),
    };
    let recorded = tool_history::read(db, tool).await?;
    if let Some(stamp) = &recorded.stamp {
        bail!(
            "this database is managed by Alembic, at revision {stamp}; Alembic's revisions \
             are Python files lockstep cannot match. Once the schema is what your lockstep \
             migrations build up to VERSION, run `lockstep adopt --baseline VERSION`"
        );
    }
    if let Some(dirty) = &recorded.dirty {
        bail!("{dirty}; lockstep adopts only a clean history");
    }
    report.warnings.extend(
        recorded
            .ignored
            .iter()
            .map(|why| format!("{}: {why}; not adopted", tool.table())),
    );
    let mut chosen: Vec<&Migration> = Vec::new();
    let mut changed: Vec<AdoptChanged> = Vec::new();
    for r in &recorded.applied {
        let Some(m) = migrations.iter().find(|m| m.version == r.version) else {
            bail!(
                "{tool} recorded migration {} as applied, but {dir} has no file for it; \
                 point --migrations at the folder {tool} ran, or restore the file",
                r.text
            );
        };
        if let Some(checksum) = &r.checksum {
            let bytes = crate::migration_files::read_file(&ctx.settings.migrations.join(&m.path))?;
            if !checksum.matches(&bytes) {
                let path = format!("{dir}/{}", m.path.display());
                report.warnings.push(format!(
                    "migration {} ({path}) changed since {tool} applied it ({tool} recorded {}); \
                     lockstep records today's file: check that the database has what it says",
                    r.text,
                    checksum.describe()
                ));
                changed.push(AdoptChanged {
                    version: m.version.to_string(),
                    path,
                    recorded: checksum.describe(),
                    checksum: m.checksum.to_string(),
                });
            }
        }
        chosen.push(m);
    }
    if let Some(up_to) = &recorded.up_to {
        for m in migrations.iter().filter(|m| m.version <= *up_to) {
            if !chosen.iter().any(|c| c.version == m.version) {
                chosen.push(m);
            }
        }
        if !migrations.iter().any(|m| m.version == *up_to) {
            bail!(
                "{tool} recorded version {up_to}, but {dir} has no file for it; point \
                 --migrations at the folder {tool} ran"
            );
        }
    }
    chosen.sort_by(|a, b| a.version.cmp(&b.version));
    report.payload.adopt().changed_since_applied = Some(changed);
    Ok((Source::Tool(tool), chosen))
}

/// Writes a history row per adopted migration (today's checksum) and a log
/// entry, together.
async fn record(
    ctx: &Ctx,
    db: &mut Database,
    chosen: &[&Migration],
    source: &Source,
) -> Result<()> {
    let d = db.dialect();
    let (action, detail) = match source {
        Source::Tool(tool) => ("adopt", format!("from {tool}'s {}", tool.table())),
        Source::Baseline(v) => ("baseline", format!("baseline {v}")),
    };
    let mut statements = Vec::new();
    for m in chosen {
        let mut row = StepSql::running_row(m, d, &ctx.run_context());
        row.kind = m.kind().to_owned();
        row.state = if m.online.is_some() {
            state::CONTRACTED
        } else {
            state::APPLIED
        }
        .to_owned();
        statements.push(history::insert_row(d, &row));
        statements.push(history::insert_log(
            d,
            &LogEntry {
                at: &row.applied_at,
                version: &row.version,
                action,
                state: &row.state,
                checksum: &row.checksum,
                host: &row.host,
                detail: Some(&detail),
            },
        ));
    }
    db.begin().await?;
    for b in &statements {
        if let Err(e) = db.run(b).await {
            db.rollback().await;
            return Err(anyhow!("cannot record the adopted migrations: {e}"));
        }
    }
    db.commit().await?;
    Ok(())
}
