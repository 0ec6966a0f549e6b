//! Splits a SQL script into statements, so each runs on its own and a
//! failure can name the statement and its line.
//!
//! It knows string and identifier quoting, `--`, `#` (MySQL) and `/* */`
//! comments, PostgreSQL dollar quoting, the MySQL client's `DELIMITER`
//! command, and the `BEGIN … END` bodies of `CREATE TRIGGER` / `PROCEDURE` /
//! `FUNCTION` / `EVENT`, whose inner semicolons do not end the statement.
//! It is not a SQL parser: it only finds statement boundaries. Which of
//! these a dialect has is its [`Lexicon`].

use crate::db::dialect::{Dialect, Lexicon};

/// One statement of a script, without its terminator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Statement {
    pub sql: String,
    /// 1-based line, counted from the script's first line.
    pub line: usize,
}

pub fn split(script: &str, dialect: Dialect) -> Vec<Statement> {
    let lex = dialect.sql().lexicon();
    let mut out = Vec::new();
    let mut delimiter = ";".to_owned();
    let bytes = script.as_bytes();
    let mut i = 0;
    let mut line = 1;
    let mut start = 0;
    let mut start_line = 1;
    let mut words = Words::default();

    let flush = |out: &mut Vec<Statement>, text: &str, first_line: usize| {
        // Only comments (a `/*` inside a `--` comment included) is no
        // statement; a statement's line is that of its first code, after
        // leading blank lines and comments.
        if let Some(code) = first_code(text, lex) {
            out.push(Statement {
                sql: text.trim().to_owned(),
                line: first_line + text[..code].matches('\n').count(),
            });
        }
    };

    while i < bytes.len() {
        let c = bytes[i];
        // The MySQL client's DELIMITER command, at the start of a line.
        if lex.delimiter_command
            && at_line_start(bytes, i)
            && starts_with_ci(&bytes[i..], b"DELIMITER ")
        {
            let end = bytes[i..]
                .iter()
                .position(|&b| b == b'\n')
                .map_or(bytes.len(), |p| i + p);
            flush(&mut out, &script[start..i], start_line);
            delimiter = script[i + 10..end].trim().to_owned();
            if delimiter.is_empty() {
                delimiter = ";".to_owned();
            }
            i = end;
            start = end;
            start_line = line;
            words = Words::default();
            continue;
        }
        match c {
            b'\n' => {
                line += 1;
                i += 1;
            }
            b'\'' | b'"' | b'`' => {
                let (next, lines) = skip_quoted(bytes, i, c, lex);
                line += lines;
                i = next;
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_to_eol(bytes, i),
            b'#' if lex.hash_comments => i = skip_to_eol(bytes, i),
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                let end = find(bytes, i + 2, b"*/").map_or(bytes.len(), |p| p + 2);
                line += bytes[i..end].iter().filter(|&&b| b == b'\n').count();
                i = end;
            }
            b'$' if lex.dollar_quotes => {
                if let Some(tag_end) = dollar_tag(bytes, i) {
                    let tag = &bytes[i..tag_end];
                    let end = find(bytes, tag_end, tag).map_or(bytes.len(), |p| p + tag.len());
                    line += bytes[i..end].iter().filter(|&&b| b == b'\n').count();
                    i = end;
                } else {
                    i += 1;
                }
            }
            _ if c.is_ascii_alphabetic() || c == b'_' => {
                let end = i + bytes[i..]
                    .iter()
                    .position(|b| !(b.is_ascii_alphanumeric() || *b == b'_'))
                    .unwrap_or(bytes.len() - i);
                words.push(&script[i..end].to_ascii_uppercase());
                i = end;
            }
            _ if bytes[i..].starts_with(delimiter.as_bytes())
                && (words.depth == 0 || delimiter != ";") =>
            {
                flush(&mut out, &script[start..i], start_line);
                i += delimiter.len();
                start = i;
                start_line = line;
                words = Words::default();
            }
            _ => i += 1,
        }
    }
    flush(&mut out, &script[start..], start_line);
    out
}

