//! What `rollback` undoes. On the database side (`--database-to VERSION`):
//! every applied migration newer than VERSION, newest first, each with its
//! `down` SQL for the dialect. On the config side (`--config-to VERSION`):
//! each file with the values the newer config migrations recorded put
//! back. Or the reasons it cannot be undone. Pure: the history, the state,
//! the migration files and the config files are loaded by the command.

use crate::checksum::Checksum;
use crate::config::edit;
use crate::config::ini::EditError;
use crate::config::ini::{Document, MatchOptions, Occurrence, Syntax};
use crate::config::load::{ConfigInputs, LoadError};
use crate::config::migration::ConfigMigration;
use crate::config::path::ConfigPath;
use crate::config::secrecy::{key_name, Secrecy, SecretNames};
use crate::config::state::State;
use crate::db::dialect::Dialect;
use crate::db::history::HistoryRow;
use crate::db::migration::Migration;
use crate::plan::options::OnDrift;
use crate::vocabulary::state;
use crate::vocabulary::Version;
use std::path::Path;

/// Why a migration cannot be undone. `path` is a migration file as
/// messages name it (folder and file). Print it with
/// [`crate::error::chain`]: a file that cannot be loaded keeps its cause as
/// its `source()`.
#[derive(Debug, thiserror::Error)]
pub enum Refusal {
    #[error("migration {version}_{slug} has no file in {dir}, so its down SQL is unknown")]
    NoFile {
        version: String,
        slug: String,
        dir: String,
    },
    #[error(
        "migration {version} ({path}) is contracted: what its expand added replaced the old schema for good; \
         write a new migration to change it back"
    )]
    Contracted { version: String, path: String },
    #[error("migration {version} ({path}) has no `-- lockstep:down` section for {dialect}")]
    NoDown {
        version: String,
        path: String,
        dialect: Dialect,
    },
    #[error(
        "migration {version} ({path}) was edited after it was applied; its down SQL may not match; \
         run `lockstep resolve --restamp {restamp}` first if the edit is intended"
    )]
    Edited {
        version: String,
        path: String,
        /// The argument of `--restamp`.
        restamp: String,
    },
    #[error(
        "config migration {version} ({path}) moved {from} to {to}, and rollback does not move files back; \
         roll back to {version} or a later version, or move the file back by hand"
    )]
    Moved {
        version: String,
        path: String,
        from: String,
        to: String,
    },
    #[error(
        "config migration {version} set the secret key {key}, whose prior value lockstep keeps only as a hash; restore it by hand"
    )]
    SecretKey { version: String, key: String },
    /// `had`: "several values" or "no value at all".
    #[error("config migration {version} changed {key}, which had {had}; restore it by hand")]
    NoSingleValue {
        version: String,
        key: String,
        had: &'static str,
    },
    #[error(transparent)]
    File(#[from] LoadError),
    #[error(
        "{file} was edited by hand since lockstep last wrote it; rolling back would overwrite \
         the edit: pass --on-drift force, or `lockstep resolve --adopt {file}` first"
    )]
    Drift { file: String },
    #[error("config migration {version} on {file}")]
    Edit {
        version: String,
        file: String,
        #[source]
        source: EditError,
    },
}

/// The migrations to undo, newest first, or every reason one of them
/// cannot be undone (nothing runs then). `migrations_dir` is the folder as
/// messages name it.
pub fn database<'a>(
    migrations: &'a [Migration],
    history: &[HistoryRow],
    to: &Version,
    dialect: Dialect,
    migrations_dir: &str,
) -> Result<Vec<&'a Migration>, Vec<Refusal>> {
    let mut applied: Vec<(Version, &HistoryRow)> = history
        .iter()
        .filter(|r| state::is_applied(&r.state))
        .filter_map(|r| Some((Version::parse(&r.version)?, r)))
        .filter(|(v, _)| v > to)
        .collect();
    applied.sort_by(|a, b| b.0.cmp(&a.0));
    let mut steps = Vec::new();
    let mut refusals = Vec::new();
    for (version, row) in applied {
        let Some(m) = migrations.iter().find(|m| m.version == version) else {
            refusals.push(Refusal::NoFile {
                version: row.version.clone(),
                slug: row.slug.clone(),
                dir: migrations_dir.to_owned(),
            });
            continue;
        };
        let version = m.version.to_string();
        let path = format!("{migrations_dir}/{}", m.path.display());
        if m.online.is_some() && row.state == state::CONTRACTED {
            refusals.push(Refusal::Contracted { version, path });
        } else if m.online.is_none() && m.down.for_dialect(dialect).is_none() {
            refusals.push(Refusal::NoDown {
                version,
                path,
                dialect,
            });
        } else if m.checksum.as_str() != row.checksum {
            refusals.push(Refusal::Edited {
                restamp: crate::vocabulary::Side::Database.restamp_arg(&version),
                version,
                path,
            });
        } else {
            steps.push(m);
        }
    }
    if refusals.is_empty() {
        Ok(steps)
    } else {
        Err(refusals)
    }
}

