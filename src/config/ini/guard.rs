//! The last check on every edit: read the file before and after it as its
//! dialect's reader would (every dialect that reads it, for `generic`), and
//! refuse the edit if any assignment outside the edit's own scope reads
//! differently, or the edited key does not read as the value asked for.
//! Line roles (`splice`) catch most such edits with a precise line number;
//! this catches what they cannot see, such as a value that a reader would
//! cut at an inline comment.

use super::line::{classify, unquote, Kind, LineInfo, RawLine};
use super::syntax::{lowercase, Reading, Setting, Site, Syntax, DIALECTS};
use super::EditError;
use std::borrow::Cow;
use std::ops::Range;

/// What an edit may change: keys (all their assignments) or whole
/// sections, and the value the edited key must read as afterwards.
#[derive(Clone, Debug)]
pub struct Scope {
    /// For messages: "key `port` in [mysqld]".
    pub target: String,
    pub keys: Vec<(Option<String>, String)>,
    pub sections: Vec<String>,
    /// `(section, key, value)`: at least one assignment (every one with
    /// `all`) must read as `value` after the edit.
    pub value: Option<(Option<String>, String, String, bool)>,
    /// The value is asked of this block (0-based) of the value's
    /// repeated section only (see `Document::in_block`).
    pub block: Option<usize>,
}

impl Scope {
    pub fn key(section: Option<&str>, key: &str, target: String) -> Scope {
        Scope {
            target,
            keys: vec![(section.map(str::to_string), key.to_string())],
            sections: Vec::new(),
            value: None,
            block: None,
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
}

/// Names trimmed and lowercased: how the guard compares them.
fn fold(name: &str) -> Cow<'_, str> {
    lowercase(name.trim())
}

/// A [`Scope`]'s names as one reader spells them, folded once per check.
struct Covered {
    sections: Vec<String>,
    keys: Vec<(Option<String>, String)>,
}

impl Covered {
    fn new(scope: &Scope, syntax: Syntax) -> Covered {
        let section = |s: &str| fold(&syntax.section_name_ref(s)).into_owned();
        Covered {
            sections: scope.sections.iter().map(|s| section(s)).collect(),
            keys: scope
                .keys
                .iter()
                .map(|(s, k)| {
                    let key = fold(&syntax.key_name_ref(k)).into_owned();
                    (s.as_deref().map(section), key)
                })
                .collect(),
        }
    }

    /// The assignments of `reading` the edit may change, and the others.
    /// Only sites on the `lines` given.
    fn partition(&self, reading: &Reading, lines: Range<usize>) -> (Vec<Site>, Vec<Site>) {
        let from = reading.sites.partition_point(|s| s.line < lines.start);
        let to = reading.sites.partition_point(|s| s.line < lines.end);
        let (mut covered, mut outside) = (Vec::new(), Vec::with_capacity(reading.sites.len()));
        // Sites come in file order: what a header means for the scope (the
        // whole section, some of its keys, nothing) is worked out once per
        // run of its sites.
        let mut memo: Option<(Option<usize>, bool, Vec<&str>)> = None;
        for &site in &reading.sites[from..to] {
            let (whole, keys) = match &memo {
                Some((header, whole, keys)) if *header == site.header => (*whole, keys),
                _ => {
                    let section = reading.section(site).map(fold);
                    let section = section.as_deref();
                    let whole = section.is_some_and(|s| self.sections.iter().any(|n| n == s));
                    let keys = self
                        .keys
                        .iter()
                        .filter(|(s, _)| s.as_deref() == section)
                        .map(|(_, k)| k.as_str())
                        .collect();
                    let (_, whole, keys) = memo.insert((site.header, whole, keys));
                    (*whole, &*keys)
                }
            };
            let mine = whole
                || !keys.is_empty() && {
                    let key = reading.syntax().key_name_ref(reading.raw_key(site));
                    let key = fold(&key);
                    keys.iter().any(|k| *k == key)
                };
            if mine {
                covered.push(site);
            } else {
                outside.push(site);
            }
        }
        (covered, outside)
    }
}

/// The dialects whose reading must survive an edit of a `syntax` file.
fn readers(syntax: Syntax) -> Vec<Syntax> {
    match syntax {
        Syntax::Generic => std::iter::once(Syntax::Generic).chain(DIALECTS).collect(),
        one => vec![one],
    }
}

/// Other readers' classifications of a document's lines, kept from the
/// check of the edit that made them: the next edit's check starts from
/// them instead of classifying the same lines again. A cache, not part of
/// the document: documents compare equal whatever it holds.
#[derive(Clone, Default)]
pub struct Classified(Vec<(Syntax, Vec<LineInfo>)>);

impl Classified {
    fn get(&self, reader: Syntax) -> Option<&[LineInfo]> {
        self.0
            .iter()
            .find(|(s, _)| *s == reader)
            .map(|(_, infos)| &infos[..])
    }
}

impl PartialEq for Classified {
    fn eq(&self, _: &Classified) -> bool {
        true
    }
}

impl Eq for Classified {}

impl std::fmt::Debug for Classified {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Classified(..)")
    }
}