/// What the splitter remembers of the current statement's words: enough to
/// count BEGIN/CASE … END nesting in statements that create a routine or
/// trigger (elsewhere BEGIN starts a transaction).
#[derive(Default)]
struct Words {
    count: usize,
    starts_with_create: bool,
    is_routine: bool,
    previous_was_end: bool,
    depth: usize,
}

impl Words {
    fn push(&mut self, word: &str) {
        if self.count == 0 {
            self.starts_with_create = word == "CREATE";
        }
        self.count += 1;
        if self.starts_with_create
            && !self.is_routine
            && matches!(word, "TRIGGER" | "PROCEDURE" | "FUNCTION" | "EVENT")
        {
            self.is_routine = true;
        }
        if self.is_routine {
            match word {
                "BEGIN" | "CASE" if !self.previous_was_end => self.depth += 1,
                "END" => self.depth = self.depth.saturating_sub(1),
                // `END IF`, `END LOOP`, …: closed a block never counted.
                "IF" | "LOOP" | "WHILE" | "REPEAT" if self.previous_was_end => self.depth += 1,
                _ => {}
            }
        }
        self.previous_was_end = word == "END";
    }
}

/// The byte offset of the first character that is neither whitespace nor
/// inside a comment (`--`, MySQL `#`, `/* */`); `None` when there is none.
/// Whitespace is what `str::trim` removes (a lone VT or NBSP included), so
/// a statement is never empty once trimmed.
fn first_code(text: &str, lex: Lexicon) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            _ if text[i..].starts_with(char::is_whitespace) => {
                i += text[i..].chars().next().map_or(1, char::len_utf8)
            }
            b'-' if bytes.get(i + 1) == Some(&b'-') => i = skip_to_eol(bytes, i),
            b'#' if lex.hash_comments => i = skip_to_eol(bytes, i),
            // MySQL runs `/*! … */` (and MariaDB `/*M! … */`): code.
            b'/' if lex.executable_comments
                && (text[i..].starts_with("/*!") || text[i..].starts_with("/*M!")) =>
            {
                return Some(i)
            }
            b'/' if bytes.get(i + 1) == Some(&b'*') => {
                i = find(bytes, i + 2, b"*/").map_or(bytes.len(), |p| p + 2)
            }
            _ => return Some(i),
        }
    }
    None
}

fn at_line_start(bytes: &[u8], i: usize) -> bool {
    bytes[..i]
        .iter()
        .rev()
        .take_while(|&&b| b != b'\n')
        .all(|b| b.is_ascii_whitespace())
}

fn starts_with_ci(bytes: &[u8], prefix: &[u8]) -> bool {
    bytes.len() >= prefix.len() && bytes[..prefix.len()].eq_ignore_ascii_case(prefix)
}

fn skip_to_eol(bytes: &[u8], i: usize) -> usize {
    bytes[i..]
        .iter()
        .position(|&b| b == b'\n')
        .map_or(bytes.len(), |p| i + p)
}

fn find(bytes: &[u8], from: usize, needle: &[u8]) -> Option<usize> {
    if from > bytes.len() {
        return None;
    }
    bytes[from..]
        .windows(needle.len())
        .position(|w| w == needle)
        .map(|p| from + p)
}

/// Skips a quoted string or identifier; returns the index after it and the
/// newlines inside.
fn skip_quoted(bytes: &[u8], i: usize, quote: u8, lex: Lexicon) -> (usize, usize) {
    let mut j = i + 1;
    let mut lines = 0;
    while j < bytes.len() {
        let b = bytes[j];
        if b == b'\n' {
            lines += 1;
        }
        if b == b'\\' && lex.backslash_escapes && quote != b'`' {
            j += 2;
            continue;
        }
        if b == quote {
            if bytes.get(j + 1) == Some(&quote) {
                j += 2;
                continue;
            }
            return (j + 1, lines);
        }
        j += 1;
    }
    (bytes.len(), lines)
}

