//! MySQL / MariaDB option files (`my.cnf`), as `my_print_defaults` reads
//! them: `[group]` up to the first `]` (trailing spaces trimmed, the rest of
//! the line ignored), `=` the only delimiter, a key without one is a flag
//! (`skip-name-resolve`), `#` and `;` whole-line comments, `#` outside quotes
//! starts an inline comment, `!include` and `!includedir` are directives,
//! no continuation lines. A value loses one pair of matching quotes and its
//! `\n \t \r \b \s \" \' \\` escapes.

use super::super::line::{is_ws, Continuation, LineRules};
use super::{outside_quotes, strip_quotes, ValueLines};
use std::ops::Range;

pub(super) static RULES: LineRules = LineRules {
    delimiters: &['='],
    comments: &['#', ';'],
    continuation: Continuation::None,
    header,
    directives: true,
    bare_keys: true,
    inline_comment: Some(|value| outside_quotes(value, &['#'], &['"', '\''])),
};

fn header(text: &str, start: usize) -> Option<Range<usize>> {
    let close = start + 1 + text[start + 1..].find(']')?;
    let end = start + 1 + text[start + 1..close].trim_end_matches(is_ws).len();
    Some(start + 1..end)
}

pub(super) fn value(span: &ValueLines) -> String {
    let quoted = strip_quotes(span.value);
    let mut out = String::with_capacity(quoted.len());
    let mut chars = quoted.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' || chars.peek().is_none() {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('n') => out.push('\n'),
            Some('t') => out.push('\t'),
            Some('r') => out.push('\r'),
            Some('b') => out.push('\u{8}'),
            Some('s') => out.push(' '),
            Some(c @ ('"' | '\'' | '\\')) => out.push(c),
            Some(other) => {
                out.push('\\');
                out.push(other);
            }
            None => {}
        }
    }
    out
}
