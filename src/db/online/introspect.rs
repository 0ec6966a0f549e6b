//! Reads the live schema an online migration's SQL depends on: a table's
//! columns with their complete definitions (for trigger variables, copied
//! types, and the definition a renamed column must end up with) and its
//! primary key (the backfill walks it in batches). The catalog queries are
//! the dialect's; this module reads their answers.

use crate::db::connection::Database;
use crate::db::dialect::sqlite_columns::ColumnText;
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
    /// The named constraints the migration drops, as the catalog has them
    /// (a name it does not have is absent).
    pub constraints: std::collections::BTreeMap<String, ConstraintInfo>,
}

/// What a named constraint is, as far as dropping it goes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConstraintKind {
    Check,
    ForeignKey,
    /// A UNIQUE constraint (PostgreSQL, MariaDB), or one written in a
    /// SQLite table's definition, which owns an index SQLite cannot drop.
    Unique,
    /// A unique index that is no constraint (`CREATE UNIQUE INDEX`, and
    /// `add_constraint` unique on SQLite).
    UniqueIndex,
    PrimaryKey,
    /// An index that enforces nothing: `drop_index` drops it.
    Index,
    /// Any other kind, in the database's words (PostgreSQL: exclusion).
    Other(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConstraintInfo {
    pub kind: ConstraintKind,
    /// The constraint as the catalog prints it, for messages.
    pub definition: String,
    /// MariaDB: the column whose definition holds the CHECK (a CHECK
    /// written after a column is part of it), with its whole definition.
    pub column: Option<ColumnInfo>,
    /// SQLite: the constraint's text in the table's stored definition,
    /// with what separates it from the rest, so removing it drops it.
    pub written: Option<String>,
    /// A unique constraint's dependants: the foreign keys of other tables
    /// that reference its columns, as (table, constraint name; empty on
    /// SQLite, which keeps no names for them).
    pub referenced_by: Vec<(String, String)>,
}

/// Why a table has no key a keyset backfill can walk; the message says
/// it of the table ("it has no primary key").
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NoIntegerKey {
    #[error("it has no primary key")]
    NoPrimaryKey,
    #[error("its primary key has {} columns ({})", .0.len(), .0.join(", "))]
    Composite(Vec<String>),
    #[error("its key column {0} is not among its columns")]
    Missing(String),
    #[error("its primary key {key} is {sql_type}, not an integer")]
    NotInteger { key: String, sql_type: String },
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
    pub fn integer_key(&self) -> Result<&ColumnInfo, NoIntegerKey> {
        let [key] = self.primary_key.as_slice() else {
            return Err(if self.primary_key.is_empty() {
                NoIntegerKey::NoPrimaryKey
            } else {
                NoIntegerKey::Composite(self.primary_key.clone())
            });
        };
        let column = self
            .column(key)
            .ok_or_else(|| NoIntegerKey::Missing(key.clone()))?;
        let t = column.sql_type.to_ascii_lowercase();
        if t.contains("int") || t == "serial" || t == "bigserial" {
            Ok(column)
        } else {
            Err(NoIntegerKey::NotInteger {
                key: key.clone(),
                sql_type: column.sql_type.clone(),
            })
        }
    }
}

/// The table's columns and key; `None` when it does not exist.
pub async fn table(db: &mut Database, name: &str) -> Result<Option<TableInfo>> {
    let d = db.dialect();
    let lit = d.sql().string_literal(name);
    let sql = d.sql();
    let (columns_sql, key_sql) = (sql.columns_query(&lit), sql.primary_key_query(&lit));
    let rows = db
        .fetch_all(&columns_sql)
        .await
        .with_context(|| format!("cannot read the columns of {name}"))?;
    if rows.is_empty() {
        return Ok(None);
    }
    let create_sql = match sql.table_definition_query(&lit) {
        Some(query) => db
            .fetch_strings(&query)
            .await
            .with_context(|| format!("cannot read the definition of {name}"))?
            .into_iter()
            .next(),
        None => None,
    };
    let mut columns = Vec::new();
    for r in &rows {
        let name: String = r.try_get(0)?;
        let text = create_sql
            .as_deref()
            .and_then(|definition| sql.column_text(definition, &name));
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
                .and_then(|e| sql.column_extra(&e)),
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
        constraints: Default::default(),
    }))
}