/// The end of a `$tag$` opening at `i`, if there is one.
fn dollar_tag(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    while j < bytes.len() && (bytes[j].is_ascii_alphanumeric() || bytes[j] == b'_') {
        j += 1;
    }
    // `$1` is a parameter, not a tag.
    if bytes.get(j) == Some(&b'$') && !bytes.get(i + 1).is_some_and(|b| b.is_ascii_digit()) {
        Some(j + 1)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn comments_alone_are_no_statement_and_lines_skip_them() {
        // Found by fuzzing (fuzz target sql_markers): a `/*` inside a `--`
        // comment made the trailing comment a statement, at a line past
        // the end of the script.
        let script = "CREATE TABLE a (id INT);\n-- the old /* layout */ is gone\n";
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            assert_eq!(split(script, d).len(), 1, "{d}");
            let s = split("-- one\n/* two\n three */\n\nSELECT 1;\n", d);
            assert_eq!((s.len(), s[0].line), (1, 5), "{d}");
            assert!(split("-- x /* y\n/* z */\n", d).is_empty(), "{d}");
            // Whitespace that `trim` removes is no statement either.
            assert!(split("\u{b}", d).is_empty(), "{d}");
            assert!(split("\u{a0};\u{2028}", d).is_empty(), "{d}");
        }
        // MySQL's executable comments are statements.
        let dump = "/*!40101 SET NAMES utf8mb4 */;\nCREATE TABLE a (id INT);\n";
        assert_eq!(split(dump, Dialect::Mysql).len(), 2);
        assert_eq!(split(dump, Dialect::Mysql)[0].line, 1);
    }

    fn sqls(script: &str, d: Dialect) -> Vec<String> {
        split(script, d).into_iter().map(|s| s.sql).collect()
    }

    #[test]
    fn simple_statements_with_lines() {
        let s = split(
            "CREATE TABLE a (x INT);\n\nINSERT INTO a VALUES (1);\n",
            Dialect::Sqlite,
        );
        assert_eq!(s.len(), 2);
        assert_eq!(
            s[1],
            Statement {
                sql: "INSERT INTO a VALUES (1)".into(),
                line: 3
            }
        );
    }

    #[test]
    fn quotes_and_comments_hide_semicolons() {
        let got = sqls(
            "INSERT INTO a VALUES ('x;y', \"q;\"); -- c; d\n/* e; */ SELECT 1;\n-- only a comment\n",
            Dialect::Postgres,
        );
        assert_eq!(
            got,
            vec![
                "INSERT INTO a VALUES ('x;y', \"q;\")",
                "-- c; d\n/* e; */ SELECT 1"
            ]
        );
    }

    #[test]
    fn dollar_quoted_function_body() {
        let got = sqls(
            "CREATE FUNCTION f() RETURNS trigger AS $body$ BEGIN NEW.a := 1; RETURN NEW; END $body$ LANGUAGE plpgsql;\nSELECT $1;",
            Dialect::Postgres,
        );
        assert_eq!(got.len(), 2);
        assert!(got[0].ends_with("LANGUAGE plpgsql"));
    }

    #[test]
    fn trigger_bodies_are_one_statement() {
        let script = "CREATE TRIGGER t AFTER INSERT ON a BEGIN UPDATE a SET x = CASE WHEN 1 THEN 2 END; UPDATE a SET y = 1; END;\nSELECT 1;";
        assert_eq!(sqls(script, Dialect::Sqlite).len(), 2);
        let my = "CREATE TRIGGER t BEFORE INSERT ON a FOR EACH ROW BEGIN IF NEW.x IS NULL THEN SET NEW.x = 1; END IF; SET NEW.y = 2; END;\nSELECT 1;";
        assert_eq!(sqls(my, Dialect::Mysql).len(), 2);
    }

    #[test]
    fn mysql_delimiter_command() {
        let got = sqls(
            "DELIMITER $$\nCREATE PROCEDURE p() BEGIN SELECT 1; END$$\nDELIMITER ;\nSELECT 'a\\';b';\n",
            Dialect::Mysql,
        );
        assert_eq!(
            got,
            vec![
                "CREATE PROCEDURE p() BEGIN SELECT 1; END",
                "SELECT 'a\\';b'"
            ]
        );
    }

    #[test]
    fn transaction_begin_is_not_a_block() {
        assert_eq!(sqls("BEGIN; SELECT 1; COMMIT;", Dialect::Sqlite).len(), 3);
    }
}
