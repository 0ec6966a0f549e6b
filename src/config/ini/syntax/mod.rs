//! INI dialects: which program reads a file decides what its lines mean.
//! configparser continues a value on deeper-indented lines (across blank
//! lines), systemd and git on a trailing backslash, php.ini and my.cnf not at
//! all; php.ini, my.cnf and git end a value at an inline comment. Each
//! dialect's rules live in its own file here: how lines split
//! ([`LineRules`]), how a value reads, how names compare, and whether a file
//! is readable at all. The editor asks them and never branches on a dialect.
//!
//! `generic` is for files whose reader is unknown: lockstep's own lenient
//! reading, and an edit is accepted only if every dialect that can read the
//! file reads its result the same way (see `Document::commit`).

mod configparser;
mod generic;
mod gitconfig;
mod mysql;
mod php;
mod systemd;
#[cfg(test)]
mod tests;

use super::line::{is_ws, KeyParts, Kind, LineInfo, LineRules, RawLine};
use std::borrow::Cow;
use std::fmt;
use std::path::Path;
use std::str::FromStr;

/// The dialect a file is read by.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum Syntax {
    /// Unknown reader: edits must read the same in every dialect below.
    #[default]
    Generic,
    /// Python's `configparser` with its defaults (`empty_lines_in_values`).
    Configparser,
    /// systemd unit files and `*.conf` drop-ins.
    Systemd,
    /// `php.ini` as PHP's `parse_ini_file` reads it.
    Php,
    /// MySQL / MariaDB option files (`my.cnf`).
    Mysql,
    /// git's config files.
    Gitconfig,
}

/// Every dialect that has its own reader (all but `generic`).
pub const DIALECTS: [Syntax; 5] = [
    Syntax::Configparser,
    Syntax::Systemd,
    Syntax::Php,
    Syntax::Mysql,
    Syntax::Gitconfig,
];

/// One assignment as the dialect's reader sees it: names in the reader's
/// canonical form (git lowercases, configparser lowercases keys), the value
/// decoded (quotes, escapes, inline comments, continuation lines).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Setting {
    pub section: Option<String>,
    pub key: String,
    pub value: Option<String>,
}

