//! lockstep's own lenient reading, for files whose reader is unknown:
//! configparser's (`=` or `:`, whichever comes first; `;` and `#` comments;
//! a value continues on deeper-indented lines, also across blank lines; no
//! inline comments; quotes kept), but lenient where configparser fails or
//! surprises: keys before the first header, `!include` directives, header
//! names trimmed.

use super::super::line::{header_name, Continuation, LineRules};

pub(super) static RULES: LineRules = LineRules {
    delimiters: &['=', ':'],
    comments: &[';', '#'],
    continuation: Continuation::Indented {
        blank_lines_in_values: true,
    },
    header: header_name,
    directives: true,
    bare_keys: true,
    inline_comment: None,
};

pub(super) use super::configparser::value;
