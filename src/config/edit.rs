//! Applies a config migration's operations to an INI [`Document`] in
//! memory, recording what each touched (for drift checks and `merge`) and
//! the prior values (for rollback). Writes nothing.

use crate::checksum::Checksum;
use crate::config::ini::EditError;
use crate::config::ini::{Document, MatchOptions, Occurrence};
use crate::config::migration::{referenced_vars, substitute, ConfigMigration, Operation, VarError};
use crate::config::secrecy::{key_name, Secrecy};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// A key a migration changed, as it was before: what rollback restores.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct PriorValue {
    pub section: Option<String>,
    pub key: String,
    /// The values before (several for a duplicated key); empty when absent.
    /// An inner `None` is a key written without a value.
    pub values: Vec<Option<String>>,
    /// The values are hashes: the key was written with `secret: true`.
    #[serde(default)]
    pub secret: bool,
    /// The block of a repeated `[section]` the values are from, when the
    /// operation named one (`section_occurrence`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block: Option<usize>,
}

/// What applying one migration did.
#[derive(Debug, Default)]
pub struct Applied {
    pub prior: Vec<PriorValue>,
    /// Keys touched, `section.key`; a whole section as `section.*`.
    pub touched: BTreeSet<String>,
    /// Variables whose values went into a secret key: secret wherever else
    /// they are used (a password in a plain DSN).
    pub secret_vars: BTreeSet<String>,
    /// Operations that kept a value the operator chose ("kept operator
    /// value"), in words, for the run's warnings.
    pub kept: Vec<String>,
}

/// An operation of a migration that cannot be applied: which one (1-based)
/// and why. The message holds the cause's, so the cause is no `source()`.
#[derive(Debug, thiserror::Error)]
#[error("operation {number} ({operation}): {cause}")]
pub struct OperationError {
    pub number: usize,
    pub operation: &'static str,
    pub cause: Box<OperationFailure>,
}

