//! Compiles an online migration, for one dialect and the live schema, into
//! its parts: expand DDL, backfills, sanity checks, contract DDL, and the
//! undo of expand. Pure: the schema comes in, SQL text comes out.

use super::dialects::{for_dialect, Ddl, OnlineSql, SyncRule, SyncTriggers};
use super::introspect::{ColumnInfo, TableInfo};
use super::operation::{OnlineMigration, Operation, SqlType};
use crate::db::dialect::Dialect;
use crate::db::migration::Phase;
use std::collections::BTreeMap;

/// Rows to rewrite in key order: `SET column = expr` where it differs.
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

/// Proof before contract that the backfill left nothing behind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SanityCheck {
    pub table: String,
    pub column: String,
    /// `SELECT COUNT(*) …` of the rows that are wrong.
    pub count_sql: String,
    pub what: String,
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
}

/// The live tables the migration touches, by name; empty offline.
pub type Schema = BTreeMap<String, TableInfo>;

pub fn compile(
    m: &OnlineMigration,
    version: &str,
    dialect: Dialect,
    schema: &Schema,
) -> Result<Compiled, String> {
    let g = for_dialect(dialect);
    let mut c = Compiled::default();
    let mut undo: Vec<Vec<Ddl>> = Vec::new();
    for (index, op) in m.operations.iter().enumerate() {
        let at = |e: String| format!("operation {} ({}): {e}", index + 1, op.name());
        let name = format!("lockstep_{version}_{}", index + 1);
        match op {
            Operation::CreateTable(t) => {
                c.expand.push(Ddl::tx(g.create_table(t).map_err(at)?));
                undo.push(vec![g.drop_table(&t.name)]);
            }
            Operation::DropTable(t) => c.contract.push(g.drop_table(&t.name)),
            Operation::AddColumn(a) => {
                let ty = column_type(&a.column.sql_type, dialect).map_err(at)?;
                c.expand.push(g.add_column(
                    &a.table,
                    &a.column.name,
                    &ty,
                    a.column.default.as_deref(),
                ));
                let mut op_undo = Vec::new();
                if let Some(up) = &a.up {
                    let sync = sync(
                        g,
                        &name,
                        &a.table,
                        schema,
                        vec![SyncRule {
                            target: a.column.name.clone(),
                            expr: up.clone(),
                            source: None,
                        }],
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
                    c.checks.push(SanityCheck {
                        table: a.table.clone(),
                        column: a.column.name.clone(),
                        count_sql: format!(
                            "SELECT COUNT(*) FROM {} WHERE {col} IS NULL",
                            g.q(&a.table)
                        ),
                        what: format!("rows of {} where {} is NULL", a.table, a.column.name),
                    });
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
                    let ty = schema
                        .get(&d.table)
                        .and_then(|t| t.column(&d.column))
                        .map_or("TEXT".to_owned(), |c| c.sql_type.clone());
                    let sync = sync(
                        g,
                        &name,
                        &d.table,
                        schema,
                        vec![SyncRule {
                            target: d.column.clone(),
                            expr: down.clone(),
                            source: None,
                        }],
                        &[(&d.column, &ty)],
                    );
                    c.expand.extend(g.create_sync(&sync));
                    c.contract.extend(g.drop_sync(&sync));
                    undo.push(g.drop_sync(&sync));
                }
                c.contract.push(g.drop_column(&d.table, &d.column));
            }
            Operation::RenameColumn(r) => {
                let old = schema.get(&r.table).and_then(|t| t.column(&r.from));
                let ty = match (&r.sql_type, old) {
                    (Some(t), _) => column_type(t, dialect).map_err(at)?,
                    (None, Some(col)) => col.sql_type.clone(),
                    (None, None) if schema.is_empty() => {
                        return Err(at(format!(
                            "give `type` to print the SQL of renaming {}.{} without a database",
                            r.table, r.from
                        )))
                    }
                    (None, None) => {
                        return Err(at(format!("table {} has no column {}", r.table, r.from)))
                    }
                };
                let not_null = old.is_some_and(|c| !c.nullable);
                let from = g.q(&r.from);
                let to = g.q(&r.to);
                dual_write(
                    g, &mut c, &mut undo, schema, &name, &r.table, &r.from, &r.to, &ty, &from, &to,
                    not_null,
                );
            }
            Operation::AlterColumn(a) => {
                let old = schema.get(&a.table).and_then(|t| t.column(&a.column));
                let ty = match (&a.sql_type, old) {
                    (Some(t), _) => column_type(t, dialect).map_err(at)?,
                    (None, Some(col)) => col.sql_type.clone(),
                    (None, None) => {
                        return Err(at(format!("give `type` for {}.{}", a.table, a.to)))
                    }
                };
                let not_null = a
                    .nullable
                    .map_or_else(|| old.is_some_and(|c| !c.nullable), |n| !n);
                dual_write(
                    g, &mut c, &mut undo, schema, &name, &a.table, &a.column, &a.to, &ty, &a.up,
                    &a.down, not_null,
                );
            }
            Operation::CreateIndex(i) => {
                c.expand
                    .extend(g.create_index(&i.table, &i.name, &i.columns, i.unique));
                undo.push(g.drop_index(&i.table, &i.name));
            }
            Operation::DropIndex(i) => c.contract.extend(g.drop_index(&i.table, &i.name)),
            Operation::AddConstraint(k) => {
                let sql = g.add_constraint(k).map_err(at)?;
                c.expand.extend(sql.expand);
                c.contract.extend(sql.contract);
                undo.push(sql.undo);
            }
            Operation::Sql(s) => {
                let up =
                    s.up.for_dialect(dialect)
                        .ok_or_else(|| at(format!("no `up` SQL for {dialect}")))?;
                let statements: Vec<Ddl> = crate::db::statements::split(up, dialect)
                    .into_iter()
                    .map(|st| Ddl::tx(st.sql))
                    .collect();
                match s.phase() {
                    Some(Phase::Contract) => c.contract.extend(statements),
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
    // Undo runs in reverse operation order.
    c.undo = undo.into_iter().rev().flatten().collect();
    Ok(c)
}

/// Expand, backfill, check and contract of replacing `old` by `new`, with
/// `up` (over the old column) and `down` (over the new one) kept in sync.
#[allow(clippy::too_many_arguments)]
fn dual_write(
    g: &dyn OnlineSql,
    c: &mut Compiled,
    undo: &mut Vec<Vec<Ddl>>,
    schema: &Schema,
    name: &str,
    table: &str,
    old: &str,
    new: &str,
    ty: &str,
    up: &str,
    down: &str,
    not_null: bool,
) {
    c.expand.push(g.add_column(table, new, ty, None));
    let rules = vec![
        SyncRule {
            target: new.to_owned(),
            expr: up.to_owned(),
            source: Some(old.to_owned()),
        },
        SyncRule {
            target: old.to_owned(),
            expr: down.to_owned(),
            source: Some(new.to_owned()),
        },
    ];
    let old_ty = schema
        .get(table)
        .and_then(|t| t.column(old))
        .map_or(ty.to_owned(), |c| c.sql_type.clone());
    let sync = sync(g, name, table, schema, rules, &[(old, &old_ty), (new, ty)]);
    c.expand.extend(g.create_sync(&sync));
    let differs = g.differs(&g.q(new), up);
    c.backfills.push(Backfill {
        table: table.to_owned(),
        column: new.to_owned(),
        expr: up.to_owned(),
        key: key_of(schema, table),
        pending: differs.clone(),
    });
    c.checks.push(SanityCheck {
        table: table.to_owned(),
        column: new.to_owned(),
        count_sql: format!("SELECT COUNT(*) FROM {} WHERE {differs}", g.q(table)),
        what: format!("rows of {table} where {new} differs from {up}"),
    });
    c.contract.extend(g.drop_sync(&sync));
    c.contract.push(g.drop_column(table, old));
    if not_null {
        let not_null = g.set_not_null(table, new, ty);
        if not_null.is_empty() {
            c.notes.push(not_null_note(g.dialect(), table, new));
        }
        c.contract.extend(not_null);
    }
    undo.push({
        let mut u = g.drop_sync(&sync);
        u.push(g.drop_column(table, new));
        u
    });
}

/// The warning for a NOT NULL the database cannot add to an existing column
/// (SQLite): what holds instead, and how to get the constraint.
fn not_null_note(dialect: impl std::fmt::Display, table: &str, column: &str) -> String {
    format!(
        "{dialect} cannot make {table}.{column} NOT NULL in place, so the column stays nullable \
         (the sanity check found no NULL); if the database must enforce it, rebuild {table} \
         with the constraint in a later migration (create, copy, drop, rename)"
    )
}

fn sync(
    g: &dyn OnlineSql,
    name: &str,
    table: &str,
    schema: &Schema,
    rules: Vec<SyncRule>,
    extra: &[(&str, &str)],
) -> SyncTriggers {
    let mut columns: Vec<ColumnInfo> = schema
        .get(table)
        .map(|t| t.columns.clone())
        .unwrap_or_default();
    for (col, ty) in extra {
        if !columns.iter().any(|c| c.name == *col) {
            columns.push(ColumnInfo {
                name: (*col).to_owned(),
                sql_type: (*ty).to_owned(),
                nullable: true,
            });
        }
    }
    let _ = g;
    SyncTriggers {
        name: name.to_owned(),
        table: table.to_owned(),
        key: schema
            .get(table)
            .and_then(|t| t.integer_key().ok())
            .map(|c| c.name.clone()),
        rules,
        columns,
    }
}

fn key_of(schema: &Schema, table: &str) -> Option<String> {
    schema
        .get(table)
        .and_then(|t| t.integer_key().ok())
        .map(|c| c.name.clone())
}

fn column_type(t: &SqlType, d: Dialect) -> Result<String, String> {
    t.for_dialect(d).ok_or_else(|| format!("no type for {d}"))
}
