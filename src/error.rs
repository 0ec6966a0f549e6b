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

/// A YAML parser's error as a line of the file and a message. The line is
/// counted as editors count it, from the error's byte offset: lines end at
/// `\n`, `\r\n` or a lone `\r`. (The parser's own line number also breaks
/// at NEL, LS and PS, as YAML 1.1 does, so it can name a line the file has
/// not.) The message drops serde_yaml's " at line L column C".
pub fn yaml_error(text: &str, error: &serde_yaml::Error) -> (Option<usize>, String) {
    let line = error.location().map(|at| {
        let before = &text.as_bytes()[..at.index().min(text.len())];
        let lone_cr = before
            .iter()
            .enumerate()
            .filter(|&(i, &b)| b == b'\r' && text.as_bytes().get(i + 1) != Some(&b'\n'))
            .count();
        before.iter().filter(|&&b| b == b'\n').count() + lone_cr + 1
    });
    let message = error.to_string();
    let message = match message.find(" at line ") {
        Some(i) => message[..i].to_owned(),
        None => message,
    };
    (line, message)
}

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

#[cfg(test)]
mod tests {
    use super::yaml_error;

    fn line_of_error(text: &str) -> Option<usize> {
        let error = serde_yaml::from_str::<serde_yaml::Value>(text).unwrap_err();
        yaml_error(text, &error).0
    }

    #[test]
    fn yaml_errors_name_the_line_an_editor_shows() {
        assert_eq!(line_of_error("a: 1\nb: [\n"), Some(3));
        assert_eq!(line_of_error("a: 1\r\nb: [\r\n"), Some(3));
        assert_eq!(line_of_error("a: 1\rb: [\r"), Some(3));
        // NEL breaks a line for the parser, not for an editor.
        assert_eq!(line_of_error("'x\u{85}y\u{85}z"), Some(1));
        let error = serde_yaml::from_str::<serde_yaml::Value>("a: [").unwrap_err();
        assert!(!yaml_error("a: [", &error).1.contains(" at line "));
    }
}
