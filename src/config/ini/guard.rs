//! The last check on every edit: read the file before and after it as its
//! dialect's reader would (every dialect that reads it, for `generic`), and
//! refuse the edit if any assignment outside the edit's own scope reads
//! differently, or the edited key does not read as the value asked for.
//! Line roles (`splice`) catch most such edits with a precise line number;
//! this catches what they cannot see, such as a value that a reader would
//! cut at an inline comment.

use super::line::{classify, unquote, Kind, LineInfo, RawLine};
use super::syntax::{self, Setting, Syntax, DIALECTS};
use super::EditError;

/// What an edit may change: keys (all their assignments) or whole
/// sections, and the value the edited key must read as afterwards.
#[derive(Debug)]
pub struct Scope {
    /// For messages: "key `port` in [mysqld]".
    pub target: String,
    pub keys: Vec<(Option<String>, String)>,
    pub sections: Vec<String>,
    /// `(section, key, value)`: at least one assignment (every one with
    /// `all`) must read as `value` after the edit.
    pub value: Option<(Option<String>, String, String, bool)>,
}

impl Scope {
    pub fn key(section: Option<&str>, key: &str, target: String) -> Scope {
        Scope {
            target,
            keys: vec![(section.map(str::to_string), key.to_string())],
            sections: Vec::new(),
            value: None,
        }
    }

    /// Whether every section and key this edit names can be written in
    /// `syntax` at all.
    fn fits(&self, syntax: Syntax) -> bool {
        self.sections
            .iter()
            .all(|s| syntax.accepts_names(Some(s), None))
            && self
                .keys
                .iter()
                .all(|(s, k)| syntax.accepts_names(s.as_deref(), Some(k)))
    }

    fn covers(&self, syntax: Syntax, s: &Setting) -> bool {
        let same = |a: &str, b: &str| a.trim().to_lowercase() == b.trim().to_lowercase();
        let section_is = |want: &Option<String>| match (want, &s.section) {
            (None, None) => true,
            (Some(w), Some(got)) => same(&syntax.section_name(w), got),
            _ => false,
        };
        self.sections.iter().any(|n| section_is(&Some(n.clone())))
            || self
                .keys
                .iter()
                .any(|(sec, key)| section_is(sec) && same(&syntax.key_name(key), &s.key))
    }
}

/// The dialects whose reading must survive an edit of a `syntax` file.
fn readers(syntax: Syntax) -> Vec<Syntax> {
    match syntax {
        Syntax::Generic => std::iter::once(Syntax::Generic).chain(DIALECTS).collect(),
        one => vec![one],
    }
}

/// Checks an edit from `old` (classified as `old_infos` under `own`) to
/// `new` (likewise) for every reader of the file.
pub fn check(
    own: Syntax,
    old: (&[RawLine], &[LineInfo]),
    new: (&[RawLine], &[LineInfo]),
    scope: &Scope,
) -> Result<(), EditError> {
    for reader in readers(own) {
        let classified;
        let (old_infos, new_infos) = if reader == own {
            (old.1, new.1)
        } else {
            let rules = reader.rules();
            classified = (classify(old.0, rules), classify(new.0, rules));
            (&classified.0[..], &classified.1[..])
        };
        if reader != own && !same_structure(old.0, old.1, old_infos) {
            // This reader sees other keys in the file than lockstep does,
            // or the file has none yet: it is not written for that reader.
            continue;
        }
        let Some(before) = syntax::read(reader, old.0, old_infos) else {
            continue;
        };
        let refuse = |detail: String| EditError::ReadsDifferently {
            target: scope.target.clone(),
            syntax: reader,
            detail,
        };
        let Some(after) = syntax::read(reader, new.0, new_infos) else {
            if reader != own && !scope.fits(reader) {
                // The edit writes a name this dialect cannot have (git
                // allows no `_` in a key): the file is not one of its.
                continue;
            }
            return Err(refuse("the file would no longer be readable".to_string()));
        };
        let outside = |r: &[Setting]| -> Vec<Setting> {
            r.iter()
                .filter(|s| !scope.covers(reader, s))
                .cloned()
                .collect()
        };
        let (was, now) = (outside(&before), outside(&after));
        if was != now {
            let detail = match was.iter().zip(&now).find(|(a, b)| a != b) {
                Some((a, b)) if a.section == b.section && a.key == b.key => {
                    format!("{} would read differently", describe(a))
                }
                Some((a, b)) => format!("{} would read as {}", describe(a), describe(b)),
                None if was.len() > now.len() => {
                    format!("{} would disappear", describe(&was[now.len()]))
                }
                None => format!("{} would appear", describe(&now[was.len()])),
            };
            return Err(refuse(detail));
        }
        if let Some((section, key, value, all)) = &scope.value {
            let mine = Scope::key(section.as_deref(), key, String::new());
            let reads: Vec<&Option<String>> = after
                .iter()
                .filter(|s| mine.covers(reader, s))
                .map(|s| &s.value)
                .collect();
            let right = |v: &&Option<String>| {
                v.as_deref()
                    .is_some_and(|v| v == value || unquote(v) == value)
            };
            let ok = if *all {
                reads.iter().all(right)
            } else {
                reads.iter().any(right)
            };
            if !ok {
                return Err(refuse(format!(
                    "the value written would not read as the value asked for{}",
                    hint(reader)
                )));
            }
        }
    }
    Ok(())
}

/// Whether two classifications of `lines` find the same keys and headers
/// on the same lines (names compared trimmed and ignoring case), and the
/// same continuation lines; `false` for a file with no key or header.
fn same_structure(lines: &[RawLine], a: &[LineInfo], b: &[LineInfo]) -> bool {
    let name = |i: usize, kind: &Kind| -> Option<(u8, String)> {
        let text = &lines[i].text;
        match kind {
            Kind::Key(parts) => Some((0, text[parts.key.clone()].trim().to_lowercase())),
            Kind::Header { name } => Some((1, text[name.clone()].trim().to_lowercase())),
            Kind::Continuation { .. } => Some((2, String::new())),
            _ => None,
        }
    };
    let mut any = false;
    for i in 0..lines.len() {
        let n = name(i, &a[i].kind);
        any |= n.is_some();
        if n != name(i, &b[i].kind) {
            return false;
        }
    }
    any
}

/// Names the assignment without its value: values may be secrets.
fn describe(s: &Setting) -> String {
    match &s.section {
        Some(section) => format!("`{section}.{}`", s.key),
        None => format!("`{}`", s.key),
    }
}

/// What in a value a reader of `syntax` would not read literally.
fn hint(syntax: Syntax) -> &'static str {
    match syntax {
        Syntax::Php => " (php.ini reads `;` as a comment and strips quotes)",
        Syntax::Mysql => {
            " (my.cnf reads `#` as a comment, strips quotes and reads backslash escapes)"
        }
        Syntax::Gitconfig => {
            " (git reads `#` and `;` as comments, strips quotes and reads backslash escapes)"
        }
        Syntax::Systemd => " (systemd reads a trailing backslash as a line continuation)",
        Syntax::Configparser | Syntax::Generic => "",
    }
}
