//! The properties the fuzz targets check, one function per target, so that
//! `cargo fuzz run TARGET` and a reproduction in a test call the same code:
//!
//! - `ini_round_trip`: any text parses, and prints back byte for byte;
//! - `ini_edit`: an operation that fails or reports no change leaves the
//!   bytes alone; one that reports a change keeps every line it does not
//!   target (in order), reads back as the same document, and does what it
//!   says (`set` then `get`);
//! - `config_migration_yaml`, `db_migration_yaml`, `sql_markers`: the loaders
//!   never panic, and an error names the file and a line within it (or an
//!   operation by number, or says what the whole file lacks);
//! - `sql_markers` also splits every script (and the raw text) in each
//!   dialect without panicking, statements in order and within the script;
//! - `whole_apply`: the whole `apply` on a throwaway SQLite database and
//!   config root ends cleanly, writes nothing outside the root, and a
//!   second apply after a success changes nothing (see [`whole_apply`]).

use arbitrary::Arbitrary;
use lockstep::config::ini::{Document, MatchOptions, Occurrence};
use lockstep::db::dialect::Dialect;
use lockstep::error::SourceError;
use std::path::Path;

mod whole_apply;
pub use whole_apply::{whole_apply, Parts};

pub fn ini_round_trip(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let doc = Document::parse(&text);
    assert_eq!(doc.to_string(), text, "the round trip changed the text");
    assert_eq!(Document::parse(&doc.to_string()), doc);
    let lines = text.split_inclusive('\n').count().max(1);
    for e in doc.entries() {
        assert!(
            e.line >= 1 && e.line <= lines,
            "entry {e:?} outside 1..={lines}"
        );
    }
}

const SECTIONS: &[&str] = &["a", "A", "b", "Service", "x y"];
const KEYS: &[&str] = &["k", "K", "x", "ExecStart", "port", "a.b"];
const VALUES: &[&str] = &[
    "1",
    "v",
    "\"q\"",
    "'s'",
    "",
    "a b",
    "http://h:1/p",
    "x=y",
    ";c",
];

/// A name from a small vocabulary (so operations hit what the text holds),
/// or any short string.
#[derive(Arbitrary, Debug, Clone)]
pub enum Name {
    Known(u8),
    Any(String),
}

impl Name {
    fn get(&self, vocab: &'static [&'static str]) -> String {
        match self {
            Name::Known(i) => vocab[*i as usize % vocab.len()].to_owned(),
            Name::Any(s) => s.chars().take(12).collect(),
        }
    }
}

#[derive(Arbitrary, Debug, Clone, Copy)]
pub enum Occ {
    Unique,
    First,
    Last,
    All,
    Index(u8),
}

#[derive(Arbitrary, Debug, Clone)]
pub struct Opts {
    case_insensitive: bool,
    occurrence: Occ,
}

impl Opts {
    fn get(&self) -> MatchOptions {
        MatchOptions {
            case_insensitive: self.case_insensitive,
            occurrence: match self.occurrence {
                Occ::Unique => Occurrence::Unique,
                Occ::First => Occurrence::First,
                Occ::Last => Occurrence::Last,
                Occ::All => Occurrence::All,
                Occ::Index(i) => Occurrence::Index(i as usize % 4),
            },
            keep_inactive: false,
        }
    }
}

#[derive(Arbitrary, Debug, Clone)]
pub enum Op {
    Set(Option<Name>, Name, Name, Opts),
    SetDefault(Option<Name>, Name, Name, Opts),
    Delete(Option<Name>, Name, Opts),
    Rename(Option<Name>, Name, Option<Name>, Name, Opts),
    RenameSection(Name, Name, Opts),
    DeleteSection(Name, Opts),
}

/// An op with its names resolved.
#[derive(Debug, Clone)]
enum Resolved {
    Set(Option<String>, String, String),
    SetDefault(Option<String>, String, String),
    Delete(Option<String>, String),
    Rename(Option<String>, String, Option<String>, String),
    RenameSection(String, String),
    DeleteSection(String),
}

impl Op {
    fn resolve(&self) -> (Resolved, MatchOptions) {
        let s = |n: &Option<Name>| n.as_ref().map(|n| n.get(SECTIONS));
        match self {
            Op::Set(sec, k, v, o) => (Resolved::Set(s(sec), k.get(KEYS), v.get(VALUES)), o.get()),
            Op::SetDefault(sec, k, v, o) => (
                Resolved::SetDefault(s(sec), k.get(KEYS), v.get(VALUES)),
                o.get(),
            ),
            Op::Delete(sec, k, o) => (Resolved::Delete(s(sec), k.get(KEYS)), o.get()),
            Op::Rename(sec, k, ts, tk, o) => (
                Resolved::Rename(s(sec), k.get(KEYS), s(ts), tk.get(KEYS)),
                o.get(),
            ),
            Op::RenameSection(f, t, o) => (
                Resolved::RenameSection(f.get(SECTIONS), t.get(SECTIONS)),
                o.get(),
            ),
            Op::DeleteSection(sec, o) => (Resolved::DeleteSection(sec.get(SECTIONS)), o.get()),
        }
    }
}

