//! `resolve`: repair recorded state on purpose. Mark a failed or
//! interrupted migration applied or rolled back after fixing the database by
//! hand, or re-stamp an applied migration whose edit is intended.

use super::{connect_locked, read_history, Ctx};
use crate::db::history::{self, LogEntry};
use crate::db::migration::Version;
use crate::db::runner::now;
use crate::plan::database::state;
use crate::report::Report;
use anyhow::{anyhow, bail, Result};

pub enum Resolution {
    MarkApplied(String),
    MarkRolledBack(String),
    Restamp(String),
}

pub async fn run(ctx: &Ctx, resolution: Resolution) -> Result<Report> {
    let mut report = ctx.new_report();
    let (mut db, lock) = connect_locked(ctx).await?;
    let result = async {
        let history = read_history(&mut db).await?;
        let dialect = db.dialect();
        let version_text = match &resolution {
            Resolution::MarkApplied(v) | Resolution::MarkRolledBack(v) | Resolution::Restamp(v) => v,
        };
        let version = Version::parse(version_text)
            .ok_or_else(|| anyhow!("`{version_text}` is not a migration version"))?;
        let row = history
            .iter()
            .find(|r| Version::parse(&r.version).as_ref() == Some(&version))
            .ok_or_else(|| anyhow!("migration {version} has no history row: nothing to resolve"))?;
        let at = now();
        let (action, new_state, checksum, msg) = match &resolution {
            Resolution::MarkApplied(_) | Resolution::MarkRolledBack(_) => {
                if row.state != state::FAILED && row.state != state::RUNNING {
                    bail!(
                        "migration {version} is {}, not failed: only a failed or interrupted migration can be marked",
                        row.state
                    );
                }
                let (new_state, verb) = if matches!(resolution, Resolution::MarkApplied(_)) {
                    (state::APPLIED, "applied")
                } else {
                    (state::ROLLED_BACK, "rolled back")
                };
                (
                    "resolve",
                    new_state,
                    row.checksum.clone(),
                    format!("marked migration {version} as {verb}"),
                )
            }
            Resolution::Restamp(_) => {
                if row.state != state::APPLIED {
                    bail!("migration {version} is {}, not applied: only an applied migration can be re-stamped", row.state);
                }
                let migrations = ctx.load_migrations()?;
                let m = migrations.iter().find(|m| m.version == version).ok_or_else(|| {
                    anyhow!("migration {version} has no file in {}: nothing to re-stamp", ctx.migrations_display())
                })?;
                if m.checksum.as_str() == row.checksum {
                    report.msg = format!("migration {version} already matches its file: nothing to re-stamp");
                    return Ok(());
                }
                (
                    "restamp",
                    state::APPLIED,
                    m.checksum.to_string(),
                    format!("re-stamped migration {version}: {} -> {}", row.checksum, m.checksum),
                )
            }
        };
        let mut statements = vec![history::update_checksum(dialect, &row.version, &checksum, &at)];
        if new_state != row.state {
            statements.push(history::update_state(dialect, &row.version, new_state, &at, row.duration_ms, None));
        }
        statements.push(history::insert_log(
            dialect,
            &LogEntry {
                at: &at,
                version: &row.version,
                action,
                state: new_state,
                checksum: &checksum,
                host: &ctx.settings.host_id,
                detail: Some(&msg),
            },
        ));
        db.begin().await?;
        for s in &statements {
            if let Err(e) = db.run(s).await {
                db.rollback().await;
                return Err(e.into());
            }
        }
        db.commit().await?;
        report.changed = true;
        report.msg = msg;
        Ok(())
    }
    .await;
    lock.release(&mut db).await;
    db.close().await;
    result?;
    Ok(report)
}
