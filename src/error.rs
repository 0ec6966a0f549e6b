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
