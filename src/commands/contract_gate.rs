//! The contract gate: a contract migration runs only once every host
//! recorded in the database (retired ones aside) has checked in at its
//! version or later, so no host still runs a release that needs what the
//! contract removes. `apply` enforces it under the lock; `plan` and
//! `apply --check` predict it here from the same host list, with the same
//! message, so a check run fails exactly where the real run would.

use super::Ctx;
use crate::plan::database::Step;
use crate::report::Report;
use crate::vocabulary::{Phase, Version};
use anyhow::Result;

/// The problem kind of a refused contract.
pub const KIND: &str = "contract_gated";

/// A host's last check-in, as `lockstep_hosts` records it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckIn {
    pub host: String,
    pub version: String,
    pub retired: bool,
}

/// Hosts not checked in at `version` or later, retired ones excluded, as
/// `name (at V)`.
pub fn lagging(hosts: &[CheckIn], version: &Version) -> Vec<String> {
    hosts
        .iter()
        .filter(|h| !h.retired && Version::parse(&h.version).is_none_or(|v| v < *version))
        .map(|h| format!("{} (at {})", h.host, h.version))
        .collect()
}

/// Fails `report` as apply does when the contract of `version` is refused.
pub fn refuse(report: &mut Report, version: &Version, lagging: Vec<String>) {
    report.fail_as(
        KIND,
        format!(
            "contract of migration {version} refused: {} {} not checked in at {version} or later: {}. \
             Finish the rolling deploy (each host runs `lockstep apply --phase expand`), \
             retire a host that is gone with `lockstep hosts --retire NAME`, or pass --force",
            lagging.len(),
            if lagging.len() == 1 { "host has" } else { "hosts have" },
            lagging.join(", ")
        ),
    );
    report.payload.apply().lagging_hosts = Some(lagging);
}

/// In check mode: fails `report` when the real run would refuse one of the
/// contract `steps`. The real run checks this host in at `release` before
/// any contract, so it counts as there.
pub async fn predict(
    ctx: &Ctx,
    report: &mut Report,
    steps: &[Step<'_>],
    release: Option<&Version>,
) -> Result<()> {
    let contracts: Vec<&Version> = steps
        .iter()
        .filter(|s| s.part == Phase::Contract)
        .map(|s| &s.migration.version)
        .collect();
    if contracts.is_empty() {
        return Ok(());
    }
    let mut hosts = read_hosts(ctx).await?;
    hosts.retain(|h| h.host != ctx.settings.host_id);
    if let Some(release) = release {
        hosts.push(CheckIn {
            host: ctx.settings.host_id.clone(),
            version: release.to_string(),
            retired: false,
        });
    }
    // Steps run in order and a later contract needs at least what an
    // earlier one did: the first refused one is where the real run stops.
    for version in contracts {
        let behind = lagging(&hosts, version);
        if !behind.is_empty() {
            refuse(report, version, behind);
            break;
        }
    }
    Ok(())
}

/// The recorded hosts, read without a lock; none when there is no
/// database or no hosts table yet.
async fn read_hosts(ctx: &Ctx) -> Result<Vec<CheckIn>> {
    let Some(mut db) = super::connect_read_only(ctx).await? else {
        return Ok(Vec::new());
    };
    let rows = super::hosts::list(&mut db).await;
    db.close().await;
    Ok(rows?
        .iter()
        .map(|h| CheckIn {
            host: h.host_id.clone(),
            version: h.version.clone(),
            retired: h.retired,
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host(name: &str, version: &str, retired: bool) -> CheckIn {
        CheckIn {
            host: name.into(),
            version: version.into(),
            retired,
        }
    }

    #[test]
    fn hosts_behind_the_version_lag_unless_retired() {
        let hosts = [
            host("web1", "0003", false),
            host("web2", "0002", false),
            host("web3", "0001", true),
            host("web4", "0010", false),
        ];
        let v = Version::parse("0003").unwrap();
        assert_eq!(lagging(&hosts, &v), vec!["web2 (at 0002)"]);
    }

    #[test]
    fn an_unreadable_version_lags() {
        let v = Version::parse("0001").unwrap();
        assert_eq!(lagging(&[host("old", "", false)], &v), vec!["old (at )"]);
    }
}
