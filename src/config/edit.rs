//! Applies a config migration's operations to an INI [`Document`] in
//! memory, recording what each touched (for drift checks and `merge`) and
//! the prior values (for rollback). Writes nothing.

use crate::checksum::Checksum;
use crate::config::ini::{Document, MatchOptions, Occurrence};
use crate::config::migration::{substitute, ConfigMigration, Operation};
use crate::config::state::PriorValue;
use std::collections::{BTreeMap, BTreeSet};

/// `section.key` (or `key` before the first section): how keys are named in
/// reports and drift.
pub fn key_name(section: Option<&str>, key: &str) -> String {
    match section {
        Some(s) => format!("{s}.{key}"),
        None => key.to_owned(),
    }
}

/// What applying one migration did.
#[derive(Debug, Default)]
pub struct Applied {
    pub prior: Vec<PriorValue>,
    /// Keys touched, `section.key`; a whole section as `section.*`.
    pub touched: BTreeSet<String>,
    /// Keys now holding secret values, as spelled in the file.
    pub secret_keys: BTreeSet<String>,
    /// Secret values written, to mask wherever they might show.
    pub secret_values: Vec<String>,
}

/// Every key's values, by `section.key`, with secret ones hashed.
pub fn key_values(
    doc: &Document,
    secret_keys: &BTreeSet<String>,
) -> BTreeMap<String, Vec<Option<String>>> {
    let mut out: BTreeMap<String, Vec<Option<String>>> = BTreeMap::new();
    for e in doc.entries() {
        let name = key_name(e.section.as_deref(), &e.key);
        let value = if secret_keys.contains(&name) {
            e.value.map(|v| hash_secret(&v))
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

/// A copy of `doc` with each secret key's value replaced by `mask(value)`.
pub fn masked(
    doc: &Document,
    secret_keys: &BTreeSet<String>,
    mask: impl Fn(&str) -> String,
) -> Document {
    let mut copy = doc.for_masking();
    for e in doc.entries() {
        let name = key_name(e.section.as_deref(), &e.key);
        if let (true, Some(value)) = (secret_keys.contains(&name), &e.value) {
            let opts = MatchOptions {
                case_insensitive: false,
                occurrence: Occurrence::All,
            };
            let _ = copy.set(e.section.as_deref(), &e.key, &mask(value), &opts);
        }
    }
    copy
}

/// Applies `m` to `doc`; on error names the operation and what went wrong.
pub fn apply(
    doc: &mut Document,
    m: &ConfigMigration,
    vars: &BTreeMap<String, String>,
) -> Result<Applied, String> {
    let mut applied = Applied::default();
    let mut recorded: BTreeSet<(Option<String>, String)> = BTreeSet::new();
    for (index, op) in m.operations.iter().enumerate() {
        let at = |e: String| format!("operation {} ({}): {e}", index + 1, op.name());
        let sub = |s: &str| substitute(s, vars).map_err(at);
        let sub_opt = |s: &Option<String>| s.as_deref().map(sub).transpose();
        let opts = op.match_options(m.case_insensitive);
        let secret = op.is_secret();
        let mut remember =
            |doc: &Document, section: Option<&str>, key: &str, applied: &mut Applied| {
                applied.touched.insert(key_name(section, key));
                if recorded.insert((section.map(str::to_owned), key.to_owned())) {
                    applied
                        .prior
                        .push(prior_value(doc, section, key, m.case_insensitive, secret));
                }
            };
        match op {
            Operation::Set(kv) | Operation::Default(kv) => {
                let (section, key, value) =
                    (sub_opt(&kv.section)?, sub(&kv.key)?, sub(&kv.value.0)?);
                remember(doc, section.as_deref(), &key, &mut applied);
                let result = if matches!(op, Operation::Set(_)) {
                    doc.set(section.as_deref(), &key, &value, &opts)
                } else {
                    doc.set_default(section.as_deref(), &key, &value, &opts)
                };
                result.map_err(|e| at(e.to_string()))?;
                if secret {
                    applied.secret_values.push(value);
                    mark_secret(
                        doc,
                        section.as_deref(),
                        &key,
                        m.case_insensitive,
                        &mut applied.secret_keys,
                    );
                }
            }
            Operation::Delete(k) => {
                let (section, key) = (sub_opt(&k.section)?, sub(&k.key)?);
                remember(doc, section.as_deref(), &key, &mut applied);
                doc.delete(section.as_deref(), &key, &opts)
                    .map_err(|e| at(e.to_string()))?;
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
                remember(doc, section.as_deref(), &key, &mut applied);
                remember(doc, to_section.as_deref(), &to_key, &mut applied);
                doc.rename(
                    section.as_deref(),
                    &key,
                    to_section.as_deref(),
                    &to_key,
                    &opts,
                )
                .map_err(|e| at(e.to_string()))?;
                if secret {
                    mark_secret(
                        doc,
                        to_section.as_deref(),
                        &to_key,
                        m.case_insensitive,
                        &mut applied.secret_keys,
                    );
                }
            }
            Operation::RenameSection(r) => {
                let (from, to) = (sub(&r.from)?, sub(&r.to)?);
                for name in [&from, &to] {
                    applied.touched.insert(format!("{name}.*"));
                    for e in doc.entries() {
                        if section_matches(e.section.as_deref(), name, m.case_insensitive) {
                            remember(doc, e.section.as_deref(), &e.key, &mut applied);
                        }
                    }
                }
                doc.rename_section(&from, &to, &opts)
                    .map_err(|e| at(e.to_string()))?;
            }
            Operation::DeleteSection(s) => {
                let section = sub(&s.section)?;
                applied.touched.insert(format!("{section}.*"));
                for e in doc.entries() {
                    if section_matches(e.section.as_deref(), &section, m.case_insensitive) {
                        remember(doc, e.section.as_deref(), &e.key, &mut applied);
                    }
                }
                doc.delete_section(&section, &opts)
                    .map_err(|e| at(e.to_string()))?;
            }
        }
    }
    Ok(applied)
}

fn names_match(a: &str, b: &str, case_insensitive: bool) -> bool {
    if case_insensitive {
        a.to_lowercase() == b.to_lowercase()
    } else {
        a == b
    }
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
    entries.iter().filter(move |e| {
        let same_section = match (e.section.as_deref(), section) {
            (None, None) => true,
            (Some(a), Some(b)) => names_match(a, b, ci),
            _ => false,
        };
        same_section && names_match(&e.key, key, ci)
    })
}

fn prior_value(
    doc: &Document,
    section: Option<&str>,
    key: &str,
    ci: bool,
    secret: bool,
) -> PriorValue {
    let entries = doc.entries();
    let values = matching_entries(&entries, section, key, ci)
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
    }
}

/// Records the file's own spelling of a secret key.
fn mark_secret(
    doc: &Document,
    section: Option<&str>,
    key: &str,
    ci: bool,
    out: &mut BTreeSet<String>,
) {
    let entries = doc.entries();
    for e in matching_entries(&entries, section, key, ci) {
        out.insert(key_name(e.section.as_deref(), &e.key));
    }
}

/// Which keys differ between two key maps.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
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