/// A config file returned to the values it had before some migrations.
#[derive(Debug)]
pub struct Restore<'a> {
    pub file: String,
    /// Where it is, held open: the restore is written through it.
    pub path: &'a ConfigPath,
    pub before: String,
    pub after: String,
    /// The config migrations it undoes, newest first.
    pub versions: Vec<String>,
    pub secrecy: Secrecy,
}

/// The operator's choices for the config side of a rollback.
pub struct ConfigOptions<'a> {
    pub on_drift: OnDrift,
    /// Key names that are secret unless a migration says otherwise.
    pub secret_names: &'a SecretNames,
    /// The config migrations folder, for messages.
    pub migrations_dir: &'a Path,
}

impl Restore<'_> {
    pub fn changes(&self) -> bool {
        self.before != self.after
    }
}

/// Computes every config file's content with the prior values of the
/// migrations newer than `to` restored, or every reason one cannot be
/// restored (nothing is written then): a secret's prior value is kept only
/// as a hash, a duplicated key's order is not kept, and a hand-edited file
/// needs `--on-drift force`. `files` holds each file those migrations
/// edited, loaded before.
pub fn config<'a>(
    migrations: &[ConfigMigration],
    state: &State,
    files: &'a ConfigInputs,
    to: &Version,
    opts: &ConfigOptions<'_>,
) -> Result<Vec<Restore<'a>>, Vec<Refusal>> {
    let mut applied: Vec<_> = state
        .migrations
        .values()
        .filter_map(|a| Some((Version::parse(&a.version)?, a)))
        .filter(|(v, _)| v > to)
        .collect();
    applied.sort_by(|a, b| b.0.cmp(&a.0));
    let mut refusals = Vec::new();
    let mut restores: Vec<Restore> = Vec::new();
    for (version, a) in applied {
        let case_insensitive = migrations
            .iter()
            .find(|m| m.version == version)
            .is_some_and(|m| m.case_insensitive);
        let moved = migrations
            .iter()
            .find(|m| m.version == version && m.move_to().is_some());
        if let Some(m) = moved {
            refusals.push(Refusal::Moved {
                version: a.version.clone(),
                path: format!("{}/{}", opts.migrations_dir.display(), m.path.display()),
                from: m.file.clone(),
                to: a.file.clone(),
            });
            continue;
        }
        for p in &a.prior {
            // A key the migration added has no prior value to restore:
            // rolling back removes it, secret or not.
            if p.secret && !p.values.is_empty() {
                refusals.push(Refusal::SecretKey {
                    version: a.version.clone(),
                    key: key_name(p.section.as_deref(), &p.key),
                });
            } else if p.values.len() > 1 || p.values.first().is_some_and(|v| v.is_none()) {
                refusals.push(Refusal::NoSingleValue {
                    version: a.version.clone(),
                    key: key_name(p.section.as_deref(), &p.key),
                    had: if p.values.len() > 1 {
                        "several values"
                    } else {
                        "no value at all"
                    },
                });
            }
        }
        let index = match restores.iter().position(|r| r.file == a.file) {
            Some(i) => i,
            None => {
                let loaded = match files.file(&a.file) {
                    Ok(f) => f,
                    Err(e) => {
                        refusals.push(e.into());
                        continue;
                    }
                };
                let before = loaded
                    .content
                    .as_ref()
                    .ok()
                    .and_then(Option::as_deref)
                    .and_then(|b| std::str::from_utf8(b).ok())
                    .unwrap_or_default()
                    .to_owned();
                let record = state.files.get(&a.file);
                let sha = Checksum::of_bytes(before.as_bytes()).to_string();
                if record.is_some_and(|r| r.sha256 != sha) && opts.on_drift != OnDrift::Force {
                    refusals.push(Refusal::Drift {
                        file: a.file.clone(),
                    });
                }
                restores.push(Restore {
                    file: a.file.clone(),
                    path: &loaded.path,
                    after: before.clone(),
                    before,
                    versions: Vec::new(),
                    secrecy: record.map_or_else(
                        || Secrecy::new(&[], &[], opts.secret_names),
                        |r| r.secrecy(opts.secret_names),
                    ),
                });
                restores.len() - 1
            }
        };
        let r = &mut restores[index];
        let mut doc = Document::parse_as(&r.after, Syntax::for_path(Path::new(&r.file)));
        let opts = MatchOptions {
            case_insensitive,
            occurrence: Occurrence::All,
            ..MatchOptions::default()
        };
        for p in a.prior.iter().rev() {
            let section = p.section.as_deref();
            let result =
                edit::in_block(&mut doc, section, p.block, case_insensitive, |doc| match p
                    .values
                    .first()
                {
                    None => doc.delete(section, &p.key, &opts),
                    Some(Some(v)) => doc.set(section, &p.key, v, &opts),
                    Some(None) => Ok(false),
                });
            if let Err(e) = result {
                refusals.push(Refusal::Edit {
                    version: a.version.clone(),
                    file: a.file.clone(),
                    source: e,
                });
            }
        }
        remove_emptied_sections(&mut doc, &a.prior, &opts);
        r.after = doc.to_string();
        r.versions.push(a.version.clone());
    }
    if refusals.is_empty() {
        Ok(restores)
    } else {
        Err(refusals)
    }
}