impl Syntax {
    pub fn name(self) -> &'static str {
        match self {
            Syntax::Generic => "generic",
            Syntax::Configparser => "configparser",
            Syntax::Systemd => "systemd",
            Syntax::Php => "php",
            Syntax::Mysql => "mysql",
            Syntax::Gitconfig => "gitconfig",
        }
    }

    /// The dialect a file's name implies, `generic` when it implies none.
    pub fn for_path(path: &Path) -> Syntax {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let parent = path
            .parent()
            .and_then(|p| p.file_name())
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        let under = |dir: &str| {
            path.ancestors()
                .skip(1)
                .any(|a| a.file_name().is_some_and(|n| n == dir))
        };
        let ext = path
            .extension()
            .and_then(|e| e.to_str())
            .unwrap_or_default();
        if name == ".gitconfig"
            || (name == "config" && parent == ".git")
            || under(".git") && name == "config"
        {
            return Syntax::Gitconfig;
        }
        if name == "php.ini"
            || ((parent == "conf.d" || parent == "mods-available") && under("php") && ext == "ini")
        {
            return Syntax::Php;
        }
        if name == "my.cnf"
            || name == ".my.cnf"
            || (ext == "cnf" && (under("mysql") || under("my.cnf.d")))
        {
            return Syntax::Mysql;
        }
        const UNITS: [&str; 11] = [
            "service",
            "socket",
            "timer",
            "mount",
            "automount",
            "path",
            "target",
            "slice",
            "scope",
            "swap",
            "network",
        ];
        if UNITS.contains(&ext) || (ext == "conf" && under("systemd")) {
            return Syntax::Systemd;
        }
        if matches!(
            name,
            "setup.cfg" | "tox.ini" | ".flake8" | "pytest.ini" | "mypy.ini"
        ) {
            return Syntax::Configparser;
        }
        Syntax::Generic
    }

    pub(in crate::config::ini) fn rules(self) -> &'static LineRules {
        match self {
            Syntax::Generic => &generic::RULES,
            Syntax::Configparser => &configparser::RULES,
            Syntax::Systemd => &systemd::RULES,
            Syntax::Php => &php::RULES,
            Syntax::Mysql => &mysql::RULES,
            Syntax::Gitconfig => &gitconfig::RULES,
        }
    }

    /// The reader's name for a section header's text.
    pub fn section_name(self, raw: &str) -> String {
        self.section_name_ref(raw).into_owned()
    }

    /// The reader's name for a key as written.
    pub fn key_name(self, raw: &str) -> String {
        self.key_name_ref(raw).into_owned()
    }

    /// [`Syntax::section_name`], borrowing `raw` where it is the name.
    pub(super) fn section_name_ref(self, raw: &str) -> Cow<'_, str> {
        match self {
            Syntax::Gitconfig => Cow::Owned(gitconfig::section_name(raw)),
            _ => Cow::Borrowed(raw),
        }
    }

    /// [`Syntax::key_name`], borrowing `raw` where it is the name.
    pub(super) fn key_name_ref(self, raw: &str) -> Cow<'_, str> {
        match self {
            Syntax::Configparser | Syntax::Gitconfig => lowercase(raw),
            _ => Cow::Borrowed(raw),
        }
    }

    /// Whether the reader compares section names ignoring case (git; its
    /// subsection names are compared ignoring case here too).
    pub fn folds_section_case(self) -> bool {
        matches!(self, Syntax::Gitconfig)
    }

    /// Whether the reader compares key names ignoring case (git, and
    /// configparser's `optionxform`).
    pub fn folds_key_case(self) -> bool {
        matches!(self, Syntax::Gitconfig | Syntax::Configparser)
    }

    /// How the reader reads the value of the key on line `i`.
    fn value(
        self,
        lines: &[RawLine],
        infos: &[LineInfo],
        i: usize,
        parts: &KeyParts,
    ) -> Option<String> {
        let span = value_lines(lines, infos, i, parts)?;
        Some(match self {
            Syntax::Generic => generic::value(&span),
            Syntax::Configparser => configparser::value(&span),
            Syntax::Systemd => systemd::value(&span),
            Syntax::Php => php::value(&span),
            Syntax::Mysql => mysql::value(&span),
            Syntax::Gitconfig => gitconfig::value(&span)?,
        })
    }

    /// Whether the reader accepts the file at all; a dialect that rejects the
    /// original file is not asked about an edit of it.
    fn accepts(self, lines: &[RawLine], infos: &[LineInfo]) -> bool {
        let mut seen_header = false;
        for (i, info) in infos.iter().enumerate() {
            match &info.kind {
                Kind::Header { name } => {
                    seen_header = true;
                    if !self.accepts_header(&lines[i].text[name.clone()]) {
                        return false;
                    }
                }
                Kind::Key(parts) => {
                    let needs_header = !matches!(self, Syntax::Php | Syntax::Generic);
                    if needs_header && !seen_header {
                        return false;
                    }
                    if !self.accepts_key(&lines[i].text[parts.key.clone()], parts) {
                        return false;
                    }
                    // Only git rejects a value (an open quote, a bad escape).
                    if self == Syntax::Gitconfig
                        && parts.delim.is_some()
                        && self.value(lines, infos, i, parts).is_none()
                    {
                        return false;
                    }
                }
                Kind::Invalid => return false,
                Kind::Directive => return matches!(self, Syntax::Mysql | Syntax::Generic),
                _ => {}
            }
        }
        true
    }

    fn accepts_header(self, name: &str) -> bool {
        match self {
            Syntax::Gitconfig => gitconfig::accepts_header(name),
            _ => !name.is_empty(),
        }
    }

    /// Whether a section or key of these names can be written in this
    /// dialect at all (git keys are alphanumerics and `-`, my.cnf and
    /// systemd option names are words).
    pub(super) fn accepts_names(self, section: Option<&str>, key: Option<&str>) -> bool {
        let parts = KeyParts {
            key: 0..0,
            delim: Some(0),
            value: 0..0,
        };
        section.is_none_or(|s| self.accepts_header(s))
            && key.is_none_or(|k| self.accepts_key(k, &parts))
    }

    fn accepts_key(self, key: &str, parts: &KeyParts) -> bool {
        // Option names of my.cnf and systemd are words; a file with other
        // keys (`x: 1`, `a b = c`) is not one of theirs.
        let word = || {
            key.chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
        };
        match self {
            Syntax::Gitconfig => gitconfig::accepts_key(key),
            Syntax::Systemd => parts.delim.is_some() && word(),
            Syntax::Mysql => word(),
            _ => true,
        }
    }
}

