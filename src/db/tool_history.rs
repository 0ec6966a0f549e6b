//! What other migration tools recorded in the database they manage: the
//! versions they applied, the checksum they kept where they keep one
//! (sqlx's SHA-384, Flyway's CRC32), and a failed or dirty state. Read
//! only: lockstep never writes these tables, so a team can go back.

use crate::db::connection::Database;
use crate::db::dialect::Dialect;
use crate::db::layouts::diesel;
use crate::vocabulary::Version;
use anyhow::{Context, Result};
use sha2::{Digest, Sha384};
use sqlx::Row;
use std::fmt;

/// A tool whose history table lockstep reads.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tool {
    Sqlx,
    Diesel,
    Flyway,
    GolangMigrate,
    Dbmate,
    Goose,
    Alembic,
}

impl Tool {
    pub fn table(self) -> &'static str {
        match self {
            Tool::Sqlx => "_sqlx_migrations",
            Tool::Diesel => "__diesel_schema_migrations",
            Tool::Flyway => "flyway_schema_history",
            Tool::GolangMigrate | Tool::Dbmate => "schema_migrations",
            Tool::Goose => "goose_db_version",
            Tool::Alembic => "alembic_version",
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Tool::Sqlx => "sqlx",
            Tool::Diesel => "diesel",
            Tool::Flyway => "Flyway",
            Tool::GolangMigrate => "golang-migrate",
            Tool::Dbmate => "dbmate",
            Tool::Goose => "goose",
            Tool::Alembic => "Alembic",
        }
    }
}

impl fmt::Display for Tool {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A checksum another tool recorded for a migration, and how to compute it
/// from today's file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ToolChecksum {
    /// sqlx: SHA-384 of the `up` file's bytes, stored as bytes (read as hex).
    Sha384(String),
    /// Flyway: CRC32 of the file's lines without their line ends, as a
    /// signed 32-bit integer.
    Crc32(i64),
}

impl ToolChecksum {
    /// Whether `bytes` (today's `up` file) still has this checksum.
    pub fn matches(&self, bytes: &[u8]) -> bool {
        match self {
            ToolChecksum::Sha384(hex) => {
                hex::encode(Sha384::digest(bytes)).eq_ignore_ascii_case(hex)
            }
            ToolChecksum::Crc32(recorded) => i64::from(flyway_crc32(bytes)) == *recorded,
        }
    }

    pub fn describe(&self) -> String {
        match self {
            ToolChecksum::Sha384(hex) => format!("sha384:{}", hex.to_ascii_lowercase()),
            ToolChecksum::Crc32(n) => format!("crc32:{n}"),
        }
    }
}

/// Flyway's checksum: a CRC32 updated with each line's UTF-8 bytes, line
/// ends (`\n`, `\r\n`, `\r`) left out and a BOM removed, read as a signed int.
pub fn flyway_crc32(bytes: &[u8]) -> i32 {
    const CRC: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    // Updating with line after line is the CRC of their concatenation:
    // the bytes without any CR or LF.
    let mut digest = CRC.digest();
    for line in bytes.split(|b| *b == b'\n' || *b == b'\r') {
        digest.update(line);
    }
    digest.finalize() as i32
}

/// One version another tool recorded as applied.
#[derive(Debug, Clone)]
pub struct Recorded {
    pub version: Version,
    /// As the tool wrote it, for messages.
    pub text: String,
    pub checksum: Option<ToolChecksum>,
}

/// Everything a tool recorded: applied versions in order, or what blocks
/// adopting it.
#[derive(Debug, Default)]
pub struct ToolHistory {
    pub applied: Vec<Recorded>,
    /// A failed or dirty migration, said as the tool would.
    pub dirty: Option<String>,
    /// golang-migrate records only the newest version: every migration up
    /// to it counts as applied.
    pub up_to: Option<Version>,
    /// Alembic's revision: not a lockstep version.
    pub stamp: Option<String>,
    /// Rows lockstep cannot match to a file, said why (Flyway's repeatables).
    pub ignored: Vec<String>,
}