impl Resolved {
    fn apply(
        &self,
        doc: &mut Document,
        o: &MatchOptions,
    ) -> Result<bool, lockstep::config::ini::EditError> {
        match self {
            Resolved::Set(s, k, v) => doc.set(s.as_deref(), k, v, o),
            Resolved::SetDefault(s, k, v) => doc.set_default(s.as_deref(), k, v, o),
            Resolved::Delete(s, k) => doc.delete(s.as_deref(), k, o),
            Resolved::Rename(s, k, ts, tk) => doc.rename(s.as_deref(), k, ts.as_deref(), tk, o),
            Resolved::RenameSection(f, t) => doc.rename_section(f, t, o),
            Resolved::DeleteSection(s) => doc.delete_section(s, o),
        }
    }

    /// Whether the op may rewrite or remove this old line: a generous guess
    /// from the line's text alone, independent of the parser.
    fn may_touch(&self, line: &str, is_last: bool, in_section: bool, ci: bool) -> bool {
        let has = |name: &str| {
            if ci {
                line.to_lowercase().contains(&name.to_lowercase())
            } else {
                line.contains(name)
            }
        };
        let unterminated_last = is_last && !line.ends_with('\n');
        let trimmed = line.trim_start();
        // The editor's whitespace (`line::is_ws`): VT and FF indent too.
        let indented = line.starts_with([' ', '\t', '\r', '\x0b', '\x0c']);
        let comment = trimmed.starts_with([';', '#']);
        match self {
            Resolved::Set(_, k, _) | Resolved::SetDefault(_, k, _) | Resolved::Delete(_, k) => {
                has(k) || indented || comment || unterminated_last
            }
            Resolved::Rename(_, k, _, tk) => {
                has(k) || has(tk) || indented || comment || unterminated_last
            }
            Resolved::RenameSection(from, _) => trimmed.starts_with('[') && has(from),
            Resolved::DeleteSection(_) => in_section,
        }
    }
}

#[derive(Arbitrary, Debug)]
pub struct EditInput {
    pub text: String,
    pub ops: Vec<Op>,
}

fn raw_lines(text: &str) -> Vec<&str> {
    text.strip_prefix('\u{feff}')
        .unwrap_or(text)
        .split_inclusive('\n')
        .collect()
}

fn is_subsequence(part: &[&str], whole: &[&str]) -> bool {
    let mut rest = whole.iter();
    part.iter().all(|p| rest.any(|w| w == p))
}

/// Lines between a header of section `name` and the next header, plus the
/// blank lines before a removed section that reaches the end: a superset of
/// what `delete_section` may remove.
fn section_regions(lines: &[&str], name: &str, ci: bool) -> Vec<bool> {
    const WS: &[char] = &[' ', '\t', '\r', '\x0b', '\x0c'];
    // The editor's rule: the closing `]` is the first one followed only by
    // whitespace (`line::is_ws`) or a comment; `[a]t` is no header.
    let header_name = |l: &str| -> Option<String> {
        let inner = l
            .trim_end_matches('\n')
            .trim_start_matches(WS)
            .strip_prefix('[')?;
        inner.match_indices(']').find_map(|(close, _)| {
            let rest = inner[close + 1..].trim_start_matches(WS);
            (rest.is_empty() || rest.starts_with([';', '#']))
                .then(|| inner[..close].trim_matches(WS).to_string())
        })
    };
    let same = |h: &str| {
        if ci {
            h.to_lowercase() == name.to_lowercase()
        } else {
            h == name
        }
    };
    let mut inside = false;
    let mut regions: Vec<bool> = lines
        .iter()
        .map(|l| {
            if let Some(h) = header_name(l) {
                // An indented `[b]` is a header, or continues a value: it may
                // start the section's region but never ends it.
                if !l.starts_with(WS) || same(&h) {
                    inside = same(&h);
                }
            }
            inside
        })
        .collect();
    for i in (0..lines.len()).rev() {
        if regions[i] {
            continue;
        }
        if !lines[i].trim().is_empty() {
            break;
        }
        regions[i] = true;
    }
    regions
}

/// Blank lines followed, after only blank and comment lines, by an indented
/// line: a value continues across them (configparser's
/// `empty_lines_in_values`; a comment line neither ends a value nor belongs
/// to it), so an edit of that value may rewrite them.
fn blank_lines_inside_values(lines: &[&str]) -> Vec<bool> {
    // The editor's whitespace (`line::is_ws`).
    const WS: &[char] = &[' ', '\t', '\r', '\x0b', '\x0c'];
    let mut inside = vec![false; lines.len()];
    let mut next_indented = false;
    for i in (0..lines.len()).rev() {
        let rest = lines[i].trim_start_matches(WS);
        if rest.trim().is_empty() {
            inside[i] = next_indented;
        } else if !rest.starts_with([';', '#']) {
            next_indented = lines[i].starts_with(WS);
        }
    }
    inside
}

