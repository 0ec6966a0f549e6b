//! Where a migration that ran outside a transaction stopped: how many of its
//! statements took effect, which line failed, and a checksum of the
//! statements that ran, so that `status` and the next run can say exactly
//! what is in the database and `resolve --resume` can run the rest of a fixed
//! file without running those statements twice.
//!
//! A transactional failure leaves nothing behind and records no point.

use crate::checksum::Checksum;
use crate::db::bookkeeping::{Bookkeeping, Value};
use crate::db::dialect::Dialect;
use crate::db::statements::Statement;

pub const FAILURES: &str = "lockstep_failures";

/// How far a failed migration got.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FailurePoint {
    /// Statements that took effect, in order from the first.
    pub statements_done: usize,
    /// Statements of the script as it was run.
    pub statements_total: usize,
    /// 1-based line of the failed statement in its file.
    pub line: usize,
    /// [`done_checksum`] of the statements that took effect.
    pub done_checksum: String,
}

impl FailurePoint {
    /// What is in the database, in words: "statements 1–2 of 4 took
    /// effect and are kept (statement 3 failed)".
    pub fn describe(&self) -> String {
        let failed = self.statements_done + 1;
        match self.statements_done {
            0 => format!(
                "its first statement failed, so none of its {} took effect",
                statements(self.statements_total)
            ),
            1 => format!(
                "statement 1 of {} took effect and is kept (statement {failed} failed)",
                self.statements_total
            ),
            n => format!(
                "statements 1–{n} of {} took effect and are kept (statement {failed} failed)",
                self.statements_total
            ),
        }
    }
}

fn statements(n: usize) -> String {
    if n == 1 {
        "1 statement".to_owned()
    } else {
        format!("{n} statements")
    }
}

/// A checksum of statements by their text, so that a fixed file is checked
/// against what already ran: an edit before the failed statement changes it.
pub fn done_checksum(done: &[Statement]) -> String {
    let mut text = String::new();
    for s in done {
        text.push_str(&s.sql);
        text.push('\0');
    }
    Checksum::of_bytes(text.as_bytes()).to_string()
}

pub fn create_table(d: Dialect) -> String {
    let key = d.sql().key_text();
    format!(
        "CREATE TABLE IF NOT EXISTS {FAILURES} (\n    version {key} PRIMARY KEY,\n    \
         statements_done BIGINT NOT NULL,\n    statements_total BIGINT NOT NULL,\n    \
         line BIGINT NOT NULL,\n    done_checksum {key} NOT NULL,\n    updated_at {key} NOT NULL\n)"
    )
}

/// Records where `version` stopped: (delete, insert), a portable upsert.
pub fn record(d: Dialect, version: &str, p: &FailurePoint, at: &str) -> [Bookkeeping; 2] {
    [
        forget(d, version),
        Bookkeeping {
            sql: format!(
                "INSERT INTO {FAILURES} (version, statements_done, statements_total, line, \
                 done_checksum, updated_at) VALUES ({})",
                d.sql().placeholders(6)
            ),
            values: vec![
                Value::Text(version.to_owned()),
                Value::Int(p.statements_done as i64),
                Value::Int(p.statements_total as i64),
                Value::Int(p.line as i64),
                Value::Text(p.done_checksum.clone()),
                Value::Text(at.to_owned()),
            ],
        },
    ]
}

/// Forgets where `version` stopped: it was resolved, resumed or re-run.
pub fn forget(d: Dialect, version: &str) -> Bookkeeping {
    Bookkeeping {
        sql: format!(
            "DELETE FROM {FAILURES} WHERE version = {}",
            d.sql().placeholder(1)
        ),
        values: vec![Value::Text(version.to_owned())],
    }
}

pub fn select_all() -> String {
    format!(
        "SELECT version, statements_done, statements_total, line, done_checksum FROM {FAILURES}"
    )
}

/// Splits a MariaDB/MySQL error's trailing "at line N" (counted from the
/// statement's first line) off the message and turns it into a line of the
/// file, so a failure names one line: the right one.
pub fn locate(error: &str, statement_line: usize) -> (String, usize) {
    if let Some((message, n)) = error.rsplit_once(" at line ") {
        if let Ok(n) = n.trim().parse::<usize>() {
            if n >= 1 {
                return (message.to_owned(), statement_line + n - 1);
            }
        }
    }
    (error.to_owned(), statement_line)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_line_becomes_a_file_line() {
        let e =
            "error returned from database: 1064 (42000): You have an error in your SQL syntax; \
                 check the manual that corresponds to your MariaDB server version for the right \
                 syntax to use near 'FRM t' at line 2";
        let (msg, line) = locate(e, 7);
        assert_eq!(line, 8);
        assert!(msg.ends_with("near 'FRM t'"), "{msg}");
        assert_eq!(
            locate("no such table: t", 7),
            ("no such table: t".to_owned(), 7)
        );
    }

    #[test]
    fn describes_what_took_effect() {
        let p = |done, total| FailurePoint {
            statements_done: done,
            statements_total: total,
            ..FailurePoint::default()
        };
        assert_eq!(
            p(2, 4).describe(),
            "statements 1–2 of 4 took effect and are kept (statement 3 failed)"
        );
        assert_eq!(
            p(1, 3).describe(),
            "statement 1 of 3 took effect and is kept (statement 2 failed)"
        );
        assert_eq!(
            p(0, 3).describe(),
            "its first statement failed, so none of its 3 statements took effect"
        );
    }

    #[test]
    fn done_checksum_changes_with_any_statement_text() {
        let s = |sql: &str| Statement {
            sql: sql.to_owned(),
            line: 1,
        };
        let a = done_checksum(&[s("CREATE TABLE a (id INT)"), s("INSERT INTO a VALUES (1)")]);
        let b = done_checksum(&[s("CREATE TABLE a (id INT)"), s("INSERT INTO a VALUES (2)")]);
        assert_ne!(a, b);
        assert_eq!(
            a,
            done_checksum(&[s("CREATE TABLE a (id INT)"), s("INSERT INTO a VALUES (1)")])
        );
    }
}
