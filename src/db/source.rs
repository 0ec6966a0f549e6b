//! Finds database migrations on disk and parses them: `<version>_<slug>.sql`
//! files with `-- lockstep:` markers, searched recursively and ordered by
//! version. Does not connect to a database.

use crate::checksum::Checksum;
use crate::db::dialect::Dialect;
use crate::db::migration::{Migration, Script, Scripts};
use crate::error::SourceError;
use crate::migration_files::parse_file_name;
use crate::vocabulary::Phase;
use std::collections::BTreeMap;
use std::path::Path;

const MARKER: &str = "lockstep:";

/// Every migration under `dir`, ordered by version. A missing directory is
/// an empty set: a project may have only config migrations.
pub fn load_dir(dir: &Path) -> Result<Vec<Migration>, SourceError> {
    crate::migration_files::load(
        dir,
        &["sql", "yaml", "yml"],
        "migration",
        |path, ext, bytes| {
            if ext == "sql" {
                parse_sql(path, bytes)
            } else {
                parse_yaml(path, bytes)
            }
        },
    )
}

/// The migration's text: UTF-8 without a byte order mark, and without NUL
/// bytes, which no database takes in SQL (SQLite's statement loop never
/// ends on one).
pub fn text_of<'b>(path: &Path, bytes: &'b [u8]) -> Result<&'b str, SourceError> {
    let text = std::str::from_utf8(bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes))
        .map_err(|e| SourceError::new(path.to_path_buf(), None, format!("not UTF-8: {e}")))?;
    if let Some(at) = text.find('\0') {
        let line = text[..at].matches('\n').count() + 1;
        let column = at - text[..at].rfind('\n').map_or(0, |n| n + 1) + 1;
        return Err(SourceError::new(
            path.to_path_buf(),
            Some(line),
            format!(
                "a NUL byte at column {column}: SQL cannot contain one; remove it \
                 (write binary data as a hex literal)"
            ),
        ));
    }
    Ok(text)
}

