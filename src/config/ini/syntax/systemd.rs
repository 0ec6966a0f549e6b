//! systemd unit files and drop-ins, as `config_parse()` reads them: `=` is
//! the only delimiter, `#` and `;` start whole-line comments, and a line
//! ending in an unescaped backslash goes on to the next one (the backslash
//! read as a space; comment lines in between skipped; a blank line ends it).
//! Indentation means nothing. A header is the whole stripped line `[...]`.
//! A key repeated in a section is a list; an empty assignment resets it
//! (the editor keeps every assignment line, so both readings survive).

use super::super::line::{is_ws, Continuation, Kind, LineRules};
use super::{ends_with_backslash, trim, ValueLines};
use std::ops::Range;

pub(super) static RULES: LineRules = LineRules {
    delimiters: &['='],
    comments: &['#', ';'],
    continuation: Continuation::Marked {
        continues: |text, _, _| ends_with_backslash(text),
        comments_inside: true,
    },
    header,
    directives: false,
    bare_keys: false,
    inline_comment: None,
};

/// `[name]` with the `]` as the last character of the stripped line.
fn header(text: &str, start: usize) -> Option<Range<usize>> {
    let end = text.trim_end_matches(is_ws).len();
    (end >= start + 2 && text[..end].ends_with(']')).then_some(start + 1..end - 1)
}

/// The key line and its continuation lines joined, each continuing
/// backslash read as a space, then trimmed.
pub(super) fn value(span: &ValueLines) -> String {
    let mut pieces = vec![span.first];
    pieces.extend(
        span.rest
            .iter()
            .filter(|(_, kind)| matches!(kind, Kind::Continuation { .. }))
            .map(|(text, _)| *text),
    );
    let mut value = String::new();
    let last = pieces.len() - 1;
    for (n, piece) in pieces.into_iter().enumerate() {
        if n < last && ends_with_backslash(piece) {
            value.push_str(&piece[..piece.len() - 1]);
            value.push(' ');
        } else {
            value.push_str(piece);
        }
    }
    trim(&value).to_string()
}