impl fmt::Display for Syntax {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// A `syntax:` that names no dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("syntax `{0}` is not one of generic, configparser, systemd, php, mysql, gitconfig")]
pub struct UnknownSyntax(pub String);

impl FromStr for Syntax {
    type Err = UnknownSyntax;

    fn from_str(s: &str) -> Result<Syntax, UnknownSyntax> {
        std::iter::once(Syntax::Generic)
            .chain(DIALECTS)
            .find(|d| d.name() == s)
            .ok_or_else(|| UnknownSyntax(s.to_owned()))
    }
}

/// The text of one key's value as written: the rest of the key line after
/// the delimiter (`first`), its value part (`value`: trimmed, without an
/// inline comment) and the lines after it that belong to the key.
pub(super) struct ValueLines<'a> {
    pub first: &'a str,
    pub value: &'a str,
    pub rest: Vec<(&'a str, &'a Kind)>,
}

/// Lines after key line `i` that belong to its value (continuations, and
/// the comments and blank lines between them).
fn following(infos: &[LineInfo], i: usize) -> impl Iterator<Item = usize> + '_ {
    (i + 1..infos.len()).take_while(move |&j| {
        matches!(infos[j].kind,
            Kind::Continuation { owner } | Kind::ValueComment { owner } | Kind::ValueBlank { owner }
            if owner == i)
    })
}

/// The text a key's value is read from (`None` for a key without a
/// delimiter). Every dialect's value is a function of it alone.
fn value_lines<'a>(
    lines: &'a [RawLine],
    infos: &'a [LineInfo],
    i: usize,
    parts: &KeyParts,
) -> Option<ValueLines<'a>> {
    let d = parts.delim?;
    let text = &lines[i].text;
    Some(ValueLines {
        first: &text[d + 1..],
        value: &text[parts.value.clone()],
        rest: following(infos, i)
            .map(|j| (lines[j].text.as_str(), &infos[j].kind))
            .collect(),
    })
}

impl ValueLines<'_> {
    /// Whether the two read as the same value in every dialect, judged
    /// from the text alone (continuation lines compared by what they are,
    /// not by which key owns them).
    fn same_text(&self, other: &ValueLines) -> bool {
        self.first == other.first
            && self.value == other.value
            && self.rest.len() == other.rest.len()
            && self.rest.iter().zip(&other.rest).all(|((a, ka), (b, kb))| {
                a == b && std::mem::discriminant(*ka) == std::mem::discriminant(*kb)
            })
    }
}

/// `text` lowercased, borrowed when it has no upper-case letter.
pub(super) fn lowercase(text: &str) -> Cow<'_, str> {
    if text.is_ascii() && !text.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Borrowed(text)
    } else {
        Cow::Owned(text.to_lowercase())
    }
}

/// Where one assignment of a [`Reading`] is: its key line and the line of
/// its section's header.
#[derive(Clone, Copy, Debug)]
pub(super) struct Site {
    pub line: usize,
    pub header: Option<usize>,
}

/// A file as `syntax` reads it, without copying it: the assignments as
/// places in the lines, their names and values read on demand. The guard
/// compares two of these assignment by assignment and decodes a value
/// only when its text differs.
pub(super) struct Reading<'a> {
    syntax: Syntax,
    lines: &'a [RawLine],
    infos: &'a [LineInfo],
    pub sites: Vec<Site>,
    /// The reader's name of each header's section, by header line.
    sections: Vec<(usize, Cow<'a, str>)>,
}

