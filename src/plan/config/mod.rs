//! Decides what `apply` would do to config files: for each target file, the
//! pending config migrations of each phase, the content after them
//! (computed in memory), and whether the file was edited by hand since
//! lockstep last wrote it, under the `--on-drift` policy. No I/O: the files are loaded
//! before ([`crate::config::load`]) and passed in.

mod drift;
mod files;
mod moves;

use crate::checksum::Checksum;
use crate::config::edit::PriorValue;
use crate::config::edit::{self, KeyChanges};
use crate::config::ini::{Document, Syntax};
use crate::config::load::{ConfigInputs, LoadError, LoadedFile};
use crate::config::migration::ConfigMigration;
use crate::config::path::ConfigPath;
use crate::config::secrecy::{Secrecy, SecretNames};
use crate::config::state::State;
use crate::config::write::Creation;
use crate::error::chain;
use crate::plan::options::{OnDrift, PhaseArg};
use crate::report::{Drift, Problem};
use crate::vocabulary::Side;
use crate::vocabulary::{Phase, Version};
use files::{by_identity, describe, file_syntax};
use moves::{chain_moves, planned_move};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

pub struct ConfigOptions<'a> {
    pub phase: PhaseArg,
    pub target: Option<Version>,
    pub on_drift: OnDrift,
    /// Check mode: messages say what would happen.
    pub check: bool,
    pub vars: &'a BTreeMap<String, String>,
    /// Key names that are secret unless a migration says otherwise.
    pub secret_names: &'a SecretNames,
    pub migrations_dir: &'a Path,
}

/// A migration as it will be applied, with what it touched.
#[derive(Debug)]
pub struct PlannedMigration<'a> {
    pub migration: &'a ConfigMigration,
    pub prior: Vec<PriorValue>,
}

#[derive(Debug)]
pub struct FilePlan<'a> {
    /// As the migrations name it.
    pub file: String,
    /// The real path inside the config root, for messages.
    pub path: PathBuf,
    /// Where it is, held open: every read and write goes through it.
    pub target: &'a ConfigPath,
    /// Current content; `None` when the file does not exist.
    pub before: Option<String>,
    pub expand: Vec<PlannedMigration<'a>>,
    pub contract: Vec<PlannedMigration<'a>>,
    /// Content after the expand migrations, and after all of them.
    pub after_expand: String,
    pub after: String,
    /// Which keys hold secrets: before the migrations, after the expand
    /// ones, and after all of them. A value stays secret wherever a
    /// migration moves it.
    pub secrecy_before: Secrecy,
    pub secrecy_after_expand: Secrecy,
    pub secrecy: Secrecy,
    /// Keys edited by hand since lockstep last wrote the file.
    pub drift: Option<KeyChanges>,
    /// Hand-edited keys that `--on-drift force` overwrites.
    pub overwritten: Vec<String>,
    /// Mode, owner and group for a file the migrations create.
    pub new_file: Creation,
    /// The dialect the file is read and edited by.
    pub syntax: Syntax,
    /// Where a pending `move_file` moves the file.
    pub moved: Option<Move<'a>>,
}

/// A `move_file` about to run.
#[derive(Debug)]
pub struct Move<'a> {
    /// As the migration names it, `${VAR}`s filled in: the file's name in
    /// the state from then on.
    pub file: String,
    pub target: &'a ConfigPath,
    /// The phase of the migration that moves it: that phase's write goes
    /// to `target`, and the old file is removed.
    pub phase: Phase,
    /// The old file is gone and `target` holds the file already (a run
    /// stopped after writing it): only the state is left to record.
    pub done: bool,
}

impl Move<'_> {
    /// Whether the file is at the new path once `phase` is written.
    pub fn by(&self, phase: Phase) -> bool {
        self.phase <= phase
    }
}

impl FilePlan<'_> {
    pub fn has_pending(&self) -> bool {
        !self.expand.is_empty() || !self.contract.is_empty()
    }

    /// Whether the bytes would change, or the file move.
    pub fn changes(&self) -> bool {
        self.before.as_deref() != Some(self.after.as_str())
            || self.moved.as_ref().is_some_and(|m| !m.done)
    }

    /// The name the file has after every pending migration.
    pub fn final_name(&self) -> &str {
        self.moved.as_ref().map_or(&self.file, |m| &m.file)
    }
}

