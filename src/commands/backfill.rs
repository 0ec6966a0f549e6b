//! `backfill`: run or resume the batched backfills of migrations that were
//! expanded with `--no-backfill` or whose backfill was interrupted. Each
//! resumes after its last committed batch. A finished backfill whose table
//! has rows it would still fill (written with the sync triggers set aside)
//! walks the table again: it fills only rows never written.

use super::{connect_locked, read_history, Ctx};
use crate::cli::args::BatchArgs;
use crate::db::connection::Database;
use crate::db::migration::Migration;
use crate::db::online::backfill::{BackfillOptions, Progress};
use crate::db::online::{self, Compiled};
use crate::report::payload::BackfillRun;
use crate::report::progress::Bar;
use crate::report::Report;
use crate::vocabulary::state;
use anyhow::Result;
use std::cell::RefCell;
use std::time::Instant;

pub async fn run(ctx: &Ctx, batches: &BatchArgs) -> Result<Report> {
    let migrations = ctx.load_migrations()?;
    let mut report = ctx.new_report();
    let (mut db, lock) = connect_locked(ctx).await?;
    let result = async {
        let history = read_history(&mut db).await?;
        let in_state = |m: &crate::db::migration::Migration, st: &str| {
            history
                .iter()
                .any(|r| r.version == m.version.as_str() && r.state == st)
        };
        let mut pending: Vec<_> = Vec::new();
        for m in migrations.iter().filter(|m| m.online.is_some()) {
            if in_state(m, state::EXPANDED) {
                pending.push(m);
            } else if in_state(m, state::BACKFILLED) {
                let compiled =
                    crate::db::online::live::compile_live(&mut db, m, crate::db::online::Read::Now)
                        .await?;
                if online::runner::unfilled(&mut db, &compiled).await? > 0 {
                    if !ctx.settings.check {
                        db.run(&online::backfill::restart(db.dialect(), m.version.as_str()))
                            .await?;
                    }
                    pending.push(m);
                }
            }
        }
        if ctx.settings.check {
            report.changed = !pending.is_empty();
            report.msg = format!(
                "would backfill {} migration{}",
                pending.len(),
                crate::report::plural(pending.len())
            );
            return Ok(());
        }
        let opts = BackfillOptions {
            batch_size: batches.batch_size,
            batch_sleep: std::time::Duration::from_millis(batches.batch_sleep),
        };
        for m in &pending {
            let compiled =
                crate::db::online::live::compile_live(&mut db, m, crate::db::online::Read::Now)
                    .await?;
            if run_backfills(
                &mut db,
                m,
                &compiled,
                &opts,
                &ctx.run_context(),
                &mut report,
            )
            .await
            .is_err()
            {
                return Ok(());
            }
        }
        report.msg = if pending.is_empty() {
            "nothing to backfill".to_owned()
        } else {
            format!(
                "backfilled {} migration{}",
                pending.len(),
                crate::report::plural(pending.len())
            )
        };
        Ok::<(), anyhow::Error>(())
    }
    .await;
    lock.release(&mut db).await;
    db.close().await;
    result?;
    Ok(report)
}

/// Why backfilling stopped before the end; the report already says it
/// (the failure, or where to resume after an interruption).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum BackfillStopped {
    #[error("a backfill failed")]
    Failed,
    #[error("a backfill was interrupted by a signal")]
    Interrupted,
}

/// Runs a migration's backfills, with progress on a terminal and a summary
/// (rows, batches, duration) in the report. Ctrl-C or SIGTERM stops it
/// between statements: the batch in flight rolls back, the committed ones
/// stay, and the report says how to resume.
pub async fn run_backfills(
    db: &mut Database,
    m: &Migration,
    compiled: &Compiled,
    batches: &BackfillOptions,
    run_ctx: &crate::db::runner::RunContext,
    report: &mut Report,
) -> Result<(), BackfillStopped> {
    let mut bar = Bar::new(&format!("backfill {}", m.version));
    let last: RefCell<Option<Progress>> = RefCell::new(None);
    let started = Instant::now();
    let work = online::runner::backfill(db, m, compiled, batches, run_ctx, |p| {
        bar.update(p);
        *last.borrow_mut() = Some(p.clone());
    });
    let outcome = tokio::select! {
        result = work => Ok(result),
        signal = interrupted() => Err(signal),
    };
    bar.finish();
    let duration_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
    match outcome {
        Ok(Ok(progress)) => {
            let list = report
                .payload
                .apply()
                .backfills
                .get_or_insert_with(Vec::new);
            for p in progress {
                list.push(BackfillRun {
                    table: p.table,
                    column: p.column,
                    rows: p.rows,
                    batches: p.batches,
                    resumed_after: p.resumed_after,
                    last_key: p.last_key,
                    longest_batch_ms: p.longest_batch_ms,
                    smallest_batch: p.smallest_batch,
                    finished: p.finished,
                    min_key: p.min_key,
                    max_key: p.max_key,
                    version: m.version.to_string(),
                    duration_ms,
                });
            }
            report.changed = true;
            Ok(())
        }
        Ok(Err(e)) => {
            report.fail(format!("migration {}: {e:#}", m.version));
            Err(BackfillStopped::Failed)
        }
        Err(signal) => {
            // The batch in flight was cut off inside its transaction; what
            // the committed ones reached is read back, as a batch may have
            // committed after the last progress reported.
            db.rollback().await;
            let recorded = online::backfill::recorded(db, m.version.as_str()).await;
            let stopped = recorded
                .as_ref()
                .ok()
                .and_then(|all| all.iter().find(|p| !p.finished).or(all.last()).cloned())
                .or_else(|| last.borrow().clone());
            let done = match &stopped {
                Some(p) if p.batches > 0 => format!(
                    "after key {} ({}.{}: {} rows in {} batches committed, kept)",
                    p.last_key.unwrap_or_default(),
                    p.table,
                    p.column,
                    p.rows,
                    p.batches
                ),
                _ => "before its first batch committed".to_owned(),
            };
            report.changed = stopped.is_some_and(|p| p.batches > 0);
            report.fail_as(
                "interrupted",
                format!(
                    "backfill of migration {} interrupted by {signal} {done}; run `lockstep backfill` to resume \
                     it after its last committed batch (`lockstep apply` resumes it too)",
                    m.version
                ),
            );
            Err(BackfillStopped::Interrupted)
        }
    }
}

/// Resolves when the process gets SIGINT (Ctrl-C) or SIGTERM, naming it.
#[cfg(unix)]
async fn interrupted() -> &'static str {
    use tokio::signal::unix::{signal, SignalKind};
    let (Ok(mut int), Ok(mut term)) = (
        signal(SignalKind::interrupt()),
        signal(SignalKind::terminate()),
    ) else {
        // Without handlers the default applies: the process ends.
        return std::future::pending().await;
    };
    tokio::select! {
        _ = int.recv() => "SIGINT (Ctrl-C)",
        _ = term.recv() => "SIGTERM",
    }
}

#[cfg(not(unix))]
async fn interrupted() -> &'static str {
    match tokio::signal::ctrl_c().await {
        Ok(()) => "Ctrl-C",
        Err(_) => std::future::pending().await,
    }
}
