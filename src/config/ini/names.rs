//! Name and value rules: which section, key and value strings an edit
//! accepts, and how names compare. No document access here.

use super::error::{section_label, EditError};
use super::line::is_ws;

pub(super) fn names_match(a: &str, b: &str, case_insensitive: bool) -> bool {
    if case_insensitive {
        a == b || a.to_lowercase() == b.to_lowercase()
    } else {
        a == b
    }
}

pub(super) fn sections_match(a: Option<&str>, b: Option<&str>, case_insensitive: bool) -> bool {
    match (a, b) {
        (None, None) => true,
        (Some(a), Some(b)) => names_match(a, b, case_insensitive),
        _ => false,
    }
}

pub(super) fn owned(section: Option<&str>) -> Option<String> {
    section.map(str::to_string)
}

pub(super) fn key_target(section: Option<&str>, key: &str) -> String {
    format!("key `{key}` in {}", section_label(&owned(section)))
}

pub(super) fn invalid(what: &'static str, name: &str, reason: &'static str) -> EditError {
    EditError::InvalidName {
        what,
        name: name.to_string(),
        reason,
    }
}

pub(super) fn check_key(key: &str) -> Result<(), EditError> {
    let reason = if key.is_empty() {
        "is empty"
    } else if key.contains(['\n', '\r']) {
        "contains a line break"
    } else if key.starts_with(is_ws) || key.ends_with(is_ws) {
        "has leading or trailing whitespace"
    } else if key.contains(['=', ':']) {
        "contains `=` or `:`, which INI reads as the delimiter"
    } else if key.starts_with('[') {
        "starts with `[`, which INI reads as a section header"
    } else if key.starts_with([';', '#']) {
        "starts with `;` or `#`, which INI reads as a comment"
    } else if key.starts_with('!') {
        "starts with `!`, which INI reads as a directive"
    } else {
        return Ok(());
    };
    Err(invalid("key", key, reason))
}

pub(super) fn check_section(name: &str) -> Result<(), EditError> {
    let reason = if name.is_empty() {
        "is empty"
    } else if name.contains(['\n', '\r']) {
        "contains a line break"
    } else if name.starts_with(is_ws) || name.ends_with(is_ws) {
        "has leading or trailing whitespace"
    } else if name.contains(['[', ']']) {
        "contains `[` or `]`"
    } else {
        return Ok(());
    };
    Err(invalid("section", name, reason))
}

pub(super) fn check_section_opt(name: Option<&str>) -> Result<(), EditError> {
    name.map_or(Ok(()), check_section)
}

pub(super) fn check_value(section: Option<&str>, key: &str, value: &str) -> Result<(), EditError> {
    if value.contains('\n') {
        return Err(EditError::MultiLineValue {
            section: owned(section),
            key: key.to_string(),
        });
    }
    let reason = if value.contains('\r') {
        "contains a carriage return"
    } else if value.starts_with(is_ws) || value.ends_with(is_ws) {
        "has leading or trailing whitespace, which INI readers strip; quote it if it matters"
    } else {
        return Ok(());
    };
    Err(EditError::InvalidValue {
        section: owned(section),
        key: key.to_string(),
        value: value.to_string(),
        reason,
    })
}
