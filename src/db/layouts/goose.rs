//! goose's layout: `<version>_<name>.sql`, one file per migration, the
//! `up` after `-- +goose Up` and the `down` after `-- +goose Down`;
//! `-- +goose NO TRANSACTION` runs both outside a transaction.
//! `StatementBegin`/`StatementEnd` (which keep a body with inner semicolons
//! together) stay in the SQL as comments: lockstep's statement splitter
//! already keeps dollar-quoted and `BEGIN … END` bodies whole.

use super::{sectioned, text, Section};
use crate::db::migration::Migration;
use crate::error::SourceError;
use std::path::Path;

/// The annotation of a `-- +goose …` line, as written.
pub fn annotation(line: &str) -> Option<&str> {
    let rest = line.trim().strip_prefix("--")?.trim_start();
    rest.strip_prefix("+goose ").map(str::trim)
}

pub fn parse(path: &Path, bytes: &[u8]) -> Result<Migration, SourceError> {
    let mut up: Option<Section> = None;
    let mut down: Option<Section> = None;
    let mut current: Option<bool> = None;
    let mut transaction = true;
    for (index, line) in text(path, bytes)?.lines().enumerate() {
        let line_no = index + 1;
        let section = match annotation(line).map(str::to_ascii_uppercase).as_deref() {
            Some("UP") => Some(true),
            Some("DOWN") => Some(false),
            Some("NO TRANSACTION") => {
                transaction = false;
                None
            }
            Some("STATEMENTBEGIN") | Some("STATEMENTEND") | None => None,
            Some(_) => {
                return Err(SourceError::new(
                    path.to_path_buf(),
                    Some(line_no),
                    format!(
                        "goose annotation `{}` is not supported: lockstep reads Up, Down, \
                         StatementBegin, StatementEnd and NO TRANSACTION",
                        annotation(line).unwrap_or_default()
                    ),
                ))
            }
        };
        if let Some(is_up) = section {
            *(if is_up { &mut up } else { &mut down }) = Some(Section::start(line_no, true));
            current = Some(is_up);
            continue;
        }
        Section::append(&mut up, &mut down, current, line);
    }
    for section in [up.as_mut(), down.as_mut()].into_iter().flatten() {
        section.transaction = transaction;
    }
    sectioned(path, bytes, "goose", up, down)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn up_down_statement_blocks_and_no_transaction() {
        let text = "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\n\
                    CREATE FUNCTION f() RETURNS int AS $$ SELECT 1; $$ LANGUAGE sql;\n\
                    -- +goose StatementEnd\n\n-- +goose Down\nDROP FUNCTION f;\n";
        let m = parse(Path::new("00002_f.sql"), text.as_bytes()).unwrap();
        let up = m.up.portable.unwrap();
        assert_eq!(up.line, 3);
        assert!(up.sql.contains("CREATE FUNCTION"));
        assert!(!up.transaction);
        assert_eq!(m.down.portable.unwrap().sql, "DROP FUNCTION f;\n");
        let e = parse(Path::new("1_a.sql"), b"-- +goose Up\n-- +goose ENVSUB ON\n").unwrap_err();
        assert!(e.message.contains("ENVSUB ON"), "{e}");
    }
}
