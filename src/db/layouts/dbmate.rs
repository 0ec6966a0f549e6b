//! dbmate's layout: `<version>_<name>.sql`, one file per migration, its
//! `up` after `-- migrate:up` and its `down` after `-- migrate:down`; an
//! option `transaction:false` on a marker runs that part outside a
//! transaction.

use super::{sectioned, text, Section};
use crate::db::migration::Migration;
use crate::error::SourceError;
use std::path::Path;

/// A marker line: `(is_up, options)`.
pub fn marker(line: &str) -> Option<(bool, &str)> {
    let rest = line.trim_end().strip_prefix("-- migrate:")?;
    let (word, options) = rest.split_once(' ').unwrap_or((rest, ""));
    match word {
        "up" => Some((true, options)),
        "down" => Some((false, options)),
        _ => None,
    }
}

pub fn parse(path: &Path, bytes: &[u8]) -> Result<Migration, SourceError> {
    let err = |line: usize, msg: String| SourceError::new(path.to_path_buf(), Some(line), msg);
    let mut up: Option<Section> = None;
    let mut down: Option<Section> = None;
    let mut current: Option<bool> = None;
    for (index, line) in text(path, bytes)?.lines().enumerate() {
        let line_no = index + 1;
        let Some((is_up, options)) = marker(line) else {
            Section::append(&mut up, &mut down, current, line);
            continue;
        };
        let mut transaction = true;
        for option in options.split_whitespace() {
            match option {
                "transaction:false" => transaction = false,
                "transaction:true" => transaction = true,
                other => {
                    return Err(err(
                        line_no,
                        format!("unknown dbmate option `{other}`: expected transaction:false"),
                    ))
                }
            }
        }
        let slot = if is_up { &mut up } else { &mut down };
        if slot.is_some() {
            return Err(err(line_no, "a second section of this kind".to_owned()));
        }
        *slot = Some(Section::start(line_no, transaction));
        current = Some(is_up);
    }
    sectioned(path, bytes, "dbmate", up, down)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_and_transaction_option() {
        let m = parse(
            Path::new("20200101120000_index.sql"),
            b"-- migrate:up transaction:false\nCREATE INDEX CONCURRENTLY i ON t (a);\n\n-- migrate:down\nDROP INDEX i;\n",
        )
        .unwrap();
        let up = m.up.portable.unwrap();
        assert_eq!(up.sql, "CREATE INDEX CONCURRENTLY i ON t (a);\n\n");
        assert_eq!(up.line, 2);
        assert!(!up.transaction);
        let down = m.down.portable.unwrap();
        assert_eq!(
            (down.sql.as_str(), down.line, down.transaction),
            ("DROP INDEX i;\n", 5, true)
        );
        let e = parse(Path::new("1_a.sql"), b"-- migrate:down\nSELECT 1;\n").unwrap_err();
        assert!(e.message.contains("no `up` section"), "{e}");
        let e = parse(Path::new("1_a.sql"), b"-- migrate:up transaction:no\n").unwrap_err();
        assert_eq!(e.line, Some(1));
    }
}
