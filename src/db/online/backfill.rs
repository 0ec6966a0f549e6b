//! Runs a backfill in keyset batches by integer primary key: each batch
//! finds its upper key with an index range scan (never OFFSET from the
//! start), rewrites only rows that still need it in its own short
//! transaction with the sync triggers set aside, and records its progress
//! in `lockstep_backfills` in the same transaction, so a killed backfill
//! resumes after the last committed batch. Batches shrink while they run
//! over a time budget, and on a database with one writer at a time they
//! leave it to the application for a moment after each one. What each
//! dialect does for this lives in `dialects` (`batch_begin`,
//! `backfill_session`, `batch_yield`).

use super::compile::Backfill;
use super::dialects::for_dialect;
use crate::db::connection::{scrub, Database};
use crate::db::history::{Bookkeeping, Value, BACKFILLS};
use anyhow::{anyhow, Context, Result};
use serde::Serialize;
use sqlx::Row;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BackfillOptions {
    pub batch_size: i64,
    pub batch_sleep: Duration,
}

/// What a backfill did, for the report and the progress bar.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Progress {
    pub table: String,
    pub column: String,
    pub rows: i64,
    pub batches: i64,
    /// Key after which this run started (a resumed backfill's last batch).
    pub resumed_after: Option<i64>,
    pub last_key: Option<i64>,
    pub longest_batch_ms: u64,
    /// The fewest rows a batch was given after batches ran over the time
    /// budget; `--batch-size` when none did.
    pub smallest_batch: Option<i64>,
    pub finished: bool,
}

pub async fn run(
    db: &mut Database,
    version: &str,
    b: &Backfill,
    opts: &BackfillOptions,
    mut on_batch: impl FnMut(&Progress),
) -> Result<Progress> {
    let d = db.dialect();
    let g = for_dialect(d);
    let key = b.key.as_deref().ok_or_else(|| {
        anyhow!(
            "cannot backfill {}.{}: the table needs a single-column integer primary key",
            b.table,
            b.column
        )
    })?;
    for ddl in g.backfill_setup() {
        db.execute(&ddl.sql).await?;
    }
    let ph = |n| d.placeholder(n);
    let ids = [
        Value::Text(version.to_owned()),
        Value::Text(b.table.clone()),
        Value::Text(b.column.clone()),
    ];
    let existing = db
        .fetch_all_bound(
            &format!(
                "SELECT last_key, rows_done, batches, finished FROM {BACKFILLS} WHERE version = {} AND table_name = {} AND column_name = {}",
                ph(1),
                ph(2),
                ph(3)
            ),
            &ids,
        )
        .await?;
    let mut progress = Progress {
        table: b.table.clone(),
        column: b.column.clone(),
        ..Progress::default()
    };
    match existing.first() {
        Some(row) => {
            progress.last_key = row.try_get::<Option<i64>, _>(0)?;
            progress.resumed_after = progress.last_key;
            progress.rows = row.try_get(1)?;
            progress.batches = row.try_get(2)?;
            progress.finished = row.try_get::<i64, _>(3)? != 0;
            if progress.finished {
                return Ok(progress);
            }
        }
        None => {
            let mut values = ids.to_vec();
            values.push(Value::Text(crate::db::runner::now()));
            db.run(&Bookkeeping {
                sql: format!(
                    "INSERT INTO {BACKFILLS} (version, table_name, column_name, last_key, rows_done, batches, finished, updated_at) \
                     VALUES ({}, {}, {}, NULL, 0, 0, 0, {})",
                    ph(1),
                    ph(2),
                    ph(3),
                    ph(4)
                ),
                values,
            })
            .await?;
        }
    }

    let probe = match g.backfill_probe() {
        Some(sql) => db
            .fetch_strings(sql)
            .await
            .with_context(|| format!("cannot read the session settings ({sql})"))?
            .into_iter()
            .next(),
        None => None,
    };
    let session = g.backfill_session(probe.as_deref());
    let mut result = Ok(());
    for s in &session.on {
        if let Err(e) = db.execute(s).await {
            result = Err(anyhow!(
                "cannot prepare the backfill session ({s}): {}",
                scrub(&e.to_string(), &db.target)
            ));
            break;
        }
    }
    if result.is_ok() {
        let walk = Walk {
            b,
            key,
            ids: &ids,
            between: &session.between,
        };
        result = batches(db, &walk, opts, &mut progress, &mut on_batch).await;
    }
    // Whatever happened, the connection goes on to other migrations.
    for s in &session.off {
        let _ = db.execute(s).await;
    }
    result?;
    db.run(&Bookkeeping {
        sql: format!(
            "UPDATE {BACKFILLS} SET finished = 1, updated_at = {} WHERE version = {} AND table_name = {} AND column_name = {}",
            ph(1),
            ph(2),
            ph(3),
            ph(4)
        ),
        values: vec![Value::Text(crate::db::runner::now()), ids[0].clone(), ids[1].clone(), ids[2].clone()],
    })
    .await?;
    progress.finished = true;
    Ok(progress)
}