pub fn ini_edit(input: &EditInput) {
    let mut doc = Document::parse(&input.text);
    for op in input.ops.iter().take(4) {
        let (op, opts) = op.resolve();
        let text = doc.to_string();
        let result = op.apply(&mut doc, &opts);
        let after = doc.to_string();
        match result {
            Err(_) | Ok(false) => {
                assert_eq!(after, text, "{op:?} {result:?} but changed the bytes");
                continue;
            }
            Ok(true) => assert_ne!(after, text, "{op:?} reported a change that changed nothing"),
        }
        assert_eq!(after.starts_with('\u{feff}'), text.starts_with('\u{feff}'));
        assert_eq!(
            Document::parse(&after),
            doc,
            "{op:?}: the result reads back differently"
        );
        let old = raw_lines(&text);
        let new = raw_lines(&after);
        let regions = match &op {
            Resolved::DeleteSection(name) => section_regions(&old, name, opts.case_insensitive),
            _ => vec![false; old.len()],
        };
        let inside_values = blank_lines_inside_values(&old);
        let untouchable: Vec<&str> = old
            .iter()
            .enumerate()
            .filter(|&(i, line)| {
                let key_op =
                    !matches!(op, Resolved::RenameSection(..) | Resolved::DeleteSection(_));
                !op.may_touch(line, i + 1 == old.len(), regions[i], opts.case_insensitive)
                    && !(key_op && inside_values[i])
            })
            .map(|(_, line)| *line)
            .collect();
        assert!(
            is_subsequence(&untouchable, &new),
            "{op:?} changed a line it does not target:\n{text:?}\n->\n{after:?}"
        );
        if let Resolved::Set(s, k, v) = &op {
            let got = doc.get(s.as_deref(), k, &opts);
            let unquoted = unquote(v);
            assert_eq!(got, Ok(Some(Some(unquoted.to_owned()))), "{op:?} then get");
        }
    }
}

/// One pair of matching quotes stripped, as `Document::get` does.
fn unquote(v: &str) -> &str {
    for q in ['"', '\''] {
        if v.len() >= 2 && v.starts_with(q) && v.ends_with(q) {
            return &v[1..v.len() - 1];
        }
    }
    v
}

/// An error from a loader names the file, and a line within it unless it is
/// about the file as a whole or about an operation by its number.
fn check_error(e: &SourceError, path: &Path, data: &[u8]) {
    assert_eq!(e.path, path);
    let shown = e.to_string();
    assert!(shown.starts_with(&path.display().to_string()), "{shown}");
    let Ok(text) = std::str::from_utf8(data.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(data)) else {
        return;
    };
    // YAML also breaks lines at a lone CR (old Mac files): count both ways.
    let yaml_lines = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines = text
        .split_inclusive('\n')
        .count()
        .max(yaml_lines.split_inclusive('\n').count())
        + 1;
    match e.line {
        Some(line) => assert!(
            line >= 1 && line <= lines,
            "line {line} outside 1..={lines}: {shown}"
        ),
        None => assert!(
            e.message.starts_with("operation ")
                || e.message.contains("is empty")
                || e.message.contains("no `-- lockstep:up` section")
                || e.message.contains("missing field")
                || e.message.contains("more than one document")
                || text.trim().is_empty(),
            "an error without a line: {shown}\n{text:?}"
        ),
    }
    assert!(!e.message.is_empty());
}

pub fn config_migration_yaml(data: &[u8]) {
    let path = Path::new("config-migrations/0001_fuzz.yaml");
    if let Err(e) = lockstep::config::migration::parse(path, data) {
        check_error(&e, path, data);
    }
}

pub fn db_migration_yaml(data: &[u8]) {
    let path = Path::new("migrations/0001_fuzz.yaml");
    if let Err(e) = lockstep::db::source::parse_yaml(path, data) {
        check_error(&e, path, data);
    }
}

const DIALECTS: [Dialect; 3] = [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql];

fn check_split(script: &str, dialect: Dialect) {
    let lines = script.split_inclusive('\n').count().max(1);
    let mut last = 1;
    for s in lockstep::db::statements::split(script, dialect) {
        assert!(
            !s.sql.trim().is_empty(),
            "an empty statement from {script:?}"
        );
        assert!(
            s.line >= last && s.line <= lines,
            "statement at line {} (last {last}, {lines} lines)",
            s.line
        );
        last = s.line;
    }
}

pub fn sql_markers(data: &[u8]) {
    let path = Path::new("migrations/0001_fuzz.sql");
    match lockstep::db::source::parse_sql(path, data) {
        Err(e) => check_error(&e, path, data),
        Ok(m) => {
            // The parser reads a lone CR as a line break (old Mac files).
            let text = String::from_utf8_lossy(data)
                .replace("\r\n", "\n")
                .replace('\r', "\n");
            let lines = text.split_inclusive('\n').count() + 1;
            for scripts in [&m.up, &m.down] {
                for d in DIALECTS {
                    if let Some(script) = scripts.for_dialect(d) {
                        assert!(
                            script.line >= 1 && script.line <= lines,
                            "script at line {}",
                            script.line
                        );
                        check_split(&script.sql, d);
                    }
                }
            }
        }
    }
    let text = String::from_utf8_lossy(data);
    for d in DIALECTS {
        check_split(&text, d);
    }
}
