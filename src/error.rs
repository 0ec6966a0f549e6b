//! Errors a caller branches on or a user must be able to act on. Each names
//! the file (and line) or the migration it is about.

use std::fmt;
use std::path::PathBuf;

/// A migration or config-migration file that cannot be used as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    pub path: PathBuf,
    pub line: Option<usize>,
    pub message: String,
}

impl SourceError {
    pub fn new(path: PathBuf, line: Option<usize>, message: String) -> Self {
        SourceError {
            path,
            line,
            message,
        }
    }
}

impl fmt::Display for SourceError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.line {
            Some(line) => write!(f, "{}:{}: {}", self.path.display(), line, self.message),
            None => write!(f, "{}: {}", self.path.display(), self.message),
        }
    }
}

impl std::error::Error for SourceError {}

/// `error` and its sources joined by ": ", as anyhow's `{:#}` prints them:
/// the whole message of an error that leaves its cause to `source()`.
pub fn chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(e) = cause {
        text.push_str(": ");
        text.push_str(&e.to_string());
        cause = e.source();
    }
    text
}
