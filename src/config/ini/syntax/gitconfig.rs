//! git's config files (`.gitconfig`, `.git/config`), as git's config parser
//! reads them: `[section]`, `[section "subsection"]` (and the old
//! `[section.subsection]`), section and key names compare ignoring case and
//! read lowercased, a subsection keeps its case; keys are letters, digits
//! and `-`; a key without `=` is `true`; `#` and `;` start a comment,
//! whole-line or inline outside double quotes; a value continues on the
//! next line after an unescaped trailing backslash; quotes are removed and
//! `\\ \" \n \t \b` unescaped; whitespace outside quotes is dropped at
//! both ends of the value. `include.path` is an ordinary key here (git follows it only when
//! not reading one file), so edits keep it as it is.

use super::super::line::{header_name, Continuation, LineRules};
use super::{outside_quotes, ValueLines};

pub(super) static RULES: LineRules = LineRules {
    delimiters: &['='],
    comments: &['#', ';'],
    continuation: Continuation::Marked {
        continues: ends_in_backslash,
        comments_inside: false,
    },
    header: header_name,
    directives: false,
    bare_keys: true,
    inline_comment: Some(|value| outside_quotes(value, &['#', ';'], &['"'])),
};

/// An unescaped `\` at the end of the value part of the line (not in a comment).
fn ends_in_backslash(text: &str, from: usize, _first: bool) -> bool {
    let text = text.get(from..).unwrap_or_default();
    let mut quote = false;
    let mut escaped = false;
    for c in text.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match c {
            '\\' => escaped = true,
            '"' => quote = !quote,
            '#' | ';' if !quote => return false,
            _ => {}
        }
    }
    escaped
}

fn is_space(c: char) -> bool {
    matches!(c, ' ' | '\t' | '\r' | '\x0b' | '\x0c')
}

/// `section "sub"` reads as `section.sub`; `section.sub` as lowercased.
pub(super) fn section_name(raw: &str) -> String {
    match raw.split_once('"') {
        Some((name, rest)) => {
            let sub = rest.strip_suffix('"').unwrap_or(rest);
            let mut out = name.trim_end_matches(is_space).to_lowercase();
            out.push('.');
            let mut chars = sub.chars();
            while let Some(c) = chars.next() {
                if c == '\\' {
                    if let Some(n) = chars.next() {
                        out.push(n);
                    }
                } else {
                    out.push(c);
                }
            }
            out
        }
        None => raw.to_lowercase(),
    }
}

pub(super) fn accepts_header(raw: &str) -> bool {
    let (name, sub) = match raw.split_once('"') {
        Some((name, rest)) => (name.trim_end_matches(is_space), Some(rest)),
        None => (raw, None),
    };
    let name_ok = !name.is_empty()
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '.');
    let sub_ok = sub.is_none_or(|s| s.ends_with('"') && !s.contains('\n'));
    name_ok && sub_ok
}

pub(super) fn accepts_key(key: &str) -> bool {
    let mut chars = key.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic())
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '-')
}

/// git's `parse_value`, over the key line's text after `=` and its
/// continuation lines; `None` where git reports a bad config line.
pub(super) fn value(span: &ValueLines) -> Option<String> {
    if span.rest.is_empty() && !span.first.contains(['\\', '"', ';', '#', '\n']) {
        // Nothing to decode: the text without its surrounding whitespace.
        return Some(span.first.trim_matches(is_space).to_string());
    }
    let mut text = span.first.to_string();
    for (line, _) in &span.rest {
        text.push('\n');
        text.push_str(line);
    }
    let mut out = String::new();
    let (mut quote, mut comment) = (false, false);
    // Whitespace outside quotes, kept as written once a later character shows it is inside the value.
    let mut space = String::new();
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c == '\n' {
            return (!quote).then_some(out);
        }
        if comment {
            continue;
        }
        if is_space(c) && !quote {
            if !out.is_empty() {
                space.push(c);
            }
            continue;
        }
        if !quote && (c == ';' || c == '#') {
            comment = true;
            continue;
        }
        out.push_str(&space);
        space.clear();
        match c {
            '\\' => match chars.next() {
                Some('\n') => {}
                Some('t') => out.push('\t'),
                Some('b') => out.push('\u{8}'),
                Some('n') => out.push('\n'),
                Some(c @ ('\\' | '"')) => out.push(c),
                _ => return None,
            },
            '"' => quote = !quote,
            _ => out.push(c),
        }
    }
    (!quote).then_some(out)
}