/// Parses one SQL migration file; `path` names it in messages.
pub fn parse_sql(path: &Path, bytes: &[u8]) -> Result<Migration, SourceError> {
    let (version, slug) = parse_file_name(path)?;
    let checksum = Checksum::of_migration(bytes);
    let text = text_of(path, bytes)?;
    if !text.contains(MARKER) {
        // No markers: one portable `up`, read without splitting lines, as
        // most files of a large migration set are.
        return Ok(Migration {
            version,
            slug,
            path: path.to_path_buf(),
            checksum,
            phase: Phase::Expand,
            up: Scripts {
                portable: Some(Script {
                    sql: text.to_owned(),
                    transaction: true,
                    line: 1,
                }),
                per_dialect: BTreeMap::new(),
            },
            down: Scripts::default(),
            online: None,
            lint_ignores: Vec::new(),
        });
    }
    let err = |line: usize, msg: String| SourceError::new(path.to_path_buf(), Some(line), msg);

    let mut phase: Option<(usize, Phase)> = None;
    let mut lint_ignores = Vec::new();
    let mut up = Scripts::default();
    let mut down = Scripts::default();
    // The block being collected: which scripts it goes to, under which key.
    let mut current: Option<Block> = None;
    let mut preamble_sql_line: Option<usize> = None;
    let mut seen_block = false;
    let mut seen: BTreeMap<(bool, Option<Dialect>), usize> = BTreeMap::new();

    for (index, raw_line) in split_lines(text).enumerate() {
        let raw_line = raw_line.as_str();
        let line_no = index + 1;
        let Some(directive) = marker(raw_line) else {
            match current.as_mut() {
                Some(block) => {
                    if block.sql.is_empty() && raw_line.trim().is_empty() {
                        continue;
                    }
                    if block.sql.is_empty() {
                        block.first_line = line_no;
                    }
                    block.sql.push_str(raw_line);
                    block.sql.push('\n');
                }
                None => {
                    if preamble_sql_line.is_none() && !is_blank_or_comment(raw_line) {
                        preamble_sql_line = Some(line_no);
                    }
                }
            }
            continue;
        };
        let mut words = directive.split_whitespace();
        let name = words.next().unwrap_or("");
        match name {
            "phase" => {
                let value = words.next().unwrap_or("");
                let parsed = Phase::parse(value).ok_or_else(|| {
                    err(
                        line_no,
                        format!("unknown phase `{value}`: expected `expand` or `contract`"),
                    )
                })?;
                if let Some(extra) = words.next() {
                    return Err(err(
                        line_no,
                        format!("unexpected `{extra}` after the phase"),
                    ));
                }
                if let Some((first, _)) = phase {
                    return Err(err(
                        line_no,
                        format!(
                            "a second `-- lockstep:phase` marker (the first is on line {first})"
                        ),
                    ));
                }
                phase = Some((line_no, parsed));
                keep_line_numbers(&mut current);
            }
            "up" | "down" => {
                let is_up = name == "up";
                let mut dialect = None;
                let mut transaction = true;
                for attr in words {
                    let (key, value) = attr.split_once('=').ok_or_else(|| {
                        err(
                            line_no,
                            format!(
                                "malformed marker attribute `{attr}`: expected key=value \
                                 (dialect=postgres|mysql|sqlite, transaction=false)"
                            ),
                        )
                    })?;
                    match key {
                        "dialect" => {
                            dialect = Some(Dialect::parse(value).ok_or_else(|| {
                                err(
                                    line_no,
                                    format!(
                                        "unknown dialect `{value}`: expected postgres, mysql or sqlite"
                                    ),
                                )
                            })?)
                        }
                        "transaction" => {
                            transaction = match value {
                                "true" => true,
                                "false" => false,
                                _ => {
                                    return Err(err(
                                        line_no,
                                        format!("transaction must be true or false, not `{value}`"),
                                    ))
                                }
                            }
                        }
                        _ => {
                            return Err(err(
                                line_no,
                                format!(
                                    "unknown marker attribute `{key}`: expected dialect= or transaction="
                                ),
                            ))
                        }
                    }
                }
                if let Some(first) = seen.insert((is_up, dialect), line_no) {
                    let which = dialect.map_or("portable".to_owned(), |d| format!("dialect={d}"));
                    return Err(err(
                        line_no,
                        format!(
                            "a second `{name}` section for {which} (the first is on line {first})"
                        ),
                    ));
                }
                if let Some(block) = current.take() {
                    block.finish(&mut up, &mut down);
                }
                seen_block = true;
                current = Some(Block {
                    is_up,
                    dialect,
                    transaction,
                    first_line: line_no + 1,
                    sql: String::new(),
                });
            }
            "lint-ignore" => {
                let rule = words.next().ok_or_else(|| {
                    err(
                        line_no,
                        "lint-ignore needs a rule name and a reason".to_owned(),
                    )
                })?;
                let reason = words.collect::<Vec<_>>().join(" ");
                if reason.is_empty() {
                    return Err(err(
                        line_no,
                        format!("lint-ignore {rule} needs a reason after the rule name"),
                    ));
                }
                lint_ignores.push((line_no, rule.to_owned()));
                keep_line_numbers(&mut current);
            }
            _ => {
                return Err(err(
                    line_no,
                    format!(
                    "unknown marker `-- lockstep:{name}`: expected up, down, phase or lint-ignore"
                ),
                ))
            }
        }
    }
    if let Some(block) = current.take() {
        block.finish(&mut up, &mut down);
    }
    if !seen_block {
        // No up/down markers: the whole file is one portable `up`, as sqlx,
        // dbmate and Flyway files are.
        up.portable = Some(Script {
            sql: text.to_owned(),
            transaction: true,
            line: 1,
        });
    } else if let Some(line) = preamble_sql_line {
        return Err(err(
            line,
            "SQL before the first `-- lockstep:up` or `-- lockstep:down` marker; \
             move it under a marker"
                .to_owned(),
        ));
    }
    if up.is_empty() {
        return Err(SourceError::new(
            path.to_path_buf(),
            None,
            "no `-- lockstep:up` section: nothing to apply".to_owned(),
        ));
    }
    Ok(Migration {
        version,
        slug,
        path: path.to_path_buf(),
        checksum,
        phase: phase.map_or(Phase::Expand, |(_, p)| p),
        up,
        down,
        online: None,
        lint_ignores,
    })
}

/// Parses one YAML (online) migration; `path` names it in messages.
pub fn parse_yaml(path: &Path, bytes: &[u8]) -> Result<Migration, SourceError> {
    let (version, slug) = parse_file_name(path)?;
    let checksum = Checksum::of_migration(bytes);
    let text = text_of(path, bytes)?;
    let online = crate::db::online::operation::parse(text)
        .map_err(|(line, msg)| SourceError::new(path.to_path_buf(), line, msg))?;
    Ok(Migration {
        version,
        slug,
        path: path.to_path_buf(),
        checksum,
        phase: Phase::Expand,
        up: Scripts::default(),
        down: Scripts::default(),
        online: Some(online),
        lint_ignores: Vec::new(),
    })
}

