//! Which file each config migration edits: names that resolve to one file
//! planned together, the dialect a file is read in, and how a hand edit
//! is described.

use crate::config::edit::KeyChanges;
use crate::config::ini::Syntax;
use crate::config::load::ConfigInputs;
use crate::config::migration::ConfigMigration;
use crate::config::state::State;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// Migrations of one file that name different `syntax:`es.
#[derive(Debug, thiserror::Error)]
#[error(
    "config migrations {first} and {other} name different syntaxes for {file} ({syntax} and {other_syntax}); \
     make them agree"
)]
pub(super) struct SyntaxConflict {
    first: String,
    other: String,
    file: String,
    syntax: Syntax,
    other_syntax: Syntax,
}

/// The dialect of `file`: what its migrations' `syntax:` say (they must
/// agree), else what its name implies.
pub(super) fn file_syntax(
    file: &str,
    migrations: &[&ConfigMigration],
) -> Result<Syntax, SyntaxConflict> {
    let mut named = migrations.iter().filter_map(|m| m.syntax.map(|s| (m, s)));
    let Some((first, syntax)) = named.next() else {
        return Ok(Syntax::for_path(Path::new(file)));
    };
    match named.find(|(_, s)| *s != syntax) {
        Some((other, other_syntax)) => Err(SyntaxConflict {
            first: first.version.to_string(),
            other: other.version.to_string(),
            file: file.to_owned(),
            syntax,
            other_syntax,
        }),
        None => Ok(syntax),
    }
}

/// The config migrations of each file, with where the file is. Names that
/// resolve to the same file (`app.ini`, `./app.ini`, `app.ini/`, its
/// absolute path, a symlink to it) are one file, planned from one content:
/// planned apart, the second write would drop the first's edits. The file
/// goes by the name the state records it under, else by the name of its
/// first migration. A name that does not resolve stays apart, to fail.
#[allow(clippy::type_complexity)]
pub(super) fn by_identity<'a, 'i>(
    by_file: BTreeMap<&str, Vec<&'a ConfigMigration>>,
    state: &State,
    inputs: &'i ConfigInputs,
    warnings: &mut Vec<String>,
) -> super::Targets<'a, 'i> {
    let mut targets = BTreeMap::new();
    let mut groups: BTreeMap<PathBuf, Vec<(&str, Vec<&ConfigMigration>, _)>> = BTreeMap::new();
    for (name, ms) in by_file {
        match inputs.file(name) {
            Ok(path) => groups
                .entry(path.path.identity().to_path_buf())
                .or_default()
                .push((name, ms, path)),
            Err(e) => {
                targets.insert(name.to_owned(), (ms, Err(e)));
            }
        }
    }
    for (identity, mut names) in groups {
        let first_version = |ms: &[&ConfigMigration]| ms.first().map(|m| m.version.clone());
        let chosen = names
            .iter()
            .position(|(n, _, _)| state.files.contains_key(*n))
            .or_else(|| {
                (0..names.len())
                    .filter(|i| !names[*i].1.is_empty())
                    .min_by_key(|i| first_version(&names[*i].1))
            })
            .unwrap_or(0);
        let (name, mut ms, path) = names.swap_remove(chosen);
        // Said while it matters: until the aliased migrations are applied.
        let pending = names
            .iter()
            .flat_map(|(_, more, _)| more)
            .chain(&ms)
            .any(|m| !state.migrations.contains_key(m.version.as_str()));
        if !names.is_empty() && pending {
            let others: Vec<String> = names.iter().map(|(n, _, _)| format!("`{n}`")).collect();
            warnings.push(format!(
                "{} and `{name}` name the same file ({}); their config migrations are planned \
                 together as `{name}`, in version order",
                others.join(", "),
                identity.display()
            ));
        }
        for (_, more, _) in names {
            ms.extend(more);
        }
        ms.sort_by(|a, b| a.version.cmp(&b.version));
        targets.insert(name.to_owned(), (ms, Ok(path)));
    }
    targets
}

pub(super) fn describe(changes: &KeyChanges, deleted: bool) -> String {
    if deleted {
        return "the file was deleted".to_owned();
    }
    let mut parts = Vec::new();
    for (label, keys) in [
        ("changed", &changes.changed),
        ("added", &changes.added),
        ("removed", &changes.removed),
    ] {
        if !keys.is_empty() {
            parts.push(format!("{label}: {}", keys.join(", ")));
        }
    }
    if parts.is_empty() {
        "formatting only, no key changed".to_owned()
    } else {
        parts.join("; ")
    }
}