/// Checks an edit from `old` (classified as `old.1` under `own`, and as
/// `old.2` holds for other readers) to `new` (likewise) for every reader
/// of the file. Returns the other readers' classifications of `new`.
pub fn check(
    own: Syntax,
    old: (&[RawLine], &[LineInfo], &Classified),
    new: (&[RawLine], &[LineInfo]),
    scope: &Scope,
) -> Result<Classified, EditError> {
    let mut next = Classified::default();
    for reader in readers(own) {
        let classified;
        let (old_infos, new_infos) = if reader == own {
            (old.1, new.1)
        } else {
            let rules = reader.rules();
            let old_infos = match old.2.get(reader) {
                Some(infos) => Cow::Borrowed(infos),
                None => Cow::Owned(classify(old.0, rules)),
            };
            if !same_structure(old.0, old.1, &old_infos) {
                // This reader sees other keys in the file than lockstep does,
                // or the file has none yet: it is not written for that reader.
                continue;
            }
            classified = (old_infos, classify(new.0, rules));
            (&classified.0[..], &classified.1[..])
        };
        let Some(before) = Reading::new(reader, old.0, old_infos) else {
            continue;
        };
        let refuse = |detail: String| EditError::ReadsDifferently {
            target: scope.target.clone(),
            syntax: reader,
            detail,
        };
        let Some(after) = Reading::new(reader, new.0, new_infos) else {
            if reader != own && !scope.fits(reader) {
                // The edit writes a name this dialect cannot have (git
                // allows no `_` in a key): the file is not one of its.
                continue;
            }
            return Err(refuse("the file would no longer be readable".to_string()));
        };
        let covered = Covered::new(scope, reader);
        let outside = |r: &Reading, lines: Range<usize>| covered.partition(r, lines).1;
        let same = |was: &[Site], now: &[Site]| {
            was.len() == now.len()
                && was
                    .iter()
                    .zip(now)
                    .all(|(&a, &b)| before.same(a, &after, b))
        };
        let (old_lines, new_lines) = window((old.0, old_infos), (new.0, new_infos));
        let unchanged = same(&outside(&before, old_lines), &outside(&after, new_lines));
        // Every test run proves the window against the whole file.
        debug_assert_eq!(
            unchanged,
            same(
                &outside(&before, 0..old.0.len()),
                &outside(&after, 0..new.0.len())
            ),
            "the {reader} window disagrees with the whole file"
        );
        if !unchanged {
            // The whole file, as the message names the first assignment
            // that differs in it.
            let was = outside(&before, 0..old.0.len());
            let now = outside(&after, 0..new.0.len());
            let settings = |r: &Reading, sites: &[Site]| -> Vec<Setting> {
                sites.iter().map(|&s| r.setting(s)).collect()
            };
            let (was, now) = (settings(&before, &was), settings(&after, &now));
            let detail = match was.iter().zip(&now).find(|(a, b)| a != b) {
                Some((a, b)) if a.section == b.section && a.key == b.key => {
                    Some(format!("{} would read differently", describe(a)))
                }
                Some((a, b)) => Some(format!("{} would read as {}", describe(a), describe(b))),
                None if was.len() > now.len() => {
                    Some(format!("{} would disappear", describe(&was[now.len()])))
                }
                None if was.len() < now.len() => {
                    Some(format!("{} would appear", describe(&now[was.len()])))
                }
                None => None,
            };
            if let Some(detail) = detail {
                return Err(refuse(detail));
            }
        }
        if let Some((section, key, value, all)) = &scope.value {
            let mine = Covered::new(&Scope::key(section.as_deref(), key, String::new()), reader);
            // In one block of a repeated section: its header, as this reader
            // names and counts them.
            let block_header = scope.block.map(|n| {
                let want = section
                    .as_deref()
                    .map(|s| fold(&reader.section_name_ref(s)).into_owned());
                after
                    .headers()
                    .filter(|(_, name)| Some(fold(name)) == want.as_deref().map(Cow::Borrowed))
                    .nth(n)
                    .map(|(line, _)| line)
            });
            let reads: Vec<Option<String>> = mine
                .partition(&after, 0..new.0.len())
                .0
                .iter()
                .filter(|s| block_header.is_none_or(|h| h.is_some() && s.header == h))
                .map(|&s| after.value(s))
                .collect();
            let right = |v: &Option<String>| {
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
        if reader != own {
            next.0.push((reader, new_infos.to_vec()));
        }
    }
    Ok(next)
}

/// The lines of `old` and of `new` outside which an edit cannot have
/// changed how any assignment reads, for one reader's classifications.
/// Before the window, the lines are the same and read the same: the
/// classification runs forward, and the last header before the first
/// changed line closes every value above it. After the window, the lines
/// are the same and follow a line that both read as a header, which
/// resets everything the lines above could carry into them.
fn window(
    old: (&[RawLine], &[LineInfo]),
    new: (&[RawLine], &[LineInfo]),
) -> (Range<usize>, Range<usize>) {
    let (o, n) = (old.0.len(), new.0.len());
    let prefix = old
        .0
        .iter()
        .zip(new.0)
        .take_while(|(a, b)| a.text == b.text)
        .count();
    let suffix = old.0[prefix..]
        .iter()
        .rev()
        .zip(new.0[prefix..].iter().rev())
        .take_while(|(a, b)| a.text == b.text)
        .count();
    let is_header = |infos: &[LineInfo], i: usize| matches!(infos[i].kind, Kind::Header { .. });
    let start = (0..prefix)
        .rev()
        .find(|&i| is_header(old.1, i))
        .unwrap_or(0);
    let end = (0..suffix)
        .find(|&t| is_header(old.1, o - suffix + t) && is_header(new.1, n - suffix + t))
        .map_or((o, n), |t| (o - suffix + t, n - suffix + t));
    (start..end.0, start..end.1)
}

/// Whether two classifications of `lines` find the same keys and headers
/// on the same lines (names compared trimmed and ignoring case), and the
/// same continuation lines; `false` for a file with no key or header.
fn same_structure(lines: &[RawLine], a: &[LineInfo], b: &[LineInfo]) -> bool {
    let name = |i: usize, kind: &Kind| -> Option<(u8, Cow<str>)> {
        let text = &lines[i].text;
        match kind {
            Kind::Key(parts) => Some((0, fold(&text[parts.key.clone()]))),
            Kind::Header { name } => Some((1, fold(&text[name.clone()]))),
            Kind::Continuation { .. } => Some((2, Cow::Borrowed(""))),
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ini::line::split_lines;

    fn classified(text: &str) -> (Vec<RawLine>, Vec<LineInfo>) {
        let lines = split_lines(text);
        let infos = classify(&lines, Syntax::Generic.rules());
        (lines, infos)
    }

    fn window_of(old: &str, new: &str) -> (Range<usize>, Range<usize>) {
        let (old, new) = (classified(old), classified(new));
        window((&old.0, &old.1), (&new.0, &new.1))
    }

    #[test]
    fn the_window_runs_from_the_header_above_to_a_header_both_read() {
        let file = "[a]\nx = 1\ny = 2\n[b]\nz = 3\n[c]\nw = 4\n";
        assert_eq!(
            window_of(file, "[a]\nx = 1\ny = 9\n[b]\nz = 3\n[c]\nw = 4\n"),
            (0..3, 0..3)
        );
        assert_eq!(
            window_of(file, "[a]\nx = 1\ny = 2\n[b]\nz = 9\n[c]\nw = 4\n"),
            (3..5, 3..5)
        );
        // A header inserted above `y` changes its section: the window
        // reaches the next header both versions read, past the unchanged `y`.
        assert_eq!(
            window_of(file, "[a]\nx = 1\n[n]\ny = 2\n[b]\nz = 3\n[c]\nw = 4\n"),
            (0..3, 0..4)
        );
        // A line that continues the value above: up to the end of the
        // section, where `[b]` is read as a header in both.
        assert_eq!(
            window_of(
                "[a]\nx = 1\n\nk = 2\n[b]\nz = 3\n",
                "[a]\nx = 1\n  more\n\nk = 2\n[b]\nz = 3\n"
            ),
            (0..4, 0..5)
        );
        assert_eq!(window_of(file, file), (5..7, 5..7));
    }
}
