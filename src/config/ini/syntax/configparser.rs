//! Python's `configparser` with its defaults, as `RawConfigParser._read`
//! reads a file: `=` or `:` (whichever comes first), whole-line `#` and `;`
//! comments (also indented, also inside a value), no inline comments. A line
//! indented deeper than the key line continues its value, also after blank
//! lines (`empty_lines_in_values=True`): those become empty lines of the
//! value, and trailing ones are dropped. A header is `[` up to the last `]`
//! of the line, its name not trimmed. Keys compare lowercased
//! (`optionxform`); a key without a delimiter is read as `allow_no_value`
//! would. Quotes are part of the value.

use super::super::line::{Continuation, Kind, LineRules};
use super::{trim, ValueLines};
use std::ops::Range;

pub(super) static RULES: LineRules = LineRules {
    delimiters: &['=', ':'],
    comments: &['#', ';'],
    continuation: Continuation::Indented {
        blank_lines_in_values: true,
    },
    header,
    directives: false,
    bare_keys: true,
    inline_comment: None,
};

/// `SECTCRE = r"\[(?P<header>.+)\]"` matched on the stripped line: the
/// name runs to the last `]`, whatever follows it.
fn header(text: &str, start: usize) -> Option<Range<usize>> {
    let close = text.rfind(']')?;
    (close > start + 1).then_some(start + 1..close)
}

/// The value lines joined with `\n` (blank lines as empty lines, comments
/// left out), trailing whitespace and empty lines stripped.
pub(super) fn value(span: &ValueLines) -> String {
    let mut value = span.value.to_string();
    for (text, kind) in &span.rest {
        match kind {
            Kind::Continuation { .. } => {
                value.push('\n');
                value.push_str(trim(text));
            }
            Kind::ValueBlank { .. } => value.push('\n'),
            _ => {}
        }
    }
    value.trim_end().to_string()
}
