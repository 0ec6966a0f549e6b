//! Runs the parts of a compiled online migration and records each in the
//! history: expand (`expanded`), backfill (`backfilled`), contract
//! (`contracted`), undo (`rolled_back`). DDL runs with a short lock
//! timeout and is retried with backoff, so it never queues behind a long
//! transaction and stalls the application behind it.

use super::backfill::{self, BackfillOptions, Progress};
use super::compile::Compiled;
use crate::db::bookkeeping::Value;
use crate::db::connection::{scrub, Database};
use crate::db::dialect::online::Ddl;
use crate::db::history::{self, HistoryRow, LogEntry};
use crate::db::migration::Migration;
use crate::db::runner::{Failure, RunContext};
use crate::vocabulary::now;
use crate::vocabulary::state;
use sqlx::Row;
use std::time::{Duration, Instant};

const RETRIES: u32 = 8;

/// A failed part: the statement, and what the database said.
pub struct PartFailure {
    pub entry: Failure,
}

impl PartFailure {
    pub fn message(&self) -> String {
        let e = &self.entry;
        format!(
            "migration {} ({}) failed: {}; statement: {}",
            e.version, e.path, e.error, e.statement
        )
    }
}

fn failure(m: &Migration, path: &str, statement: &str, error: String) -> PartFailure {
    PartFailure {
        entry: Failure {
            version: m.version.to_string(),
            slug: m.slug.clone(),
            path: path.to_owned(),
            statement: statement.to_owned(),
            line: 0,
            error,
        },
    }
}

fn row(m: &Migration, db: &Database, st: &str, ctx: &RunContext) -> HistoryRow {
    let at = now();
    HistoryRow {
        version: m.version.to_string(),
        slug: m.slug.clone(),
        kind: m.kind().to_owned(),
        phase: m.phase.as_str().to_owned(),
        state: st.to_owned(),
        checksum: m.checksum.to_string(),
        dialect: db.dialect().as_str().to_owned(),
        applied_at: at.clone(),
        updated_at: at,
        duration_ms: 0,
        host: ctx.host.clone(),
        lockstep_version: crate::VERSION.to_owned(),
        failed_statement: None,
        error: None,
        failure_point: None,
    }
}

async fn set_state(
    db: &mut Database,
    m: &Migration,
    st: &str,
    action: &str,
    ms: i64,
    ctx: &RunContext,
    failure: Option<(&str, &str)>,
) -> Result<(), sqlx::Error> {
    let d = db.dialect();
    let at = now();
    db.run(&history::update_state(
        d,
        m.version.as_str(),
        st,
        &at,
        ms,
        failure,
    ))
    .await?;
    db.run(&history::insert_log(
        d,
        &LogEntry {
            at: &at,
            version: m.version.as_str(),
            action,
            state: st,
            checksum: m.checksum.as_str(),
            host: &ctx.host,
            detail: failure.map(|(_, e)| e),
        },
    ))
    .await?;
    Ok(())
}

