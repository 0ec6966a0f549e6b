//! Applies line splices to a document and proves that no line outside them
//! changes meaning. INI meaning depends on neighbours (an indented line after
//! a key is a continuation), so an edit that keeps every other line's bytes
//! can still change what those lines say; such an edit is refused here.

use super::line::{classify, Kind, LineInfo, LineRules, RawLine};

/// Replace old lines `start..end` with `lines`; `expect` says what each new
/// line must read as afterwards (one entry per line).
#[derive(Debug)]
pub struct Splice {
    pub start: usize,
    pub end: usize,
    pub lines: Vec<RawLine>,
    pub expect: Vec<Expect>,
}

#[derive(Clone, Debug)]
pub enum Expect {
    /// Reads as old line `n` did (its bytes changed, e.g. a line ending added).
    Same(usize),
    /// A key line with this exact spelling, in this section.
    Key {
        header: HeaderRef,
        key: String,
    },
    /// A section header with this name.
    Header(String),
    Blank,
    /// A continuation (or comment inside the value) of the key at this offset of the splice.
    ValueOf(usize),
}

#[derive(Clone, Copy, Debug)]
pub enum HeaderRef {
    Global,
    /// An old header line, still in place.
    Old(usize),
    /// A header added by this splice, at this offset.
    New(usize),
}