impl<'a> Reading<'a> {
    /// `None` when the reader rejects the file. `infos` must be `lines`
    /// classified by `syntax`'s rules.
    pub fn new(syntax: Syntax, lines: &'a [RawLine], infos: &'a [LineInfo]) -> Option<Reading<'a>> {
        if !syntax.accepts(lines, infos) {
            return None;
        }
        let mut sites = Vec::new();
        let mut sections = Vec::new();
        for (i, info) in infos.iter().enumerate() {
            match &info.kind {
                Kind::Header { name } => {
                    sections.push((i, syntax.section_name_ref(&lines[i].text[name.clone()])))
                }
                // parse_ini_file reads a bare word as nothing.
                Kind::Key(parts) if syntax == Syntax::Php && parts.delim.is_none() => {}
                Kind::Key(_) => sites.push(Site {
                    line: i,
                    header: info.header,
                }),
                _ => {}
            }
        }
        Some(Reading {
            syntax,
            lines,
            infos,
            sites,
            sections,
        })
    }

    pub fn syntax(&self) -> Syntax {
        self.syntax
    }

    /// Every header line and the reader's name of its section, in order.
    pub fn headers(&self) -> impl Iterator<Item = (usize, &str)> {
        self.sections.iter().map(|(line, name)| (*line, &**name))
    }

    /// The reader's section name of an assignment.
    pub fn section(&self, site: Site) -> Option<&str> {
        let h = site.header?;
        let at = self
            .sections
            .binary_search_by_key(&h, |(line, _)| *line)
            .ok()?;
        Some(&self.sections[at].1)
    }

    fn parts(&self, site: Site) -> &'a KeyParts {
        match &self.infos[site.line].kind {
            Kind::Key(parts) => parts,
            _ => unreachable!("a site is a key line"),
        }
    }

    /// The key as written.
    pub fn raw_key(&self, site: Site) -> &'a str {
        &self.lines[site.line].text[self.parts(site).key.clone()]
    }

    pub fn value(&self, site: Site) -> Option<String> {
        self.syntax
            .value(self.lines, self.infos, site.line, self.parts(site))
    }

    pub fn setting(&self, site: Site) -> Setting {
        Setting {
            section: self.section(site).map(str::to_string),
            key: self.syntax.key_name(self.raw_key(site)),
            value: self.value(site),
        }
    }

    /// Whether assignment `a` here reads exactly as assignment `b` of
    /// `other` (the same reader's reading of another version of the file).
    pub fn same(&self, a: Site, other: &Reading, b: Site) -> bool {
        if self.section(a) != other.section(b) {
            return false;
        }
        let (ka, kb) = (self.raw_key(a), other.raw_key(b));
        if ka != kb && self.syntax.key_name_ref(ka) != other.syntax.key_name_ref(kb) {
            return false;
        }
        let va = value_lines(self.lines, self.infos, a.line, self.parts(a));
        let vb = value_lines(other.lines, other.infos, b.line, other.parts(b));
        match (va, vb) {
            (None, None) => true,
            (Some(x), Some(y)) if x.same_text(&y) => true,
            (Some(_), Some(_)) => self.value(a) == other.value(b),
            _ => false,
        }
    }
}

/// Every assignment in the file as `syntax` reads it, or `None` when its
/// reader rejects the file. `lines` must be classified by `syntax`'s rules.
pub(super) fn read(syntax: Syntax, lines: &[RawLine], infos: &[LineInfo]) -> Option<Vec<Setting>> {
    let reading = Reading::new(syntax, lines, infos)?;
    Some(reading.sites.iter().map(|&s| reading.setting(s)).collect())
}

/// Strips one pair of matching quotes.
pub(super) fn strip_quotes(value: &str) -> &str {
    let b = value.as_bytes();
    if b.len() >= 2 && (b[0] == b'"' || b[0] == b'\'') && b[b.len() - 1] == b[0] {
        &value[1..value.len() - 1]
    } else {
        value
    }
}

/// Byte index of the first `marks` character outside `"` quotes (a `\`
/// escapes the next character inside them).
pub(super) fn outside_quotes(text: &str, marks: &[char], quotes: &[char]) -> Option<usize> {
    let mut quote: Option<char> = None;
    let mut escaped = false;
    for (i, c) in text.char_indices() {
        if let Some(q) = quote {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == q {
                quote = None;
            }
        } else if marks.contains(&c) {
            return Some(i);
        } else if quotes.contains(&c) {
            quote = Some(c);
        }
    }
    None
}

pub(super) fn trim(text: &str) -> &str {
    text.trim_matches(is_ws)
}

/// Whether `text` ends in an odd run of backslashes (the last one unescaped).
pub(super) fn ends_with_backslash(text: &str) -> bool {
    let run = text.len() - text.trim_end_matches('\\').len();
    run % 2 == 1
}