/// A marker line inside a block still counts as a line, so statement line
/// numbers stay file line numbers.
fn keep_line_numbers(current: &mut Option<Block>) {
    if let Some(block) = current.as_mut().filter(|b| !b.sql.is_empty()) {
        block.sql.push('\n');
    }
}

struct Block {
    is_up: bool,
    dialect: Option<Dialect>,
    transaction: bool,
    first_line: usize,
    sql: String,
}

impl Block {
    fn finish(self, up: &mut Scripts, down: &mut Scripts) {
        let scripts = if self.is_up { up } else { down };
        let script = Script {
            sql: self.sql,
            transaction: self.transaction,
            line: self.first_line,
        };
        match self.dialect {
            Some(d) => {
                scripts.per_dialect.insert(d, script);
            }
            None => scripts.portable = Some(script),
        }
    }
}

/// Lines of the file with CRLF and lone CR read as LF.
fn split_lines(text: &str) -> impl Iterator<Item = String> {
    let normalised = text.replace("\r\n", "\n").replace('\r', "\n");
    normalised
        .lines()
        .map(str::to_owned)
        .collect::<Vec<_>>()
        .into_iter()
}

/// The text after `-- lockstep:` when the line is a marker.
fn marker(line: &str) -> Option<&str> {
    let rest = line.trim_start().strip_prefix("--")?.trim_start();
    rest.strip_prefix(MARKER).map(str::trim)
}

fn is_blank_or_comment(line: &str) -> bool {
    let t = line.trim();
    t.is_empty() || t.starts_with("--")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(text: &str) -> Result<Migration, SourceError> {
        parse_sql(Path::new("0001_test.sql"), text.as_bytes())
    }

    #[test]
    fn plain_file_is_one_portable_up() {
        let m = parse("CREATE TABLE t (id INT);\n").unwrap();
        assert_eq!(m.phase, Phase::Expand);
        assert_eq!(
            m.up.portable.as_ref().unwrap().sql,
            "CREATE TABLE t (id INT);\n"
        );
        assert!(m.down.is_empty());
    }

    #[test]
    fn markers_split_sections_and_dialects() {
        let m = parse(
            "-- lockstep:phase contract\n-- lockstep:up\nDROP TABLE a;\n\
             -- lockstep:up dialect=postgres transaction=false\nDROP INDEX CONCURRENTLY i;\n\
             -- lockstep:down\nCREATE TABLE a (id INT);\n",
        )
        .unwrap();
        assert_eq!(m.phase, Phase::Contract);
        let pg = m.up.for_dialect(Dialect::Postgres).unwrap();
        assert_eq!(pg.sql, "DROP INDEX CONCURRENTLY i;\n");
        assert!(!pg.transaction);
        assert_eq!(pg.line, 5);
        assert_eq!(
            m.up.for_dialect(Dialect::Mysql).unwrap().sql,
            "DROP TABLE a;\n"
        );
        assert_eq!(m.down.for_dialect(Dialect::Sqlite).unwrap().line, 7);
    }

    #[test]
    fn errors_name_the_line() {
        let e = parse("-- lockstep:up\nSELECT 1;\n-- lockstep:up dialect=oracle\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        assert!(e.message.contains("unknown dialect `oracle`"), "{e}");
        let e = parse("-- lockstep:upp\n").unwrap_err();
        assert!(e.message.contains("unknown marker"), "{e}");
        let e = parse("-- lockstep:up\nSELECT 1;\n-- lockstep:up\nSELECT 2;\n").unwrap_err();
        assert_eq!(e.line, Some(3));
        let e = parse("SELECT 0;\n-- lockstep:up\nSELECT 1;\n").unwrap_err();
        assert_eq!(e.line, Some(1));
        let e = parse("-- lockstep:up transaction\nSELECT 1;\n").unwrap_err();
        assert!(e.message.contains("malformed"), "{e}");
    }

    #[test]
    fn file_names() {
        assert!(parse_file_name(Path::new("x_add.sql")).is_err());
        assert!(parse_file_name(Path::new("0001.sql")).is_err());
        let (v, s) = parse_file_name(Path::new("20240101_add_users.sql")).unwrap();
        assert_eq!((v.as_str(), s.as_str()), ("20240101", "add_users"));
    }

    #[test]
    fn crlf_file_parses_like_lf() {
        let a = parse("-- lockstep:up\r\nSELECT 1;\r\n").unwrap();
        let b = parse("-- lockstep:up\nSELECT 1;\n").unwrap();
        assert_eq!(a.up, b.up);
        assert_eq!(a.checksum, b.checksum);
    }
}
