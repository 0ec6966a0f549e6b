//! The YAML form of an online migration: `description` and a list of
//! operations, each a single-key map naming it (`- rename_column: {…}`).

use crate::db::dialect::Dialect;
use crate::vocabulary::Phase;
use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct OnlineMigration {
    #[serde(default)]
    pub description: Option<String>,
    #[serde(with = "serde_yaml::with::singleton_map_recursive")]
    pub operations: Vec<Operation>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(rename_all = "snake_case", deny_unknown_fields)]
pub enum Operation {
    CreateTable(CreateTable),
    DropTable(TableRef),
    AddColumn(AddColumn),
    DropColumn(DropColumn),
    RenameColumn(RenameColumn),
    RenameTable(RenameTable),
    AlterColumn(AlterColumn),
    SetDefault(SetDefault),
    DropDefault(ColumnRef),
    CreateIndex(CreateIndex),
    DropIndex(DropIndex),
    AddConstraint(AddConstraint),
    DropConstraint(DropConstraint),
    Sql(RawSql),
}

/// A column type: one SQL type for every dialect, or one per dialect.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum SqlType {
    Portable(String),
    PerDialect(BTreeMap<String, String>),
}

impl SqlType {
    pub fn for_dialect(&self, d: Dialect) -> Option<String> {
        match self {
            SqlType::Portable(t) => Some(t.clone()),
            SqlType::PerDialect(map) => map
                .iter()
                .find(|(k, _)| Dialect::parse(k) == Some(d))
                .map(|(_, v)| v.clone()),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct Column {
    pub name: String,
    #[serde(rename = "type")]
    pub sql_type: SqlType,
    #[serde(default = "yes")]
    pub nullable: bool,
    /// A SQL expression, written as-is.
    #[serde(default)]
    pub default: Option<String>,
    #[serde(default)]
    pub primary_key: bool,
}

fn yes() -> bool {
    true
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateTable {
    pub name: String,
    pub columns: Vec<Column>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct TableRef {
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AddColumn {
    pub table: String,
    pub column: Column,
    /// Value for existing rows and for rows old code inserts, as an
    /// expression over the row's other columns. Needed for a NOT NULL column
    /// without a default.
    #[serde(default)]
    pub up: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DropColumn {
    pub table: String,
    pub column: String,
    /// Value old code still reads for rows new code inserts, as an
    /// expression over the row's other columns.
    #[serde(default)]
    pub down: Option<String>,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RenameColumn {
    pub table: String,
    pub from: String,
    pub to: String,
    /// The column's type; read from the database when omitted.
    #[serde(default, rename = "type")]
    pub sql_type: Option<SqlType>,
}

/// Renames a table; until contract the old name is a view that old code
/// reads and writes through.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RenameTable {
    pub from: String,
    pub to: String,
}

/// Gives a column a new DEFAULT (a SQL expression) at expand.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct SetDefault {
    pub table: String,
    pub column: String,
    pub default: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ColumnRef {
    pub table: String,
    pub column: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AlterColumn {
    pub table: String,
    pub column: String,
    /// The new column that replaces `column`; new code uses it.
    pub to: String,
    #[serde(rename = "type", default)]
    pub sql_type: Option<SqlType>,
    #[serde(default)]
    pub nullable: Option<bool>,
    /// The new column's DEFAULT after contract, a SQL expression. Without
    /// it the column keeps the old one's default unless `type` changes.
    #[serde(default)]
    pub default: Option<String>,
    /// New value from the old column (`CAST(price AS NUMERIC(10,2))`).
    pub up: String,
    /// Old value from the new column, for old code still reading it.
    pub down: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct CreateIndex {
    pub table: String,
    pub name: String,
    pub columns: Vec<String>,
    #[serde(default)]
    pub unique: bool,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DropIndex {
    pub table: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct AddConstraint {
    pub table: String,
    pub name: String,
    #[serde(default)]
    pub check: Option<String>,
    #[serde(default)]
    pub unique: Option<Vec<String>>,
    #[serde(default)]
    pub foreign_key: Option<ForeignKey>,
}

/// Drops a named constraint at contract, once no old code relies on it
/// (a unique one for `ON CONFLICT`, a foreign key for its cascade).
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct DropConstraint {
    pub table: String,
    pub name: String,
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct ForeignKey {
    pub columns: Vec<String>,
    pub references: String,
    pub referenced_columns: Vec<String>,
}

/// SQL for one dialect or all: a string, or a map of dialect to string.
#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(untagged)]
pub enum PerDialectSql {
    Portable(String),
    PerDialect(BTreeMap<String, String>),
}

impl PerDialectSql {
    pub fn for_dialect(&self, d: Dialect) -> Option<&str> {
        match self {
            PerDialectSql::Portable(s) => Some(s),
            PerDialectSql::PerDialect(map) => map
                .iter()
                .find(|(k, _)| Dialect::parse(k) == Some(d))
                .map(|(_, v)| v.as_str()),
        }
    }
}

#[derive(Debug, Clone, Deserialize, PartialEq)]
#[serde(deny_unknown_fields)]
pub struct RawSql {
    /// `expand` or `contract`: raw SQL says when it is safe to run.
    pub phase: String,
    pub up: PerDialectSql,
    #[serde(default)]
    pub down: Option<PerDialectSql>,
}

/// Every operation's name, as [`Operation::name`] gives it.
pub const NAMES: [&str; 14] = [
    "create_table",
    "drop_table",
    "add_column",
    "drop_column",
    "rename_column",
    "rename_table",
    "alter_column",
    "set_default",
    "drop_default",
    "create_index",
    "drop_index",
    "add_constraint",
    "drop_constraint",
    "sql",
];

impl Operation {
    pub fn name(&self) -> &'static str {
        match self {
            Operation::CreateTable(_) => "create_table",
            Operation::DropTable(_) => "drop_table",
            Operation::AddColumn(_) => "add_column",
            Operation::DropColumn(_) => "drop_column",
            Operation::RenameColumn(_) => "rename_column",
            Operation::RenameTable(_) => "rename_table",
            Operation::AlterColumn(_) => "alter_column",
            Operation::SetDefault(_) => "set_default",
            Operation::DropDefault(_) => "drop_default",
            Operation::CreateIndex(_) => "create_index",
            Operation::DropIndex(_) => "drop_index",
            Operation::AddConstraint(_) => "add_constraint",
            Operation::DropConstraint(_) => "drop_constraint",
            Operation::Sql(_) => "sql",
        }
    }

    /// The existing tables the operation reads or changes.
    pub fn tables(&self) -> Vec<&str> {
        match self {
            Operation::CreateTable(_) | Operation::Sql(_) => Vec::new(),
            Operation::DropTable(t) => vec![&t.name],
            Operation::AddColumn(a) => vec![&a.table],
            Operation::DropColumn(d) => vec![&d.table],
            Operation::RenameColumn(r) => vec![&r.table],
            Operation::RenameTable(r) => vec![&r.from, &r.to],
            Operation::AlterColumn(a) => vec![&a.table],
            Operation::SetDefault(d) => vec![&d.table],
            Operation::DropDefault(d) => vec![&d.table],
            Operation::CreateIndex(i) => vec![&i.table],
            Operation::DropIndex(i) => vec![&i.table],
            Operation::AddConstraint(c) => vec![&c.table],
            Operation::DropConstraint(c) => vec![&c.table],
        }
    }

    /// Tables whose rows a backfill rewrites (they need an integer key).
    pub fn backfilled_table(&self) -> Option<&str> {
        match self {
            Operation::RenameColumn(r) => Some(&r.table),
            Operation::AlterColumn(a) => Some(&a.table),
            Operation::AddColumn(a) if !a.column.nullable && a.up.is_some() => Some(&a.table),
            _ => None,
        }
    }
}

impl RawSql {
    pub fn phase(&self) -> Option<Phase> {
        Phase::parse(&self.phase)
    }
}

/// Parses a YAML migration; the error carries the line when serde has one.
pub fn parse(text: &str) -> Result<OnlineMigration, (Option<usize>, String)> {
    let m: OnlineMigration =
        serde_yaml::from_str(text).map_err(|e| crate::error::yaml_error(text, &e))?;
    if m.operations.is_empty() {
        return Err((None, "`operations` is empty: nothing to do".to_owned()));
    }
    for (i, op) in m.operations.iter().enumerate() {
        let bad = |msg: String| Err((None, format!("operation {} ({}): {msg}", i + 1, op.name())));
        match op {
            Operation::Sql(s) if s.phase().is_none() => {
                return bad(format!("phase `{}`: expected expand or contract", s.phase))
            }
            Operation::AddConstraint(c)
                if [
                    c.check.is_some(),
                    c.unique.is_some(),
                    c.foreign_key.is_some(),
                ]
                .iter()
                .filter(|b| **b)
                .count()
                    != 1 =>
            {
                return bad("give exactly one of check, unique or foreign_key".to_owned())
            }
            Operation::AddColumn(a)
                if !a.column.nullable && a.up.is_none() && a.column.default.is_none() =>
            {
                return bad(format!(
                    "column {} is NOT NULL: give `up` (its value for existing rows) or a `default`",
                    a.column.name
                ))
            }
            Operation::CreateTable(t) if t.columns.is_empty() => {
                return bad("a table needs columns".to_owned())
            }
            Operation::CreateIndex(c) if c.columns.is_empty() => {
                return bad("an index needs columns".to_owned())
            }
            _ => {}
        }
    }
    Ok(m)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_lists_every_operation() {
        let (_, msg) = parse("operations:\n  - no_such_operation: {}\n").unwrap_err();
        let expected: Vec<String> = NAMES.iter().map(|n| format!("`{n}`")).collect();
        assert!(
            msg.ends_with(&format!("expected one of {}", expected.join(", "))),
            "{msg}"
        );
    }
}
