//! The config side of a run that stopped half way: each write is recorded
//! in the state as an intent before the file is replaced, and committed
//! after. A later run settles what a killed one left: the intent whose
//! bytes landed is recorded, the rest forgotten; and the old file a
//! `move_file` moved away from is removed once the new one is recorded.
//! The write of one phase, [`write_phase`], is that protocol; the command
//! says from its plan what each file becomes.

use crate::checksum::Checksum;
use crate::config::ini::Syntax;
use crate::config::path::ConfigPath;
use crate::config::secrecy::Secrecy;
use crate::config::state::{AppliedConfigMigration, FileRecord, MovedFrom, State};
use crate::config::write::Creation;
use crate::vocabulary::Phase;
use anyhow::{Context, Result};
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// Where a run keeps its state and edits its files.
pub struct Dirs<'a> {
    pub state: &'a Path,
    pub config_root: &'a Path,
}

/// The files, by phase, whose write landed (or whose migrations were
/// recorded without a change of bytes).
pub type Landed = BTreeSet<(String, Phase)>;

/// `--backup`: whether to keep a copy of each file before its first write
/// of the run, and the copies made, by file name.
#[derive(Debug, Default)]
pub struct Backups {
    pub wanted: bool,
    pub made: BTreeMap<String, String>,
}

/// One file's write in a phase, as the plan says.
pub struct FileWrite<'p> {
    /// As the migrations name it (for messages and backups).
    pub file: &'p str,
    /// The name the state records it under: the new one once moved.
    pub name: &'p str,
    /// Where the content goes.
    pub target: &'p ConfigPath,
    /// A `move_file` that moves the file in this phase: the old file.
    pub old_name: Option<MovingFrom<'p>>,
    pub content: &'p str,
    /// Mode, owner and group if the file is created.
    pub new_file: Creation,
    /// Which keys of `content` hold secrets.
    pub secrecy: &'p Secrecy,
    pub syntax: Syntax,
    /// The config migrations the write applies.
    pub applied: Vec<AppliedConfigMigration>,
}

/// The file a `move_file` moves away from.
pub struct MovingFrom<'p> {
    pub target: &'p ConfigPath,
    /// The old file is gone and the new one there already.
    pub done: bool,
}

/// Writes each file's content after `phase`, bracketed by state writes:
/// every intent recorded first, then the files replaced, then what landed
/// recorded. `Ok(Some(message))`: a write failed (the files before it
/// landed and are recorded, it and the ones after are unchanged).
pub fn write_phase(
    dirs: &Dirs<'_>,
    state: &mut State,
    files: Vec<FileWrite<'_>>,
    phase: Phase,
    backups: &mut Backups,
    landed_files: &mut Landed,
) -> Result<Option<String>> {
    let state_dir = dirs.state;
    /// One file of this phase, ready to write and to record.
    struct Write<'p> {
        file: &'p str,
        /// The name the state records it under: the new one once moved.
        name: &'p str,
        target: &'p ConfigPath,
        /// The file a `move_file` moves in this phase, with its name and sha256.
        moving: Option<(&'p ConfigPath, MovedFrom)>,
        /// The old name of a file moved in this phase: its record goes.
        old_name: Option<&'p str>,
        content: &'p str,
        new_file: Creation,
        record: FileRecord,
        applied: Vec<AppliedConfigMigration>,
        /// Bytes change (else only the state records the migrations).
        replace: bool,
        new_record: bool,
    }
    let mut writes = Vec::new();
    for f in files {
        let FileWrite {
            file,
            name,
            target,
            old_name,
            content,
            new_file,
            secrecy,
            syntax,
            applied,
        } = f;
        let moving = old_name.as_ref().filter(|m| !m.done).map(|m| {
            let sha = m.target.read().ok().flatten();
            let from = MovedFrom {
                file: file.to_owned(),
                sha256: sha.map_or(String::new(), |b| Checksum::of_bytes(&b).to_string()),
            };
            (m.target, from)
        });
        let on_disk = target.read().ok().flatten();
        let replace = on_disk.as_deref() != Some(content.as_bytes());
        if replace && backups.wanted && on_disk.is_some() && !backups.made.contains_key(file) {
            let path = target.backup()?;
            backups
                .made
                .insert(file.to_owned(), path.display().to_string());
        }
        let record = FileRecord::of(content, secrecy, syntax);
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
            file,
            name,
            moving,
            old_name: old_name.map(|_| file),
            target,
            content,
            new_file,
            record,
            applied,
            replace,
            new_record,
        });
    }
    if writes.is_empty() {
        return Ok(None);
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
    if finish_moves(dirs.config_root, state) {
        state
            .save(state_dir)
            .context("cannot record the config state")?;
    }
    Ok(failure)
}

/// Settles writes a killed run left in flight: the file has the intended
/// bytes (the write landed: record it) or not (forget the intent, and the
/// record it was the first of). Returns whether the state changed.
pub fn settle_pending_writes(config_root: &Path, state: &mut State) -> bool {
    let mut changed = false;
    let mut never_written = Vec::new();
    let mut moved = Vec::new();
    for (file, record) in state.files.iter_mut() {
        let Some(pending) = record.pending.take() else {
            continue;
        };
        changed = true;
        let actual = crate::config::path::resolve(config_root, file)
            .ok()
            .and_then(|p| p.read().ok().flatten())
            .map(|b| Checksum::of_bytes(&b).to_string());
        if actual.as_deref() == Some(pending.sha256.as_str()) {
            record.sha256 = pending.sha256;
            record.snapshot = pending.snapshot;
            record.secret_keys = pending.secret_keys;
            record.public_keys = pending.public_keys;
            record.updated_at = crate::vocabulary::now();
            for m in pending.migrations {
                state.migrations.insert(m.version.clone(), m);
            }
            for v in &pending.rolled_back {
                state.migrations.remove(v);
            }
            if let Some(from) = pending.moved_from {
                moved.push(from.file.clone());
                record.moved_from = Some(from);
            }
        } else if pending.new_record {
            // Otherwise a file lockstep never wrote would be "managed", and
            // its absence reported as a hand edit that blocks every run.
            never_written.push(file.clone());
        }
    }
    for file in never_written.into_iter().chain(moved) {
        state.files.remove(&file);
    }
    changed
}

/// Removes the files `move_file` moved away from, once the state records
/// the new one: each only while it still has the bytes it was moved with
/// (one edited since is left alone, no longer managed). Returns whether
/// the state changed.
pub fn finish_moves(config_root: &Path, state: &mut State) -> bool {
    let mut changed = false;
    for record in state.files.values_mut() {
        let Some(from) = record.moved_from.take() else {
            continue;
        };
        let Ok(old) = crate::config::path::resolve(config_root, &from.file) else {
            changed = true;
            continue;
        };
        let sha = old
            .read()
            .ok()
            .flatten()
            .map(|b| Checksum::of_bytes(&b).to_string());
        if sha.as_deref() == Some(from.sha256.as_str()) && old.remove().is_err() {
            // Tried again by the next run.
            record.moved_from = Some(from);
        } else {
            changed = true;
        }
    }
    changed
}
