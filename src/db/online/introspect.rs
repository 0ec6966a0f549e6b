//! Reads the live schema an online migration's SQL depends on: a table's
//! columns with their complete definitions (for trigger variables, copied
//! types, and the definition a renamed column must end up with) and its
//! primary key (the backfill walks it in batches).

use super::sqlite_columns::{self, ColumnText};
use crate::db::connection::Database;
use crate::db::dialect::Dialect;
use anyhow::{Context, Result};
use serde::{Deserialize, Serialize};
use sqlx::Row;

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ColumnInfo {
    pub name: String,
    /// The type as the database spells it (`character varying(255)`).
    pub sql_type: String,
    pub nullable: bool,
    /// The DEFAULT expression as the catalog gives it back.
    #[serde(default)]
    pub default: Option<String>,
    /// A collation other than the type's default (MariaDB: always, for text).
    #[serde(default)]
    pub collation: Option<String>,
    /// MariaDB: `on update current_timestamp()` and `auto_increment`.
    #[serde(default)]
    pub extra: Option<String>,
    /// SQLite: the definition as written in the table's text.
    #[serde(default)]
    pub text: Option<ColumnText>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct TableInfo {
    pub columns: Vec<ColumnInfo>,
    pub primary_key: Vec<String>,
    /// Definitions recorded when the migration being compiled expanded,
    /// by column name: what the columns were before expand relaxed them.
    pub captured: std::collections::BTreeMap<String, ColumnInfo>,
}

impl TableInfo {
    pub fn column(&self, name: &str) -> Option<&ColumnInfo> {
        self.columns.iter().find(|c| c.name == name)
    }

    /// A column as it was before this migration's expand: the recorded
    /// definition, else the live one.
    pub fn original(&self, name: &str) -> Option<&ColumnInfo> {
        self.captured.get(name).or_else(|| self.column(name))
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

/// The live tables an online migration touches, with what its expand
/// recorded of the columns it relaxed.
pub async fn schema(
    db: &mut Database,
    m: &super::OnlineMigration,
    version: &str,
) -> Result<super::compile::Schema> {
    let mut schema = super::compile::Schema::new();
    for op in &m.operations {
        for name in op.tables() {
            if !schema.contains_key(name) {
                if let Some(info) = table(db, name).await? {
                    schema.insert(name.to_owned(), info);
                }
            }
        }
    }
    for ((name, column), info) in super::capture::load(db, version).await? {
        if let Some(t) = schema.get_mut(&name) {
            t.captured.insert(column, info);
        }
    }
    Ok(schema)
}

/// The table's columns and key; `None` when it does not exist.
pub async fn table(db: &mut Database, name: &str) -> Result<Option<TableInfo>> {
    let d = db.dialect();
    let lit = d.string_literal(name);
    let (columns_sql, key_sql) = match d {
        Dialect::Postgres => (
            format!(
                "SELECT CAST(a.attname AS TEXT), CAST(format_type(a.atttypid, a.atttypmod) AS TEXT), \
                 CAST(CASE WHEN a.attnotnull THEN 0 ELSE 1 END AS BIGINT), \
                 CAST(pg_get_expr(d.adbin, d.adrelid) AS TEXT), \
                 CAST(CASE WHEN a.attcollation <> ty.typcollation THEN (SELECT quote_ident(collname) FROM pg_collation WHERE oid = a.attcollation) END AS TEXT), \
                 CAST(NULL AS TEXT) \
                 FROM pg_attribute a JOIN pg_type ty ON ty.oid = a.atttypid \
                 LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum \
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
                 CAST(CASE WHEN is_nullable = 'YES' THEN 1 ELSE 0 END AS SIGNED), \
                 CAST(column_default AS CHAR(4000)), CAST(collation_name AS CHAR(255)), \
                 CAST(NULLIF(extra, '') AS CHAR(255)) FROM information_schema.columns \
                 WHERE table_schema = DATABASE() AND table_name = {lit} ORDER BY ordinal_position"
            ),
            format!(
                "SELECT CAST(column_name AS CHAR) FROM information_schema.key_column_usage \
                 WHERE table_schema = DATABASE() AND table_name = {lit} AND constraint_name = 'PRIMARY' \
                 ORDER BY ordinal_position"
            ),
        ),
        Dialect::Sqlite => (
            format!("SELECT name, type, CASE WHEN \"notnull\" = 1 THEN 0 ELSE 1 END, dflt_value, NULL, NULL FROM pragma_table_info({lit}) ORDER BY cid"),
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
    let create_sql = match d {
        Dialect::Sqlite => db
            .fetch_strings(&format!(
                "SELECT sql FROM sqlite_master WHERE type = 'table' AND name = {lit}"
            ))
            .await
            .with_context(|| format!("cannot read the definition of {name}"))?
            .into_iter()
            .next(),
        _ => None,
    };
    let mut columns = Vec::new();
    for r in &rows {
        let name: String = r.try_get(0)?;
        let text = create_sql
            .as_deref()
            .and_then(|sql| sqlite_columns::find(sql, &name));
        columns.push(ColumnInfo {
            sql_type: r.try_get(1)?,
            nullable: r.try_get::<i64, _>(2)? != 0,
            default: r
                .try_get::<Option<String>, _>(3)?
                .filter(|d| !d.eq_ignore_ascii_case("NULL")),
            collation: r
                .try_get::<Option<String>, _>(4)?
                .or_else(|| text.as_ref().and_then(|t| t.collation.clone())),
            extra: r
                .try_get::<Option<String>, _>(5)?
                .and_then(|e| kept_extra(&e)),
            text,
            name,
        });
    }
    let primary_key = db
        .fetch_strings(&key_sql)
        .await
        .with_context(|| format!("cannot read the key of {name}"))?;
    Ok(Some(TableInfo {
        columns,
        primary_key,
        captured: Default::default(),
    }))
}

/// The parts of MariaDB's `EXTRA` that belong to a column's definition and
/// move with it: `on update …` and `auto_increment` (not generated columns).
fn kept_extra(extra: &str) -> Option<String> {
    let lower = extra.to_ascii_lowercase();
    let mut kept = Vec::new();
    if let Some(at) = lower.find("on update ") {
        kept.push(extra[at..].trim().to_owned());
    }
    if lower.contains("auto_increment") {
        kept.push("AUTO_INCREMENT".to_owned());
    }
    (!kept.is_empty()).then(|| kept.join(" "))
}
