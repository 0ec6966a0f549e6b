//! `hosts`: the hosts that checked in (for contract gating), and
//! `hosts --retire NAME` for a host that is gone for good.

use super::{connect_locked, connect_read_only, Ctx};
use crate::db::connection::Database;
use crate::db::history;
use crate::report::payload::{Host, HostsPayload, Payload};
use crate::report::Report;
use anyhow::{bail, Context, Result};
use sqlx::Row;

pub async fn run(ctx: &Ctx, retire: Option<&str>) -> Result<Report> {
    let mut report = ctx.new_report();
    match retire {
        None => {
            let hosts = match connect_read_only(ctx).await? {
                Some(mut db) => {
                    let h = list(&mut db).await?;
                    db.close().await;
                    h
                }
                None => Vec::new(),
            };
            report.msg = format!(
                "{} host{} recorded",
                hosts.len(),
                crate::report::plural(hosts.len())
            );
            report.payload = Payload::Hosts(HostsPayload { hosts });
        }
        Some(name) => {
            let (mut db, lock) = connect_locked(ctx).await?;
            let result = async {
                let hosts = list(&mut db).await?;
                let Some(host) = hosts.iter().find(|h| h.host_id == name) else {
                    bail!("no host `{name}` has checked in; `lockstep hosts` lists them");
                };
                if host.retired {
                    report.msg = format!("host {name} is already retired");
                } else if ctx.settings.check {
                    report.changed = true;
                    report.msg = format!("would retire host {name}");
                } else {
                    db.run(&history::retire_host(db.dialect(), name)).await?;
                    report.changed = true;
                    report.msg = format!("retired host {name}: contract no longer waits for it");
                }
                Ok(())
            }
            .await;
            lock.release(&mut db).await;
            db.close().await;
            result?;
        }
    }
    Ok(report)
}

pub async fn list(db: &mut Database) -> Result<Vec<Host>> {
    let tables = db
        .fetch_strings(
            &db.dialect()
                .sql()
                .existing_tables_query(history::TABLE_PREFIX),
        )
        .await?;
    if !tables.iter().any(|t| t == history::HOSTS) {
        return Ok(Vec::new());
    }
    let rows = db
        .fetch_all(&history::select_hosts())
        .await
        .context("cannot read lockstep_hosts")?;
    rows.iter()
        .map(|r| {
            Ok(Host {
                host_id: r.try_get::<String, _>(0)?,
                version: r.try_get::<String, _>(1)?,
                checked_in_at: r.try_get::<String, _>(2)?,
                lockstep_version: r.try_get::<String, _>(3)?,
                retired: r.try_get::<i64, _>(4)? != 0,
            })
        })
        .collect::<Result<_, sqlx::Error>>()
        .context("cannot decode lockstep_hosts")
}
