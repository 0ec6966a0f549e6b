//! `php.ini` and its `conf.d` files, as PHP's `parse_ini_file` reads them
//! (`INI_SCANNER_NORMAL`): `=` the only delimiter, only `;` starts a
//! comment (whole-line or inline, outside quotes; `#x = 1` is a key named
//! `#x`), a double-quoted value may run over several lines, section names
//! are not trimmed, a key without `=` is read as nothing. Values are
//! compared as text: PHP's reading of `on` as `1` is the same text either way.

use super::super::line::{is_ws, Continuation, LineRules};
use super::{outside_quotes, ValueLines};
use std::ops::Range;

pub(super) static RULES: LineRules = LineRules {
    delimiters: &['='],
    comments: &[';'],
    continuation: Continuation::Marked {
        continues: quote_left_open,
        comments_inside: false,
    },
    header,
    directives: false,
    bare_keys: true,
    inline_comment: Some(|value| outside_quotes(value, &[';'], &['"', '\''])),
};

/// `[name]` up to the first `]` followed by nothing or a comment; not trimmed.
fn header(text: &str, start: usize) -> Option<Range<usize>> {
    let open = start + 1;
    text[open..].match_indices(']').find_map(|(rel, _)| {
        let after = text[open + rel + 1..].trim_start_matches(is_ws);
        (after.is_empty() || after.starts_with(';')).then_some(open..open + rel)
    })
}

/// Whether the line leaves a double-quoted string open: on the key line
/// an odd number of unescaped `"` before any comment; on a later line, no
/// closing `"` at all.
fn quote_left_open(text: &str, from: usize, first: bool) -> bool {
    let text = text.get(from..).unwrap_or_default();
    let quotes = unescaped_quotes(text);
    if first {
        let end = outside_quotes(text, &[';'], &['"']).unwrap_or(text.len());
        unescaped_quotes(&text[..end]) % 2 == 1 && end == text.len()
    } else {
        quotes == 0
    }
}

fn unescaped_quotes(text: &str) -> usize {
    let mut n = 0;
    let mut escaped = false;
    for c in text.chars() {
        match c {
            _ if escaped => escaped = false,
            '\\' => escaped = true,
            '"' => n += 1,
            _ => {}
        }
    }
    n
}

pub(super) fn value(span: &ValueLines) -> String {
    let mut raw = span.value.to_string();
    for (text, _) in &span.rest {
        raw.push('\n');
        raw.push_str(text);
    }
    if !raw.contains(['"', '\'']) {
        return raw;
    }
    // Quoted and unquoted pieces are concatenated; whitespace around a
    // quoted piece is dropped.
    let mut out = String::new();
    let mut chars = raw.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' | '\'' => {
                while out.ends_with(is_ws) {
                    out.pop();
                }
                while let Some(q) = chars.next() {
                    match q {
                        '\\' if c == '"' && chars.peek() == Some(&'"') => {
                            out.push('"');
                            chars.next();
                        }
                        _ if q == c => break,
                        _ => out.push(q),
                    }
                }
                while chars.peek().is_some_and(|&n| is_ws(n)) {
                    chars.next();
                }
            }
            _ => out.push(c),
        }
    }
    out
}