/// The tools whose history tables this database has.
pub async fn present(db: &mut Database) -> Result<Vec<Tool>> {
    let tables = db
        .fetch_strings(&db.dialect().sql().existing_tables_query(""))
        .await
        .context("cannot list the database's tables")?;
    let has = |t: &str| tables.iter().any(|n| n.eq_ignore_ascii_case(t));
    let mut tools = Vec::new();
    for tool in [
        Tool::Sqlx,
        Tool::Diesel,
        Tool::Flyway,
        Tool::Goose,
        Tool::Alembic,
    ] {
        if has(tool.table()) {
            tools.push(tool);
        }
    }
    if has("schema_migrations") {
        // golang-migrate's table has a `dirty` column; dbmate's has not.
        let dirty = db
            .fetch_all("SELECT dirty FROM schema_migrations WHERE 1 = 0")
            .await
            .is_ok();
        tools.push(if dirty {
            Tool::GolangMigrate
        } else {
            Tool::Dbmate
        });
    }
    Ok(tools)
}

fn text(d: Dialect, expr: &str) -> String {
    d.sql().as_text(expr)
}

fn truth(expr: &str) -> String {
    format!("CASE WHEN {expr} THEN '1' ELSE '0' END")
}

fn hex_of(d: Dialect, column: &str) -> String {
    d.sql().hex(column)
}

/// Rows of text columns.
async fn rows(db: &mut Database, sql: &str) -> Result<Vec<Vec<Option<String>>>> {
    let rows = db
        .fetch_all(sql)
        .await
        .with_context(|| format!("cannot read `{sql}`"))?;
    rows.iter()
        .map(|r| {
            (0..r.len())
                .map(|i| r.try_get::<Option<String>, _>(i))
                .collect::<Result<Vec<_>, _>>()
                .context("cannot decode a history row")
        })
        .collect()
}

fn version(tool: Tool, text: &str) -> Result<Version> {
    let parsed = match tool {
        Tool::Diesel => Version::parse(&diesel::padded(&text.replace('-', ""))),
        _ => Version::parse(text),
    };
    parsed.ok_or_else(|| {
        anyhow::anyhow!("{tool} recorded version `{text}`, which is not a version number")
    })
}

