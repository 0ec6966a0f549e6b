//! What `rollback --to VERSION` undoes on the database side: every applied
//! migration newer than VERSION, newest first, each with its `down` SQL for
//! the dialect, or the reasons it cannot be undone. Pure: the history and
//! the migration files are loaded by the command.

use crate::db::dialect::Dialect;
use crate::db::history::{state, HistoryRow};
use crate::db::migration::Migration;
use crate::vocabulary::Version;

/// The migrations to undo, newest first, or every reason one of them
/// cannot be undone (nothing runs then). `migrations_dir` is the folder as
/// messages name it.
pub fn database<'a>(
    migrations: &'a [Migration],
    history: &[HistoryRow],
    to: &Version,
    dialect: Dialect,
    migrations_dir: &str,
) -> Result<Vec<&'a Migration>, Vec<String>> {
    let mut applied: Vec<(Version, &HistoryRow)> = history
        .iter()
        .filter(|r| state::is_applied(&r.state))
        .filter_map(|r| Some((Version::parse(&r.version)?, r)))
        .filter(|(v, _)| v > to)
        .collect();
    applied.sort_by(|a, b| b.0.cmp(&a.0));
    let mut steps = Vec::new();
    let mut refusals = Vec::new();
    for (version, row) in applied {
        match migrations.iter().find(|m| m.version == version) {
            None => refusals.push(format!(
                "migration {}_{} has no file in {}, so its down SQL is unknown",
                row.version,
                row.slug,
                migrations_dir
            )),
            Some(m) if m.online.is_some() && row.state == state::CONTRACTED => refusals.push(format!(
                "migration {} ({}/{}) is contracted: what its expand added replaced the old schema for good; \
                 write a new migration to change it back",
                m.version,
                migrations_dir,
                m.path.display()
            )),
            Some(m) if m.online.is_none() && m.down.for_dialect(dialect).is_none() => refusals.push(format!(
                "migration {} ({}/{}) has no `-- lockstep:down` section for {dialect}",
                m.version,
                migrations_dir,
                m.path.display()
            )),
            Some(m) if m.checksum.as_str() != row.checksum => refusals.push(format!(
                "migration {} ({}/{}) was edited after it was applied; its down SQL may not match; \
                 run `lockstep resolve --restamp {}` first if the edit is intended",
                m.version,
                migrations_dir,
                m.path.display(),
                crate::vocabulary::Side::Database.restamp_arg(m.version.as_str())
            )),
            Some(m) => steps.push(m),
        }
    }
    if refusals.is_empty() {
        Ok(steps)
    } else {
        Err(refusals)
    }
}
