//! Loads what config planning reads from the host, before it plans: the
//! config root opened once, each file a migration or the state names
//! resolved inside it (and each place a `move_file` moves one to), each
//! file's bytes read through that resolved handle, and the owner and group
//! names a created file asks for. The plan takes this and does no I/O of
//! its own; what it writes later goes through the same handles, so nothing
//! that changes on the way after loading can redirect a write.

use crate::config::migration::{substitute, ConfigMigration};
use crate::config::owner::{self, OwnerError};
use crate::config::path::{ConfigPath, ConfigRoot, PathError};
use crate::config::state::State;
use std::collections::BTreeMap;
use std::path::Path;

/// One config file as loaded: where it is and what it holds.
#[derive(Debug)]
pub struct LoadedFile {
    /// Where it is, held open: every read and write goes through it.
    pub path: ConfigPath,
    /// Its bytes; `None` when it does not exist; `Err`: why it cannot be
    /// read (a FIFO, a device, no permission).
    pub content: Result<Option<Vec<u8>>, std::io::Error>,
}

/// Why a file, owner or group that planning asks for cannot be used.
/// Transparent over the loading error, so its `source()` chain is kept:
/// print it with [`crate::error::chain`].
#[derive(Debug, Clone, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Path(#[from] PathError),
    #[error(transparent)]
    Owner(#[from] OwnerError),
    /// Planning asked for a file that was not loaded: a bug.
    #[error("`{name}` was not loaded before planning")]
    NotLoaded { name: String },
    /// Planning asked for an owner or group (`what`) that was not looked
    /// up: a bug.
    #[error("the {what} `{name}` was not looked up before planning")]
    NotLookedUp { what: &'static str, name: String },
}

/// Every config file planning may look at, by the name a migration, the
/// state or a `move_file` gives it, and the owner and group ids it may need.
#[derive(Debug, Default)]
pub struct ConfigInputs {
    files: BTreeMap<String, Result<LoadedFile, PathError>>,
    users: BTreeMap<String, Result<u32, OwnerError>>,
    groups: BTreeMap<String, Result<u32, OwnerError>>,
}

impl ConfigInputs {
    /// What `apply`, `plan` and `status` plan from: every file the
    /// migrations and the state name, where each `move_file` moves one
    /// (its `${VAR}`s filled in from `vars`), and the owners and groups of
    /// the files the migrations create.
    pub fn for_migrations(
        config_root: &Path,
        migrations: &[ConfigMigration],
        state: &State,
        vars: &BTreeMap<String, String>,
    ) -> ConfigInputs {
        let names = migrations
            .iter()
            .map(|m| m.file.clone())
            .chain(state.files.keys().cloned())
            .chain(
                migrations
                    .iter()
                    .filter_map(|m| m.move_to())
                    .filter_map(|to| substitute(to, vars).ok()),
            );
        let mut inputs = ConfigInputs::of_files(config_root, names);
        for m in migrations.iter().filter(|m| m.create) {
            if let Some(name) = &m.new_file.owner {
                if !inputs.users.contains_key(name) {
                    inputs.users.insert(name.clone(), owner::user_id(name));
                }
            }
            if let Some(name) = &m.new_file.group {
                if !inputs.groups.contains_key(name) {
                    inputs.groups.insert(name.clone(), owner::group_id(name));
                }
            }
        }
        inputs
    }

    /// The files `names` name, resolved in `config_root` and read. The
    /// root is opened only when there is a name to resolve in it.
    pub fn of_files(config_root: &Path, names: impl IntoIterator<Item = String>) -> ConfigInputs {
        let mut inputs = ConfigInputs::default();
        let mut root = None;
        for name in names {
            if inputs.files.contains_key(&name) {
                continue;
            }
            let root = root.get_or_insert_with(|| ConfigRoot::open(config_root));
            let file = root
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|r| r.resolve(&name))
                .map(|path| LoadedFile {
                    content: path.read(),
                    path,
                });
            inputs.files.insert(name, file);
        }
        inputs
    }

    /// The file `name` names, as loaded, or why it cannot be used.
    pub fn file(&self, name: &str) -> Result<&LoadedFile, LoadError> {
        match self.files.get(name) {
            Some(file) => file.as_ref().map_err(|e| e.clone().into()),
            None => Err(LoadError::NotLoaded {
                name: name.to_owned(),
            }),
        }
    }

    /// The uid of the owner `name`.
    pub fn user_id(&self, name: &str) -> Result<u32, LoadError> {
        looked_up(&self.users, "user", name)
    }

    /// The gid of the group `name`.
    pub fn group_id(&self, name: &str) -> Result<u32, LoadError> {
        looked_up(&self.groups, "group", name)
    }
}

fn looked_up(
    ids: &BTreeMap<String, Result<u32, OwnerError>>,
    what: &'static str,
    name: &str,
) -> Result<u32, LoadError> {
    match ids.get(name) {
        Some(id) => id.clone().map_err(LoadError::from),
        None => Err(LoadError::NotLookedUp {
            what,
            name: name.to_owned(),
        }),
    }
}
