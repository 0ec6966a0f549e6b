//! Reads the live schema an online migration's SQL depends on: a table's
//! columns (for trigger variables and copied types) and its primary key
//! (the backfill walks it in batches).

use crate::db::connection::Database;
use crate::db::dialect::Dialect;
use anyhow::{Context, Result};
use sqlx::Row;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    pub name: String,
    /// The type as the database spells it (`character varying(255)`).
    pub sql_type: String,
    pub nullable: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableInfo {
    pub columns: Vec<ColumnInfo>,
    pub primary_key: Vec<String>,
}

impl TableInfo {
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// The single integer primary key column a keyset backfill can walk.
    pub fn integer_key(&self) -> Result<&ColumnInfo, String> {
        let [key] = self.primary_key.as_slice() else {
            return Err(if self.primary_key.is_empty() {
                "it has no primary key".to_owned()
            } else {
                format!(
                    "its primary key has {} columns ({})",
                    self.primary_key.len(),
                    self.primary_key.join(", ")
                )
            });
        };
        let column = self
            .column(key)
            .ok_or_else(|| format!("its key column {key} is not among its columns"))?;
        let t = column.sql_type.to_ascii_lowercase();
        if t.contains("int") || t == "serial" || t == "bigserial" {
            Ok(column)
        } else {
            Err(format!(
                "its primary key {key} is {}, not an integer",
                column.sql_type
            ))
        }
    }
}

/// The table's columns and key; `None` when it does not exist.
pub async fn table(db: &mut Database, name: &str) -> Result<Option<TableInfo>> {
    let d = db.dialect();
    let lit = d.string_literal(name);
    let (columns_sql, key_sql) = match d {
        Dialect::Postgres => (
            format!(
                "SELECT CAST(a.attname AS TEXT), CAST(format_type(a.atttypid, a.atttypmod) AS TEXT), \
                 CAST(CASE WHEN a.attnotnull THEN 0 ELSE 1 END AS BIGINT) FROM pg_attribute a \
                 WHERE a.attrelid = to_regclass({lit}) AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attnum"
            ),
            format!(
                "SELECT CAST(a.attname AS TEXT) FROM pg_index i JOIN pg_attribute a \
                 ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) \
                 WHERE i.indrelid = to_regclass({lit}) AND i.indisprimary ORDER BY a.attnum"
            ),
        ),
        Dialect::Mysql => (
            format!(
                "SELECT CAST(column_name AS CHAR(255)), CAST(column_type AS CHAR(255)), \
                 CAST(CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS SIGNED) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = {lit} ORDER BY ordinal_position"
            ),
            format!(
                "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
                 WHERE table_schema = DATABASE() AND table_name = {lit} AND constraint_name = 'PRIMARY' \
                 ORDER BY ordinal_position"
            ),
        ),
        Dialect::Sqlite => (
            format!("SELECT name, type, CASE WHEN \"notnull\" = 1 THEN 0 ELSE 1 END FROM pragma_table_info({lit}) ORDER BY cid"),
            format!("SELECT name FROM pragma_table_info({lit}) WHERE pk > 0 ORDER BY pk"),
        ),
    };
    let rows = db
        .fetch_all(&columns_sql)
        .await
        .with_context(|| format!("cannot read the columns of {name}"))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let mut columns = Vec::new();
    for r in &rows {
        columns.push(ColumnInfo {
            name: r.try_get(0)?,
            sql_type: r.try_get(1)?,
            nullable: r.try_get::<i64, _>(2)? != 0,
        });
    }
    let primary_key = db
        .fetch_strings(&key_sql)
        .await
        .with_context(|| format!("cannot read the key of {name}"))?;
    Ok(Some(TableInfo {
        columns,
        primary_key,
    }))
}
