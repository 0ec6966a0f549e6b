//! The operations a config migration lists (`set`, `rename`,
//! `move_file`, ...) as serde reads them, with what each one means for
//! matching (occurrence, inactive lines), secrecy and the checks serde
//! cannot make alone.

use crate::config::ini::{MatchOptions, Occurrence};
use serde::Deserialize;

/// One operation. `section` omitted means the keys before the first
/// section header.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    Set(KeyValue),
    Default(KeyValue),
    Rename(Rename),
    Delete(Key),
    RenameSection(RenameSection),
    DeleteSection(SectionRef),
    AddValue(KeyValue),
    RemoveValue(KeyValue),
    SetValues(KeyValues),
    EnsureSection(SectionRef),
    ReplaceDefault(ReplaceDefault),
    MoveFile(MoveFile),
}

/// `move_file: {to: PATH}`: the file moves to `to` (inside the config
/// root), its state, checksums and drift tracking with it.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct MoveFile {
    pub to: String,
}

/// `set_values: {section, key, values: [...]}`: exactly these values.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeyValues {
    #[serde(default)]
    pub section: Option<String>,
    pub key: String,
    pub values: Vec<ScalarString>,
    #[serde(default)]
    pub secret: Option<bool>,
    /// Which of several `[section]` blocks of the same name (0-based):
    /// the key is looked up, and added, in that block only.
    #[serde(default)]
    pub section_occurrence: Option<usize>,
    #[serde(default = "yes")]
    pub modify_inactive: bool,
}

/// `replace_default: {section, key, from: OLD, to: NEW}`: the value
/// changes only while it is still the old default.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct ReplaceDefault {
    #[serde(default)]
    pub section: Option<String>,
    pub key: String,
    pub from: ScalarString,
    pub to: ScalarString,
    #[serde(default)]
    pub secret: Option<bool>,
    #[serde(default)]
    pub occurrence: Option<OccurrenceSpec>,
    /// Which of several `[section]` blocks of the same name (0-based):
    /// the key is looked up, and added, in that block only.
    #[serde(default)]
    pub section_occurrence: Option<usize>,
}

fn yes() -> bool {
    true
}

/// A `value:` that is written: read as [`ScalarString`] reads it.
fn present_scalar<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<ScalarString>, D::Error> {
    ScalarString::deserialize(d).map(Some)
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct KeyValue {
    #[serde(default)]
    pub section: Option<String>,
    pub key: String,
    /// `None` with `flag: true`: a key without a value (an explicit
    /// `value: null` is still refused, as no value at all).
    #[serde(default, deserialize_with = "present_scalar")]
    pub value: Option<ScalarString>,
    /// `flag: true`: write the key without a value (`skip-name-resolve`).
    #[serde(default)]
    pub flag: bool,
    /// `true`: the value is secret; `false`: it is not, although the key's
    /// name looks secret; absent: the key keeps the secrecy it had.
    #[serde(default)]
    pub secret: Option<bool>,
    #[serde(default)]
    pub occurrence: Option<OccurrenceSpec>,
    /// Which of several `[section]` blocks of the same name (0-based):
    /// the key is looked up, and added, in that block only.
    #[serde(default)]
    pub section_occurrence: Option<usize>,
    /// `false`: never turn a commented-out `;key = x` into the key.
    #[serde(default = "yes")]
    pub modify_inactive: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Key {
    #[serde(default)]
    pub section: Option<String>,
    pub key: String,
    /// `true`: the value is secret; `false`: it is not, although the key's
    /// name looks secret; absent: the key keeps the secrecy it had.
    #[serde(default)]
    pub secret: Option<bool>,
    #[serde(default)]
    pub occurrence: Option<OccurrenceSpec>,
    /// Which of several `[section]` blocks of the same name (0-based):
    /// the key is looked up, and added, in that block only.
    #[serde(default)]
    pub section_occurrence: Option<usize>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Rename {
    #[serde(default)]
    pub section: Option<String>,
    pub key: String,
    /// Defaults to `section`.
    #[serde(default)]
    pub to_section: Option<String>,
    /// Defaults to `key`.
    #[serde(default)]
    pub to_key: Option<String>,
    /// `true`: the value is secret; `false`: it is not, although the key's
    /// name looks secret; absent: the key keeps the secrecy it had.
    #[serde(default)]
    pub secret: Option<bool>,
    #[serde(default)]
    pub occurrence: Option<OccurrenceSpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct RenameSection {
    pub from: String,
    pub to: String,
    /// `true`: the value is secret; `false`: it is not, although the key's
    /// name looks secret; absent: the key keeps the secrecy it had.
    #[serde(default)]
    pub secret: Option<bool>,
    #[serde(default)]
    pub occurrence: Option<OccurrenceSpec>,
}

#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct SectionRef {
    pub section: String,
    /// `true`: the value is secret; `false`: it is not, although the key's
    /// name looks secret; absent: the key keeps the secrecy it had.
    #[serde(default)]
    pub secret: Option<bool>,
    #[serde(default)]
    pub occurrence: Option<OccurrenceSpec>,
}

/// A value written as a YAML string, number or boolean (`ttl: 300`), kept
/// as its source text: an unquoted `1.10`, `0o17` or `+5` is written to the
/// file exactly so, not as the number YAML would read (`1.1`, `15`, `5`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScalarString(pub String);

impl<'de> Deserialize<'de> for ScalarString {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        /// `null`, `~` or nothing: refused, it is no value at all.
        struct Present;
        /// A scalar's text as written (quotes and escapes resolved).
        struct Text;
        const EXPECTED: &str = "a value must be a string, number or boolean";
        impl<'de> serde::de::Visitor<'de> for Present {
            type Value = ScalarString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_none<E: serde::de::Error>(self) -> Result<ScalarString, E> {
                Err(E::custom(format!(
                    "{EXPECTED}; write `\"\"` for an empty value"
                )))
            }
            fn visit_unit<E: serde::de::Error>(self) -> Result<ScalarString, E> {
                self.visit_none()
            }
            fn visit_some<D: serde::Deserializer<'de>>(
                self,
                d: D,
            ) -> Result<ScalarString, D::Error> {
                d.deserialize_str(Text)
            }
        }
        impl serde::de::Visitor<'_> for Text {
            type Value = ScalarString;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<ScalarString, E> {
                Ok(ScalarString(v.to_owned()))
            }
        }
        d.deserialize_option(Present)
    }
}

