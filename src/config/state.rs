//! The per-host state of config files, in `<state-dir>/config-state.json`:
//! for each managed file the sha256 and a snapshot of what lockstep last
//! wrote, and for each applied config migration its checksum and the prior
//! value of every key it touched. Secret values are kept only as hashes.
//!
//! A write to a config file is bracketed by two state writes: the intended
//! result first (`pending`), then the commit. A run killed in between finds
//! the intent on the next start and settles it from the file's actual
//! sha256, so a crash is never mistaken for a hand edit.

use crate::checksum::Checksum;
use crate::config::edit;
use crate::config::edit::PriorValue;
use crate::config::ini::{Document, Syntax};
use crate::config::secrecy::{Secrecy, SecretNames};
use anyhow::{bail, Context, Result};
use fs4::fs_std::FileExt;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::{Path, PathBuf};

pub const FORMAT: u32 = 1;
const FILE: &str = "config-state.json";
const LOCK: &str = "config.lock";

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
pub struct State {
    pub format: u32,
    /// By file name as the migrations write it (relative to the config root).
    pub files: BTreeMap<String, FileRecord>,
    /// By version.
    pub migrations: BTreeMap<String, AppliedConfigMigration>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileRecord {
    /// `sha256:…` of the bytes lockstep last wrote (or adopted).
    pub sha256: String,
    /// Those bytes as text, secret values replaced by their hash.
    pub snapshot: String,
    /// Keys whose values are secret, as `section.key`.
    #[serde(default)]
    pub secret_keys: Vec<String>,
    /// Keys named like secrets that a migration declared `secret: false`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_keys: Vec<String>,
    pub updated_at: String,
    /// A write in flight: what the file will be once it lands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending: Option<PendingWrite>,
    /// A `move_file` wrote this file from another one, which is removed
    /// next (also by the next run, when this one stopped before).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<MovedFrom>,
}

/// The file a `move_file` moved, and its sha256 when it was moved: it is
/// removed only while it still has those bytes.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct MovedFrom {
    pub file: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PendingWrite {
    pub sha256: String,
    pub snapshot: String,
    pub secret_keys: Vec<String>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub public_keys: Vec<String>,
    pub migrations: Vec<AppliedConfigMigration>,
    /// Versions a rollback removes once the write lands.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub rolled_back: Vec<String>,
    /// The file had no record before this write: when the write does not
    /// land, the record goes too and the file stays unmanaged (or absent).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub new_record: bool,
    /// The write is a `move_file`'s: once it lands, this file's record
    /// replaces the moved one's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub moved_from: Option<MovedFrom>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct AppliedConfigMigration {
    pub version: String,
    pub slug: String,
    pub file: String,
    pub phase: String,
    pub checksum: String,
    pub applied_at: String,
    pub host: String,
    /// Every key touched, with its value before the migration.
    pub prior: Vec<PriorValue>,
}

impl FileRecord {
    /// The record of `content` as lockstep writes (or adopts) it: its
    /// sha256, and a snapshot with every secret value replaced by its hash.
    pub fn of(content: &str, secrecy: &Secrecy, syntax: Syntax) -> FileRecord {
        let (secret_keys, public_keys) = secrecy.recorded();
        FileRecord {
            sha256: Checksum::of_bytes(content.as_bytes()).to_string(),
            snapshot: edit::masked(
                &Document::parse_as(content, syntax),
                secrecy,
                edit::hash_secret,
            )
            .to_string(),
            secret_keys,
            public_keys,
            updated_at: crate::vocabulary::now(),
            pending: None,
            moved_from: None,
        }
    }

    /// The secrecy of the file's keys as lockstep last wrote it.
    pub fn secrecy(&self, names: &SecretNames) -> Secrecy {
        Secrecy::new(&self.secret_keys, &self.public_keys, names)
    }

