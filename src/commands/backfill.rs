//! `backfill`: run or resume the batched backfills of migrations that were
//! expanded with `--no-backfill` or whose backfill was interrupted. Each
//! resumes after its last committed batch.

use super::{apply, connect_locked, read_history, Ctx};
use crate::cli::args::BatchArgs;
use crate::db::online::backfill::BackfillOptions;
use crate::plan::database::state;
use crate::report::Report;
use anyhow::Result;

pub async fn run(ctx: &Ctx, batches: &BatchArgs) -> Result<Report> {
    let migrations = ctx.load_migrations()?;
    let mut report = ctx.new_report();
    let (mut db, lock) = connect_locked(ctx).await?;
    let result = async {
        let history = read_history(&mut db).await?;
        let pending: Vec<_> = migrations
            .iter()
            .filter(|m| m.online.is_some())
            .filter(|m| {
                history
                    .iter()
                    .any(|r| r.version == m.version.as_str() && r.state == state::EXPANDED)
            })
            .collect();
        if ctx.settings.check {
            report.changed = !pending.is_empty();
            report.msg = format!(
                "would backfill {} migration{}",
                pending.len(),
                super::apply::plural(pending.len())
            );
            return Ok(());
        }
        let opts = BackfillOptions {
            batch_size: batches.batch_size,
            batch_sleep: std::time::Duration::from_millis(batches.batch_sleep),
        };
        for m in &pending {
            let compiled = apply::compile_live(&mut db, m).await?;
            if apply::run_backfills(
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
                super::apply::plural(pending.len())
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
