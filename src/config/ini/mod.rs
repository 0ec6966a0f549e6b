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
//! So lines are classified by hand in [`line`].
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
//!   section replaces the first such comment in place. Otherwise it goes right
//!   after the last key of the section's last header, in the style of the
//!   section's last key (indentation, spacing, delimiter), else the file's most
//!   common style, else `key = value`. In a section without keys it goes right
//!   after the header; a new global key with no global keys goes at the very top
//!   (after a BOM), before any leading comments.
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
//! - Every edit is re-read before it is accepted; if it would change how an
//!   untouched line reads (e.g. make it a continuation line), it fails with
//!   [`EditError::Reinterpreted`] and the document is left unchanged.

mod error;
mod line;
mod splice;

#[cfg(test)]
mod corpus_tests;
#[cfg(test)]
mod proptests;
#[cfg(test)]
mod tests;

use std::fmt;
use std::str::FromStr;

use error::section_label;
pub use error::EditError;
use line::{
    classify, indent_len, is_ws, requote, rewrite_value, split_lines, uncomment_key, unquote,
    KeyParts, Kind, LineEnding, LineInfo, RawLine, Style,
};
use splice::{Expect, HeaderRef, Splice};

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

impl FromStr for Occurrence {
    type Err = String;

    fn from_str(s: &str) -> Result<Occurrence, String> {
        match s {
            "unique" => Ok(Occurrence::Unique),
            "first" => Ok(Occurrence::First),
            "last" => Ok(Occurrence::Last),
            "all" => Ok(Occurrence::All),
            _ => s.parse::<usize>().map(Occurrence::Index).map_err(|_| {
                format!(
                    "occurrence `{s}` is not one of unique, first, last, all or a 0-based index"
                )
            }),
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
}

/// An INI file as lines with their raw bytes; `to_string()` gives them back.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Document {
    bom: bool,
    lines: Vec<RawLine>,
    infos: Vec<LineInfo>,
}

/// What a new key line carries: a value to render in the target's style, or
/// the rest of a moved key line (after the key) plus its continuation lines.
enum Payload<'a> {
    Value(&'a str),
    Moved {
        /// Indentation of the source key line.
        indent: String,
        after_key: String,
        rest: Vec<RawLine>,
    },
}

/// Continuation lines of a key moved from indentation `from` to `to`, shifted
/// alike so they stay deeper than their key.
fn reindent(rest: &[RawLine], from: &str, to: &str) -> Vec<RawLine> {
    rest.iter()
        .map(|line| {
            if from == to {
                return line.clone();
            }
            let body = line.text.strip_prefix(from).unwrap_or(&line.text);
            RawLine::new(format!("{to}{body}"), line.ending)
        })
        .collect()
}

fn names_match(a: &str, b: &str, case_insensitive: bool) -> bool {
    if case_insensitive {
        a == b || a.to_lowercase() == b.to_lowercase()
    } else {
        a == b
    }
}

fn sections_match(a: Option<&str>, b: Option<&str>, case_insensitive: bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => names_match(a, b, case_insensitive),
        _ => false,
    }
}

fn owned(section: Option<&str>) -> Option<String> {
    section.map(str::to_string)
}

fn key_target(section: Option<&str>, key: &str) -> String {
    format!("key `{key}` in {}", section_label(&owned(section)))
}

fn invalid(what: &'static str, name: &str, reason: &'static str) -> EditError {
    EditError::InvalidName {
        what,
        name: name.to_string(),
        reason,
    }
}

fn check_key(key: &str) -> Result<(), EditError> {
    let reason = if key.is_empty() {
        "is empty"
    } else if key.contains(['\n', '\r']) {
        "contains a line break"
    } else if key.starts_with(is_ws) || key.ends_with(is_ws) {
        "has leading or trailing whitespace"
    } else if key.contains(['=', ':']) {
        "contains `=` or `:`, which INI reads as the delimiter"
    } else if key.starts_with('[') {
        "starts with `[`, which INI reads as a section header"
    } else if key.starts_with([';', '#']) {
        "starts with `;` or `#`, which INI reads as a comment"
    } else if key.starts_with('!') {
        "starts with `!`, which INI reads as a directive"
    } else {
        return Ok(());
    };
    Err(invalid("key", key, reason))
}