/// An edit that would make line `line` (1-based, in the new text) read differently.
#[derive(Debug)]
pub struct Conflict {
    pub line: usize,
    pub detail: String,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Role {
    Blank,
    Comment,
    Header(String),
    Key(String),
    /// Owner line in the new text; `None` when it cannot be known (matches any).
    Continuation(Option<usize>),
    ValueComment(Option<usize>),
    ValueBlank(Option<usize>),
    Directive,
    Invalid,
}

/// What a line reads as: its role and its section's header line (new indexes).
/// `header: None` means "unknown, match any".
#[derive(Clone, Debug)]
struct Reading {
    header: Option<Option<usize>>,
    role: Role,
}

fn role_of(
    lines: &[RawLine],
    infos: &[LineInfo],
    i: usize,
    map: &dyn Fn(usize) -> Option<usize>,
) -> Role {
    let text = &lines[i].text;
    match &infos[i].kind {
        Kind::Blank => Role::Blank,
        Kind::Comment => Role::Comment,
        Kind::Header { name } => Role::Header(text[name.clone()].to_string()),
        Kind::Key(parts) => Role::Key(text[parts.key.clone()].to_string()),
        Kind::Continuation { owner } => Role::Continuation(map(*owner)),
        Kind::ValueComment { owner } => Role::ValueComment(map(*owner)),
        Kind::ValueBlank { owner } => Role::ValueBlank(map(*owner)),
        Kind::Directive => Role::Directive,
        Kind::Invalid => Role::Invalid,
    }
}

fn describe(role: &Role) -> String {
    match role {
        Role::Blank => "a blank line".to_string(),
        Role::Comment => "a comment".to_string(),
        Role::Header(name) => format!("the header [{name}]"),
        Role::Key(key) => format!("key `{key}`"),
        Role::Continuation(Some(o)) => format!("a continuation of line {}", o + 1),
        Role::Continuation(None) => "a continuation line".to_string(),
        Role::ValueComment(_) => "a comment inside a multi-line value".to_string(),
        Role::ValueBlank(_) => "a blank line inside a multi-line value".to_string(),
        Role::Directive => "a directive".to_string(),
        Role::Invalid => "an unreadable line".to_string(),
    }
}

fn role_matches(want: &Role, got: &Role) -> bool {
    match (want, got) {
        (Role::Continuation(None), Role::Continuation(_))
        | (Role::ValueComment(None), Role::ValueComment(_))
        | (Role::ValueBlank(None), Role::ValueBlank(_)) => true,
        _ => want == got,
    }
}

fn check(want: &Reading, got: &Reading, line: usize) -> Result<(), Conflict> {
    if !role_matches(&want.role, &got.role) {
        return Err(Conflict {
            line: line + 1,
            detail: format!(
                "it would read as {} instead of {}",
                describe(&got.role),
                describe(&want.role)
            ),
        });
    }
    if let Some(header) = want.header {
        if got.header != Some(header) {
            return Err(Conflict {
                line: line + 1,
                detail: format!("{} would move to another section", describe(&got.role)),
            });
        }
    }
    Ok(())
}

/// Applies `splices` (non-overlapping, any order) and returns the new lines and
/// their classification, or the first line whose reading would change.
pub fn apply(
    lines: &[RawLine],
    infos: &[LineInfo],
    mut splices: Vec<Splice>,
    rules: &LineRules,
) -> Result<(Vec<RawLine>, Vec<LineInfo>), Conflict> {
    splices.sort_by_key(|s| (s.start, s.end));
    let mut new_lines: Vec<RawLine> = Vec::with_capacity(lines.len() + 4);
    // Where each old line ended up, if it still stands for itself.
    let mut map: Vec<Option<usize>> = vec![None; lines.len()];
    let mut touched = vec![false; lines.len()];
    let mut bases = Vec::with_capacity(splices.len());
    let mut cursor = 0;
    for s in &splices {
        if s.start < cursor || s.end < s.start || s.end > lines.len() {
            return Err(Conflict {
                line: s.start + 1,
                detail: "two edits overlap".to_string(),
            });
        }
        for (i, line) in lines.iter().enumerate().take(s.start).skip(cursor) {
            map[i] = Some(new_lines.len());
            new_lines.push(line.clone());
        }
        let base = new_lines.len();
        bases.push(base);
        for t in touched.iter_mut().take(s.end).skip(s.start) {
            *t = true;
        }
        if s.end - s.start == s.lines.len() {
            for k in 0..s.lines.len() {
                map[s.start + k] = Some(base + k);
            }
        }
        for (k, e) in s.expect.iter().enumerate() {
            if let Expect::Same(old) = e {
                if let Some(slot) = map.get_mut(*old) {
                    *slot = Some(base + k);
                }
            }
        }
        new_lines.extend(s.lines.iter().cloned());
        cursor = s.end;
    }
    for (i, line) in lines.iter().enumerate().skip(cursor) {
        map[i] = Some(new_lines.len());
        new_lines.push(line.clone());
    }
    let new_infos = classify(&new_lines, rules);

    let map_fn = |i: usize| map.get(i).copied().flatten();
    let old_reading = |i: usize| Reading {
        header: match infos[i].header {
            None => Some(None),
            Some(h) => map_fn(h).map(Some),
        },
        role: role_of(lines, infos, i, &map_fn),
    };
    let new_reading = |n: usize| Reading {
        header: Some(new_infos[n].header),
        role: role_of(&new_lines, &new_infos, n, &|o| Some(o)),
    };

    for i in 0..lines.len() {
        if touched[i] {
            continue;
        }
        if let Some(n) = map[i] {
            check(&old_reading(i), &new_reading(n), n)?;
        }
    }
    for (s, &base) in splices.iter().zip(&bases) {
        for (k, e) in s.expect.iter().enumerate() {
            let n = base + k;
            let got = new_reading(n);
            match e {
                Expect::Same(old) => check(&old_reading(*old), &got, n)?,
                Expect::Key { header, key } => {
                    let header = match header {
                        HeaderRef::Global => Some(None),
                        HeaderRef::Old(h) => map_fn(*h).map(Some),
                        HeaderRef::New(off) => Some(Some(base + off)),
                    };
                    let want = Reading {
                        header,
                        role: Role::Key(key.clone()),
                    };
                    check(&want, &got, n)?;
                }
                Expect::Header(name) => {
                    let want = Reading {
                        header: Some(Some(n)),
                        role: Role::Header(name.clone()),
                    };
                    check(&want, &got, n)?;
                }
                Expect::Blank => {
                    let want = Reading {
                        header: None,
                        role: Role::Blank,
                    };
                    check(&want, &got, n)?;
                }
                Expect::ValueOf(off) => {
                    let owner = base + off;
                    let ok = matches!(
                        got.role,
                        Role::Continuation(Some(o)) | Role::ValueComment(Some(o)) | Role::ValueBlank(Some(o)) if o == owner
                    );
                    if !ok {
                        return Err(Conflict {
                            line: n + 1,
                            detail: format!(
                                "it would read as {} instead of a continuation of line {}",
                                describe(&got.role),
                                owner + 1
                            ),
                        });
                    }
                }
            }
        }
    }
    Ok((new_lines, new_infos))
}
