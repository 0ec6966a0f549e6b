//! Lossless INI document editor: parses any text, edits keys and sections in
//! place, and writes back every untouched byte (comments, spacing, quoting,
//! duplicate keys, CRLF, BOM, missing final newline). Not a reader of INI
//! semantics beyond that: no interpolation, escapes, includes or typed values.
//!
//! # Why not `ini-roundtrip` or `rust-ini`
//! `rust-ini` drops comments when writing. `ini-roundtrip` 0.2 keeps raw lines
//! but only knows `=` (not `key: value`), has no continuation lines, reads an
//! indented `; comment` as a key, treats `[a] ; note` as an error, does not
//! report which line ending each line had, and needs Rust 1.86 (edition 2024).
//! So lines are classified by hand (`line.rs`).
//!
//! # How lines are read
//! - The delimiter is whichever of `=` and `:` comes first; a line without one
//!   is a key without a value (`skip-networking`), distinct from `key =`.
//! - `;` and `#` start a comment, also after indentation. There are no inline
//!   comments: `key = a ; b` has the value `a ; b` (configparser's default; PHP
//!   and MySQL differ), so `set` replaces everything after the delimiter.
//! - A non-blank line indented deeper than the key line before it continues
//!   that key's value (configparser's rule, which keeps tab-indented git-config
//!   keys separate). A blank line ends the value; comments between
//!   continuation lines belong to the key's lines but not to its value.
//! - `[ name ]` is a header named `name`; its closing `]` is the first one
//!   followed only by whitespace or a comment. Headers with the same name form
//!   one logical section; lookups search all of them.
//! - A line starting with `!` (`!include`) is a directive, never a key.
//! - Values are reported with quotes as in the file ([`Document::entries`]);
//!   [`Document::get`] strips one pair of matching `"` or `'`.
//!
//! # How edits are written
//! - `set` on an existing key rewrites only the value, keeping the quote style;
//!   a multi-line value is replaced by the single new line. New values with a
//!   line break are refused ([`EditError::MultiLineValue`]), as are values with
//!   leading or trailing whitespace, which readers would strip.
//! - An absent key that exists commented out (`;key = x`, `# key: x`) in its
//!   section replaces the first such comment in place, keeping its indentation
//!   unless that would read as a continuation line; then it takes the
//!   indentation of the nearest key in the section. Otherwise it goes right
//!   after the last key of the section's last header, in the style of the
//!   section's last key (indentation, spacing, delimiter), else the file's most
//!   common style, else `key = value`. In a section without keys it goes right
//!   after the header; a new global key with no global keys goes at the very top
//!   (after a BOM), before any leading comments, without indentation.
//! - A missing section is appended at the end after exactly one blank line.
//!   New lines use the file's dominant line ending; when appending after a last
//!   line without a newline, that line gets one and the new last line has none,
//!   so a file without a final newline keeps that property.
//! - `delete` removes a key line and its continuation lines; `delete_section`
//!   removes each header and every line up to (not including) the next header,
//!   comments and blank lines included; a section that runs to the end of the
//!   file also takes the blank lines before its header (the separator a new
//!   section gets), so adding and then deleting a section restores the bytes.
//! - `case_insensitive` compares both section and key names ignoring case.
//! - Every call converges: repeating it returns `Ok(false)` and writes nothing,
//!   except deleting or renaming with `First`/`Last`, which picks the next
//!   occurrence on each run. For sections, `Unique` and `All` both mean every
//!   header of the logical section.
//! - Every edit is re-read before it is accepted; if it would change how an
//!   untouched line reads (e.g. make it a continuation line), it fails with
//!   [`EditError::Reinterpreted`] and the document is left unchanged.

mod edit;
mod error;
mod guard;
mod line;
mod lookup;
mod names;
mod placement;
mod splice;
mod syntax;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;
mod values;

use std::fmt;
use std::str::FromStr;

