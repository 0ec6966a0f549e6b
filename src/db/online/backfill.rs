//! Runs a backfill in keyset batches by integer primary key: each batch
//! finds its key range with an index range scan (never OFFSET from the start),
//! rewrites only rows that still need it in its own short transaction, in
//! short statements on a server, with the sync triggers set aside, and
//! records its progress in `lockstep_backfills` in the same transaction, so
//! a killed backfill resumes after the last committed batch. Batches shrink
//! while they run over a time budget, and on a database with one writer at
//! a time they leave it to the application for a moment after each one.
//! What each dialect does for this lives in its file in `db/dialect/` (`batch_begin`,
//! `statement_rows`, `backfill_session`, `batch_yield`).

use super::compile::Backfill;
use crate::db::bookkeeping::{Bookkeeping, Value};
use crate::db::connection::{scrub, Database};
use crate::db::history::BACKFILLS;
use anyhow::{anyhow, Context, Result};
use sqlx::Row;
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct BackfillOptions {
    pub batch_size: i64,
    pub batch_sleep: Duration,
}

/// What a backfill did, for the progress bar and the report (which copies
/// it into `report::payload::BackfillRun`).
#[derive(Debug, Clone, Default)]
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
    /// The table's lowest and highest key when this run started: the
    /// progress bar's total, as a key range.
    pub min_key: Option<i64>,
    pub max_key: Option<i64>,
}

pub async fn run(
    db: &mut Database,
    version: &str,
    b: &Backfill,
    opts: &BackfillOptions,
    mut on_batch: impl FnMut(&Progress),
) -> Result<Progress> {
    let d = db.dialect();
    let g = d.sql();
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
    let ph = |n| d.sql().placeholder(n);
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
            values.push(Value::Text(crate::vocabulary::now()));
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
        (progress.min_key, progress.max_key) = key_range(db, b, key).await;
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
        values: vec![Value::Text(crate::vocabulary::now()), ids[0].clone(), ids[1].clone(), ids[2].clone()],
    })
    .await?;
    progress.finished = true;
    Ok(progress)
}