/// Why an operation cannot be applied.
#[derive(Debug, thiserror::Error)]
pub enum OperationFailure {
    /// A value's `${KEY}` cannot be substituted.
    #[error(transparent)]
    Var(#[from] VarError),
    /// The edit is refused (a secret value hidden from the message).
    #[error(transparent)]
    Edit(#[from] EditError),
}

/// Every key's values, by `section.key`, with secret ones hashed. In a
/// `snapshot` (which the state holds) secret values are hashes already; one
/// that is not (a key that became secret by its name since) is hashed too.
pub fn key_values(
    doc: &Document,
    secrecy: &Secrecy,
    snapshot: bool,
) -> BTreeMap<String, Vec<Option<String>>> {
    let mut out: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for e in doc.entries() {
        let name = key_name(e.section.as_deref(), &e.key);
        let value = if secrecy.is_secret(e.section.as_deref(), &e.key) {
            e.value.map(|v| {
                if snapshot && is_hash(&v) {
                    v
                } else {
                    hash_secret(&v)
                }
            })
        } else {
            e.value
        };
        out.entry(name).or_default().push(value);
    }
    out
}

pub fn hash_secret(value: &str) -> String {
    Checksum::of_bytes(value.as_bytes()).to_string()
}

/// Whether a value is what [`hash_secret`] makes.
fn is_hash(value: &str) -> bool {
    value
        .strip_prefix("sha256:")
        .is_some_and(|h| h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()))
}

/// A copy of `doc` with each secret key's value replaced by `mask(value)`.
pub fn masked(doc: &Document, secrecy: &Secrecy, mask: impl Fn(&str) -> String) -> Document {
    let mut copy = doc.for_masking();
    for e in doc.entries() {
        if let (true, Some(value)) = (secrecy.is_secret(e.section.as_deref(), &e.key), &e.value) {
            let opts = MatchOptions {
                occurrence: Occurrence::All,
                ..MatchOptions::default()
            };
            let _ = copy.set(e.section.as_deref(), &e.key, &mask(value), &opts);
        }
    }
    copy
}

/// Applies `m` to `doc`, carrying each value's secrecy along in
/// `secrecy`; on error names the operation and what went wrong.
pub fn apply(
    doc: &mut Document,
    m: &ConfigMigration,
    vars: &BTreeMap<String, String>,
    secrecy: &mut Secrecy,
) -> Result<Applied, OperationError> {
    let mut applied = Applied::default();
    let mut recorded: BTreeSet<(Option<String>, String, Option<usize>)> = BTreeSet::new();
    let ci = m.case_insensitive;
    for (index, op) in m.operations.iter().enumerate() {
        let at = |cause: OperationFailure| OperationError {
            number: index + 1,
            operation: op.name(),
            cause: Box::new(cause),
        };
        let sub = |s: &str| substitute(s, vars).map_err(|e| at(e.into()));
        let sub_opt = |s: &Option<String>| s.as_deref().map(sub).transpose();
        let opts = op.match_options(ci);
        let flag = op.secret_flag();
        let block = op.section_block();
        // A prior value is hashed when the key held a secret, or when the
        // operation makes it one.
        let mut remember = |doc: &Document,
                            secrecy: &Secrecy,
                            section: Option<&str>,
                            key: &str,
                            applied: &mut Applied| {
            applied.touched.insert(key_name(section, key));
            if recorded.insert((section.map(str::to_owned), key.to_owned(), block)) {
                let secret = flag == Some(true) || is_secret(doc, secrecy, section, key, ci);
                applied
                    .prior
                    .push(prior_value(doc, section, key, ci, secret, block));
            }
        };
        match op {
            Operation::Set(kv)
            | Operation::Default(kv)
            | Operation::AddValue(kv)
            | Operation::RemoveValue(kv) => {
                let (section, key) = (sub_opt(&kv.section)?, sub(&kv.key)?);
                let section = section.as_deref();
                remember(doc, secrecy, section, &key, &mut applied);
                let secret = flag.unwrap_or_else(|| is_secret(doc, secrecy, section, &key, ci));
                let value = kv.value.as_ref().map(|raw| sub(&raw.0)).transpose()?;
                let result = in_block(doc, section, block, ci, |doc| match &value {
                    // `flag: true` (checked when the migration was read).
                    None => doc.set_flag(section, &key, &opts),
                    Some(value) => match op {
                        Operation::Set(_) => doc.set(section, &key, value, &opts),
                        Operation::Default(_) => doc.set_default(section, &key, value, &opts),
                        Operation::AddValue(_) => doc.add_value(section, &key, value, &opts),
                        _ => doc.remove_value(section, &key, value, &opts),
                    },
                });
                result.map_err(|e| at(hide_value(e, secret).into()))?;
                keep_secrecy(doc, secrecy, section, &key, flag, ci);
                if secret {
                    let raw = kv.value.iter().map(|v| v.0.as_str());
                    applied
                        .secret_vars
                        .extend(raw.flat_map(referenced_vars).map(str::to_owned));
                }
            }
            Operation::SetValues(kv) => {
                let (section, key) = (sub_opt(&kv.section)?, sub(&kv.key)?);
                let section = section.as_deref();
                let values = kv
                    .values
                    .iter()
                    .map(|v| sub(&v.0))
                    .collect::<Result<Vec<_>, _>>()?;
                remember(doc, secrecy, section, &key, &mut applied);
                let secret = flag.unwrap_or_else(|| is_secret(doc, secrecy, section, &key, ci));
                in_block(doc, section, block, ci, |doc| {
                    doc.set_values(section, &key, &values, &opts)
                })
                .map_err(|e| at(hide_value(e, secret).into()))?;
                keep_secrecy(doc, secrecy, section, &key, flag, ci);
                if secret {
                    let raw = kv.values.iter().map(|v| v.0.as_str());
                    applied
                        .secret_vars
                        .extend(raw.flat_map(referenced_vars).map(str::to_owned));
                }
            }
            // The content stays as it is; the file moves when it is written.
            Operation::MoveFile(_) => {}
            Operation::EnsureSection(s) => {
                let section = sub(&s.section)?;
                doc.ensure_section(&section, &opts)
                    .map_err(|e| at(e.into()))?;
            }
            Operation::ReplaceDefault(r) => {
                let (section, key) = (sub_opt(&r.section)?, sub(&r.key)?);
                let (from, to) = (sub(&r.from.0)?, sub(&r.to.0)?);
                let section = section.as_deref();
                let name = key_name(section, &key);
                let current =
                    in_block(doc, section, block, ci, |doc| doc.get(section, &key, &opts))
                        .map_err(|e| at(e.into()))?;
                match current {
                    Some(Some(v)) if v == from => {
                        // Only a key it changes counts as touched: a hand edit of
                        // it is the operator's choice, not a conflict to merge.
                        remember(doc, secrecy, section, &key, &mut applied);
                        let secret =
                            flag.unwrap_or_else(|| is_secret(doc, secrecy, section, &key, ci));
                        in_block(doc, section, block, ci, |doc| {
                            doc.set(section, &key, &to, &opts)
                        })
                        .map_err(|e| at(hide_value(e, secret).into()))?;
                        keep_secrecy(doc, secrecy, section, &key, flag, ci);
                    }
                    Some(Some(v)) if v == to => {}
                    None => applied.kept.push(format!(
                        "replace_default kept the operator's value of {name}: the key is absent \
                         (removed by hand), so the new default was not added"
                    )),
                    Some(_) => applied.kept.push(format!(
                        "replace_default kept the operator's value of {name}: it is not the old \
                         default, so the new default was not applied"
                    )),
                }
            }
            Operation::Delete(k) => {
                let (section, key) = (sub_opt(&k.section)?, sub(&k.key)?);
                let section = section.as_deref();
                remember(doc, secrecy, section, &key, &mut applied);
                let before = spellings(doc, section, &key, ci);
                in_block(doc, section, block, ci, |doc| {
                    doc.delete(section, &key, &opts)
                })
                .map_err(|e| at(e.into()))?;
                forget_gone(doc, secrecy, &before);
            }
            Operation::Rename(r) => {
                let (section, key) = (sub_opt(&r.section)?, sub(&r.key)?);
                let to_section = match &r.to_section {
                    Some(s) => Some(sub(s)?),
                    None => section.clone(),
                };
                let to_key = match &r.to_key {
                    Some(k) => sub(k)?,
                    None => key.clone(),
                };
                let (from, to) = (section.as_deref(), to_section.as_deref());
                remember(doc, secrecy, from, &key, &mut applied);
                remember(doc, secrecy, to, &to_key, &mut applied);
                let before = spellings(doc, from, &key, ci);
                let was_secret = is_secret(doc, secrecy, from, &key, ci);
                doc.rename(from, &key, to, &to_key, &opts)
                    .map_err(|e| at(e.into()))?;
                // The value keeps its secrecy under its new name.
                let carried = flag.or(was_secret.then_some(true));
                for (s, k) in &before {
                    secrecy.forget(s.as_deref(), k);
                }
                for (s, k) in spellings(doc, to, &to_key, ci) {
                    secrecy.mark(s.as_deref(), &k, carried);
                }
            }
            Operation::RenameSection(r) => {
                let (from, to) = (sub(&r.from)?, sub(&r.to)?);
                let mut moved = Vec::new();
                for name in [&from, &to] {
                    applied.touched.insert(format!("{name}.*"));
                    for e in doc.entries() {
                        if section_matches(e.section.as_deref(), name, ci) {
                            remember(doc, secrecy, e.section.as_deref(), &e.key, &mut applied);
                            if name == &from {
                                moved.push((e.section.clone(), e.key.clone()));
                            }
                        }
                    }
                }
                doc.rename_section(&from, &to, &opts)
                    .map_err(|e| at(e.into()))?;
                // Each key keeps its secrecy under the new section name.
                for (s, k) in &moved {
                    secrecy.carry((s.as_deref(), k), (Some(&to), k), flag);
                }
            }
            Operation::DeleteSection(s) => {
                let section = sub(&s.section)?;
                applied.touched.insert(format!("{section}.*"));
                let mut before = Vec::new();
                for e in doc.entries() {
                    if section_matches(e.section.as_deref(), &section, ci) {
                        remember(doc, secrecy, e.section.as_deref(), &e.key, &mut applied);
                        before.push((e.section.clone(), e.key.clone()));
                    }
                }
                doc.delete_section(&section, &opts)
                    .map_err(|e| at(e.into()))?;
                forget_gone(doc, secrecy, &before);
            }
        }
    }
    Ok(applied)
}

/// Marks each spelling of `key` in the file with the operation's `secret:` flag.
fn keep_secrecy(
    doc: &Document,
    secrecy: &mut Secrecy,
    section: Option<&str>,
    key: &str,
    flag: Option<bool>,
    ci: bool,
) {
    for (s, k) in spellings(doc, section, key, ci) {
        secrecy.mark(s.as_deref(), &k, flag);
    }
}

fn names_match(a: &str, b: &str, case_insensitive: bool) -> bool {
    if !case_insensitive || a == b {
        a == b
    } else if a.is_ascii() && b.is_ascii() {
        a.eq_ignore_ascii_case(b)
    } else {
        a.to_lowercase() == b.to_lowercase()
    }
}

/// Whether a key line's section and key are `section` and `key`.
fn is_key(found: (Option<&str>, &str), section: Option<&str>, key: &str, ci: bool) -> bool {
    let same_section = match (found.0, section) {
        (None, None) => true,
        (Some(a), Some(b)) => names_match(a, b, ci),
        _ => false,
    };
    same_section && names_match(found.1, key, ci)
}

fn section_matches(section: Option<&str>, name: &str, case_insensitive: bool) -> bool {
    section.is_some_and(|s| names_match(s, name, case_insensitive))
}

fn matching_entries<'a>(
    entries: &'a [crate::config::ini::Entry],
    section: Option<&'a str>,
    key: &'a str,
    ci: bool,
) -> impl Iterator<Item = &'a crate::config::ini::Entry> + 'a {
    entries
        .iter()
        .filter(move |e| is_key((e.section.as_deref(), &e.key), section, key, ci))
}

