//! One module per command. Each loads what it needs, plans, applies (unless
//! in check mode) and fills a [`Report`]; `main` prints it.

pub mod adopt;
pub mod apply;
pub mod backfill;
pub mod contract_gate;
pub mod hosts;
pub mod lint;
pub mod new;
pub mod part_sql;
pub mod resolve;
pub mod resume;
pub mod rollback;
pub mod rollback_preview;
pub mod sql;
pub mod status;

use crate::cli::settings::Settings;
use crate::db::connection::{Database, Target};
use crate::db::history::{self, HistoryRow};
use crate::db::layouts::Layout;
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
        Ok(self.load_migrations_with_layout()?.1)
    }

    /// The migrations and the layout they were read in.
    pub fn load_migrations_with_layout(&self) -> Result<(Layout, Vec<Migration>)> {
        Ok(crate::db::layouts::load(
            &self.settings.migrations,
            self.settings.migrations_format,
        )?)
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
                db.dialect().sql().string_literal(&ctx.settings.host_id)
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
    let json = history::select_history_json(db.dialect(), full);
    let as_json = json.is_some();
    let select = json.unwrap_or_else(|| history::select_history(db.dialect(), full));
    // Read first and ask whether the table exists only when that fails:
    // one query instead of two on every run but the first.
    let rows = match db.fetch_all(&select).await {
        Ok(rows) => rows,
        Err(e) => {
            let tables = db
                .fetch_strings(
                    &db.dialect()
                        .sql()
                        .existing_tables_query(history::TABLE_PREFIX),
                )
                .await
                .context("cannot list the database's tables")?;
            if !tables.iter().any(|t| t == history::MIGRATIONS) {
                return Ok(Vec::new());
            }
            // Another lockstep's first run may have created the table
            // between the two queries (races::eight_applies_share_one_state_dir
            // found it): read again before calling it an error.
            db.fetch_all(&select)
                .await
                .map_err(|_| e)
                .context("cannot read lockstep_migrations")?
        }
    };
    let history = if as_json {
        let json: String = match rows.first() {
            Some(row) => row.try_get(0).context("cannot read lockstep_migrations")?,
            None => "[]".to_owned(),
        };
        history::decode_history_json(&json, full).context("cannot decode lockstep_migrations")?
    } else {
        decode_rows(&rows, full).context("cannot decode lockstep_migrations")?
    };
    history::check_states(&history)?;
    // A failure's statement and error are only read when there is one.
    let failed = |r: &HistoryRow| {
        r.state == crate::vocabulary::state::FAILED || r.state == crate::vocabulary::state::RUNNING
    };
    if !full && history.iter().any(failed) {
        return Box::pin(read_history_columns(db, true)).await;
    }
    let mut history = history;
    if history
        .iter()
        .any(|r| r.state == crate::vocabulary::state::FAILED)
    {
        attach_failure_points(db, &mut history).await;
    }
    Ok(history)
}

/// Reads where each failed migration stopped. A database whose tables an
/// older lockstep created has no such table: its failures stay without one.
async fn attach_failure_points(db: &mut Database, history: &mut [HistoryRow]) {
    use crate::db::failure_point::{self, FailurePoint};
    let rows = match db.fetch_all(&failure_point::select_all()).await {
        Ok(rows) => rows,
        Err(e) => {
            tracing::debug!("cannot read {}: {e}", failure_point::FAILURES);
            return;
        }
    };
    for r in &rows {
        let point = (|| -> Result<(String, FailurePoint), sqlx::Error> {
            let count = |i: usize| -> Result<usize, sqlx::Error> {
                Ok(r.try_get::<i64, _>(i)?.max(0) as usize)
            };
            Ok((
                r.try_get(0)?,
                FailurePoint {
                    statements_done: count(1)?,
                    statements_total: count(2)?,
                    line: count(3)?,
                    done_checksum: r.try_get(4)?,
                },
            ))
        })();
        let Ok((version, point)) = point else {
            continue;
        };
        if let Some(row) = history
            .iter_mut()
            .find(|h| h.version == version && h.state == crate::vocabulary::state::FAILED)
        {
            row.failure_point = Some(point);
        }
    }
}

