//! Config migrations as written in `config-migrations/<version>_<slug>.yaml`:
//! one target INI file, a phase, and declarative operations. Parsing and
//! `${KEY}` substitution live here; editing lives in [`crate::config::ini`].

use crate::checksum::Checksum;
use crate::config::ini::{MatchOptions, Occurrence, Syntax};
use crate::error::SourceError;
use crate::vocabulary::{Phase, Version};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A config migration, parsed, its values not yet substituted.
#[derive(Debug, Clone)]
pub struct ConfigMigration {
    pub version: Version,
    pub slug: String,
    /// Relative to the config-migrations directory.
    pub path: PathBuf,
    pub checksum: Checksum,
    pub description: Option<String>,
    /// The target file, relative to the config root.
    pub file: String,
    pub phase: Phase,
    pub create: bool,
    /// For a file `create` makes: its mode, owner and group.
    pub new_file: NewFile,
    pub case_insensitive: bool,
    /// The dialect named by `syntax:`; `None` means "from the file name".
    pub syntax: Option<Syntax>,
    pub operations: Vec<Operation>,
}

impl crate::migration_files::Versioned for ConfigMigration {
    fn version(&self) -> &Version {
        &self.version
    }
    fn set_relative_path(&mut self, path: PathBuf) {
        self.path = path;
    }
    fn relative_path(&self) -> &Path {
        &self.path
    }
}

/// What a file `create` makes gets: `mode` (octal, `"0640"`), `owner`
/// and `group` (names or numeric ids). `None`: lockstep's default mode
/// (0644, 0640 when a value is secret), the running user and its group.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NewFile {
    pub mode: Option<u32>,
    pub owner: Option<String>,
    pub group: Option<String>,
}

/// The YAML document, as serde reads it; unknown fields are errors.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct Document {
    #[serde(default)]
    description: Option<String>,
    file: String,
    #[serde(default)]
    phase: Option<String>,
    #[serde(default)]
    create: bool,
    #[serde(default)]
    mode: Option<ScalarString>,
    #[serde(default)]
    owner: Option<ScalarString>,
    #[serde(default)]
    group: Option<ScalarString>,
    #[serde(default)]
    case_insensitive: bool,
    #[serde(default)]
    syntax: Option<String>,
    /// `- set: {…}` items: single-key maps naming the operation.
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    operations: Vec<Operation>,
}

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

/// Parses one config migration; `path` names it in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ConfigMigration, SourceError> {
    let (version, slug) = crate::migration_files::parse_file_name(path)?;
    let checksum = Checksum::of_migration(bytes);
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| SourceError::new(path.to_path_buf(), None, format!("not UTF-8: {e}")))?;
    let doc: Document = serde_yaml::from_str(text).map_err(|e| {
        SourceError::new(
            path.to_path_buf(),
            e.location().map(|l| l.line()),
            strip_location(&e.to_string()).to_owned(),
        )
    })?;
    let phase = match doc.phase.as_deref() {
        None | Some("expand") => Phase::Expand,
        Some("contract") => Phase::Contract,
        Some(other) => {
            return Err(SourceError::new(
                path.to_path_buf(),
                line_of(text, "phase:"),
                format!("unknown phase `{other}`: expected expand or contract"),
            ))
        }
    };
    let syntax = match doc.syntax.as_deref().map(str::parse::<Syntax>) {
        None => None,
        Some(Ok(syntax)) => Some(syntax),
        Some(Err(e)) => {
            return Err(SourceError::new(
                path.to_path_buf(),
                line_of(text, "syntax:"),
                e,
            ))
        }
    };
    for (n, op) in doc.operations.iter().enumerate() {
        if let Some(problem) = op.check() {
            return Err(SourceError::new(
                path.to_path_buf(),
                line_of_nth(text, op.name(), n, &doc.operations),
                format!("operation {} ({}): {problem}", n + 1, op.name()),
            ));
        }
    }
    if let Some(second) = doc
        .operations
        .iter()
        .enumerate()
        .filter(|(_, o)| matches!(o, Operation::MoveFile(_)))
        .nth(1)
    {
        return Err(SourceError::new(
            path.to_path_buf(),
            line_of_nth(text, "move_file", second.0, &doc.operations),
            "a migration moves its file once: put the second `move_file` in a later migration"
                .to_owned(),
        ));
    }
    if doc.file.trim().is_empty() {
        return Err(SourceError::new(
            path.to_path_buf(),
            line_of(text, "file:"),
            "`file` is empty".to_owned(),
        ));
    }
    if doc.operations.is_empty() {
        return Err(SourceError::new(
            path.to_path_buf(),
            line_of(text, "operations:"),
            "`operations` is empty: nothing to do".to_owned(),
        ));
    }
    let mode = match &doc.mode {
        None => None,
        Some(ScalarString(written)) => Some(
            u32::from_str_radix(written.trim_start_matches("0o"), 8)
                .ok()
                .filter(|m| *m <= 0o7777)
                .ok_or_else(|| {
                    SourceError::new(
                        path.to_path_buf(),
                        line_of(text, "mode:"),
                        format!("mode `{written}` is not an octal file mode such as \"0640\""),
                    )
                })?,
        ),
    };
    let new_file = NewFile {
        mode,
        owner: doc.owner.map(|o| o.0),
        group: doc.group.map(|g| g.0),
    };
    if new_file != NewFile::default() && !doc.create {
        return Err(SourceError::new(
            path.to_path_buf(),
            ["mode:", "owner:", "group:"]
                .iter()
                .find_map(|p| line_of(text, p)),
            "`mode`, `owner` and `group` are for a file `create: true` makes; \
             lockstep keeps an existing file's own"
                .to_owned(),
        ));
    }
    Ok(ConfigMigration {
        version,
        slug,
        path: path.to_path_buf(),
        checksum,
        description: doc.description,
        file: doc.file,
        phase,
        create: doc.create,
        new_file,
        case_insensitive: doc.case_insensitive,
        syntax,
        operations: doc.operations,
    })
}