#[derive(Debug, Default)]
pub struct ConfigPlan<'a> {
    pub files: Vec<FilePlan<'a>>,
    /// Pending migrations this phase does not run.
    pub deferred: Vec<&'a ConfigMigration>,
    pub drift: Vec<Drift>,
    pub problems: Vec<Problem>,
    pub warnings: Vec<String>,
    /// Every secret value seen (in a file, or a variable that fills one),
    /// to mask wherever it might show: the command hands them to
    /// [`crate::redact::remember`] as soon as it has the plan.
    pub secret_values: Vec<String>,
}

/// Each file's migrations, by the name it goes by, with the file as
/// loaded (or why it cannot be used).
type Targets<'a, 'i> =
    BTreeMap<String, (Vec<&'a ConfigMigration>, Result<&'i LoadedFile, LoadError>)>;

/// The plan of every config file, from the migrations, the files as
/// loaded and the state.
pub fn plan<'a>(
    migrations: &'a [ConfigMigration],
    inputs: &'a ConfigInputs,
    state: &State,
    opts: &ConfigOptions<'_>,
) -> ConfigPlan<'a> {
    let mut plan = ConfigPlan::default();
    let dir = opts.migrations_dir.display();
    // A variable named like a secret is one wherever it is used.
    plan.secret_values.extend(
        opts.vars
            .iter()
            .filter(|(name, _)| opts.secret_names.matches(name))
            .map(|(_, value)| value.clone()),
    );
    let mut by_file: BTreeMap<&str, Vec<&ConfigMigration>> = BTreeMap::new();
    for m in migrations {
        by_file.entry(m.file.as_str()).or_default().push(m);
        if let Some(applied) = state.migrations.get(m.version.as_str()) {
            if applied.checksum != m.checksum.as_str() {
                let path = format!("{dir}/{}", m.path.display());
                plan.drift.push(Drift::ConfigMigrationEdited {
                    version: m.version.to_string(),
                    path: path.clone(),
                    recorded: applied.checksum.clone(),
                    actual: m.checksum.to_string(),
                });
                plan.problems.push(Problem::new(
                    "config_migration_edited",
                    format!(
                        "config migration {} ({path}) was edited after it was applied (recorded {}, file {}); \
                         revert the edit, or accept it with `lockstep resolve --restamp {}`",
                        m.version,
                        applied.checksum,
                        m.checksum,
                        Side::Config.restamp_arg(m.version.as_str())
                    ),
                ));
            }
        }
    }
    for file in state.files.keys() {
        by_file.entry(file.as_str()).or_default();
    }
    let targets = by_identity(by_file, state, inputs, &mut plan.warnings);
    let applied_versions: BTreeSet<Version> = state
        .migrations
        .keys()
        .filter_map(|v| Version::parse(v))
        .collect();
    let targets = chain_moves(targets, &applied_versions, opts.vars, inputs);

    for (file, (ms, resolved)) in targets {
        let file = file.as_str();
        let ms_all = ms.clone();
        let pending: Vec<&ConfigMigration> = ms
            .into_iter()
            .filter(|m| !applied_versions.contains(&m.version))
            .filter(|m| opts.target.as_ref().is_none_or(|t| m.version <= *t))
            .collect();
        let pending_all = pending.clone();
        let (run, deferred): (Vec<_>, Vec<_>) =
            pending.into_iter().partition(|m| match opts.phase {
                PhaseArg::All => true,
                PhaseArg::Expand => m.phase == Phase::Expand,
                PhaseArg::Contract => m.phase == Phase::Contract,
            });
        let moving = match planned_move(file, resolved.as_ref().ok(), &pending_all, opts, inputs) {
            // A move in a phase this run does not run waits for it.
            Ok(m) => m.filter(|(m, _, _)| deferred.iter().all(|d| d.version != m.version)),
            Err(e) => {
                plan.problems.push(Problem::new("config_move", chain(&e)));
                continue;
            }
        };
        plan.deferred.extend(deferred);
        let (expand, contract): (Vec<_>, Vec<_>) =
            run.into_iter().partition(|m| m.phase == Phase::Expand);
        let fail = |plan: &mut ConfigPlan, kind: &str, msg: String| {
            plan.problems.push(Problem::new(kind, msg))
        };
        let has_pending = !expand.is_empty() || !contract.is_empty();
        let syntax = match file_syntax(file, &ms_all) {
            Ok(s) => s,
            Err(e) => {
                fail(&mut plan, "config_syntax_conflict", e.to_string());
                continue;
            }
        };
        let first = expand.first().or(contract.first()).copied();

        let (loaded, path) = match resolved {
            Ok(t) => (t, t.path.full_path()),
            Err(e) => {
                let who = first.map_or(String::new(), |m| {
                    format!(
                        "config migration {} ({dir}/{}): ",
                        m.version,
                        m.path.display()
                    )
                });
                let e = chain(&e);
                if has_pending {
                    fail(&mut plan, "config_path", format!("{who}{e}"));
                } else {
                    plan.warnings.push(format!("managed config file {e}"));
                }
                continue;
            }
        };
        // The old file gone and the new one there: moved already, by a
        // run that stopped before recording it.
        let target = &loaded.path;
        let mut read = loaded.content.as_ref().map(Option::as_deref);
        let mut done = false;
        if let (Some((_, _, to)), Ok(None)) = (&moving, &read) {
            if let Ok(Some(bytes)) = &to.content {
                read = Ok(Some(bytes));
                done = true;
            }
        }
        let before = match read {
            Ok(None) => None,
            Ok(Some(bytes)) => match std::str::from_utf8(bytes) {
                Ok(text) => Some(text.to_owned()),
                Err(_) => {
                    fail(
                        &mut plan,
                        "config_not_utf8",
                        format!(
                            "{file} ({}) is not UTF-8 text; lockstep edits INI text files only",
                            path.display()
                        ),
                    );
                    continue;
                }
            },
            Err(e) => {
                fail(
                    &mut plan,
                    "config_unreadable",
                    format!("cannot read {file} ({}): {e}", path.display()),
                );
                continue;
            }
        };

        // Drift: the file differs from what lockstep last wrote.
        let record = state.files.get(file);
        let secrecy_before = record.map_or_else(
            || Secrecy::new(&[], &[], opts.secret_names),
            |r| r.secrecy(opts.secret_names),
        );
        if let Some(text) = &before {
            plan.secret_values
                .extend(secrecy_before.values_in(&Document::parse_as(text, syntax)));
        }
        let drift = record.filter(|_| !done).and_then(|r| {
            let actual = before
                .as_deref()
                .map(|t| Checksum::of_bytes(t.as_bytes()).to_string());
            if actual.as_deref() == Some(r.sha256.as_str()) {
                return None;
            }
            let snapshot = edit::key_values(
                &Document::parse_as(&r.snapshot, syntax),
                &secrecy_before,
                true,
            );
            let current = before.as_deref().map_or_else(BTreeMap::new, |t| {
                edit::key_values(&Document::parse_as(t, syntax), &secrecy_before, false)
            });
            Some(KeyChanges::between(&snapshot, &current))
        });
        if let Some(changes) = &drift {
            plan.drift.push(Drift::ConfigEdited {
                path: file.to_owned(),
                keys: changes.clone(),
            });
        }

        if !has_pending {
            if let Some(changes) = &drift {
                plan.warnings.push(format!(
                    "{file} was edited by hand since lockstep last wrote it ({}); nothing is pending for it. \
                     Run `lockstep resolve --adopt {file}` to accept the edit",
                    describe(changes, before.is_none())
                ));
            }
            if before.is_some() || record.is_some() {
                let text = before.clone().unwrap_or_default();
                plan.files.push(FilePlan {
                    file: file.to_owned(),
                    path,
                    target,
                    before: before.clone(),
                    expand: Vec::new(),
                    contract: Vec::new(),
                    after_expand: text.clone(),
                    after: text,
                    secrecy_after_expand: secrecy_before.clone(),
                    secrecy: secrecy_before.clone(),
                    secrecy_before,
                    drift,
                    overwritten: Vec::new(),
                    new_file: Creation::mode(0o644),
                    syntax,
                    moved: None,
                });
            }
            continue;
        }

        // Simulate the pending migrations in memory.
        if before.is_none() && !expand.iter().chain(&contract).any(|m| m.create) {
            fail(
                &mut plan,
                "config_missing",
                format!(
                    "{file} ({}) does not exist; config migration {} would edit it. Create the file, \
                     or set `create: true` in the migration",
                    path.display(),
                    first.map_or(String::new(), |m| m.version.to_string())
                ),
            );
            continue;
        }
        let mut doc = Document::parse_as(before.as_deref().unwrap_or(""), syntax);
        let mut touched = BTreeSet::new();
        let mut planned = [Vec::new(), Vec::new()];
        let mut after_expand = String::new();
        let mut secrecy = secrecy_before.clone();
        let mut secrecy_after_expand = secrecy.clone();
        let mut ok = true;
        let any_secret = expand
            .iter()
            .chain(&contract)
            .any(|m| m.operations.iter().any(|o| o.is_secret()));
        for (i, group) in [&expand, &contract].into_iter().enumerate() {
            for m in group.iter() {
                match edit::apply(&mut doc, m, opts.vars, &mut secrecy) {
                    Ok(applied) => {
                        plan.warnings.extend(
                            applied
                                .kept
                                .iter()
                                .map(|k| format!("config migration {} on {file}: {k}", m.version)),
                        );
                        touched.extend(applied.touched);
                        plan.secret_values.extend(
                            applied
                                .secret_vars
                                .iter()
                                .filter_map(|name| opts.vars.get(name).cloned()),
                        );
                        planned[i].push(PlannedMigration {
                            migration: m,
                            prior: applied.prior,
                        });
                    }
                    Err(e) => {
                        fail(
                            &mut plan,
                            "config_operation",
                            format!(
                                "config migration {} ({dir}/{}) on {file}: {e}",
                                m.version,
                                m.path.display()
                            ),
                        );
                        ok = false;
                        break;
                    }
                }
            }
            if i == 0 {
                after_expand = doc.to_string();
                secrecy_after_expand = secrecy.clone();
            }
        }
        if !ok {
            continue;
        }
        let moved = match moving {
            None => None,
            Some((m, to, move_target)) => {
                let moved_content = match m.phase {
                    Phase::Expand => after_expand.clone(),
                    Phase::Contract => doc.to_string(),
                };
                let existing = if done {
                    Ok(None)
                } else {
                    move_target.content.as_ref().map(Option::as_deref)
                };
                match existing {
                    Ok(None) => {}
                    Ok(Some(bytes)) if bytes == moved_content.as_bytes() => {}
                    Ok(Some(_)) => {
                        fail(
                            &mut plan,
                            "config_move_target_exists",
                            format!(
                                "config migration {} ({dir}/{}) moves {file} to {to}, but {} exists already \
                                 with other content; nothing was written. Move it aside or merge it into \
                                 {file} by hand, then run lockstep again",
                                m.version,
                                m.path.display(),
                                move_target.path.full_path().display()
                            ),
                        );
                        continue;
                    }
                    Err(e) => {
                        fail(
                            &mut plan,
                            "config_unreadable",
                            format!(
                                "cannot read {to} ({}), where config migration {} moves {file}: {e}",
                                move_target.path.full_path().display(),
                                m.version
                            ),
                        );
                        continue;
                    }
                }
                Some(Move {
                    file: to,
                    target: &move_target.path,
                    phase: m.phase,
                    done,
                })
            }
        };
        let overwritten = match &drift {
            Some(changes) => {
                let running: Vec<&ConfigMigration> =
                    expand.iter().chain(&contract).copied().collect();
                drift::policy(
                    &mut plan,
                    file,
                    changes,
                    &touched,
                    before.is_none(),
                    &running,
                    opts,
                )
            }
            None => Vec::new(),
        };
        // The first migration that creates the file says what it gets.
        let asked = expand
            .iter()
            .chain(&contract)
            .find(|m| m.create)
            .map(|m| m.new_file.clone())
            .unwrap_or_default();
        let ids = (
            asked
                .owner
                .as_deref()
                .map(|o| inputs.user_id(o))
                .transpose(),
            asked
                .group
                .as_deref()
                .map(|g| inputs.group_id(g))
                .transpose(),
        );
        let new_file = match ids {
            (Ok(uid), Ok(gid)) => Creation {
                mode: asked.mode.unwrap_or(if any_secret { 0o640 } else { 0o644 }),
                uid,
                gid,
            },
            (Err(e), _) | (_, Err(e)) => {
                fail(&mut plan, "config_owner", format!("{file}: {}", chain(&e)));
                continue;
            }
        };
        let expanded = Document::parse_as(&after_expand, syntax);
        plan.secret_values
            .extend(secrecy_after_expand.values_in(&expanded));
        plan.secret_values.extend(secrecy.values_in(&doc));
        secrecy_after_expand.taint(&expanded, &plan.secret_values);
        secrecy.taint(&doc, &plan.secret_values);
        let [planned_expand, planned_contract] = planned;
        plan.files.push(FilePlan {
            file: file.to_owned(),
            path,
            target,
            before,
            expand: planned_expand,
            contract: planned_contract,
            after_expand,
            after: doc.to_string(),
            secrecy_before,
            secrecy_after_expand,
            secrecy,
            drift,
            overwritten,
            new_file,
            syntax,
            moved,
        });
    }
    plan
}
