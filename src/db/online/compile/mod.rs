//! Compiles an online migration, for one dialect and the live schema, into
//! its parts: expand DDL, backfills, sanity checks, contract DDL, and the
//! undo of expand. Pure: the schema comes in, SQL text comes out.

mod dual_write;

use super::capture;
use super::introspect::{ColumnInfo, ConstraintKind, TableInfo};
use super::operation::{OnlineMigration, Operation, SqlType};
use crate::db::dialect::online::{ConstraintError, CreateTableError, Ddl, InsertBranch, OnlineSql};
use crate::db::dialect::Dialect;
use crate::vocabulary::Phase;
use dual_write::{check, dual_write, key_of, not_null_note, sync, Pair};
use std::collections::BTreeMap;

/// Rows to fill in key order: `SET column = expr` where the column was
/// never written since expand (it is still NULL); a value some writer set
/// is never overwritten.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Backfill {
    pub table: String,
    pub column: String,
    pub expr: String,
    /// The integer primary key the batches walk; `None` offline.
    pub key: Option<String>,
    /// A predicate true for rows that still need the update.
    pub pending: String,
}

/// Proof before contract that no row is left wrong, and what fixes the
/// rows it finds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanityCheck {
    pub table: String,
    pub column: String,
    /// `SELECT COUNT(*) …` of the rows that are wrong.
    pub count_sql: String,
    /// The first keys of those rows, when the table has a key.
    pub keys_sql: Option<String>,
    pub what: String,
    /// What resolves it; `{keys}` stands for the rows' keys.
    pub fix: String,
}

#[derive(Debug, Clone, Default)]
pub struct Compiled {
    pub expand: Vec<Ddl>,
    pub backfills: Vec<Backfill>,
    pub checks: Vec<SanityCheck>,
    pub contract: Vec<Ddl>,
    /// Undoes expand, for a rollback before contract.
    pub undo: Vec<Ddl>,
    /// Things the dialect cannot do that the user should know.
    pub notes: Vec<String>,
    /// Contract's column drops, run after the contract of the operations
    /// that follow (up to an `sql` or `drop_table` one): a sync
    /// trigger or an index of one of those may still name the column, and
    /// SQLite refuses to drop a column something names.
    column_drops: Vec<Ddl>,
}

/// What the database holds of the tables a migration touches, and when it
/// was read.
#[derive(Debug, Clone, Default)]
pub struct Schema {
    /// The touched tables that exist, by name.
    pub tables: BTreeMap<String, TableInfo>,
    pub read: Read,
}

/// When the tables were read, which says what a table missing from them means.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum Read {
    /// Not at all (printing SQL without a database): every table compiles
    /// from what the operation says.
    #[default]
    Offline,
    /// Before earlier pending migrations ran (`plan`, `sql`): one of them
    /// may create a missing table, which then compiles as offline.
    Ahead,
    /// Right before the migration runs: a missing table does not exist.
    Now,
}

impl Schema {
    /// Tables read from a database's catalog.
    pub fn read(tables: BTreeMap<String, TableInfo>, read: Read) -> Self {
        Schema { tables, read }
    }

    /// Whether `table` compiles from what the operation says: it is not
    /// in the database, and may still come (offline, or ahead of the run).
    fn unknown(&self, table: &str) -> bool {
        self.read != Read::Now && !self.tables.contains_key(table)
    }

    /// The error for a column this schema lacks.
    fn missing(&self, table: &str, column: &str) -> ColumnError {
        match self.tables.contains_key(table) {
            true => ColumnError::Missing {
                table: table.to_owned(),
                column: column.to_owned(),
            },
            false => ColumnError::NoTable {
                table: table.to_owned(),
            },
        }
    }
}

/// A YAML migration's operation that cannot compile: which one (1-based)
/// and why.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("operation {number} ({operation}): {reason}")]
pub struct CompileError {
    pub number: usize,
    pub operation: &'static str,
    pub reason: Reason,
}