/// Reads `tool`'s history table.
pub async fn read(db: &mut Database, tool: Tool) -> Result<ToolHistory> {
    let d = db.dialect();
    let mut out = ToolHistory::default();
    let get = |row: &[Option<String>], i: usize| row.get(i).cloned().flatten().unwrap_or_default();
    match tool {
        Tool::Sqlx => {
            let sql = format!(
                "SELECT {}, {}, {} FROM _sqlx_migrations ORDER BY version",
                text(d, "version"),
                truth("success"),
                hex_of(d, "checksum")
            );
            for row in rows(db, &sql).await? {
                let v = get(&row, 0);
                if get(&row, 1) != "1" {
                    out.dirty = Some(format!(
                        "_sqlx_migrations records migration {v} as failed (success = false), \
                         which sqlx calls dirty"
                    ));
                }
                out.applied.push(Recorded {
                    version: version(tool, &v)?,
                    checksum: Some(ToolChecksum::Sha384(get(&row, 2))),
                    text: v,
                });
            }
        }
        Tool::Diesel | Tool::Dbmate => {
            let sql = format!(
                "SELECT {} FROM {} ORDER BY version",
                text(d, "version"),
                tool.table()
            );
            for row in rows(db, &sql).await? {
                let v = get(&row, 0);
                out.applied.push(Recorded {
                    version: version(tool, &v)?,
                    checksum: None,
                    text: v,
                });
            }
        }
        Tool::Flyway => {
            let sql = format!(
                "SELECT {}, {}, {}, {} FROM flyway_schema_history ORDER BY installed_rank",
                text(d, "version"),
                text(d, "type"),
                text(d, "checksum"),
                truth("success")
            );
            for row in rows(db, &sql).await? {
                let (v, kind) = (get(&row, 0), get(&row, 1));
                if get(&row, 3) != "1" {
                    out.dirty = Some(format!(
                        "flyway_schema_history records migration {v} as failed (success = false); \
                         run `flyway repair` after fixing it by hand"
                    ));
                }
                if v.is_empty() {
                    if kind != "SCHEMA" {
                        out.ignored
                            .push(format!("a repeatable migration ({kind}) has no version"));
                    }
                    continue;
                }
                let parsed = version(tool, &v)?;
                match kind.as_str() {
                    "BASELINE" => out.up_to = Some(parsed),
                    "UNDO_SQL" => out.applied.retain(|r| r.version != parsed),
                    _ => out.applied.push(Recorded {
                        version: parsed,
                        checksum: row[2]
                            .as_deref()
                            .and_then(|c| c.parse().ok())
                            .map(ToolChecksum::Crc32),
                        text: v,
                    }),
                }
            }
        }
        Tool::GolangMigrate => {
            let sql = format!(
                "SELECT {}, {} FROM schema_migrations",
                text(d, "version"),
                truth("dirty")
            );
            if let Some(row) = rows(db, &sql).await?.first() {
                let v = get(row, 0);
                if get(row, 1) == "1" {
                    out.dirty = Some(format!(
                        "golang-migrate's schema_migrations says version {v} is dirty (it failed \
                         half-way); fix the database by hand and run `migrate force VERSION`"
                    ));
                }
                out.up_to = Some(version(tool, &v)?);
            }
        }
        Tool::Goose => {
            let sql = format!(
                "SELECT {}, {} FROM goose_db_version ORDER BY id",
                text(d, "version_id"),
                truth("is_applied")
            );
            for row in rows(db, &sql).await? {
                let v = get(&row, 0);
                let parsed = version(tool, &v)?;
                out.applied.retain(|r| r.version != parsed);
                // goose's first row is version 0, written when it creates the table.
                if get(&row, 1) == "1" && v != "0" {
                    out.applied.push(Recorded {
                        version: parsed,
                        checksum: None,
                        text: v,
                    });
                }
            }
        }
        Tool::Alembic => {
            let sql = format!("SELECT {} FROM alembic_version", text(d, "version_num"));
            out.stamp = rows(db, &sql).await?.first().map(|r| get(r, 0));
        }
    }
    out.applied.sort_by(|a, b| a.version.cmp(&b.version));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checksums_as_the_tools_compute_them() {
        // Flyway's CRC32 skips line ends: LF, CRLF and CR give the same value.
        let lf = flyway_crc32(b"CREATE TABLE a (id INT);\nSELECT 1;\n");
        assert_eq!(
            lf,
            flyway_crc32(b"CREATE TABLE a (id INT);\r\nSELECT 1;\r\n")
        );
        assert_eq!(
            lf,
            flyway_crc32(b"\xEF\xBB\xBFCREATE TABLE a (id INT);\rSELECT 1;")
        );
        assert_eq!(lf, flyway_crc32(b"CREATE TABLE a (id INT);SELECT 1;"));
        assert_ne!(lf, flyway_crc32(b"CREATE TABLE a (id INT);\nSELECT 2;\n"));
        // CRC32 of "123456789" is the standard check value 0xCBF43926.
        assert_eq!(flyway_crc32(b"123456789") as u32, 0xCBF4_3926);
        let sha = ToolChecksum::Sha384(hex::encode(Sha384::digest(b"SELECT 1;\n")));
        assert!(sha.matches(b"SELECT 1;\n"));
        assert!(!sha.matches(b"SELECT 1;\r\n"));
    }
}