pub use error::EditError;
use line::{classify, split_lines, Kind, LineInfo, RawLine};
use names::{check_key, check_section_opt};
pub use syntax::{Setting, Syntax, UnknownSyntax, DIALECTS};

const BOM: char = '\u{feff}';

/// A key's value: `None` for a key written without a delimiter (`skip-networking`).
pub type Value = Option<String>;

/// One key line, as [`Document::entries`] lists them.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Header name (trimmed), `None` before the first header.
    pub section: Option<String>,
    pub key: String,
    /// Continuation lines joined with `\n`, quotes as written.
    pub value: Value,
    /// 1-based line number of the key line.
    pub line: usize,
}

/// Which occurrence(s) of a key (or header) an operation means.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Occurrence {
    /// Exactly one is expected: more than one is [`EditError::DuplicateKey`].
    #[default]
    Unique,
    First,
    Last,
    All,
    /// 0-based.
    Index(usize),
}

/// An `occurrence:` that names no occurrence.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("occurrence `{0}` is not one of unique, first, last, all or a 0-based index")]
pub struct UnknownOccurrence(pub String);

impl FromStr for Occurrence {
    type Err = UnknownOccurrence;

    fn from_str(s: &str) -> Result<Occurrence, UnknownOccurrence> {
        match s {
            "unique" => Ok(Occurrence::Unique),
            "first" => Ok(Occurrence::First),
            "last" => Ok(Occurrence::Last),
            "all" => Ok(Occurrence::All),
            _ => s
                .parse::<usize>()
                .map(Occurrence::Index)
                .map_err(|_| UnknownOccurrence(s.to_owned())),
        }
    }
}

impl fmt::Display for Occurrence {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Occurrence::Unique => f.write_str("unique"),
            Occurrence::First => f.write_str("first"),
            Occurrence::Last => f.write_str("last"),
            Occurrence::All => f.write_str("all"),
            Occurrence::Index(i) => write!(f, "{i}"),
        }
    }
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct MatchOptions {
    /// Compare section and key names ignoring case (Unicode lowercase).
    pub case_insensitive: bool,
    pub occurrence: Occurrence,
    /// Never turn a commented-out `;key = x` into the key (ini_file's
    /// `modify_inactive_option: false`): add a new line instead.
    pub keep_inactive: bool,
}

/// An INI file as lines with their raw bytes; `to_string()` gives them back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    syntax: Syntax,
    /// Edits skip the check against the dialects' readings (`guard`).
    unguarded: bool,
    /// Other dialects' classifications of `lines`, from the last check.
    classified: guard::Classified,
    /// While an edit runs through [`Document::in_block`]: the section
    /// named that many times before is the only block of it there is.
    block: Option<(String, usize)>,
    bom: bool,
    lines: Vec<RawLine>,
    infos: Vec<LineInfo>,
}

impl fmt::Display for Document {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.bom {
            write!(f, "{BOM}")?;
        }
        for line in &self.lines {
            f.write_str(&line.text)?;
            f.write_str(line.ending.as_str())?;
        }
        Ok(())
    }
}

impl Document {
    /// Reads any text as `generic`; never fails, and `to_string()` returns `text` exactly.
    pub fn parse(text: &str) -> Document {
        Document::parse_as(text, Syntax::Generic)
    }

    /// Reads any text by `syntax`'s rules; never fails, and `to_string()`
    /// returns `text` exactly.
    pub fn parse_as(text: &str, syntax: Syntax) -> Document {
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let lines = split_lines(body);
        let infos = classify(&lines, syntax.rules());
        Document {
            syntax,
            unguarded: false,
            classified: guard::Classified::default(),
            block: None,
            bom,
            lines,
            infos,
        }
    }

    pub fn syntax(&self) -> Syntax {
        self.syntax
    }

    /// A copy whose edits skip the reading check: for masking secret
    /// values in output, which must never be refused.
    pub fn for_masking(&self) -> Document {
        Document {
            unguarded: true,
            ..self.clone()
        }
    }

