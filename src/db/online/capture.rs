//! The definitions of the columns an online migration replaces, as the
//! catalog gave them when expand first compiled. Expand relaxes the old
//! column (its DEFAULT moves into the sync triggers; on SQLite its NOT NULL
//! too), so contract and rollback cannot read them back from the live
//! schema: they read them here. Rows are written by expand's own SQL, in
//! its transaction where the database has one, and forgotten by rollback.

use super::introspect::{self, ColumnInfo};
use crate::db::bookkeeping::Value;
use crate::db::connection::Database;
use crate::db::dialect::online::Ddl;
use crate::db::dialect::Dialect;
use crate::db::history::TABLE_PREFIX;
use anyhow::{Context, Result};
use sqlx::Row;
use std::collections::BTreeMap;

pub const COLUMNS: &str = "lockstep_online_columns";

/// Captured definitions by table and column name.
pub type Captured = BTreeMap<(String, String), ColumnInfo>;

/// Statements that record `column` of `table` for `version`, keeping a
/// definition an earlier, interrupted expand recorded.
pub fn record(d: Dialect, version: &str, table: &str, column: &ColumnInfo) -> Vec<Ddl> {
    let lit = |s: &str| d.sql().string_literal(s);
    let json = serde_json::to_string(column).unwrap_or_default();
    let create = Ddl::tx(format!(
        "CREATE TABLE IF NOT EXISTS {COLUMNS} (\n    version {key} NOT NULL,\n    table_name {key} NOT NULL,\n    \
         column_name {key} NOT NULL,\n    definition {long} NOT NULL,\n    PRIMARY KEY (version, table_name, column_name)\n)",
        key = d.sql().key_text(),
        long = d.sql().long_text()
    ));
    let (v, t, c) = (lit(version), lit(table), lit(&column.name));
    let insert = Ddl::tx(format!(
        "INSERT INTO {COLUMNS} (version, table_name, column_name, definition) \
         SELECT {v}, {t}, {c}, {json} FROM (SELECT 1 AS one) AS x \
         WHERE NOT EXISTS (SELECT 1 FROM {COLUMNS} WHERE version = {v} AND table_name = {t} AND column_name = {c})",
        json = lit(&json)
    ));
    vec![create, insert]
}

/// Forgets what `version` recorded (after its expand was undone).
pub fn forget(d: Dialect, version: &str) -> Ddl {
    Ddl::tx(format!(
        "DELETE FROM {COLUMNS} WHERE version = {}",
        d.sql().string_literal(version)
    ))
}

/// What `version` recorded; empty when nothing was (or lockstep never
/// recorded anything in this database).
pub async fn load(db: &mut Database, version: &str) -> Result<Captured> {
    let mut out = Captured::new();
    debug_assert!(COLUMNS.starts_with(TABLE_PREFIX));
    if introspect::table(db, COLUMNS).await?.is_none() {
        return Ok(out);
    }
    let d = db.dialect();
    let rows = db
        .fetch_all_bound(
            &format!(
                "SELECT table_name, column_name, {} FROM {COLUMNS} WHERE version = {}",
                d.sql().text_expr("definition"),
                d.sql().placeholder(1)
            ),
            &[Value::Text(version.to_owned())],
        )
        .await
        .with_context(|| format!("cannot read {COLUMNS}"))?;
    for r in rows {
        let table: String = r.try_get(0)?;
        let column: String = r.try_get(1)?;
        let json: String = r.try_get(2)?;
        let info: ColumnInfo = serde_json::from_str(&json).with_context(|| {
            format!("{COLUMNS} holds an unreadable definition of {table}.{column}")
        })?;
        out.insert((table, column), info);
    }
    Ok(out)
}