/// Runs DDL statements one by one with the lock timeout, retrying a
/// statement that gave up waiting for its lock.
async fn run_ddl(db: &mut Database, ddl: &[Ddl]) -> Result<(), (String, String)> {
    let g = db.dialect().sql();
    if let Some(setup) = g.ddl_lock_timeout() {
        db.execute(&setup)
            .await
            .map_err(|e| (setup.clone(), e.to_string()))?;
    }
    for d in ddl {
        let mut attempt = 0;
        loop {
            match db.execute(&d.sql).await {
                Ok(_) => break,
                Err(e) if attempt < RETRIES && g.is_lock_timeout(&e.to_string()) => {
                    attempt += 1;
                    let wait = Duration::from_millis(100 * (1 << attempt.min(6)));
                    tracing::warn!(
                        "lock timeout on `{}`; retry {attempt} in {wait:?}",
                        first_line(&d.sql)
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err((d.sql.clone(), scrub(&e.to_string(), &db.target))),
            }
        }
    }
    Ok(())
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or("")
}

/// Expand: the additive DDL and triggers. Atomic with its history row where
/// the database allows; otherwise recorded `running`, then `expanded`.
pub async fn expand(
    db: &mut Database,
    m: &Migration,
    c: &Compiled,
    path: &str,
    ctx: &RunContext,
) -> Result<u64, PartFailure> {
    let started = Instant::now();
    let d = db.dialect();
    let version = m.version.to_string();
    let transactional = d.sql().transactional_ddl() && c.expand.iter().all(|s| s.transactional);
    let bookkeeping = |e: sqlx::Error| failure(m, path, "(lockstep history)", e.to_string());
    if transactional {
        let mut attempt = 0;
        loop {
            db.begin().await.map_err(bookkeeping)?;
            let result = async {
                db.run(&history::delete_row(d, &version))
                    .await
                    .map_err(|e| ("(lockstep history)".to_owned(), e.to_string()))?;
                run_ddl(db, &c.expand).await?;
                let mut r = row(m, db, state::EXPANDED, ctx);
                r.duration_ms = started.elapsed().as_millis() as i64;
                db.run(&history::insert_row(d, &r))
                    .await
                    .map_err(|e| ("(lockstep history)".to_owned(), e.to_string()))?;
                db.run(&history::insert_log(
                    d,
                    &LogEntry {
                        at: &r.applied_at,
                        version: &version,
                        action: "expand",
                        state: state::EXPANDED,
                        checksum: m.checksum.as_str(),
                        host: &ctx.host,
                        detail: None,
                    },
                ))
                .await
                .map_err(|e| ("(lockstep history)".to_owned(), e.to_string()))?;
                Ok::<(), (String, String)>(())
            }
            .await;
            match result {
                Ok(()) => {
                    db.commit().await.map_err(bookkeeping)?;
                    return Ok(started.elapsed().as_millis() as u64);
                }
                Err((stmt, e)) => {
                    db.rollback().await;
                    if attempt < RETRIES && d.sql().is_lock_timeout(&e) {
                        attempt += 1;
                        tokio::time::sleep(Duration::from_millis(100 * (1 << attempt.min(6))))
                            .await;
                        continue;
                    }
                    return Err(failure(m, path, &stmt, e));
                }
            }
        }
    }
    db.run(&history::delete_row(d, &version))
        .await
        .map_err(bookkeeping)?;
    let running = row(m, db, state::RUNNING, ctx);
    db.run(&history::insert_row(d, &running))
        .await
        .map_err(bookkeeping)?;
    // The log names the part that is running, for `resolve`.
    db.run(&history::insert_log(
        d,
        &LogEntry {
            at: &running.applied_at,
            version: &version,
            action: "expand",
            state: state::RUNNING,
            checksum: m.checksum.as_str(),
            host: &ctx.host,
            detail: None,
        },
    ))
    .await
    .map_err(bookkeeping)?;
    if let Err((stmt, e)) = run_ddl(db, &c.expand).await {
        let ms = started.elapsed().as_millis() as i64;
        let _ = set_state(db, m, state::FAILED, "expand", ms, ctx, Some((&stmt, &e))).await;
        return Err(failure(m, path, &stmt, e));
    }
    let ms = started.elapsed().as_millis() as u64;
    set_state(db, m, state::EXPANDED, "expand", ms as i64, ctx, None)
        .await
        .map_err(bookkeeping)?;
    Ok(ms)
}

/// Runs (or resumes) every backfill of the migration, then records it
/// `backfilled`.
pub async fn backfill(
    db: &mut Database,
    m: &Migration,
    c: &Compiled,
    opts: &BackfillOptions,
    ctx: &RunContext,
    mut on_batch: impl FnMut(&Progress),
) -> anyhow::Result<Vec<Progress>> {
    let mut out = Vec::new();
    for b in &c.backfills {
        out.push(backfill::run(db, m.version.as_str(), b, opts, &mut on_batch).await?);
    }
    set_state(db, m, state::BACKFILLED, "backfill", 0, ctx, None).await?;
    Ok(out)
}

/// Runs every sanity check; empty when all pass, else one sentence per
/// failed check: how many rows, the first keys, and what resolves it.
pub async fn sanity(db: &mut Database, c: &Compiled) -> anyhow::Result<Vec<String>> {
    let mut failures = Vec::new();
    for check in &c.checks {
        let n = count(db, &check.count_sql).await?;
        if n == 0 {
            continue;
        }
        let keys = match &check.keys_sql {
            Some(sql) => {
                let rows = db.fetch_all(sql).await?;
                let keys: Vec<String> = rows
                    .iter()
                    .map(|r| r.try_get::<i64, _>(0).map(|k| k.to_string()))
                    .collect::<Result<_, _>>()?;
                keys.join(", ")
            }
            None => String::new(),
        };
        let first = match n {
            1 => "key",
            2..=10 => "keys",
            _ => "first keys",
        };
        let what = match check.what.strip_prefix("rows ") {
            Some(rest) if n == 1 => format!("row {rest}"),
            _ => check.what.clone(),
        };
        failures.push(format!(
            "{n} {what} ({first}: {keys}); {}",
            check.fix.replace("{keys}", &keys)
        ));
    }
    Ok(failures)
}

/// Rows a finished backfill would still fill (rows written with the sync
/// triggers set aside): `lockstep backfill` walks the table again for them.
pub async fn unfilled(db: &mut Database, c: &Compiled) -> anyhow::Result<i64> {
    let mut n = 0;
    for b in &c.backfills {
        n += count(
            db,
            &format!(
                "SELECT COUNT(*) FROM {} WHERE {}",
                db.dialect().sql().ident(&b.table),
                b.pending
            ),
        )
        .await?;
    }
    Ok(n)
}

async fn count(db: &mut Database, count_sql: &str) -> anyhow::Result<i64> {
    let sql = count_sql.replacen("COUNT(*)", &db.dialect().sql().as_bigint("COUNT(*)"), 1);
    let rows = db.fetch_all(&sql).await?;
    Ok(rows.first().map(|r| r.try_get(0)).transpose()?.unwrap_or(0))
}

/// Contract: drop what old code needed. Recorded `contracted`; a failure
/// midway (MySQL) leaves `failed` with the statement.
pub async fn contract(
    db: &mut Database,
    m: &Migration,
    c: &Compiled,
    path: &str,
    ctx: &RunContext,
) -> Result<u64, PartFailure> {
    let started = Instant::now();
    let d = db.dialect();
    let transactional = d.sql().transactional_ddl() && c.contract.iter().all(|s| s.transactional);
    let bookkeeping = |e: sqlx::Error| failure(m, path, "(lockstep history)", e.to_string());
    if transactional {
        db.begin().await.map_err(bookkeeping)?;
    } else {
        // Without a transaction a kill can stop contract halfway, a column
        // already dropped: the row must then say `running` (and the log
        // `contract`), not `backfilled`, or the next run would retry the
        // contract against a schema it no longer fits, with no way out.
        set_state(db, m, state::RUNNING, "contract", 0, ctx, None)
            .await
            .map_err(bookkeeping)?;
    }
    if let Err((stmt, e)) = run_ddl(db, &c.contract).await {
        if transactional {
            db.rollback().await;
        } else {
            let ms = started.elapsed().as_millis() as i64;
            let _ = set_state(db, m, state::FAILED, "contract", ms, ctx, Some((&stmt, &e))).await;
        }
        return Err(failure(m, path, &stmt, e));
    }
    let ms = started.elapsed().as_millis() as u64;
    if let Err(e) = set_state(db, m, state::CONTRACTED, "contract", ms as i64, ctx, None).await {
        if transactional {
            db.rollback().await;
        }
        return Err(bookkeeping(e));
    }
    if transactional {
        db.commit().await.map_err(bookkeeping)?;
    }
    Ok(ms)
}

/// Undoes expand (rollback before contract): triggers and new columns go.
pub async fn undo(
    db: &mut Database,
    m: &Migration,
    c: &Compiled,
    path: &str,
    ctx: &RunContext,
) -> Result<u64, PartFailure> {
    let started = Instant::now();
    let d = db.dialect();
    let bookkeeping = |e: sqlx::Error| failure(m, path, "(lockstep history)", e.to_string());
    if let Err((stmt, e)) = run_ddl(db, &c.undo).await {
        return Err(failure(m, path, &stmt, e));
    }
    db.run(&backfill::forget(d, m.version.as_str()))
        .await
        .map_err(bookkeeping)?;
    let ms = started.elapsed().as_millis() as u64;
    set_state(db, m, state::ROLLED_BACK, "rollback", ms as i64, ctx, None)
        .await
        .map_err(bookkeeping)?;
    Ok(ms)
}

/// Hosts that have not checked in at `version` or later (retired ones
/// excluded), as `name (at V)`.
pub async fn lagging_hosts(
    db: &mut Database,
    version: &crate::vocabulary::Version,
) -> anyhow::Result<Vec<String>> {
    let rows = db
        .fetch_all_bound(&history::select_hosts(), &[] as &[Value])
        .await?;
    let mut lagging = Vec::new();
    for r in rows {
        let host: String = r.try_get(0)?;
        let at: String = r.try_get(1)?;
        let retired: i64 = r.try_get(4)?;
        let behind = crate::vocabulary::Version::parse(&at).is_none_or(|v| v < *version);
        if retired == 0 && behind {
            lagging.push(format!("{host} (at {at})"));
        }
    }
    Ok(lagging)
}
