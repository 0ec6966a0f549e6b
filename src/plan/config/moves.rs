//! `move_file` in a plan: which pending move runs, where to, and which
//! later migrations follow the file to its new name.

use super::ConfigOptions;
use crate::config::load::{ConfigInputs, LoadError, LoadedFile};
use crate::config::migration::{substitute, ConfigMigration, VarError};
use crate::vocabulary::Version;
use std::collections::{BTreeMap, BTreeSet};

/// Why a pending `move_file` cannot run. `who` names a migration and its
/// file, as messages do.
#[derive(Debug, thiserror::Error)]
pub(super) enum MoveError {
    #[error(
        "{who} and {second} both move {file}; apply them in separate runs \
         (`lockstep apply --target {version}` first)"
    )]
    TwoMoves {
        who: String,
        second: String,
        file: String,
        version: String,
    },
    #[error("{who}: move_file")]
    Var {
        who: String,
        #[source]
        source: VarError,
    },
    #[error("{who}: move_file")]
    Target {
        who: String,
        #[source]
        source: LoadError,
    },
    #[error("{who}: move_file moves {file} to `{to}`, which is the same file; name another path")]
    SameFile {
        who: String,
        file: String,
        to: String,
    },
    #[error(
        "{later} names {file}, which {who} moves to `{to}` before it; write `file: {to}` in it"
    )]
    OldName {
        later: String,
        who: String,
        file: String,
        to: String,
    },
}

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
) -> Result<Option<(&'a ConfigMigration, String, &'i LoadedFile)>, MoveError> {
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
        return Err(MoveError::TwoMoves {
            who: who(m),
            second: who(second),
            file: file.to_owned(),
            version: m.version.to_string(),
        });
    }
    let to = substitute(m.move_to().unwrap_or_default(), opts.vars).map_err(|source| {
        MoveError::Var {
            who: who(m),
            source,
        }
    })?;
    let target = inputs.file(&to).map_err(|source| MoveError::Target {
        who: who(m),
        source,
    })?;
    if target.path.identity() == source.path.identity() {
        return Err(MoveError::SameFile {
            who: who(m),
            file: file.to_owned(),
            to,
        });
    }
    let old_name = pending.iter().filter(|p| p.version > m.version).find(|p| {
        inputs
            .file(&p.file)
            .is_ok_and(|p| p.path.identity() == source.path.identity())
    });
    if let Some(later) = old_name {
        return Err(MoveError::OldName {
            later: who(later),
            who: who(m),
            file: file.to_owned(),
            to,
        });
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
