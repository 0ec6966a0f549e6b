//! Errors of the INI editor: each names the section, key and lines involved and
//! says what to do. Parsing never fails; only edits do.

use super::syntax::Syntax;
use thiserror::Error;

#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum EditError {
    #[error(
        "key `{key}` appears {} times in {} (lines {}); say which with `occurrence: first|last|all|<index>`",
        .lines.len(), section_label(.section), line_list(.lines)
    )]
    DuplicateKey {
        section: Option<String>,
        key: String,
        /// 1-based line numbers of every occurrence.
        lines: Vec<usize>,
    },

    #[error(
        "occurrence {index} of key `{key}` does not exist in {}: it appears {}; indexes start at 0",
        section_label(.section), times(.lines)
    )]
    OccurrenceOutOfRange {
        section: Option<String>,
        key: String,
        index: usize,
        lines: Vec<usize>,
    },

    #[error(
        "occurrence {index} of section [{section}] does not exist: its header appears {}; indexes start at 0",
        times(.lines)
    )]
    SectionOccurrenceOutOfRange {
        section: String,
        index: usize,
        lines: Vec<usize>,
    },

    #[error(
        "cannot rename section [{from}] to [{to}]: [{to}] already exists (line {line}); delete or merge one of them first"
    )]
    SectionExists {
        from: String,
        to: String,
        line: usize,
    },

    #[error(
        "cannot rename key `{key}` in {} to `{to_key}` in {}: the target already exists with a different value (line {line}); delete one of them first",
        section_label(.section), section_label(.to_section)
    )]
    KeyExists {
        section: Option<String>,
        key: String,
        to_section: Option<String>,
        to_key: String,
        line: usize,
    },

    #[error(
        "value for key `{key}` in {} contains a line break; multi-line values are not written, put the value on one line",
        section_label(.section)
    )]
    MultiLineValue {
        section: Option<String>,
        key: String,
    },

    #[error("invalid {what} name {name:?}: it {reason}; choose another name")]
    InvalidName {
        /// `"key"` or `"section"`.
        what: &'static str,
        name: String,
        reason: &'static str,
    },

    #[error("invalid value {value:?} for key `{key}` in {}: it {reason}", section_label(.section))]
    InvalidValue {
        section: Option<String>,
        key: String,
        value: String,
        reason: &'static str,
    },

    #[error(
        "editing {target} would change how line {line} is read ({detail}); indentation decides what an INI line means, so make this change by hand"
    )]
    Reinterpreted {
        /// What was being edited, e.g. "key `port` in `[mysqld]`".
        target: String,
        /// 1-based line number in the edited text.
        line: usize,
        detail: String,
    },

    #[error(
        "editing {target} would change how a {syntax} reader reads the file: {detail}; {}",
        advice(*.syntax)
    )]
    ReadsDifferently {
        target: String,
        syntax: Syntax,
        detail: String,
    },
}

fn advice(syntax: Syntax) -> &'static str {
    match syntax {
        Syntax::Generic => "make this change by hand",
        _ => "if another program reads this file, name it with `syntax:` in the migration; otherwise make this change by hand",
    }
}

/// `[name]`, or a phrase for the keys before the first header.
pub fn section_label(section: &Option<String>) -> String {
    match section {
        Some(name) => format!("[{name}]"),
        None => "the global section (before the first [section])".to_string(),
    }
}

/// "0 times", "1 time (line 4)", "2 times (lines 4, 9)".
fn times(lines: &[usize]) -> String {
    match lines {
        [] => "0 times".to_string(),
        [one] => format!("1 time (line {one})"),
        _ => format!("{} times (lines {})", lines.len(), line_list(lines)),
    }
}

fn line_list(lines: &[usize]) -> String {
    lines
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}
