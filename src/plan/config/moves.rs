//! `move_file` in a plan: which pending move runs, where to, and which
//! later migrations follow the file to its new name.

use super::ConfigOptions;
use crate::config::load::{ConfigInputs, LoadedFile};
use crate::config::migration::{substitute, ConfigMigration};
use crate::vocabulary::Version;
use std::collections::{BTreeMap, BTreeSet};

/// The pending `move_file` of `file`'s migrations: the migration, the new
/// name and where it is. Refused: two moves in one run, a move to the file
/// itself or out of the config root, and a later migration that still
/// names the old path.
pub(super) fn planned_move<'a, 'i>(
    file: &str,
    source: Option<&&'i LoadedFile>,
    pending: &[&'a ConfigMigration],
    opts: &ConfigOptions<'_>,
    inputs: &'i ConfigInputs,
) -> Result<Option<(&'a ConfigMigration, String, &'i LoadedFile)>, String> {
    let dir = opts.migrations_dir.display();
    let who = |m: &ConfigMigration| {
        format!(
            "config migration {} ({dir}/{})",
            m.version,
            m.path.display()
        )
    };
    let mut moves = pending.iter().copied().filter(|m| m.move_to().is_some());
    let (Some(m), Some(source)) = (moves.next(), source) else {
        return Ok(None);
    };
    if let Some(second) = moves.next() {
        return Err(format!(
            "{} and {} both move {file}; apply them in separate runs (`lockstep apply --target {}` first)",
            who(m),
            who(second),
            m.version
        ));
    }
    let to = substitute(m.move_to().unwrap_or_default(), opts.vars)
        .map_err(|e| format!("{}: move_file: {e}", who(m)))?;
    let target = inputs
        .file(&to)
        .map_err(|e| format!("{}: move_file: {}", who(m), crate::error::chain(&e)))?;
    if target.path.identity() == source.path.identity() {
        return Err(format!(
            "{}: move_file moves {file} to `{to}`, which is the same file; name another path",
            who(m)
        ));
    }
    let old_name = pending.iter().filter(|p| p.version > m.version).find(|p| {
        inputs
            .file(&p.file)
            .is_ok_and(|p| p.path.identity() == source.path.identity())
    });
    if let Some(later) = old_name {
        return Err(format!(
            "{} names {file}, which {} moves to `{to}` before it; write `file: {to}` in it",
            who(later),
            who(m)
        ));
    }
    Ok(Some((m, to, target)))
}

/// Each pending `move_file` takes the pending migrations that name its new
/// path and come after it into its file's plan: they edit the file it
/// moves, not a file of that name before the move.
pub(super) fn chain_moves<'a, 'i>(
    mut targets: super::Targets<'a, 'i>,
    applied: &BTreeSet<Version>,
    vars: &BTreeMap<String, String>,
    inputs: &'i ConfigInputs,
) -> super::Targets<'a, 'i> {
    let mut moves = Vec::new();
    for (name, (ms, path)) in &targets {
        if path.is_err() {
            continue;
        }
        for m in ms.iter().filter(|m| !applied.contains(&m.version)) {
            let to = m.move_to().and_then(|to| substitute(to, vars).ok());
            if let Some(Ok(target)) = to.map(|to| inputs.file(&to)) {
                moves.push((
                    name.clone(),
                    m.version.clone(),
                    target.path.identity().to_owned(),
                ));
            }
        }
    }
    for (source, version, identity) in moves {
        let mut later = Vec::new();
        for (name, (ms, path)) in targets.iter_mut() {
            if *name == source || !path.as_ref().is_ok_and(|p| p.path.identity() == identity) {
                continue;
            }
            let (after, keep): (Vec<_>, Vec<_>) = std::mem::take(ms)
                .into_iter()
                .partition(|m| !applied.contains(&m.version) && m.version > version);
            *ms = keep;
            later.extend(after);
        }
        if let Some((ms, _)) = targets.get_mut(&source) {
            ms.extend(later);
            ms.sort_by(|a, b| a.version.cmp(&b.version));
        }
    }
    targets
}