fn check_section(name: &str) -> Result<(), EditError> {
    let reason = if name.is_empty() {
        "is empty"
    } else if name.contains(['\n', '\r']) {
        "contains a line break"
    } else if name.starts_with(is_ws) || name.ends_with(is_ws) {
        "has leading or trailing whitespace"
    } else if name.contains(['[', ']']) {
        "contains `[` or `]`"
    } else {
        return Ok(());
    };
    Err(invalid("section", name, reason))
}

fn check_section_opt(name: Option<&str>) -> Result<(), EditError> {
    name.map_or(Ok(()), check_section)
}

fn check_value(section: Option<&str>, key: &str, value: &str) -> Result<(), EditError> {
    if value.contains('\n') {
        return Err(EditError::MultiLineValue {
            section: owned(section),
            key: key.to_string(),
        });
    }
    let reason = if value.contains('\r') {
        "contains a carriage return"
    } else if value.starts_with(is_ws) || value.ends_with(is_ws) {
        "has leading or trailing whitespace, which INI readers strip; quote it if it matters"
    } else {
        return Ok(());
    };
    Err(EditError::InvalidValue {
        section: owned(section),
        key: key.to_string(),
        value: value.to_string(),
        reason,
    })
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
    /// Reads any text; never fails, and `to_string()` returns `text` exactly.
    pub fn parse(text: &str) -> Document {
        let (bom, body) = match text.strip_prefix(BOM) {
            Some(rest) => (true, rest),
            None => (false, text),
        };
        let lines = split_lines(body);
        let infos = classify(&lines);
        Document { bom, lines, infos }
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

    /// Sets `key` to `value`, adding it (and its section) when absent.
    /// Returns whether any byte changed.
    pub fn set(
        &mut self,
        section: Option<&str>,
        key: &str,
        value: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        check_value(section, key, value)?;
        let ci = opts.case_insensitive;
        let found = self.key_lines(section, key, ci);
        let chosen = self.select(&found, opts.occurrence, section, key)?;
        if chosen.is_empty() {
            if let Occurrence::Index(index @ 1..) = opts.occurrence {
                // Adding the key would make it occurrence 0, never `index`.
                return Err(EditError::OccurrenceOutOfRange {
                    section: owned(section),
                    key: key.to_string(),
                    index,
                    lines: Vec::new(),
                });
            }
            return self.insert_key(section, key, Payload::Value(value), ci);
        }
        let style = self.section_style(section, ci);
        let mut splices = Vec::new();
        for &i in &chosen {
            let Some(parts) = self.key_parts(i) else {
                continue;
            };
            let text = &self.lines[i].text;
            let end = self.span_end(i);
            if end == i + 1 && parts.delim.is_some() {
                let old_raw = &text[parts.value.clone()];
                if requote(Some(old_raw), value) == old_raw {
                    continue;
                }
            }
            splices.push(Splice {
                start: i,
                end,
                lines: vec![RawLine::new(
                    rewrite_value(text, parts, value, &style),
                    self.lines[end - 1].ending,
                )],
                expect: vec![Expect::Key {
                    header: self.header_ref(i),
                    key: self.key_text(i).to_string(),
                }],
            });
        }
        self.commit(splices, || key_target(section, key))
    }

    /// Adds `key = value` only when the key is absent (any occurrence counts).
    pub fn set_default(
        &mut self,
        section: Option<&str>,
        key: &str,
        value: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        check_value(section, key, value)?;
        if !self
            .key_lines(section, key, opts.case_insensitive)
            .is_empty()
        {
            return Ok(false);
        }
        self.insert_key(section, key, Payload::Value(value), opts.case_insensitive)
    }

    /// Removes the key line(s) and their continuation lines. An `Index` past
    /// the last occurrence is `Ok(false)`, so deleting occurrence `n` converges
    /// once fewer remain (`First`/`Last` remove one more on every run).
    pub fn delete(
        &mut self,
        section: Option<&str>,
        key: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        let found = self.key_lines(section, key, opts.case_insensitive);
        let chosen = match self.select(&found, opts.occurrence, section, key) {
            Err(EditError::OccurrenceOutOfRange { .. }) => return Ok(false),
            other => other?,
        };
        let splices = chosen.iter().map(|&i| self.removal(i)).collect();
        self.commit(splices, || key_target(section, key))
    }

    /// Moves `key` to `to_key` in `to_section`. Within a section only the key
    /// text changes; across sections the line (value, spacing, continuation
    /// lines) is removed and inserted where `set` would put the key. A target
    /// that already exists with the same value just absorbs the source; with a
    /// different value it is [`EditError::KeyExists`]. A missing source is
    /// `Ok(false)` (already renamed, or nothing to rename).
    pub fn rename(
        &mut self,
        section: Option<&str>,
        key: &str,
        to_section: Option<&str>,
        to_key: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section_opt(section)?;
        check_key(key)?;
        check_section_opt(to_section)?;
        check_key(to_key)?;
        let ci = opts.case_insensitive;
        let found = self.key_lines(section, key, ci);
        let chosen = self.select(&found, opts.occurrence, section, key)?;
        let same_section = sections_match(section, to_section, ci);
        if same_section && names_match(key, to_key, ci) {
            // Only the spelling can change (case-insensitive match).
            return self.respell_keys(&chosen, to_key, || key_target(section, key));
        }
        if chosen.is_empty() {
            return Ok(false);
        }
        let targets = self.key_lines(to_section, to_key, ci);
        if let Some(&first_target) = targets.first() {
            let want = self.logical_value(first_target);
            let differing = targets
                .iter()
                .chain(&chosen)
                .find(|&&i| self.logical_value(i) != want);
            if let Some(&line) = differing {
                let line = if targets.contains(&line) {
                    line
                } else {
                    first_target
                };
                return Err(EditError::KeyExists {
                    section: owned(section),
                    key: key.to_string(),
                    to_section: owned(to_section),
                    to_key: to_key.to_string(),
                    line: line + 1,
                });
            }
            let splices = chosen.iter().map(|&i| self.removal(i)).collect();
            return self.commit(splices, || key_target(section, key));
        }
        if same_section {
            return self.respell_keys(&chosen, to_key, || key_target(section, key));
        }
        // Across sections: remove, then insert, on a copy so a refused
        // insertion leaves the document as it was.
        let payloads: Vec<Payload<'static>> = chosen
            .iter()
            .filter_map(|&i| {
                let parts = self.key_parts(i)?;
                let text = &self.lines[i].text;
                Some(Payload::Moved {
                    indent: text[..parts.key.start].to_string(),
                    after_key: text[parts.key.end..].to_string(),
                    rest: self.lines[i + 1..self.span_end(i)].to_vec(),
                })
            })
            .collect();
        let mut next = self.clone();
        let splices = chosen.iter().map(|&i| self.removal(i)).collect();
        next.commit(splices, || key_target(section, key))?;
        for payload in payloads {
            next.insert_key(to_section, to_key, payload, ci)?;
        }
        *self = next;
        Ok(true)
    }

    /// Renames the section's headers, changing only the name inside the
    /// brackets. `Unique` and `All` rename every header of the logical
    /// section; `First`/`Last`/`Index` one header. An existing target is
    /// [`EditError::SectionExists`] unless the source is absent (`Ok(false)`).
    pub fn rename_section(
        &mut self,
        from: &str,
        to: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section(from)?;
        check_section(to)?;
        let ci = opts.case_insensitive;
        let found = self.headers(from, ci);
        let chosen = self.select_headers(&found, opts.occurrence, from)?;
        if !names_match(from, to, ci) {
            if chosen.is_empty() {
                return Ok(false);
            }
            if let Some(&existing) = self.headers(to, ci).first() {
                return Err(EditError::SectionExists {
                    from: from.to_string(),
                    to: to.to_string(),
                    line: existing + 1,
                });
            }
        }
        let mut splices = Vec::new();
        for &h in &chosen {
            let Kind::Header { name } = &self.infos[h].kind else {
                continue;
            };
            let text = &self.lines[h].text;
            if &text[name.clone()] == to {
                continue;
            }
            let new_text = format!("{}{}{}", &text[..name.start], to, &text[name.end..]);
            splices.push(Splice {
                start: h,
                end: h + 1,
                lines: vec![RawLine::new(new_text, self.lines[h].ending)],
                expect: vec![Expect::Header(to.to_string())],
            });
        }
        self.commit(splices, || format!("section [{from}]"))
    }

    /// Removes each selected header and every line up to the next header; a
    /// section that runs to the end of the file also takes the blank lines
    /// before its header. `Unique` and `All` remove every header of the
    /// logical section.
    pub fn delete_section(
        &mut self,
        section: &str,
        opts: &MatchOptions,
    ) -> Result<bool, EditError> {
        check_section(section)?;
        let found = self.headers(section, opts.case_insensitive);
        let chosen = self.select_headers(&found, opts.occurrence, section)?;
        let mut regions: Vec<(usize, usize)> = chosen
            .iter()
            .map(|&h| {
                let end = (h + 1..self.lines.len())
                    .find(|&j| matches!(self.infos[j].kind, Kind::Header { .. }))
                    .unwrap_or(self.lines.len());
                (h, end)
            })
            .collect();
        // Removed sections that reach the end of the file take the blank lines
        // before them along, so adding and then deleting a section restores it.
        let mut tail = self.lines.len();
        for k in (0..regions.len()).rev() {
            let (start, end) = regions[k];
            if end != tail {
                break;
            }
            let floor = if k > 0 { regions[k - 1].1 } else { 0 };
            let mut new_start = start;
            while new_start > floor && line::is_blank(&self.lines[new_start - 1].text) {
                new_start -= 1;
            }
            regions[k].0 = new_start;
            tail = new_start;
        }
        let splices = regions
            .into_iter()
            .map(|(start, end)| Splice {
                start,
                end,
                lines: Vec::new(),
                expect: Vec::new(),
            })
            .collect();
        self.commit(splices, || format!("section [{section}]"))
    }

    // ---- reading helpers ----

    fn dominant_ending(&self) -> LineEnding {
        let crlf = self
            .lines
            .iter()
            .filter(|l| l.ending == LineEnding::CrLf)
            .count();
        let lf = self
            .lines
            .iter()
            .filter(|l| l.ending == LineEnding::Lf)
            .count();
        if crlf > lf {
            LineEnding::CrLf
        } else if lf > crlf || crlf == 0 {
            LineEnding::Lf
        } else {
            // A tie goes to whichever the file starts with.
            self.lines
                .iter()
                .map(|l| l.ending)
                .find(|e| *e != LineEnding::None)
                .unwrap_or(LineEnding::Lf)
        }
    }

    fn header_name(&self, h: usize) -> Option<&str> {
        match &self.infos.get(h)?.kind {
            Kind::Header { name } => self.lines[h].text.get(name.clone()),
            _ => None,
        }
    }

    fn section_of(&self, i: usize) -> Option<&str> {
        self.infos[i].header.and_then(|h| self.header_name(h))
    }

    fn header_ref(&self, i: usize) -> HeaderRef {
        match self.infos[i].header {
            Some(h) => HeaderRef::Old(h),
            None => HeaderRef::Global,
        }
    }

    fn key_parts(&self, i: usize) -> Option<&KeyParts> {
        match &self.infos.get(i)?.kind {
            Kind::Key(parts) => Some(parts),
            _ => None,
        }
    }

    fn key_text(&self, i: usize) -> &str {
        self.key_parts(i)
            .and_then(|p| self.lines[i].text.get(p.key.clone()))
            .unwrap_or("")
    }

    fn in_section(&self, i: usize, section: Option<&str>, ci: bool) -> bool {
        match (self.infos[i].header, section) {
            (None, None) => true,
            (Some(h), Some(s)) => self.header_name(h).is_some_and(|n| names_match(n, s, ci)),
            _ => false,
        }
    }

    fn headers(&self, name: &str, ci: bool) -> Vec<usize> {
        (0..self.lines.len())
            .filter(|&h| {
                self.header_name(h)
                    .is_some_and(|n| names_match(n, name, ci))
            })
            .collect()
    }

    fn section_exists(&self, section: Option<&str>, ci: bool) -> bool {
        section.map_or(true, |s| !self.headers(s, ci).is_empty())
    }

    fn key_lines(&self, section: Option<&str>, key: &str, ci: bool) -> Vec<usize> {
        (0..self.lines.len())
            .filter(|&i| {
                matches!(self.infos[i].kind, Kind::Key(_))
                    && self.in_section(i, section, ci)
                    && names_match(self.key_text(i), key, ci)
            })
            .collect()
    }

    /// One past the key's last continuation line.
    fn span_end(&self, i: usize) -> usize {
        let mut end = i + 1;
        for j in i + 1..self.lines.len() {
            match self.infos[j].kind {
                Kind::Continuation { owner } if owner == i => end = j + 1,
                Kind::ValueComment { owner } if owner == i => {}
                _ => break,
            }
        }
        end
    }

    /// Value as written: quotes kept, continuation lines joined with `\n`.
    fn raw_value(&self, i: usize) -> Value {
        let parts = self.key_parts(i)?;
        let text = &self.lines[i].text;
        let first = parts.delim.and_then(|_| text.get(parts.value.clone()));
        let continued: Vec<&str> = (i + 1..self.span_end(i))
            .filter(|&j| matches!(self.infos[j].kind, Kind::Continuation { .. }))
            .map(|j| self.lines[j].text.trim_matches(is_ws))
            .collect();
        if continued.is_empty() {
            return first.map(str::to_string);
        }
        let mut value = first.unwrap_or("").to_string();
        for c in continued {
            value.push('\n');
            value.push_str(c);
        }
        Some(value)
    }

    /// Value as `get` reports it: one pair of quotes stripped from a one-line value.
    fn logical_value(&self, i: usize) -> Value {
        let raw = self.raw_value(i)?;
        if raw.contains('\n') {
            return Some(raw);
        }
        Some(unquote(&raw).to_string())
    }

    fn duplicate(&self, section: Option<&str>, key: &str, found: &[usize]) -> EditError {
        EditError::DuplicateKey {
            section: owned(section),
            key: key.to_string(),
            lines: found.iter().map(|i| i + 1).collect(),
        }
    }

    fn select(
        &self,
        found: &[usize],
        occurrence: Occurrence,
        section: Option<&str>,
        key: &str,
    ) -> Result<Vec<usize>, EditError> {
        Ok(match occurrence {
            Occurrence::Unique if found.len() > 1 => {
                return Err(self.duplicate(section, key, found))
            }
            Occurrence::Unique | Occurrence::All => found.to_vec(),
            Occurrence::First => found.first().copied().into_iter().collect(),
            Occurrence::Last => found.last().copied().into_iter().collect(),
            Occurrence::Index(n) => match found.get(n) {
                Some(&i) => vec![i],
                None if found.is_empty() => Vec::new(),
                None => {
                    return Err(EditError::OccurrenceOutOfRange {
                        section: owned(section),
                        key: key.to_string(),
                        index: n,
                        lines: found.iter().map(|i| i + 1).collect(),
                    })
                }
            },
        })
    }

    fn select_headers(
        &self,
        found: &[usize],
        occurrence: Occurrence,
        section: &str,
    ) -> Result<Vec<usize>, EditError> {
        Ok(match occurrence {
            Occurrence::Unique | Occurrence::All => found.to_vec(),
            Occurrence::First => found.first().copied().into_iter().collect(),
            Occurrence::Last => found.last().copied().into_iter().collect(),
            Occurrence::Index(n) => match found.get(n) {
                Some(&h) => vec![h],
                None if found.is_empty() => Vec::new(),
                None => {
                    return Err(EditError::SectionOccurrenceOutOfRange {
                        section: section.to_string(),
                        index: n,
                        lines: found.iter().map(|h| h + 1).collect(),
                    })
                }
            },
        })
    }

    /// The most common style of `key = value` lines, ties to the first seen.
    fn dominant_style(&self) -> Style {
        let mut counts: Vec<(Style, usize)> = Vec::new();
        for i in 0..self.lines.len() {
            let Some(style) = self
                .key_parts(i)
                .and_then(|p| Style::of(&self.lines[i].text, p))
            else {
                continue;
            };
            match counts.iter_mut().find(|(s, _)| *s == style) {
                Some((_, n)) => *n += 1,
                None => counts.push((style, 1)),
            }
        }
        let mut best: Option<(Style, usize)> = None;
        for (style, n) in counts {
            if best.as_ref().map_or(true, |(_, b)| n > *b) {
                best = Some((style, n));
            }
        }
        best.map(|(s, _)| s).unwrap_or_default()
    }

    /// The style of the section's last `key = value` line, else the file's.
    fn section_style(&self, section: Option<&str>, ci: bool) -> Style {
        (0..self.lines.len())
            .rev()
            .filter(|&i| self.in_section(i, section, ci))
            .find_map(|i| {
                self.key_parts(i)
                    .and_then(|p| Style::of(&self.lines[i].text, p))
            })
            .unwrap_or_else(|| self.dominant_style())
    }

    // ---- editing helpers ----

    fn removal(&self, i: usize) -> Splice {
        Splice {
            start: i,
            end: self.span_end(i),
            lines: Vec::new(),
            expect: Vec::new(),
        }
    }

    fn respell_keys(
        &mut self,
        chosen: &[usize],
        to_key: &str,
        target: impl Fn() -> String,
    ) -> Result<bool, EditError> {
        let mut splices = Vec::new();
        for &i in chosen {
            let Some(parts) = self.key_parts(i) else {
                continue;
            };
            let text = &self.lines[i].text;
            if &text[parts.key.clone()] == to_key {
                continue;
            }
            let new_text = format!(
                "{}{}{}",
                &text[..parts.key.start],
                to_key,
                &text[parts.key.end..]
            );
            splices.push(Splice {
                start: i,
                end: i + 1,
                lines: vec![RawLine::new(new_text, self.lines[i].ending)],
                expect: vec![Expect::Key {
                    header: self.header_ref(i),
                    key: to_key.to_string(),
                }],
            });
        }
        self.commit(splices, target)
    }

    /// Applies the splices if they change nothing else's reading.
    fn commit(
        &mut self,
        splices: Vec<Splice>,
        target: impl Fn() -> String,
    ) -> Result<bool, EditError> {
        if splices.is_empty() {
            return Ok(false);
        }
        match splice::apply(&self.lines, &self.infos, splices) {
            Ok((lines, infos)) => {
                self.lines = lines;
                self.infos = infos;
                Ok(true)
            }
            Err(conflict) => Err(EditError::Reinterpreted {
                target: target(),
                line: conflict.line,
                detail: conflict.detail,
            }),
        }
    }

    /// Adds an absent key: over its commented-out line if there is one and
    /// that reads cleanly, else after the section's last key, else in a new
    /// section at the end.
    fn insert_key(
        &mut self,
        section: Option<&str>,
        key: &str,
        payload: Payload<'_>,
        ci: bool,
    ) -> Result<bool, EditError> {
        let mut plans = Vec::new();
        if let Some(plan) = self.plan_uncomment(section, key, &payload, ci) {
            plans.push(plan);
        }
        plans.push(self.plan_append(section, key, &payload, ci));
        let mut last = None;
        for plan in plans {
            match self.commit(vec![plan], || key_target(section, key)) {
                Ok(changed) => return Ok(changed),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| EditError::Reinterpreted {
            target: key_target(section, key),
            line: 1,
            detail: "no place to insert it".to_string(),
        }))
    }

    /// Replaces the first `;key = x` comment of the section with an active line.
    fn plan_uncomment(
        &self,
        section: Option<&str>,
        key: &str,
        payload: &Payload<'_>,
        ci: bool,
    ) -> Option<Splice> {
        let (i, uncommented, parts) = (0..self.lines.len())
            .filter(|&i| self.infos[i].kind == Kind::Comment && self.in_section(i, section, ci))
            .find_map(|i| {
                let (u, parts) = uncomment_key(&self.lines[i].text)?;
                names_match(&u[parts.key.clone()], key, ci).then_some((i, u, parts))
            })?;
        let (first, key_spelling, rest) = match payload {
            Payload::Value(v) => (
                rewrite_value(&uncommented, &parts, v, &Style::default()),
                uncommented[parts.key.clone()].to_string(),
                Vec::new(),
            ),
            Payload::Moved {
                indent,
                after_key,
                rest,
            } => {
                let to = &uncommented[..indent_len(&uncommented)];
                (
                    format!("{to}{key}{after_key}"),
                    key.to_string(),
                    reindent(rest, indent, to),
                )
            }
        };
        let mut block = vec![RawLine::new(first, LineEnding::Lf)];
        block.extend(rest);
        let mut expect = vec![Expect::Key {
            header: self.header_ref(i),
            key: key_spelling,
        }];
        expect.extend((1..block.len()).map(|_| Expect::ValueOf(0)));
        self.set_endings(&mut block, self.lines[i].ending);
        Some(Splice {
            start: i,
            end: i + 1,
            lines: block,
            expect,
        })
    }

    /// Puts the key after the last key of the section's last header (or a new section).
    fn plan_append(
        &self,
        section: Option<&str>,
        key: &str,
        payload: &Payload<'_>,
        ci: bool,
    ) -> Splice {
        let render = |style: &Style| match payload {
            Payload::Value(v) => (style.render(key, v), Vec::new()),
            Payload::Moved {
                indent,
                after_key,
                rest,
            } => (
                format!("{}{}{}", style.indent, key, after_key),
                reindent(rest, indent, &style.indent),
            ),
        };
        let rest;
        let mut block = Vec::new();
        let mut expect = Vec::new();
        let pos;
        if self.section_exists(section, ci) {
            // The last header of the logical section; the global section has none.
            let last_header = section.and_then(|s| self.headers(s, ci).last().copied());
            let mut style = self.section_style(section, ci);
            let last_key = (0..self.lines.len()).rev().find(|&i| {
                self.infos[i].header == last_header && matches!(self.infos[i].kind, Kind::Key(_))
            });
            pos = match (last_key, last_header) {
                (Some(k), _) => {
                    // Same indentation as the key before, or the new line would continue its value.
                    let text = &self.lines[k].text;
                    style.indent = text[..indent_len(text)].to_string();
                    self.span_end(k)
                }
                (None, Some(h)) => h + 1,
                (None, None) => 0,
            };
            let (first, moved) = render(&style);
            block.push(first);
            rest = moved;
            expect.push(Expect::Key {
                header: last_header.map_or(HeaderRef::Global, HeaderRef::Old),
                key: key.to_string(),
            });
        } else {
            pos = self.lines.len();
            let name = section.unwrap_or_default();
            let ends_blank = self.lines.last().map_or(true, |l| line::is_blank(&l.text));
            if !ends_blank {
                block.push(String::new());
                expect.push(Expect::Blank);
            }
            let header_at = block.len();
            block.push(format!("[{name}]"));
            expect.push(Expect::Header(name.to_string()));
            let (first, moved) = render(&self.dominant_style());
            block.push(first);
            rest = moved;
            expect.push(Expect::Key {
                header: HeaderRef::New(header_at),
                key: key.to_string(),
            });
        }
        let key_at = expect.len() - 1;
        let mut lines: Vec<RawLine> = block
            .into_iter()
            .map(|t| RawLine::new(t, LineEnding::Lf))
            .chain(rest)
            .collect();
        expect.extend((key_at + 1..lines.len()).map(|_| Expect::ValueOf(key_at)));

        let eol = self.dominant_ending();
        let at_unterminated_end =
            pos > 0 && pos == self.lines.len() && self.lines[pos - 1].ending == LineEnding::None;
        if at_unterminated_end {
            // Terminate the old last line; the new last line stays unterminated.
            self.set_endings(&mut lines, LineEnding::None);
            let prev = RawLine::new(self.lines[pos - 1].text.clone(), eol);
            lines.insert(0, prev);
            let shifted = expect.into_iter().map(|e| match e {
                Expect::Key {
                    header: HeaderRef::New(o),
                    key,
                } => Expect::Key {
                    header: HeaderRef::New(o + 1),
                    key,
                },
                Expect::ValueOf(o) => Expect::ValueOf(o + 1),
                other => other,
            });
            let mut all = vec![Expect::Same(pos - 1)];
            all.extend(shifted);
            Splice {
                start: pos - 1,
                end: pos,
                lines,
                expect: all,
            }
        } else {
            self.set_endings(&mut lines, eol);
            Splice {
                start: pos,
                end: pos,
                lines,
                expect,
            }
        }
    }

    /// Gives new lines the dominant ending, and the last one `last`.
    fn set_endings(&self, lines: &mut [RawLine], last: LineEnding) {
        let eol = self.dominant_ending();
        for line in lines.iter_mut() {
            line.ending = eol;
        }
        if let Some(line) = lines.last_mut() {
            line.ending = last;
        }
    }
}