/// `occurrence: first | last | all | <index>` for duplicated keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OccurrenceSpec(pub Occurrence);

impl<'de> Deserialize<'de> for OccurrenceSpec {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = match serde_yaml::Value::deserialize(d)? {
            serde_yaml::Value::String(s) => s,
            serde_yaml::Value::Number(n) => n.to_string(),
            _ => {
                return Err(serde::de::Error::custom(
                    "occurrence must be first, last, all or an index",
                ))
            }
        };
        text.parse::<Occurrence>()
            .map(OccurrenceSpec)
            .map_err(serde::de::Error::custom)
    }
}

impl Operation {
    pub fn name(&self) -> &'static str {
        match self {
            Operation::Set(_) => "set",
            Operation::Default(_) => "default",
            Operation::Rename(_) => "rename",
            Operation::Delete(_) => "delete",
            Operation::RenameSection(_) => "rename_section",
            Operation::DeleteSection(_) => "delete_section",
            Operation::AddValue(_) => "add_value",
            Operation::RemoveValue(_) => "remove_value",
            Operation::SetValues(_) => "set_values",
            Operation::EnsureSection(_) => "ensure_section",
            Operation::ReplaceDefault(_) => "replace_default",
            Operation::MoveFile(_) => "move_file",
        }
    }

    /// The operation's `secret:` flag, if it has one.
    pub fn secret_flag(&self) -> Option<bool> {
        match self {
            Operation::Set(kv)
            | Operation::Default(kv)
            | Operation::AddValue(kv)
            | Operation::RemoveValue(kv) => kv.secret,
            Operation::Rename(r) => r.secret,
            Operation::Delete(k) => k.secret,
            Operation::RenameSection(r) => r.secret,
            Operation::DeleteSection(s) | Operation::EnsureSection(s) => s.secret,
            Operation::SetValues(kv) => kv.secret,
            Operation::ReplaceDefault(r) => r.secret,
            Operation::MoveFile(_) => None,
        }
    }

    /// The `section_occurrence:` of a key operation, if it has one.
    pub fn section_block(&self) -> Option<usize> {
        self.key_section().and_then(|(_, block)| block)
    }

    /// A key operation's `section:` and `section_occurrence:`.
    fn key_section(&self) -> Option<(&Option<String>, Option<usize>)> {
        match self {
            Operation::Set(kv)
            | Operation::Default(kv)
            | Operation::AddValue(kv)
            | Operation::RemoveValue(kv) => Some((&kv.section, kv.section_occurrence)),
            Operation::SetValues(kv) => Some((&kv.section, kv.section_occurrence)),
            Operation::Delete(k) => Some((&k.section, k.section_occurrence)),
            Operation::ReplaceDefault(r) => Some((&r.section, r.section_occurrence)),
            Operation::Rename(_)
            | Operation::RenameSection(_)
            | Operation::DeleteSection(_)
            | Operation::EnsureSection(_)
            | Operation::MoveFile(_) => None,
        }
    }

    pub fn is_secret(&self) -> bool {
        self.secret_flag() == Some(true)
    }

    /// Match options for this operation in a migration.
    pub fn match_options(&self, case_insensitive: bool) -> MatchOptions {
        let (occurrence, modify_inactive) = match self {
            Operation::Set(kv)
            | Operation::Default(kv)
            | Operation::AddValue(kv)
            | Operation::RemoveValue(kv) => (kv.occurrence, kv.modify_inactive),
            Operation::SetValues(kv) => (None, kv.modify_inactive),
            Operation::Rename(r) => (r.occurrence, true),
            Operation::Delete(k) => (k.occurrence, true),
            Operation::RenameSection(r) => (r.occurrence, true),
            Operation::DeleteSection(s) | Operation::EnsureSection(s) => (s.occurrence, true),
            Operation::ReplaceDefault(r) => (r.occurrence, true),
            Operation::MoveFile(_) => (None, true),
        };
        MatchOptions {
            case_insensitive,
            occurrence: occurrence.map_or(Occurrence::Unique, |o| o.0),
            keep_inactive: !modify_inactive,
        }
    }
}

impl Operation {
    /// What is wrong with the fields serde cannot judge alone.
    pub(super) fn check(&self) -> Option<&'static str> {
        if matches!(self.key_section(), Some((None, Some(_)))) {
            return Some("`section_occurrence` needs a `section`: the keys before the first header have no blocks");
        }
        match self {
            Operation::Set(kv) => match (&kv.value, kv.flag) {
                (Some(_), true) => Some("`value` and `flag: true` exclude each other"),
                (None, false) => Some("needs a `value`, or `flag: true` for a key without one"),
                _ => None,
            },
            Operation::Default(kv) | Operation::AddValue(kv) | Operation::RemoveValue(kv) => {
                match (&kv.value, kv.flag) {
                    (None, _) => Some("needs a `value`"),
                    (_, true) => Some("`flag` is for `set` only"),
                    _ => None,
                }
            }
            Operation::MoveFile(m) if m.to.trim().is_empty() => Some("`to` is empty"),
            _ => None,
        }
    }
}