    /// Every assignment as `reader` reads this file, or `None` when that
    /// reader rejects it.
    pub fn reading(&self, reader: Syntax) -> Option<Vec<Setting>> {
        if reader == self.syntax {
            return syntax::read(reader, &self.lines, &self.infos);
        }
        let infos = classify(&self.lines, reader.rules());
        syntax::read(reader, &self.lines, &infos)
    }

    /// The line ending most lines use (`"\n"` when there is none yet); new lines get it.
    pub fn line_ending(&self) -> &str {
        self.dominant_ending().as_str()
    }

    pub fn has_bom(&self) -> bool {
        self.bom
    }

    /// Every key line in file order.
    pub fn entries(&self) -> Vec<Entry> {
        (0..self.lines.len())
            .filter(|&i| matches!(self.infos[i].kind, Kind::Key(_)))
            .map(|i| Entry {
                section: self.section_of(i).map(str::to_string),
                key: self.key_text(i).to_string(),
                value: self.raw_value(i),
                line: i + 1,
            })
            .collect()
    }

    /// Every key line's section and key as written, in file order: what
    /// [`Document::entries`] lists, without copying names or values.
    pub fn key_names(&self) -> impl Iterator<Item = (Option<&str>, &str)> + '_ {
        (0..self.lines.len())
            .filter(|&i| matches!(self.infos[i].kind, Kind::Key(_)))
            .map(|i| (self.section_of(i), self.key_text(i)))
    }

    /// Runs `edit` as if block `index` (0-based) were the only block of
    /// `[section]` in the file: its keys are the section's keys, a new key
    /// goes into it. One of several same-named `[section]` headers, as the
    /// `occurrence` of a section operation picks one.
    pub fn in_block<R>(
        &mut self,
        section: &str,
        index: usize,
        case_insensitive: bool,
        edit: impl FnOnce(&mut Document) -> Result<R, EditError>,
    ) -> Result<R, EditError> {
        check_section_opt(Some(section))?;
        let headers = self.headers(section, case_insensitive);
        if index >= headers.len() {
            return Err(EditError::SectionOccurrenceOutOfRange {
                section: section.to_string(),
                index,
                lines: headers.iter().map(|h| h + 1).collect(),
            });
        }
        let outer = self.block.replace((section.to_string(), index));
        let result = edit(self);
        self.block = outer;
        result
    }

    /// Which block of its section (0-based among the same-named headers)
    /// holds 1-based line `line`; `None` for the global section.
    pub fn block_of_line(&self, line: usize) -> Option<usize> {
        let h = self.infos.get(line.checked_sub(1)?)?.header?;
        let name = self.header_name(h)?;
        Some(
            (0..h)
                .filter(|&g| self.header_name(g) == Some(name))
                .count(),
        )
    }

    /// Distinct section names in order of first appearance (global not included).
    pub fn section_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for i in 0..self.lines.len() {
            if let Kind::Header { name } = &self.infos[i].kind {
                let name = &self.lines[i].text[name.clone()];
                if !names.iter().any(|n| n == name) {
                    names.push(name.to_string());
                }
            }
        }
        names
    }

    /// The value of `key` (quotes stripped): `Ok(None)` when absent,
    /// `Ok(Some(None))` for a key without a value. With `Occurrence::All`,
    /// several occurrences must agree on one value.
    pub fn get(
        &self,
        section: Option<&str>,
        key: &str,
        opts: &MatchOptions,
    ) -> Result<Option<Value>, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        let found = self.key_lines(section, key, opts.case_insensitive);
        let chosen = self.select(&found, opts.occurrence, section, key)?;
        let Some(&first) = chosen.first() else {
            return Ok(None);
        };
        let value = self.logical_value(first);
        if chosen.iter().any(|&i| self.logical_value(i) != value) {
            return Err(self.duplicate(section, key, &found));
        }
        Ok(Some(value))
    }
}