    /// The intent to write this record's content.
    pub fn intent(
        &self,
        migrations: Vec<AppliedConfigMigration>,
        rolled_back: Vec<String>,
        new_record: bool,
    ) -> PendingWrite {
        PendingWrite {
            sha256: self.sha256.clone(),
            snapshot: self.snapshot.clone(),
            secret_keys: self.secret_keys.clone(),
            public_keys: self.public_keys.clone(),
            migrations,
            rolled_back,
            new_record,
            moved_from: None,
        }
    }
}

impl State {
    pub fn path(state_dir: &Path) -> PathBuf {
        state_dir.join(FILE)
    }

    /// Reads the state; an absent file is an empty state.
    pub fn load(state_dir: &Path) -> Result<State> {
        refuse_shared(state_dir)?;
        let path = State::path(state_dir);
        let bytes = match crate::files::read_regular(&path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(State {
                    format: FORMAT,
                    ..State::default()
                })
            }
            Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
        };
        let state: State = serde_json::from_slice(&bytes).with_context(|| {
            format!(
                "{} is not a valid lockstep state file; restore it from a backup or move it away \
                 (lockstep then treats every config file as unmanaged)",
                path.display()
            )
        })?;
        if state.format > FORMAT {
            bail!(
                "{} has state format {}, newer than this lockstep understands ({FORMAT}); upgrade lockstep",
                path.display(),
                state.format
            );
        }
        Ok(state)
    }

    /// Writes the state atomically, the directory 0700 and the file 0600.
    pub fn save(&self, state_dir: &Path) -> Result<()> {
        ensure_dir(state_dir)?;
        let bytes = serde_json::to_vec_pretty(self).context("cannot encode the state")?;
        crate::config::write::replace(&State::path(state_dir), &bytes, 0o600)
    }
}

/// Refuses a state directory other users can write to (such as 0777 or a
/// shared 1777 one): they could plant or swap lockstep's state and lock
/// files in it. Not tightened in place: it may be a directory others rely
/// on, such as /tmp.
fn refuse_shared(state_dir: &Path) -> Result<()> {
    use std::os::unix::fs::MetadataExt;
    match std::fs::metadata(state_dir) {
        Ok(meta) if meta.mode() & 0o022 != 0 => bail!(
            "the state directory {} is writable by other users (mode {:04o}): they could change \
             lockstep's state and lock files. Make it private (chmod 700 {}) or choose another \
             with --state-dir",
            state_dir.display(),
            meta.mode() & 0o7777,
            state_dir.display()
        ),
        _ => Ok(()),
    }
}

/// Creates the state directory private to its owner; refuses an existing
/// one that others can write to.
pub fn ensure_dir(state_dir: &Path) -> Result<()> {
    refuse_shared(state_dir)?;
    if !state_dir.exists() {
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(state_dir)
            .with_context(|| {
                format!("cannot create the state directory {}", state_dir.display())
            })?;
        std::fs::set_permissions(state_dir, std::fs::Permissions::from_mode(0o700))
            .with_context(|| format!("cannot restrict {}", state_dir.display()))?;
    }
    Ok(())
}

/// One lockstep at a time on a state dir; released when dropped or when
/// the process dies.
pub struct StateLock(std::fs::File);

impl StateLock {
    pub fn acquire(state_dir: &Path, timeout: std::time::Duration) -> Result<StateLock> {
        ensure_dir(state_dir)?;
        let path = state_dir.join(LOCK);
        let file = std::fs::File::options()
            .create(true)
            .truncate(false)
            .write(true)
            .mode(0o600)
            .open(&path)
            .with_context(|| format!("cannot open the lock file {}", path.display()))?;
        let started = std::time::Instant::now();
        loop {
            match FileExt::try_lock_exclusive(&file) {
                Ok(true) => {
                    crate::config::write::remove_stale_temp_files(&State::path(state_dir));
                    return Ok(StateLock(file));
                }
                Ok(false) => {}
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
                Err(e) => return Err(e).with_context(|| format!("cannot lock {}", path.display())),
            }
            if started.elapsed() >= timeout {
                bail!(
                    "timed out after {}s waiting for the lock on the state dir {}: another lockstep \
                     is changing this host's config files; wait for it or raise --lock-timeout",
                    timeout.as_secs(),
                    state_dir.display()
                );
            }
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
    }
}

impl Drop for StateLock {
    fn drop(&mut self) {
        let _ = FileExt::unlock(&self.0);
    }
}