impl Operation {
    /// What is wrong with the fields serde cannot judge alone.
    fn check(&self) -> Option<&'static str> {
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

impl ConfigMigration {
    /// Where a `move_file` operation moves the file, as written.
    pub fn move_to(&self) -> Option<&str> {
        self.operations.iter().find_map(|o| match o {
            Operation::MoveFile(m) => Some(m.to.as_str()),
            _ => None,
        })
    }
}

/// The line of the `n`-th operation, for messages: the n-th line that
/// names an operation, when they are written one per line.
fn line_of_nth(text: &str, _name: &str, n: usize, ops: &[Operation]) -> Option<usize> {
    let names: Vec<&str> = ops.iter().map(Operation::name).collect();
    text.lines()
        .enumerate()
        .filter(|(_, l)| {
            let t = l.trim_start().trim_start_matches("- ");
            names.iter().any(|name| t.starts_with(&format!("{name}:")))
        })
        .nth(n)
        .map(|(i, _)| i + 1)
}

/// serde_yaml appends " at line L column C"; the line is already in front.
fn strip_location(message: &str) -> &str {
    message.find(" at line ").map_or(message, |i| &message[..i])
}

fn line_of(text: &str, prefix: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(prefix))
        .map(|i| i + 1)
}

/// The names of the `${KEY}` variables `text` uses.
pub fn referenced_vars(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            rest = literal;
        } else if let Some((name, tail)) = after.strip_prefix('{').and_then(|b| b.split_once('}')) {
            names.push(name);
            rest = tail;
        } else {
            rest = after;
        }
    }
    names
}

