//! One module per command. Each loads what it needs, plans, applies (unless
//! in check mode) and fills a [`Report`]; `main` prints it.

pub mod apply;
pub mod backfill;
pub mod hosts;
pub mod lint;
pub mod new;
pub mod resolve;
pub mod rollback;
pub mod sql;
pub mod status;

use crate::cli::settings::Settings;
use crate::db::connection::{Database, Target};
use crate::db::history::{self, HistoryRow};
use crate::db::lock::DatabaseLock;
use crate::db::migration::Migration;
use crate::db::runner::RunContext;
use crate::report::Report;
use anyhow::{Context, Result};
use sqlx::Row;
use std::time::Duration;

/// How long to wait for a server to answer a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(15);

/// What every command starts from.
pub struct Ctx {
    pub settings: Settings,
    pub target: Target,
}

impl Ctx {
    pub fn new(settings: Settings) -> Result<Ctx> {
        let target = Target::parse(&settings.database_url)?;
        Ok(Ctx { settings, target })
    }

    pub fn run_context(&self) -> RunContext {
        RunContext {
            host: self.settings.host_id.clone(),
        }
    }

    /// The migrations directory as shown in messages.
    pub fn migrations_display(&self) -> String {
        self.settings.migrations.display().to_string()
    }

    pub fn load_migrations(&self) -> Result<Vec<Migration>> {
        Ok(crate::db::source::load_dir(&self.settings.migrations)?)
    }

    pub fn load_config_migrations(&self) -> Result<Vec<crate::config::migration::ConfigMigration>> {
        Ok(crate::config::source::load_dir(
            &self.settings.config_migrations,
        )?)
    }

    pub fn new_report(&self) -> Report {
        let mut r = Report::new(self.settings.phase.as_str(), self.settings.check);
        r.database.url = self.target.display.clone();
        r.database.dialect = self.target.dialect.as_str().to_owned();
        r
    }
}

/// A connection for reading only: no lock, no tables created, a missing
/// SQLite file left missing. `None` when there is no database yet.
pub async fn connect_read_only(ctx: &Ctx) -> Result<Option<Database>> {
    if ctx.target.is_absent() {
        return Ok(None);
    }
    Ok(Some(
        Database::connect(&ctx.target, true, CONNECT_TIMEOUT).await?,
    ))
}

/// The history read without a lock or a write; empty when there is no
/// database yet.
pub async fn history_read_only(ctx: &Ctx) -> Result<Vec<HistoryRow>> {
    match connect_read_only(ctx).await? {
        Some(mut db) => {
            let history = read_history(&mut db).await;
            db.close().await;
            history
        }
        None => Ok(Vec::new()),
    }
}

/// The history and the release this host last checked in at, read without
/// a lock or a write.
pub async fn recorded_read_only(ctx: &Ctx) -> Result<(Vec<HistoryRow>, Option<String>)> {
    let Some(mut db) = connect_read_only(ctx).await? else {
        return Ok((Vec::new(), None));
    };
    let result = async {
        let history = read_history_brief(&mut db).await?;
        let checked_in = if history.is_empty() {
            None
        } else {
            let sql = format!(
                "SELECT version FROM {} WHERE host_id = {} AND retired = 0",
                history::HOSTS,
                db.dialect().string_literal(&ctx.settings.host_id)
            );
            db.fetch_strings(&sql)
                .await
                .ok()
                .and_then(|v| v.into_iter().next())
        };
        Ok((history, checked_in))
    }
    .await;
    db.close().await;
    result
}

/// A connection for writing: locked against other lockstep runs, with the
/// history tables created.
pub async fn connect_locked(ctx: &Ctx) -> Result<(Database, DatabaseLock)> {
    let mut db = Database::connect(&ctx.target, false, CONNECT_TIMEOUT).await?;
    let lock = DatabaseLock::acquire(&mut db, ctx.settings.lock_timeout).await?;
    for ddl in history::create_tables(db.dialect()) {
        if let Err(e) = db.execute(&ddl).await {
            lock.release(&mut db).await;
            return Err(e).context("cannot create lockstep's history tables");
        }
    }
    Ok((db, lock))
}

/// Every history row, with all its columns; empty when the tables do not
/// exist yet.
pub async fn read_history(db: &mut Database) -> Result<Vec<HistoryRow>> {
    read_history_columns(db, true).await
}

/// Every history row with the columns planning needs (timestamps, host and
/// duration left empty).
pub async fn read_history_brief(db: &mut Database) -> Result<Vec<HistoryRow>> {
    read_history_columns(db, false).await
}

async fn read_history_columns(db: &mut Database, full: bool) -> Result<Vec<HistoryRow>> {
    // Read first and ask whether the table exists only when that fails:
    // one query instead of two on every run but the first.
    let rows = match db
        .fetch_all(&history::select_history(db.dialect(), full))
        .await
    {
        Ok(rows) => rows,
        Err(e) => {
            let tables = db
                .fetch_strings(&db.dialect().existing_tables_query(history::TABLE_PREFIX))
                .await
                .context("cannot list the database's tables")?;
            if !tables.iter().any(|t| t == history::MIGRATIONS) {
                return Ok(Vec::new());
            }
            // Another lockstep's first run may have created the table
            // between the two queries (races::eight_applies_share_one_state_dir
            // found it): read again before calling it an error.
            db.fetch_all(&history::select_history(db.dialect(), full))
                .await
                .map_err(|_| e)
                .context("cannot read lockstep_migrations")?
        }
    };
    let text = |r: &sqlx::any::AnyRow, i: usize| -> Result<String, sqlx::Error> {
        if full {
            r.try_get(i)
        } else {
            Ok(String::new())
        }
    };
    let history = rows
        .iter()
        .map(|r| {
            Ok(HistoryRow {
                version: r.try_get(0)?,
                slug: r.try_get(1)?,
                phase: r.try_get(2)?,
                state: r.try_get(3)?,
                checksum: r.try_get(4)?,
                kind: text(r, 5)?,
                failed_statement: if full { r.try_get(6)? } else { None },
                error: if full { r.try_get(7)? } else { None },
                dialect: text(r, 8)?,
                applied_at: text(r, 9)?,
                updated_at: text(r, 10)?,
                duration_ms: if full { r.try_get(11)? } else { 0 },
                host: text(r, 12)?,
                lockstep_version: text(r, 13)?,
            })
        })
        .collect::<Result<Vec<_>, sqlx::Error>>()
        .context("cannot decode lockstep_migrations")?;
    // A failure's statement and error are only read when there is one.
    let failed = |r: &HistoryRow| {
        r.state == crate::plan::database::state::FAILED
            || r.state == crate::plan::database::state::RUNNING
    };
    if !full && history.iter().any(failed) {
        return Box::pin(read_history_columns(db, true)).await;
    }
    Ok(history)
}
