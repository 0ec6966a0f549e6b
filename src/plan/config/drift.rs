//! A file edited by hand that the pending migrations would change: what
//! `--on-drift` makes of it (refused, merged, or overwritten with a warning).

use super::files::describe;
use super::{ConfigOptions, ConfigPlan};
use crate::config::edit::KeyChanges;
use crate::config::migration::ConfigMigration;
use crate::plan::options::OnDrift;
use crate::report::Problem;
use std::collections::BTreeSet;

/// Applies the `--on-drift` policy to `file`, whose hand edit is
/// `changes` (`deleted`: the file is gone), under the migrations about to
/// run, which change the keys `touched`. Returns the hand-edited keys that
/// `--on-drift force` overwrites.
pub(super) fn policy(
    plan: &mut ConfigPlan<'_>,
    file: &str,
    changes: &KeyChanges,
    touched: &BTreeSet<String>,
    deleted: bool,
    running: &[&ConfigMigration],
    opts: &ConfigOptions<'_>,
) -> Vec<String> {
    let fail = |plan: &mut ConfigPlan, kind: &str, msg: String| {
        plan.problems.push(Problem::new(kind, msg))
    };
    let names = |ms: &[&ConfigMigration]| -> String {
        ms.iter()
            .map(|m| m.version.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    };
    let conflicts = changes.conflicts_with(touched);
    let what = describe(changes, deleted);
    match opts.on_drift {
        OnDrift::Fail => {
            // Advise merge only when it would succeed.
            let options = if conflicts.is_empty() {
                "Use --on-drift merge to keep the edit, --on-drift force to overwrite it".to_owned()
            } else {
                format!(
                    "--on-drift merge cannot keep it because the migrations change {} too: \
                     use --on-drift force to overwrite the edit",
                    conflicts.join(", ")
                )
            };
            fail(
                plan,
                "config_drift",
                format!(
                    "{file} was edited by hand since lockstep last wrote it ({what}) and config migration{} {} \
                     would change it; nothing was written. {options}, or `lockstep resolve --adopt {file}` \
                     to accept it first",
                    crate::report::plural(running.len()),
                    names(running)
                ),
            )
        }
        OnDrift::Merge if !conflicts.is_empty() => fail(
            plan,
            "config_drift_conflict",
            format!(
                "{file}: cannot merge: the hand-edited key{} {} {} also changed by config migration{} {}; \
                 use --on-drift force to overwrite, or resolve the edit by hand",
                crate::report::plural(conflicts.len()),
                conflicts.join(", "),
                if conflicts.len() == 1 { "is" } else { "are" },
                crate::report::plural(running.len()),
                names(running)
            ),
        ),
        OnDrift::Merge => {}
        OnDrift::Force => {
            if !conflicts.is_empty() {
                plan.warnings.push(format!(
                    "{file}: --on-drift force {} the hand-edited key{} {} with config migration{} {}; \
                     put the hand-edited value{} into a new config migration if {} must stay",
                    if opts.check { "would overwrite" } else { "overwrote" },
                    crate::report::plural(conflicts.len()),
                    conflicts.join(", "),
                    crate::report::plural(running.len()),
                    names(running),
                    crate::report::plural(conflicts.len()),
                    if conflicts.len() == 1 { "it" } else { "they" }
                ));
            }
            return conflicts;
        }
    }
    Vec::new()
}