/// The table's key range, for the progress bar; `(None, None)` for an
/// empty table or when it cannot be read (the bar then shows no total).
async fn key_range(db: &mut Database, b: &Backfill, key: &str) -> (Option<i64>, Option<i64>) {
    let d = db.dialect();
    let g = d.sql();
    let k = g.q(key);
    let sql = format!(
        "SELECT {}, {} FROM {}",
        d.sql().as_bigint(&format!("MIN({k})")),
        d.sql().as_bigint(&format!("MAX({k})")),
        g.q(&b.table)
    );
    match db.fetch_all_bound(&sql, &[]).await {
        Ok(rows) => rows.first().map_or((None, None), |row| {
            (row.try_get(0).ok().flatten(), row.try_get(1).ok().flatten())
        }),
        Err(_) => (None, None),
    }
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
    let g = d.sql();
    let ph = |n| d.sql().placeholder(n);
    let t = g.q(&b.table);
    let k = g.q(key);
    let c = g.q(&b.column);
    // The next batch's first and last key and its row count, one index
    // range scan from the last key done.
    let range_sql = format!(
        "SELECT {}, {}, {} FROM (SELECT {k} FROM {t} WHERE {k} > {} ORDER BY {k} LIMIT {}) batch",
        d.sql().as_bigint(&format!("MIN({k})")),
        d.sql().as_bigint(&format!("MAX({k})")),
        d.sql().as_bigint("COUNT(*)"),
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
        let range = db
            .fetch_all_bound(&range_sql, &[Value::Int(after), Value::Int(size)])
            .await
            .with_context(|| format!("cannot find the next batch of {}", b.table))?;
        let Some(row) = range.first() else { break };
        let (Some(first), Some(upper)) = (row.try_get(0)?, row.try_get(1)?) else {
            break;
        };
        let found: i64 = row.try_get(2)?;
        let parts = g
            .statement_rows()
            .map_or(1, |rows| (found + rows - 1) / rows.max(1));
        let bounds = statement_bounds(first, upper, parts);
        let started = Instant::now();
        let result = async {
            db.execute(&begin).await?;
            let (mut rows, mut lower) = (0, after);
            for &bound in &bounds {
                rows += db
                    .run(&Bookkeeping {
                        sql: update_sql.clone(),
                        values: vec![Value::Int(lower), Value::Int(bound)],
                    })
                    .await?;
                lower = bound;
            }
            db.run(&Bookkeeping {
                sql: progress_sql.clone(),
                values: vec![
                    Value::Int(upper),
                    Value::Int(rows as i64),
                    Value::Text(crate::vocabulary::now()),
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

/// Upper keys of the UPDATE statements of a batch whose keys run from
/// `first` to `last`: the span cut into `parts` equal key ranges (as many
/// rows each where the keys are dense), never two alike, the last ending
/// at `last`.
fn statement_bounds(first: i64, last: i64, parts: i64) -> Vec<i64> {
    let (first, last, parts) = (
        i128::from(first),
        i128::from(last),
        i128::from(parts.max(1)),
    );
    let span = last - first + 1;
    let mut bounds: Vec<i64> = (1..=parts)
        .map(|i| first - 1 + (span * i + parts - 1) / parts)
        .map(|b| i64::try_from(b.min(last)).expect("between first and last"))
        .collect();
    bounds.dedup();
    bounds
}

/// A migration's backfills as their committed batches recorded them: the
/// truth after an interrupted run, whose last batch may have committed
/// after the progress it last reported.
pub async fn recorded(db: &mut Database, version: &str) -> Result<Vec<Progress>> {
    let sql = format!(
        "SELECT table_name, column_name, last_key, rows_done, batches, finished FROM {BACKFILLS} \
         WHERE version = {} ORDER BY table_name, column_name",
        db.dialect().sql().placeholder(1)
    );
    let rows = db
        .fetch_all_bound(&sql, &[Value::Text(version.to_owned())])
        .await?;
    rows.iter()
        .map(|row| {
            Ok(Progress {
                table: row.try_get(0)?,
                column: row.try_get(1)?,
                last_key: row.try_get(2)?,
                rows: row.try_get(3)?,
                batches: row.try_get(4)?,
                finished: row.try_get::<i64, _>(5)? != 0,
                ..Progress::default()
            })
        })
        .collect()
}

/// Starts a migration's finished backfills over from the first key, as a
/// new walk (its rows and batches count from zero); they still fill only
/// rows never written.
pub fn restart(d: crate::db::dialect::Dialect, version: &str) -> Bookkeeping {
    Bookkeeping {
        sql: format!(
            "UPDATE {BACKFILLS} SET last_key = NULL, rows_done = 0, batches = 0, finished = 0 WHERE version = {}",
            d.sql().placeholder(1)
        ),
        values: vec![Value::Text(version.to_owned())],
    }
}

/// Forgets a migration's backfill progress (after a rollback).
pub fn forget(d: crate::db::dialect::Dialect, version: &str) -> Bookkeeping {
    Bookkeeping {
        sql: format!(
            "DELETE FROM {BACKFILLS} WHERE version = {}",
            d.sql().placeholder(1)
        ),
        values: vec![Value::Text(version.to_owned())],
    }
}

#[cfg(test)]
mod tests {
    use super::statement_bounds;

    #[test]
    fn dense_keys_split_into_equal_statements() {
        assert_eq!(
            statement_bounds(1, 1000, 10),
            vec![100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]
        );
        assert_eq!(statement_bounds(1001, 1250, 3), vec![1084, 1167, 1250]);
    }

    #[test]
    fn one_statement_when_not_split() {
        assert_eq!(statement_bounds(-5, 7, 1), vec![7]);
        assert_eq!(statement_bounds(42, 42, 10), vec![42]);
    }

    #[test]
    fn a_short_span_has_no_empty_statements() {
        assert_eq!(statement_bounds(10, 12, 10), vec![10, 11, 12]);
    }

    #[test]
    fn the_whole_key_range_does_not_overflow() {
        let bounds = statement_bounds(i64::MIN + 1, i64::MAX, 4);
        assert_eq!(bounds.len(), 4);
        assert_eq!(*bounds.last().unwrap(), i64::MAX);
        assert!(bounds.windows(2).all(|w| w[0] < w[1]));
        assert_eq!(bounds[1], 0);
    }
}
