//! The config side of a run that stopped half way: each write is recorded
//! in the state as an intent before the file is replaced, and committed
//! after. A later run settles what a killed one left: the intent whose
//! bytes landed is recorded, the rest forgotten; and the old file a
//! `move_file` moved away from is removed once the new one is recorded.
//! The write itself (intent, replace, commit) is `commands::apply`'s
//! config commit, which plans what to write.

use crate::checksum::Checksum;
use crate::config::state::State;
use std::path::Path;

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