/// Why an operation cannot compile; its text is the reason's alone.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Reason {
    #[error(transparent)]
    CreateTable(#[from] CreateTableError),
    #[error(transparent)]
    Constraint(#[from] ConstraintError),
    #[error(transparent)]
    Column(#[from] ColumnError),
    /// A reason stated where it is found.
    #[error("{0}")]
    Other(String),
}

impl From<String> for Reason {
    fn from(reason: String) -> Self {
        Reason::Other(reason)
    }
}

/// A column an operation names that is not there, or a type it gives
/// that has no spelling for the dialect.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ColumnError {
    #[error("table {table} has no column {column}")]
    Missing { table: String, column: String },
    #[error("table {table} does not exist")]
    NoTable { table: String },
    #[error("no type for {0}")]
    NoType(Dialect),
}

pub fn compile(
    m: &OnlineMigration,
    version: &str,
    dialect: Dialect,
    schema: &Schema,
) -> Result<Compiled, CompileError> {
    let g = dialect.sql();
    let mut c = Compiled::default();
    // The tables as each operation finds them: a renamed table is found
    // under its new name by the operations after it.
    let mut schema = schema.clone();
    let schema = &mut schema;
    let mut undo: Vec<Vec<Ddl>> = Vec::new();
    for (index, op) in m.operations.iter().enumerate() {
        let at = |reason: Reason| CompileError {
            number: index + 1,
            operation: op.name(),
            reason,
        };
        let name = format!("lockstep_{version}_{}", index + 1);
        match op {
            Operation::CreateTable(t) => {
                c.expand
                    .push(Ddl::tx(g.create_table(t).map_err(|e| at(e.into()))?));
                undo.push(vec![g.drop_table(&t.name)]);
            }
            Operation::DropTable(t) => {
                // Columns of the table go first, as written.
                let drops = std::mem::take(&mut c.column_drops);
                c.contract.extend(drops);
                c.contract.push(g.drop_table(&t.name));
            }
            Operation::AddColumn(a) => {
                let ty = column_type(&a.column.sql_type, dialect).map_err(|e| at(e.into()))?;
                c.expand.push(g.add_column(
                    &a.table,
                    &a.column.name,
                    &ty,
                    a.column.default.as_deref(),
                ));
                let mut op_undo = Vec::new();
                if let Some(up) = &a.up {
                    let fill = InsertBranch {
                        null: vec![a.column.name.clone()],
                        set: Vec::new(),
                        assign: vec![(a.column.name.clone(), up.clone())],
                    };
                    let sync = sync(
                        &name,
                        &a.table,
                        schema,
                        (vec![fill], Vec::new(), Vec::new()),
                        &[(&a.column.name, &ty)],
                    );
                    c.expand.extend(g.create_sync(&sync));
                    c.contract.extend(g.drop_sync(&sync));
                    op_undo.extend(g.drop_sync(&sync));
                    let col = g.q(&a.column.name);
                    c.backfills.push(Backfill {
                        table: a.table.clone(),
                        column: a.column.name.clone(),
                        expr: up.clone(),
                        key: key_of(schema, &a.table),
                        pending: format!("{col} IS NULL"),
                    });
                }
                if !a.column.nullable {
                    let col = g.q(&a.column.name);
                    let fix = match &a.up {
                        Some(up) => format!(
                            "where `{up}` is NULL too the backfill cannot fill them: give them a value, e.g. \
                             `UPDATE {} SET {col} = … WHERE {} IN ({{keys}})`, then apply again",
                            g.q(&a.table),
                            key_of(schema, &a.table).map_or("id".to_owned(), |k| g.q(&k))
                        ),
                        None => "give them a value, then apply again".to_owned(),
                    };
                    c.checks.push(check(
                        g,
                        schema,
                        &a.table,
                        &a.column.name,
                        &format!("{col} IS NULL"),
                        format!("rows of {} where {} is NULL", a.table, a.column.name),
                        fix,
                    ));
                    let not_null = g.set_not_null(&a.table, &a.column.name, &ty);
                    if not_null.is_empty() {
                        c.notes
                            .push(not_null_note(dialect, &a.table, &a.column.name));
                    }
                    c.contract.extend(not_null);
                }
                op_undo.push(g.drop_column(&a.table, &a.column.name));
                undo.push(op_undo);
            }
            Operation::DropColumn(d) => {
                if let Some(down) = &d.down {
                    let old = original(schema, &d.table, &d.column);
                    let ty = old
                        .as_ref()
                        .map_or("TEXT".to_owned(), |c| c.sql_type.clone());
                    let mut op_undo = Vec::new();
                    let mut not_null = Vec::new();
                    let mut relaxed = Vec::new();
                    if let Some(old) = &old {
                        c.expand
                            .extend(capture::record(dialect, version, &d.table, old));
                        let (relax, lifted) = g.relax(&d.table, old);
                        relaxed = relax;
                        op_undo.extend(g.unrelax(&d.table, old));
                        if lifted {
                            not_null.push(d.column.clone());
                        }
                    }
                    let fill = InsertBranch {
                        null: vec![d.column.clone()],
                        set: Vec::new(),
                        assign: vec![(d.column.clone(), down.clone())],
                    };
                    let sync = sync(
                        &name,
                        &d.table,
                        schema,
                        (vec![fill], Vec::new(), not_null),
                        &[(&d.column, &ty)],
                    );
                    c.expand.extend(g.create_sync(&sync));
                    c.expand.extend(relaxed);
                    if let Some(old) = &old {
                        c.contract.extend(g.release(&d.table, old));
                    }
                    c.contract.extend(g.drop_sync(&sync));
                    op_undo.extend(g.drop_sync(&sync));
                    undo.push(op_undo);
                }
                c.column_drops.push(g.drop_column(&d.table, &d.column));
            }
            Operation::RenameTable(r) => {
                // Before expand the live table has the old name; after it,
                // the new one (and the old name is the view).
                let info = match schema.tables.remove(&r.from) {
                    Some(old)
                        if !old.primary_key.is_empty() || !schema.tables.contains_key(&r.to) =>
                    {
                        schema.tables.entry(r.to.clone()).or_insert(old).clone()
                    }
                    _ => schema.tables.get(&r.to).cloned().unwrap_or_default(),
                };
                let key = info.integer_key().ok().map(|k| k.name.clone());
                let sql = g.rename_table(&r.from, &r.to, &info.columns, key.as_deref());
                c.expand.extend(sql.expand);
                c.contract.extend(sql.contract);
                undo.push(sql.undo);
            }
            Operation::RenameColumn(r) => {
                let old = original(schema, &r.table, &r.from);
                let old = match (&r.sql_type, old) {
                    (_, Some(col)) => col,
                    (Some(t), None) if schema.unknown(&r.table) => ColumnInfo {
                        name: r.from.clone(),
                        sql_type: column_type(t, dialect).map_err(|e| at(e.into()))?,
                        nullable: true,
                        ..ColumnInfo::default()
                    },
                    (None, None) if schema.unknown(&r.table) => {
                        let without = match schema.read {
                            Read::Ahead => "before an earlier migration creates the table",
                            _ => "without a database",
                        };
                        return Err(at(format!(
                            "give `type` to print the SQL of renaming {}.{} {without}",
                            r.table, r.from
                        )
                        .into()));
                    }
                    (_, None) => return Err(at(schema.missing(&r.table, &r.from).into())),
                };
                let target = ColumnInfo {
                    name: r.to.clone(),
                    text: None,
                    ..old.clone()
                };
                let pair = Pair {
                    table: &r.table,
                    old: &old,
                    new: &target,
                    up: g.q(&r.from),
                    down: g.q(&r.to),
                    seed: old.default.clone().map(|d| (r.from.clone(), d)),
                };
                dual_write(g, &mut c, &mut undo, schema, &name, version, &pair);
            }
            Operation::AlterColumn(a) => {
                let Some(old) = original(schema, &a.table, &a.column).or_else(|| {
                    schema.unknown(&a.table).then(|| ColumnInfo {
                        name: a.column.clone(),
                        nullable: true,
                        ..ColumnInfo::default()
                    })
                }) else {
                    return Err(at(schema.missing(&a.table, &a.column).into()));
                };
                let retyped = a.sql_type.is_some();
                let ty = match &a.sql_type {
                    Some(t) => column_type(t, dialect).map_err(|e| at(e.into()))?,
                    None if !old.sql_type.is_empty() => old.sql_type.clone(),
                    None => return Err(at(format!("give `type` for {}.{}", a.table, a.to).into())),
                };
                // A new type keeps nothing of the old one's; the same type
                // keeps its collation, default and MariaDB extras.
                let target = ColumnInfo {
                    name: a.to.clone(),
                    sql_type: ty,
                    nullable: a.nullable.unwrap_or(old.nullable),
                    default: a
                        .default
                        .clone()
                        .or_else(|| (!retyped).then(|| old.default.clone()).flatten()),
                    collation: (!retyped).then(|| old.collation.clone()).flatten(),
                    extra: (!retyped).then(|| old.extra.clone()).flatten(),
                    text: None,
                };
                let seed = match (&a.default, &old.default) {
                    (Some(d), _) => Some((a.to.clone(), d.clone())),
                    (None, Some(d)) => Some((a.column.clone(), d.clone())),
                    (None, None) => None,
                };
                let pair = Pair {
                    table: &a.table,
                    old: &old,
                    new: &target,
                    up: a.up.clone(),
                    down: a.down.clone(),
                    seed,
                };
                dual_write(g, &mut c, &mut undo, schema, &name, version, &pair);
            }
            Operation::SetDefault(d) => set_default(
                g,
                &mut c,
                &mut undo,
                schema,
                version,
                &d.table,
                &d.column,
                Some(&d.default),
            )
            .map_err(|e| at(e.into()))?,
            Operation::DropDefault(d) => set_default(
                g, &mut c, &mut undo, schema, version, &d.table, &d.column, None,
            )
            .map_err(|e| at(e.into()))?,
            Operation::CreateIndex(i) => {
                c.expand
                    .extend(g.create_index(&i.table, &i.name, &i.columns, i.unique));
                undo.push(g.drop_index(&i.table, &i.name));
            }
            Operation::DropIndex(i) => c.contract.extend(g.drop_index(&i.table, &i.name)),
            Operation::AddConstraint(k) => {
                let sql = g.add_constraint(k).map_err(|e| at(e.into()))?;
                c.expand.extend(sql.expand);
                c.contract.extend(sql.contract);
                undo.push(sql.undo);
            }
            Operation::DropConstraint(k) => {
                let live = schema
                    .tables
                    .get(&k.table)
                    .and_then(|t| t.constraints.get(&k.name));
                match live.map(|l| &l.kind) {
                    None if schema.read != Read::Offline => {
                        return Err(at(match schema.tables.get(&k.table) {
                            Some(_) => format!(
                                "table {} has no constraint named {}; check the name against the table's definition \
                                 (a constraint dropped by hand needs no migration: remove this operation)",
                                k.table, k.name
                            ),
                            None => format!("table {} does not exist", k.table),
                        }
                        .into()))
                    }
                    Some(ConstraintKind::PrimaryKey) => {
                        return Err(at(format!(
                            "{} is the primary key of {}: backfills walk it and old code finds rows by it, \
                             so lockstep does not drop it online; change the key with an `sql` operation",
                            k.name, k.table
                        )
                        .into()))
                    }
                    Some(ConstraintKind::Index) => {
                        return Err(at(format!(
                            "{} is an index of {} that enforces nothing: drop it with `drop_index`",
                            k.name, k.table
                        )
                        .into()))
                    }
                    _ => {}
                }
                // A foreign key that references it needs it (SQLite would
                // fail every later write to the child table); unless an
                // operation before this one drops that foreign key.
                let dropped_before = |table: &str, fk: &str| {
                    m.operations[..index].iter().any(|op| {
                        matches!(op, Operation::DropConstraint(d)
                            if d.table == table && (fk.is_empty() || d.name == fk))
                    })
                };
                let needed: Vec<String> = live
                    .map_or(&[][..], |l| &l.referenced_by[..])
                    .iter()
                    .filter(|(table, fk)| !dropped_before(table, fk))
                    .map(|(table, fk)| match fk.as_str() {
                        "" => format!("a foreign key of table {table}"),
                        fk => format!("foreign key {fk} of table {table}"),
                    })
                    .collect();
                if !needed.is_empty() {
                    return Err(at(format!(
                        "{} of {} is what {} references, which needs it; drop that first \
                         (a `drop_constraint` before this one)",
                        k.name,
                        k.table,
                        needed.join(" and ")
                    )
                    .into()));
                }
                // Contract: old code may rely on it until then (a unique
                // one for ON CONFLICT, a foreign key for its cascade). A
                // rollback before contract finds it untouched.
                c.contract.extend(
                    g.drop_constraint(&k.table, &k.name, live)
                        .map_err(|e| at(e.into()))?,
                );
            }
            Operation::Sql(s) => {
                let up =
                    s.up.for_dialect(dialect)
                        .ok_or_else(|| at(format!("no `up` SQL for {dialect}").into()))?;
                let statements: Vec<Ddl> = crate::db::statements::split(up, dialect)
                    .into_iter()
                    .map(|st| Ddl::tx(st.sql))
                    .collect();
                match s.phase() {
                    Some(Phase::Contract) => {
                        // Raw SQL finds the operations before it done.
                        let drops = std::mem::take(&mut c.column_drops);
                        c.contract.extend(drops);
                        c.contract.extend(statements);
                    }
                    _ => {
                        c.expand.extend(statements);
                        if let Some(down) = s.down.as_ref().and_then(|d| d.for_dialect(dialect)) {
                            undo.push(
                                crate::db::statements::split(down, dialect)
                                    .into_iter()
                                    .map(|st| Ddl::tx(st.sql))
                                    .collect(),
                            );
                        }
                    }
                }
            }
        }
    }
    let drops = std::mem::take(&mut c.column_drops);
    c.contract.extend(drops);
    // Undo runs in reverse operation order, then forgets what expand
    // recorded of the columns it relaxed.
    c.undo = undo.into_iter().rev().flatten().collect();
    if c.expand.iter().any(|d| d.sql.contains(capture::COLUMNS)) {
        c.undo.push(capture::forget(dialect, version));
    }
    Ok(c)
}

/// A new DEFAULT (or none) for a column at expand; undo puts back the one it
/// had, recorded at expand.
#[allow(clippy::too_many_arguments)]
fn set_default(
    g: &dyn OnlineSql,
    c: &mut Compiled,
    undo: &mut Vec<Vec<Ddl>>,
    schema: &Schema,
    version: &str,
    table: &str,
    column: &str,
    default: Option<&str>,
) -> Result<(), ColumnError> {
    let live = schema
        .tables
        .get(table)
        .and_then(|t| t.column(column))
        .cloned();
    let live = match live {
        Some(live) => live,
        None if schema.unknown(table) => ColumnInfo {
            name: column.to_owned(),
            ..ColumnInfo::default()
        },
        None => return Err(schema.missing(table, column)),
    };
    if let Some(before) = original(schema, table, column) {
        c.expand
            .extend(capture::record(g.dialect(), version, table, &before));
        undo.push(g.set_default(table, &live, before.default.as_deref()));
    }
    c.expand.extend(g.set_default(table, &live, default));
    Ok(())
}

/// A column as it was before this migration's expand.
fn original(schema: &Schema, table: &str, column: &str) -> Option<ColumnInfo> {
    schema
        .tables
        .get(table)
        .and_then(|t| t.original(column))
        .cloned()
}

fn column_type(t: &SqlType, d: Dialect) -> Result<String, ColumnError> {
    t.for_dialect(d).ok_or(ColumnError::NoType(d))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The reasons read as they did when they were strings.
    #[test]
    fn reasons_keep_their_text() {
        let reason = |r: Reason| {
            CompileError {
                number: 2,
                operation: "add_constraint",
                reason: r,
            }
            .to_string()
        };
        let cases = [
            (
                CreateTableError::NoType {
                    column: "id".to_owned(),
                    dialect: Dialect::Postgres,
                }
                .into(),
                "column id has no type for postgres",
            ),
            (
                ConstraintError::NoKind.into(),
                "give check, unique or foreign_key",
            ),
            (
                ConstraintError::CannotAdd {
                    table: "t".to_owned(),
                }
                .into(),
                "SQLite cannot add a CHECK or FOREIGN KEY constraint to the existing table t; \
                 use an `sql` operation that rebuilds the table",
            ),
            (
                ConstraintError::InDefinition {
                    name: "u".to_owned(),
                    what: "a constraint (CHECK (a > 0))".to_owned(),
                    table: "t".to_owned(),
                }
                .into(),
                "u is a constraint (CHECK (a > 0)) written in the definition of table t, which \
                 SQLite cannot drop without rebuilding the table; use an `sql` operation that \
                 rebuilds t without it (create the new table, copy the rows, drop the old one, rename)",
            ),
            (
                ConstraintError::NeedsCatalog {
                    name: "u".to_owned(),
                }
                .into(),
                "on SQLite dropping u depends on how the table's definition states it; \
                 connect to the database to compile this operation",
            ),
            (
                ColumnError::Missing {
                    table: "t".to_owned(),
                    column: "c".to_owned(),
                }
                .into(),
                "table t has no column c",
            ),
            (
                ColumnError::NoTable {
                    table: "t".to_owned(),
                }
                .into(),
                "table t does not exist",
            ),
            (
                ColumnError::NoType(Dialect::Mysql).into(),
                "no type for mysql",
            ),
            ("as written".to_owned().into(), "as written"),
        ];
        for (r, text) in cases {
            assert_eq!(reason(r), format!("operation 2 (add_constraint): {text}"));
        }
    }
}