/// Replaces `${KEY}` with its value; `$${` is a literal `${`. A missing
/// variable is an error naming it.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Result<String, String> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            out.push_str("${");
            rest = literal;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body
                .find('}')
                .ok_or_else(|| format!("unclosed `${{` in `{text}`"))?;
            let name = &body[..end];
            let value = vars.get(name).ok_or_else(|| {
                format!("variable `{name}` is not set; pass --var {name}=VALUE, add it to a --vars-file, or to [vars] in lockstep.ini")
            })?;
            out.push_str(value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse_text(text: &str) -> Result<ConfigMigration, SourceError> {
        parse(Path::new("0001_cache.yaml"), text.as_bytes())
    }

    #[test]
    fn parses_every_operation() {
        let m = parse_text(
            "description: d\nfile: app.ini\nphase: contract\ncreate: true\noperations:\n\
             - set: {section: cache, key: backend, value: redis, secret: true}\n\
             - default: {section: cache, key: ttl, value: 300}\n\
             - rename: {section: options, key: cache, to_section: cache, to_key: backend}\n\
             - delete: {section: options, key: x, occurrence: all}\n\
             - rename_section: {from: old, to: new}\n\
             - delete_section: {section: legacy}\n\
             - set: {key: top, value: true}\n",
        )
        .unwrap();
        assert_eq!(m.phase, Phase::Contract);
        assert!(m.create);
        assert_eq!(m.operations.len(), 7);
        assert!(m.operations[0].is_secret());
        assert_eq!(
            m.operations[1],
            Operation::Default(KeyValue {
                section: Some("cache".into()),
                key: "ttl".into(),
                value: Some(ScalarString("300".into())),
                flag: false,
                secret: None,
                occurrence: None,
                section_occurrence: None,
                modify_inactive: true,
            })
        );
        assert_eq!(
            m.operations[3].match_options(false).occurrence,
            Occurrence::All
        );
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse_text("file: a.ini\noperations:\n  - set: {section: a, key: b, value: c}\n  - sett: {section: a}\n").unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("unknown variant `sett`"), "{e}");
        let e = parse_text("file: a.ini\noperations: [\n").unwrap_err();
        assert!(e.line.is_some(), "{e}");
        let e = parse_text("file: a.ini\nphase: later\noperations:\n  - delete: {key: a}\n")
            .unwrap_err();
        assert_eq!(e.line, Some(2));
    }

    #[test]
    fn unquoted_scalars_keep_their_source_text() {
        for text in [
            "1.10", "0o17", "0x10", "+5", "1.0e3", "007", "true", "yes", "-0", ".inf", "300",
        ] {
            let m = parse_text(&format!(
                "file: a.ini\noperations:\n  - set: {{section: a, key: b, value: {text}}}\n"
            ))
            .unwrap();
            let Operation::Set(kv) = &m.operations[0] else {
                panic!("{:?}", m.operations[0]);
            };
            assert_eq!(kv.value.as_ref().unwrap().0, text);
        }
        let m = parse_text("file: a.ini\noperations:\n  - set: {key: b, value: \"null\"}\n  - set: {key: c, value: 'x\\ty'}\n  - set: {key: d, value: \"x\\ty\"}\n").unwrap();
        let values: Vec<String> = m
            .operations
            .iter()
            .map(|o| match o {
                Operation::Set(kv) => kv.value.as_ref().unwrap().0.clone(),
                _ => unreachable!(),
            })
            .collect();
        assert_eq!(values, ["null", "x\\ty", "x\ty"]);
        for absent in ["null", "~", ""] {
            let e = parse_text(&format!(
                "file: a.ini\noperations:\n  - set: {{key: b, value: {absent}}}\n"
            ))
            .unwrap_err();
            assert!(e.message.contains("must be a string"), "{absent}: {e}");
        }
        let e =
            parse_text("file: a.ini\noperations:\n  - set: {key: b, value: [1]}\n").unwrap_err();
        assert!(e.message.contains("must be a string"), "{e}");
    }

    #[test]
    fn move_file_once_with_a_path() {
        let m = parse_text("file: a.ini\noperations:\n  - set: {key: b, value: 1}\n  - move_file: {to: etc/a.ini}\n").unwrap();
        assert_eq!(m.move_to(), Some("etc/a.ini"));
        let e = parse_text(
            "file: a.ini\noperations:\n  - move_file: {to: b.ini}\n  - move_file: {to: c.ini}\n",
        )
        .unwrap_err();
        assert_eq!(e.line, Some(4), "{e}");
        assert!(e.message.contains("moves its file once"), "{e}");
        let e = parse_text("file: a.ini\noperations:\n  - move_file: {to: \"\"}\n").unwrap_err();
        assert!(e.message.contains("(move_file): `to` is empty"), "{e}");
    }

    #[test]
    fn substitution() {
        let vars: BTreeMap<String, String> = [("a".to_owned(), "1".to_owned())].into();
        assert_eq!(substitute("x${a}y$${a}$", &vars).unwrap(), "x1y${a}$");
        assert!(substitute("${b}", &vars).unwrap_err().contains("`b`"));
        assert_eq!(
            referenced_vars("pg://u:${pw}@${host}/$${lit}${x"),
            ["pw", "host"]
        );
    }
}
