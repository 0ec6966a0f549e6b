//! Reads lockstep.ini: `[lockstep]` settings and `[vars]` values, each with
//! the line it came from so every message can point at it.
//!
//! Values are read literally: no quote stripping, no backslash escapes, no
//! inline comments (`key = a ; b` is `a ; b`), so a password such as
//! `pa\ss\tw0rd` arrives as written. A line is a `[section]` header, a
//! `key = value` (or `key: value`, whichever delimiter comes first), a
//! comment (`;` or `#`) or blank; anything else is an error with its line
//! number, as is a header without its closing `]`.

use anyhow::{bail, Context, Result};
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

/// A value and the 1-based line it is on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    pub value: String,
    pub line: usize,
}

/// The parsed file: settings from `[lockstep]`, values from `[vars]`.
#[derive(Debug, Default)]
pub struct SettingsFile {
    pub path: PathBuf,
    pub settings: BTreeMap<String, Entry>,
    pub vars: BTreeMap<String, Entry>,
}

/// The keys `[lockstep]` accepts: the long options with `_` for `-`.
pub const KEYS: &[&str] = &[
    "database",
    "migrations",
    "migrations_format",
    "config_migrations",
    "config_root",
    "state_dir",
    "phase",
    "format",
    "check",
    "diff",
    "vars_file",
    "on_drift",
    "lock_timeout",
    "host_id",
    "secret_keys",
];

impl SettingsFile {
    pub fn read(path: &Path) -> Result<SettingsFile> {
        // Never blocks: a FIFO (or a device) is refused, not waited on.
        let text = crate::files::read_regular_text(path)
            .with_context(|| format!("cannot read the settings file {}", path.display()))?;
        Self::parse(path, &text)
    }

    pub fn parse(path: &Path, text: &str) -> Result<SettingsFile> {
        let mut file = SettingsFile {
            path: path.to_path_buf(),
            ..SettingsFile::default()
        };
        let at = |line: usize| format!("{}:{line}", path.display());
        let mut section: Option<String> = None;
        let text = text.strip_prefix('\u{feff}').unwrap_or(text);
        for (index, raw) in text.lines().enumerate() {
            let line = index + 1;
            let trimmed = raw.trim();
            if trimmed.is_empty() || trimmed.starts_with(';') || trimmed.starts_with('#') {
                continue;
            }
            if let Some(header) = trimmed.strip_prefix('[') {
                let Some(name) = header.strip_suffix(']') else {
                    bail!(
                        "{}: the section header `{trimmed}` has no closing `]`; \
                         write it as [lockstep] or [vars]",
                        at(line)
                    );
                };
                let name = name.trim();
                if name != "lockstep" && name != "vars" {
                    bail!(
                        "{}: unknown section [{name}]; expected [lockstep] and [vars]",
                        at(line)
                    );
                }
                section = Some(name.to_owned());
                continue;
            }
            let Some(split) = trimmed.find(['=', ':']) else {
                bail!(
                    "{}: `{trimmed}` is not a setting; expected KEY = VALUE",
                    at(line)
                );
            };
            let key = trimmed[..split].trim_end();
            let value = trimmed[split + 1..].trim_start();
            if key.is_empty() {
                bail!("{}: a value without a key; expected KEY = VALUE", at(line));
            }
            let entries = match section.as_deref() {
                Some("lockstep") => {
                    if !KEYS.contains(&key) {
                        bail!(
                            "{}: unknown setting `{key}` in [lockstep]; known settings: {}",
                            at(line),
                            KEYS.join(", ")
                        );
                    }
                    &mut file.settings
                }
                Some(_) => &mut file.vars,
                None => bail!(
                    "{}: settings must be under [lockstep] (or [vars]), found `{key}` before any section",
                    at(line)
                ),
            };
            let entry = Entry {
                value: value.to_owned(),
                line,
            };
            if let Some(first) = entries.insert(key.to_owned(), entry) {
                bail!(
                    "{}: `{key}` is set twice in [{}] (first on line {}); keep one",
                    at(line),
                    section.as_deref().unwrap_or_default(),
                    first.line
                );
            }
        }
        Ok(file)
    }

    /// A setting's value and where it is, for messages: `lockstep.ini:3`.
    pub fn get(&self, key: &str) -> Option<(&str, String)> {
        self.settings.get(key).map(|e| {
            (
                e.value.as_str(),
                format!("{}:{}", self.path.display(), e.line),
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<SettingsFile> {
        SettingsFile::parse(Path::new("lockstep.ini"), text)
    }

    fn err(text: &str) -> String {
        format!("{:#}", parse(text).unwrap_err())
    }

    #[test]
    fn values_are_literal() {
        let f = parse(
            "[lockstep]\nhost_id = \"web 1\"\n[vars]\npassword = pa\\ss\\tw0rd\nq = 'x' ; y\n",
        )
        .unwrap();
        assert_eq!(f.settings["host_id"].value, "\"web 1\"");
        assert_eq!(f.vars["password"].value, "pa\\ss\\tw0rd");
        assert_eq!(f.vars["q"].value, "'x' ; y");
        assert_eq!(f.vars["q"].line, 5);
    }

    #[test]
    fn the_first_delimiter_splits() {
        let f = parse("[lockstep]\ndatabase = postgres://a:b@h/d\n[vars]\nk: v=w\n").unwrap();
        assert_eq!(f.settings["database"].value, "postgres://a:b@h/d");
        assert_eq!(f.vars["k"].value, "v=w");
    }

    #[test]
    fn comments_blank_lines_bom_and_crlf() {
        let f = parse("\u{feff}; c\r\n\r\n# d\r\n[lockstep]\r\nphase = expand\r\n").unwrap();
        assert_eq!(
            f.settings["phase"],
            Entry {
                value: "expand".into(),
                line: 5
            }
        );
    }

    #[test]
    fn a_header_without_its_bracket_is_an_error() {
        assert_eq!(
            err("[lockstep]\nphase = expand\n[vars\nsecret = x\n"),
            "lockstep.ini:3: the section header `[vars` has no closing `]`; \
             write it as [lockstep] or [vars]"
        );
    }

    #[test]
    fn errors_name_their_line() {
        assert!(err("[lockstep]\n\ndatabse = x\n")
            .starts_with("lockstep.ini:3: unknown setting `databse`"));
        assert!(err("phase = all\n").starts_with("lockstep.ini:1: settings must be under"));
        assert!(err("[lockstep]\njust words\n")
            .starts_with("lockstep.ini:2: `just words` is not a setting"));
        assert!(err("[other]\n").starts_with("lockstep.ini:1: unknown section [other]"));
        assert_eq!(
            err("[lockstep]\nphase = all\nphase = expand\n"),
            "lockstep.ini:3: `phase` is set twice in [lockstep] (first on line 2); keep one"
        );
    }
}