/// History rows as the server drivers return them, one per migration.
fn decode_rows(rows: &[sqlx::any::AnyRow], full: bool) -> Result<Vec<HistoryRow>, sqlx::Error> {
    rows.iter()
        .map(|r| {
            let brief = HistoryRow {
                version: r.try_get(0)?,
                slug: r.try_get(1)?,
                phase: r.try_get(2)?,
                state: r.try_get(3)?,
                checksum: r.try_get(4)?,
                ..HistoryRow::default()
            };
            if !full {
                return Ok(brief);
            }
            Ok(HistoryRow {
                kind: r.try_get(5)?,
                failed_statement: r.try_get(6)?,
                error: r.try_get(7)?,
                dialect: r.try_get(8)?,
                applied_at: r.try_get(9)?,
                updated_at: r.try_get(10)?,
                duration_ms: r.try_get(11)?,
                host: r.try_get(12)?,
                lockstep_version: r.try_get(13)?,
                failure_point: None,
                ..brief
            })
        })
        .collect()
}

#[cfg(all(test, feature = "sqlite"))]
mod tests {
    use super::*;
    use crate::db::dialect::Dialect;

    fn row(version: &str, state: &str, failure: Option<(&str, &str)>) -> HistoryRow {
        HistoryRow {
            version: version.to_owned(),
            slug: "add \"quoted\" ünïcode, slug".to_owned(),
            kind: "sql".to_owned(),
            phase: "expand".to_owned(),
            state: state.to_owned(),
            checksum: format!("sha256:{}", "ab".repeat(32)),
            dialect: "sqlite".to_owned(),
            applied_at: "2026-11-22T05:00:00Z".to_owned(),
            updated_at: "2026-11-22T05:00:01Z".to_owned(),
            duration_ms: 1234,
            host: "web-1".to_owned(),
            lockstep_version: "0.1.0".to_owned(),
            failed_statement: failure.map(|f| f.0.to_owned()),
            error: failure.map(|f| f.1.to_owned()),
            failure_point: None,
        }
    }

    /// SQLite's history is read as one JSON row: it must read exactly what
    /// the row-per-migration path reads, NULLs and odd text included.
    #[test]
    fn sqlite_history_reads_the_same_as_one_json_row_or_as_rows() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async {
            let dir = tempfile::tempdir().unwrap();
            let url = format!("sqlite:{}", dir.path().join("h.db").display());
            let target = Target::parse(&url).unwrap();
            let mut db = Database::connect(&target, false, CONNECT_TIMEOUT)
                .await
                .unwrap();
            assert!(
                read_history(&mut db).await.unwrap().is_empty(),
                "no table yet"
            );
            for ddl in history::create_tables(Dialect::Sqlite) {
                db.execute(&ddl).await.unwrap();
            }
            assert!(
                read_history(&mut db).await.unwrap().is_empty(),
                "no rows yet"
            );
            let written = [
                row("0001", "applied", None),
                row(
                    "0002",
                    "failed",
                    Some(("UPDATE t SET a = 'x';", "no such table: t\nline 2")),
                ),
            ];
            for r in &written {
                db.run(&history::insert_row(Dialect::Sqlite, r))
                    .await
                    .unwrap();
            }
            let as_rows = db
                .fetch_all(&history::select_history(Dialect::Sqlite, true))
                .await
                .unwrap();
            let as_rows = decode_rows(&as_rows, true).unwrap();
            let as_json = read_history(&mut db).await.unwrap();
            assert_eq!(as_json, as_rows);
            assert_eq!(as_json.len(), 2);
            assert_eq!(as_json[1].slug, written[1].slug);
            assert_eq!(as_json[1].error, written[1].error);
            assert_eq!(as_json[0].failed_statement, None);
            assert_eq!(as_json[0].duration_ms, 1234);
            // The brief read falls back to the full one when a row failed.
            assert_eq!(read_history_brief(&mut db).await.unwrap(), as_rows);
            db.close().await;
        });
    }
}