/// Runs `edit` on `doc`, inside one block of a repeated `[section]` when
/// the operation names one (`section_occurrence`).
pub fn in_block<R>(
    doc: &mut Document,
    section: Option<&str>,
    block: Option<usize>,
    ci: bool,
    edit: impl FnOnce(&mut Document) -> Result<R, EditError>,
) -> Result<R, EditError> {
    match (section, block) {
        (Some(s), Some(n)) => doc.in_block(s, n, ci, edit),
        _ => edit(doc),
    }
}

fn prior_value(
    doc: &Document,
    section: Option<&str>,
    key: &str,
    ci: bool,
    secret: bool,
    block: Option<usize>,
) -> PriorValue {
    let entries = doc.entries();
    let values = matching_entries(&entries, section, key, ci)
        .filter(|e| block.is_none() || doc.block_of_line(e.line) == block)
        .map(|e| {
            if secret {
                e.value.as_deref().map(hash_secret)
            } else {
                e.value.clone()
            }
        })
        .collect();
    PriorValue {
        section: section.map(str::to_owned),
        key: key.to_owned(),
        values,
        secret,
        block,
    }
}

/// The file's own spellings of a key (one, unless case-insensitive).
fn spellings(
    doc: &Document,
    section: Option<&str>,
    key: &str,
    ci: bool,
) -> Vec<(Option<String>, String)> {
    let mut out: Vec<(Option<String>, String)> = doc
        .key_names()
        .filter(|&found| is_key(found, section, key, ci))
        .map(|(s, k)| (s.map(str::to_owned), k.to_owned()))
        .collect();
    out.dedup();
    if out.is_empty() {
        out.push((section.map(str::to_owned), key.to_owned()));
    }
    out
}

