//! `${KEY}` variables in config migration values: which ones a text uses,
//! and the text with them substituted.

use std::collections::BTreeMap;

/// Why a value's `${KEY}` variables cannot be substituted.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VarError {
    /// A `${` without its `}`; `text` is the whole value.
    #[error("unclosed `${{` in `{text}`")]
    Unclosed { text: String },
    #[error("variable `{name}` is not set; pass --var {name}=VALUE, add it to a --vars-file, or to [vars] in lockstep.ini")]
    Unset { name: String },
}

/// The names of the `${KEY}` variables `text` uses.
pub fn referenced_vars(text: &str) -> Vec<&str> {
    let mut names = Vec::new();
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        let after = &rest[pos + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            rest = literal;
        } else if let Some((name, tail)) = after.strip_prefix('{').and_then(|b| b.split_once('}')) {
            names.push(name);
            rest = tail;
        } else {
            rest = after;
        }
    }
    names
}

/// Replaces `${KEY}` with its value; `$${` is a literal `${`. A missing
/// variable is an error naming it.
pub fn substitute(text: &str, vars: &BTreeMap<String, String>) -> Result<String, VarError> {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(pos) = rest.find('$') {
        out.push_str(&rest[..pos]);
        let after = &rest[pos + 1..];
        if let Some(literal) = after.strip_prefix("${") {
            out.push_str("${");
            rest = literal;
        } else if let Some(body) = after.strip_prefix('{') {
            let end = body.find('}').ok_or_else(|| VarError::Unclosed {
                text: text.to_owned(),
            })?;
            let name = &body[..end];
            let value = vars.get(name).ok_or_else(|| VarError::Unset {
                name: name.to_owned(),
            })?;
            out.push_str(value);
            rest = &body[end + 1..];
        } else {
            out.push('$');
            rest = after;
        }
    }
    out.push_str(rest);
    Ok(out)
}
