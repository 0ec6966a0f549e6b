//! Config migrations as written in `config-migrations/<version>_<slug>.yaml`:
//! one target INI file, a phase, and declarative operations. Parsing and
//! validation live here, the operations in `migration/operation.rs`,
//! `${KEY}` substitution in `migration/vars.rs`; editing lives in
//! [`crate::config::ini`].

mod operation;
mod vars;

pub use operation::{
    Key, KeyValue, KeyValues, MoveFile, OccurrenceSpec, Operation, Rename, RenameSection,
    ReplaceDefault, ScalarString, SectionRef,
};
pub use vars::{referenced_vars, substitute, VarError};

use crate::checksum::Checksum;
use crate::config::ini::Syntax;
use crate::error::SourceError;
use crate::vocabulary::{Phase, Version};
use serde::Deserialize;
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

/// Parses one config migration; `path` names it in messages.
pub fn parse(path: &Path, bytes: &[u8]) -> Result<ConfigMigration, SourceError> {
    let (version, slug) = crate::migration_files::parse_file_name(path)?;
    let checksum = Checksum::of_migration(bytes);
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| SourceError::new(path.to_path_buf(), None, format!("not UTF-8: {e}")))?;
    let doc: Document = serde_yaml::from_str(text).map_err(|e| {
        let (line, message) = crate::error::yaml_error(text, &e);
        SourceError::new(path.to_path_buf(), line, message)
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
                e.to_string(),
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

fn line_of(text: &str, prefix: &str) -> Option<usize> {
    text.lines()
        .position(|l| l.trim_start().starts_with(prefix))
        .map(|i| i + 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ini::Occurrence;
    use std::collections::BTreeMap;

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
        assert!(substitute("${b}", &vars)
            .unwrap_err()
            .to_string()
            .contains("`b`"));
        assert_eq!(
            referenced_vars("pg://u:${pw}@${host}/$${lit}${x"),
            ["pw", "host"]
        );
    }
}