/// Whether any spelling of the key holds a secret value.
fn is_secret(
    doc: &Document,
    secrecy: &Secrecy,
    section: Option<&str>,
    key: &str,
    ci: bool,
) -> bool {
    spellings(doc, section, key, ci)
        .iter()
        .any(|(s, k)| secrecy.is_secret(s.as_deref(), k))
}

/// Forgets the secrecy of keys that are no longer in the file.
fn forget_gone(doc: &Document, secrecy: &mut Secrecy, keys: &[(Option<String>, String)]) {
    for (s, k) in keys {
        if !doc
            .key_names()
            .any(|found| is_key(found, s.as_deref(), k, false))
        {
            secrecy.forget(s.as_deref(), k);
        }
    }
}

/// An invalid secret value is named by its key only.
fn hide_value(e: EditError, secret: bool) -> EditError {
    match e {
        EditError::InvalidValue {
            section,
            key,
            reason,
            ..
        } if secret => EditError::InvalidValue {
            section,
            key,
            value: "********".to_owned(),
            reason,
        },
        e => e,
    }
}

/// Which keys differ between two key maps.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize, schemars::JsonSchema)]
pub struct KeyChanges {
    pub changed: Vec<String>,
    pub added: Vec<String>,
    pub removed: Vec<String>,
}

impl KeyChanges {
    pub fn between(
        before: &BTreeMap<String, Vec<Option<String>>>,
        after: &BTreeMap<String, Vec<Option<String>>>,
    ) -> KeyChanges {
        let mut c = KeyChanges::default();
        for (k, v) in before {
            match after.get(k) {
                None => c.removed.push(k.clone()),
                Some(w) if w != v => c.changed.push(k.clone()),
                Some(_) => {}
            }
        }
        c.added = after
            .keys()
            .filter(|k| !before.contains_key(*k))
            .cloned()
            .collect();
        c
    }

    pub fn is_empty(&self) -> bool {
        self.changed.is_empty() && self.added.is_empty() && self.removed.is_empty()
    }

    pub fn all(&self) -> impl Iterator<Item = &String> {
        self.changed.iter().chain(&self.added).chain(&self.removed)
    }

    /// The hand-edited keys that `touched` (keys and `section.*`) covers.
    pub fn conflicts_with(&self, touched: &BTreeSet<String>) -> Vec<String> {
        self.all()
            .filter(|k| {
                touched.contains(*k)
                    || touched.iter().any(|t| {
                        t.strip_suffix(".*")
                            .is_some_and(|section| k.starts_with(&format!("{section}.")))
                    })
            })
            .cloned()
            .collect()
    }
}
