//! The config write of a run, phase by phase: each file's new content is
//! recorded in the state as an intent, the files are replaced, then the
//! state records what landed, in one state write for all of a phase's
//! intents and one for its commits. What a killed run leaves is settled by
//! [`crate::config::commit`].

use super::super::Ctx;
use crate::checksum::Checksum;
use crate::config::commit::finish_moves;
use crate::config::state::{AppliedConfigMigration, FileRecord, MovedFrom, State};
use crate::plan::config::{ConfigPlan, PlannedMigration};
use crate::report::Report;
use crate::vocabulary::Phase;
use anyhow::{Context, Result};
use std::collections::BTreeMap;

/// The files, by phase, whose write landed (or whose migrations were
/// recorded without a change of bytes).
pub(super) type Landed = std::collections::BTreeSet<(String, Phase)>;

/// Writes each file's content after `phase`, bracketed by state writes.
#[allow(clippy::too_many_arguments)]
pub(super) fn write_config(
    ctx: &Ctx,
    state: &mut State,
    plan: &ConfigPlan<'_>,
    phase: Phase,
    backup: bool,
    report: &mut Report,
    backups: &mut BTreeMap<String, String>,
    landed_files: &mut Landed,
) -> Result<()> {
    let state_dir = &ctx.settings.state_dir;
    /// One file of this phase, ready to write and to record.
    struct Write<'p> {
        file: &'p str,
        /// The name the state records it under: the new one once moved.
        name: &'p str,
        target: &'p crate::config::path::ConfigPath,
        /// The file a `move_file` moves in this phase, with its name and sha256.
        moving: Option<(&'p crate::config::path::ConfigPath, MovedFrom)>,
        /// The old name of a file moved in this phase: its record goes.
        old_name: Option<&'p str>,
        content: &'p str,
        new_file: crate::config::write::Creation,
        record: FileRecord,
        applied: Vec<AppliedConfigMigration>,
        /// Bytes change (else only the state records the migrations).
        replace: bool,
        new_record: bool,
    }
    let mut writes = Vec::new();
    for f in &plan.files {
        let (migrations, content, secrecy) = match phase {
            Phase::Expand => (&f.expand, &f.after_expand, &f.secrecy_after_expand),
            Phase::Contract => (&f.contract, &f.after, &f.secrecy),
        };
        if migrations.is_empty() {
            continue;
        }
        let (name, target) = match &f.moved {
            Some(m) if m.by(phase) => (m.file.as_str(), m.target),
            _ => (f.file.as_str(), f.target),
        };
        let moves_now = f.moved.as_ref().filter(|m| m.phase == phase);
        let moving = moves_now.filter(|m| !m.done).map(|_| {
            let sha = f.target.read().ok().flatten();
            let from = MovedFrom {
                file: f.file.clone(),
                sha256: sha.map_or(String::new(), |b| Checksum::of_bytes(&b).to_string()),
            };
            (f.target, from)
        });
        let on_disk = target.read().ok().flatten();
        let replace = on_disk.as_deref() != Some(content.as_bytes());
        if replace && backup && on_disk.is_some() && !backups.contains_key(&f.file) {
            let path = target.backup()?;
            backups.insert(f.file.clone(), path.display().to_string());
        }
        let record = FileRecord::of(content, secrecy, f.syntax);
        let applied = applied_records(ctx, name, migrations);
        let new_record = !state.files.contains_key(name);
        if replace {
            // Intent first, so a crash between the two state writes is
            // settled from each file's sha256 instead of looking like a
            // hand edit.
            let current = state
                .files
                .entry(name.to_owned())
                .or_insert_with(|| FileRecord {
                    sha256: on_disk
                        .as_deref()
                        .map_or(String::new(), |b| Checksum::of_bytes(b).to_string()),
                    snapshot: String::new(),
                    secret_keys: Vec::new(),
                    public_keys: Vec::new(),
                    updated_at: crate::vocabulary::now(),
                    pending: None,
                    moved_from: None,
                });
            let mut intent = record.intent(applied.clone(), Vec::new(), new_record);
            intent.moved_from = moving.as_ref().map(|(_, from)| from.clone());
            current.pending = Some(intent);
        }
        writes.push(Write {
            file: &f.file,
            name,
            moving,
            old_name: moves_now.map(|_| f.file.as_str()),
            target,
            content,
            new_file: f.new_file,
            record,
            applied,
            replace,
            new_record,
        });
    }
    if writes.is_empty() {
        return Ok(());
    }
    // One state write for every intent of the phase, one for every commit:
    // a hundred files cost two state writes, not two hundred.
    if writes.iter().any(|w| w.replace) {
        state.save(state_dir)?;
    }
    let mut failure = None;
    let mut landed = 0;
    for w in &writes {
        if w.replace {
            let created;
            let target = if w.target.lacks_directories() {
                match w.target.create_directories() {
                    Ok(t) => {
                        created = t;
                        &created
                    }
                    Err(e) => {
                        let e = crate::error::chain(&e);
                        failure = Some(format!("{}: {e}; the file is unchanged", w.file));
                        break;
                    }
                }
            } else {
                w.target
            };
            let from = w.moving.as_ref().map(|(from, _)| *from);
            if let Err(e) = target.replace_moved(w.content.as_bytes(), from, w.new_file) {
                failure = Some(format!("{}: {e:#}; the file is unchanged", w.file));
                break;
            }
        }
        landed += 1;
    }
    for (i, w) in writes.into_iter().enumerate() {
        if i < landed {
            landed_files.insert((w.file.to_owned(), phase));
            let mut record = w.record;
            if let Some(old) = w.old_name {
                state.files.remove(old);
            }
            record.moved_from = w.moving.map(|(_, from)| from);
            state.files.insert(w.name.to_owned(), record);
            for a in w.applied {
                state.migrations.insert(a.version.clone(), a);
            }
        } else if w.new_record {
            state.files.remove(w.name);
        } else if let Some(r) = state.files.get_mut(w.name) {
            r.pending = None;
        }
    }
    state
        .save(state_dir)
        .context("cannot record the config state")?;
    if finish_moves(&ctx.settings.config_root, state) {
        state
            .save(state_dir)
            .context("cannot record the config state")?;
    }
    if let Some(msg) = failure {
        report.fail(msg);
    }
    Ok(())
}

fn applied_records(
    ctx: &Ctx,
    file: &str,
    migrations: &[PlannedMigration<'_>],
) -> Vec<AppliedConfigMigration> {
    let at = crate::vocabulary::now();
    migrations
        .iter()
        .map(|p| AppliedConfigMigration {
            version: p.migration.version.to_string(),
            slug: p.migration.slug.clone(),
            file: file.to_owned(),
            phase: p.migration.phase.as_str().to_owned(),
            checksum: p.migration.checksum.to_string(),
            applied_at: at.clone(),
            host: ctx.settings.host_id.clone(),
            prior: p.prior.clone(),
        })
        .collect()
}