/// Rows per batch: shrinks while batches take longer than this, so the
/// longest one stays short under load, and grows back to `--batch-size`
/// once they are well under it.
const BATCH_BUDGET: Duration = Duration::from_millis(50);
const SMALLEST_BATCH: i64 = 10;

/// One backfill's batches: what each of them needs.
struct Walk<'a> {
    b: &'a Backfill,
    key: &'a str,
    /// version, table and column: the progress row's key.
    ids: &'a [Value; 3],
    /// The session's statements between batches.
    between: &'a [String],
}

/// Runs the batches after `progress.last_key` until none is left.
async fn batches(
    db: &mut Database,
    walk: &Walk<'_>,
    opts: &BackfillOptions,
    progress: &mut Progress,
    on_batch: &mut impl FnMut(&Progress),
) -> Result<()> {
    let &Walk {
        b,
        key,
        ids,
        between,
    } = walk;
    let d = db.dialect();
    let g = for_dialect(d);
    let ph = |n| d.placeholder(n);
    let t = g.q(&b.table);
    let k = g.q(key);
    let c = g.q(&b.column);
    let upper_sql = format!(
        "SELECT {} FROM (SELECT {k} FROM {t} WHERE {k} > {} ORDER BY {k} LIMIT {}) batch",
        d.as_bigint(&format!("MAX({k})")),
        ph(1),
        ph(2)
    );
    let update_sql = format!(
        "UPDATE {t} SET {c} = ({}) WHERE {k} > {} AND {k} <= {} AND {}",
        b.expr,
        ph(1),
        ph(2),
        b.pending
    );
    let progress_sql = format!(
        "UPDATE {BACKFILLS} SET last_key = {}, rows_done = rows_done + {}, batches = batches + 1, updated_at = {} \
         WHERE version = {} AND table_name = {} AND column_name = {}",
        ph(1),
        ph(2),
        ph(3),
        ph(4),
        ph(5),
        ph(6)
    );
    let begin = g.batch_begin();
    let commit = g.batch_commit();
    let largest = opts.batch_size.max(1);
    let mut size = largest;
    let (mut in_batches, mut paused) = (Duration::ZERO, Duration::ZERO);
    loop {
        let after = progress.last_key.unwrap_or(i64::MIN);
        let upper: Option<i64> = db
            .fetch_all_bound(&upper_sql, &[Value::Int(after), Value::Int(size)])
            .await
            .with_context(|| format!("cannot find the next batch of {}", b.table))?
            .first()
            .map(|r| r.try_get::<Option<i64>, _>(0))
            .transpose()?
            .flatten();
        let Some(upper) = upper else { break };
        let started = Instant::now();
        let result = async {
            db.execute(&begin).await?;
            let rows = db
                .run(&Bookkeeping {
                    sql: update_sql.clone(),
                    values: vec![Value::Int(after), Value::Int(upper)],
                })
                .await?;
            db.run(&Bookkeeping {
                sql: progress_sql.clone(),
                values: vec![
                    Value::Int(upper),
                    Value::Int(rows as i64),
                    Value::Text(crate::db::runner::now()),
                    ids[0].clone(),
                    ids[1].clone(),
                    ids[2].clone(),
                ],
            })
            .await?;
            db.execute(&commit).await?;
            Ok::<u64, sqlx::Error>(rows)
        }
        .await;
        let rows = match result {
            Ok(rows) => rows,
            Err(e) => {
                db.rollback().await;
                return Err(anyhow!(
                    "backfill of {}.{} failed in the batch after key {after}: {}; run `lockstep backfill` to resume",
                    b.table,
                    b.column,
                    scrub(&e.to_string(), &db.target)
                ));
            }
        };
        let took = started.elapsed();
        in_batches += took;
        progress.longest_batch_ms = progress.longest_batch_ms.max(took.as_millis() as u64);
        progress.rows += rows as i64;
        progress.batches += 1;
        progress.last_key = Some(upper);
        progress.smallest_batch = Some(progress.smallest_batch.map_or(size, |s| s.min(size)));
        on_batch(progress);
        if took > BATCH_BUDGET {
            size = (size / 2).max(SMALLEST_BATCH.min(largest));
        } else if took < BATCH_BUDGET / 4 {
            size = (size * 2).min(largest);
        }
        let t = Instant::now();
        for s in between {
            db.execute(s)
                .await
                .with_context(|| format!("cannot run `{s}` after a batch of {}", b.table))?;
        }
        let pause = (g.batch_yield(took) + opts.batch_sleep).saturating_sub(t.elapsed());
        if !pause.is_zero() {
            tokio::time::sleep(pause).await;
        }
        paused += t.elapsed();
    }
    tracing::debug!(
        "backfill of {}.{}: {} batches, {in_batches:?} in their transactions, {paused:?} paused",
        b.table,
        b.column,
        progress.batches
    );
    Ok(())
}

/// Forgets a migration's backfill progress (after a rollback).
pub fn forget(d: crate::db::dialect::Dialect, version: &str) -> Bookkeeping {
    Bookkeeping {
        sql: format!(
            "DELETE FROM {BACKFILLS} WHERE version = {}",
            d.placeholder(1)
        ),
        values: vec![Value::Text(version.to_owned())],
    }
}