/// Removes a section the rolled-back migration created: one it added a key
/// to that was absent before, left with no key, and with nothing but its
/// header and blank lines (a comment in it is someone's, and stays).
fn remove_emptied_sections(doc: &mut Document, prior: &[edit::PriorValue], opts: &MatchOptions) {
    let mut sections: Vec<&str> = prior
        .iter()
        .filter(|p| p.values.is_empty())
        .filter_map(|p| p.section.as_deref())
        .collect();
    sections.dedup();
    for section in sections {
        let same = |s: &Option<String>| match s {
            Some(s) if opts.case_insensitive => s.eq_ignore_ascii_case(section),
            Some(s) => s == section,
            None => false,
        };
        if doc.entries().iter().any(|e| same(&e.section)) {
            continue;
        }
        let mut without = doc.clone();
        if !matches!(without.delete_section(section, opts), Ok(true)) {
            continue;
        }
        let code_lines = |d: &Document| {
            d.to_string()
                .lines()
                .filter(|l| !l.trim().is_empty())
                .count()
        };
        if code_lines(doc) == code_lines(&without) + 1 {
            *doc = without;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_read_as_before() {
        let text = |r: Refusal| crate::error::chain(&r);
        let (version, path) = ("0002".to_owned(), "migrations/0002_x.sql".to_owned());
        assert_eq!(
            text(Refusal::NoFile {
                version: version.clone(),
                slug: "x".into(),
                dir: "migrations".into()
            }),
            "migration 0002_x has no file in migrations, so its down SQL is unknown"
        );
        assert_eq!(
            text(Refusal::NoDown {
                version: version.clone(),
                path: path.clone(),
                dialect: Dialect::Sqlite
            }),
            format!(
                "migration 0002 (migrations/0002_x.sql) has no `-- lockstep:down` section for {}",
                Dialect::Sqlite
            )
        );
        assert_eq!(
            text(Refusal::Edited {
                version,
                path,
                restamp: "0002".into()
            }),
            "migration 0002 (migrations/0002_x.sql) was edited after it was applied; its down SQL \
             may not match; run `lockstep resolve --restamp 0002` first if the edit is intended"
        );
        assert_eq!(
            text(Refusal::Drift {
                file: "app.ini".into()
            }),
            "app.ini was edited by hand since lockstep last wrote it; rolling back would overwrite \
             the edit: pass --on-drift force, or `lockstep resolve --adopt app.ini` first"
        );
        assert_eq!(
            text(Refusal::SecretKey {
                version: "0003".into(),
                key: "db.password".into()
            }),
            "config migration 0003 set the secret key db.password, whose prior value lockstep \
             keeps only as a hash; restore it by hand"
        );
    }
}