/// The constraint (or unique index) `name` of `table`; `None` when the
/// table has none by that name.
pub async fn constraint(
    db: &mut Database,
    table: &str,
    name: &str,
) -> Result<Option<ConstraintInfo>> {
    let d = db.dialect();
    let (t, n) = (d.sql().string_literal(table), d.sql().string_literal(name));
    let read = |e| format!("cannot read constraint {name} of {table}: {e}");
    let column_checks = match d.sql().column_checks_probe() {
        Some(probe) => !db
            .fetch_strings(probe)
            .await
            .map_err(|e| anyhow::anyhow!(read(e)))?
            .is_empty(),
        None => true,
    };
    let sql = d.sql().constraint_query(&t, &n, column_checks);
    let rows = db
        .fetch_all(&sql)
        .await
        .map_err(|e| anyhow::anyhow!(read(e)))?;
    if let Some(r) = rows.first() {
        let code: String = r.try_get(0)?;
        let definition: String = r.try_get(1)?;
        let detail: Option<String> = r.try_get(2)?;
        let kind = match code.as_str() {
            "c" | "CHECK" => ConstraintKind::Check,
            "f" | "FOREIGN KEY" => ConstraintKind::ForeignKey,
            "u" | "UNIQUE" => ConstraintKind::Unique,
            "p" | "PRIMARY KEY" => ConstraintKind::PrimaryKey,
            // SQLite: an index its table's definition made (UNIQUE, PRIMARY KEY).
            "unique index" if detail.as_deref().is_some_and(|o| o != "c") => ConstraintKind::Unique,
            "unique index" => ConstraintKind::UniqueIndex,
            "index" | "INDEX" => ConstraintKind::Index,
            "x" => ConstraintKind::Other("exclusion constraint".to_owned()),
            other => ConstraintKind::Other(format!("constraint of kind {other}")),
        };
        // MariaDB: a CHECK written after a column belongs to the column
        // and goes only with a new definition of it (only MariaDB answers
        // a level; SQLite's detail is an index's origin: c, u or pk).
        let column = match detail.as_deref() {
            Some(level) if level.eq_ignore_ascii_case("column") => {
                column_with_comment(db, table, name).await?
            }
            _ => None,
        };
        let referenced_by = match kind {
            ConstraintKind::Unique | ConstraintKind::UniqueIndex => {
                referencing(db, table, name).await?
            }
            _ => Vec::new(),
        };
        return Ok(Some(ConstraintInfo {
            kind,
            definition,
            column,
            written: None,
            referenced_by,
        }));
    }
    // Where the catalog knows no constraint by that name, the stored
    // table definition may still state one (SQLite).
    let Some(definition) = d.sql().table_definition_query(&t) else {
        return Ok(None);
    };
    let create_sql = db
        .fetch_strings(&definition)
        .await
        .map_err(|e| anyhow::anyhow!(read(e)))?;
    Ok(create_sql
        .first()
        .and_then(|sql| d.sql().constraint_text(sql, name))
        .map(|c| ConstraintInfo {
            kind: match c.kind.as_str() {
                "CHECK" => ConstraintKind::Check,
                "FOREIGN" | "REFERENCES" => ConstraintKind::ForeignKey,
                "UNIQUE" => ConstraintKind::Unique,
                "PRIMARY" => ConstraintKind::PrimaryKey,
                other => ConstraintKind::Other(format!("{other} constraint")),
            },
            definition: c.clause,
            column: None,
            written: c.written,
            referenced_by: Vec::new(),
        }))
}

/// The foreign keys that reference the unique constraint or index `name`
/// of `table`, which the database needs while they exist.
async fn referencing(db: &mut Database, table: &str, name: &str) -> Result<Vec<(String, String)>> {
    let d = db.dialect();
    let (t, n) = (d.sql().string_literal(table), d.sql().string_literal(name));
    let sql = d.sql().referencing_query(&t, &n);
    let rows = db
        .fetch_all(&sql)
        .await
        .with_context(|| format!("cannot read the foreign keys that reference {name}"))?;
    rows.iter()
        .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
        .collect()
}

/// MariaDB: `column` of `table` with its whole definition, its COMMENT
/// carried in `extra` so that restating the column keeps it.
async fn column_with_comment(
    db: &mut Database,
    table: &str,
    column: &str,
) -> Result<Option<ColumnInfo>> {
    let Some(info) = self::table(db, table).await? else {
        return Ok(None);
    };
    let Some(mut col) = info.column(column).cloned() else {
        return Ok(None);
    };
    let d = db.dialect();
    let Some(query) = d.sql().column_comment_query(
        &d.sql().string_literal(table),
        &d.sql().string_literal(column),
    ) else {
        return Ok(Some(col));
    };
    let comment = db.fetch_strings(&query).await?;
    if let Some(c) = comment.first().filter(|c| !c.is_empty()) {
        let lit = db.dialect().sql().string_literal(c);
        col.extra = Some(match col.extra {
            Some(e) => format!("{e} COMMENT {lit}"),
            None => format!("COMMENT {lit}"),
        });
    }
    Ok(Some(col))
}
