//! Compiles an online migration, for one dialect and the live schema, into
//! its parts: expand DDL, backfills, sanity checks, contract DDL, and the
//! undo of expand. Pure: the schema comes in, SQL text comes out.

use super::capture;
use super::introspect::{ColumnInfo, ConstraintKind, TableInfo};
use super::operation::{OnlineMigration, Operation, SqlType};
use crate::db::dialect::online::{Ddl, InsertBranch, OnlineSql, SyncRule, SyncTriggers};
use crate::db::dialect::Dialect;
use crate::db::migration::Phase;
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

/// The live tables the migration touches, by name; empty offline.
pub type Schema = BTreeMap<String, TableInfo>;

pub fn compile(
    m: &OnlineMigration,
    version: &str,
    dialect: Dialect,
    schema: &Schema,
) -> Result<Compiled, String> {
    let g = dialect.sql();
    let mut c = Compiled::default();
    // The tables as each operation finds them: a renamed table is found
    // under its new name by the operations after it.
    let mut schema = schema.clone();
    let schema = &mut schema;
    let mut undo: Vec<Vec<Ddl>> = Vec::new();
    for (index, op) in m.operations.iter().enumerate() {
        let at = |e: String| format!("operation {} ({}): {e}", index + 1, op.name());
        let name = format!("lockstep_{version}_{}", index + 1);
        match op {
            Operation::CreateTable(t) => {
                c.expand.push(Ddl::tx(g.create_table(t).map_err(at)?));
                undo.push(vec![g.drop_table(&t.name)]);
            }
            Operation::DropTable(t) => {
                // Columns of the table go first, as written.
                let drops = std::mem::take(&mut c.column_drops);
                c.contract.extend(drops);
                c.contract.push(g.drop_table(&t.name));
            }
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
                let info = match schema.remove(&r.from) {
                    Some(old) if !old.primary_key.is_empty() || !schema.contains_key(&r.to) => {
                        schema.entry(r.to.clone()).or_insert(old).clone()
                    }
                    _ => schema.get(&r.to).cloned().unwrap_or_default(),
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
                    (Some(t), None) if schema.is_empty() => ColumnInfo {
                        name: r.from.clone(),
                        sql_type: column_type(t, dialect).map_err(at)?,
                        nullable: true,
                        ..ColumnInfo::default()
                    },
                    (None, None) if schema.is_empty() => {
                        return Err(at(format!(
                            "give `type` to print the SQL of renaming {}.{} without a database",
                            r.table, r.from
                        )))
                    }
                    (_, None) => {
                        return Err(at(format!("table {} has no column {}", r.table, r.from)))
                    }
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
                    schema.is_empty().then(|| ColumnInfo {
                        name: a.column.clone(),
                        nullable: true,
                        ..ColumnInfo::default()
                    })
                }) else {
                    return Err(at(format!("table {} has no column {}", a.table, a.column)));
                };
                let retyped = a.sql_type.is_some();
                let ty = match &a.sql_type {
                    Some(t) => column_type(t, dialect).map_err(at)?,
                    None if !old.sql_type.is_empty() => old.sql_type.clone(),
                    None => return Err(at(format!("give `type` for {}.{}", a.table, a.to))),
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
            .map_err(at)?,
            Operation::DropDefault(d) => set_default(
                g, &mut c, &mut undo, schema, version, &d.table, &d.column, None,
            )
            .map_err(at)?,
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
            Operation::DropConstraint(k) => {
                let live = schema
                    .get(&k.table)
                    .and_then(|t| t.constraints.get(&k.name));
                match live.map(|l| &l.kind) {
                    None if !schema.is_empty() => {
                        return Err(at(match schema.get(&k.table) {
                            Some(_) => format!(
                                "table {} has no constraint named {}; check the name against the table's definition \
                                 (a constraint dropped by hand needs no migration: remove this operation)",
                                k.table, k.name
                            ),
                            None => format!("table {} does not exist", k.table),
                        }))
                    }
                    Some(ConstraintKind::PrimaryKey) => {
                        return Err(at(format!(
                            "{} is the primary key of {}: backfills walk it and old code finds rows by it, \
                             so lockstep does not drop it online; change the key with an `sql` operation",
                            k.name, k.table
                        )))
                    }
                    Some(ConstraintKind::Index) => {
                        return Err(at(format!(
                            "{} is an index of {} that enforces nothing: drop it with `drop_index`",
                            k.name, k.table
                        )))
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
                    )));
                }
                // Contract: old code may rely on it until then (a unique
                // one for ON CONFLICT, a foreign key for its cascade). A
                // rollback before contract finds it untouched.
                c.contract
                    .extend(g.drop_constraint(&k.table, &k.name, live).map_err(at)?);
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
) -> Result<(), String> {
    let live = schema.get(table).and_then(|t| t.column(column)).cloned();
    let live = match live {
        Some(live) => live,
        None if schema.is_empty() => ColumnInfo {
            name: column.to_owned(),
            ..ColumnInfo::default()
        },
        None => return Err(format!("table {table} has no column {column}")),
    };
    if let Some(before) = original(schema, table, column).filter(|_| !schema.is_empty()) {
        c.expand
            .extend(capture::record(g.dialect(), version, table, &before));
        undo.push(g.set_default(table, &live, before.default.as_deref()));
    }
    c.expand.extend(g.set_default(table, &live, default));
    Ok(())
}

/// A column replaced by another while old and new code both run.
struct Pair<'a> {
    table: &'a str,
    /// The old column as it was before expand.
    old: &'a ColumnInfo,
    /// The new column as it must be after contract.
    new: &'a ColumnInfo,
    /// The new column's value, over the old one.
    up: String,
    /// The old column's value, over the new one.
    down: String,
    /// For a row that sets neither: the column that gets its default, and
    /// the default; the other column follows from it.
    seed: Option<(String, String)>,
}

/// Expand, backfill, check and contract of replacing `old` by `new`. The
/// sync triggers decide by what a statement wrote: on INSERT a column that
/// arrives NULL was left out (expand moved the old column's DEFAULT into
/// the triggers), on UPDATE a column whose value changed was written.
fn dual_write(
    g: &dyn OnlineSql,
    c: &mut Compiled,
    undo: &mut Vec<Vec<Ddl>>,
    schema: &Schema,
    name: &str,
    version: &str,
    p: &Pair<'_>,
) {
    let (table, old, new) = (p.table, &p.old.name, &p.new.name);
    let online = !schema.is_empty();
    if online {
        c.expand
            .extend(capture::record(g.dialect(), version, table, p.old));
    }
    // The old column is relaxed only once the triggers that fill it are
    // in place: where expand is not one transaction (MariaDB), an insert
    // leaving it out never finds it without a default and without them.
    let (relax, lifted) = g.relax(table, p.old);
    c.expand
        .push(g.add_replacement(table, new, &p.new.sql_type, p.new));
    let branch = |null: &[&String], set: &[&String], assign: Vec<(String, String)>| InsertBranch {
        null: null.iter().map(|s| (*s).clone()).collect(),
        set: set.iter().map(|s| (*s).clone()).collect(),
        assign,
    };
    let mut insert = vec![
        branch(&[new], &[old], vec![(new.clone(), p.up.clone())]),
        branch(&[old], &[new], vec![(old.clone(), p.down.clone())]),
    ];
    if let Some((seeded, default)) = &p.seed {
        let follow = if seeded == old {
            (new.clone(), p.up.clone())
        } else {
            (old.clone(), p.down.clone())
        };
        insert.push(branch(
            &[old, new],
            &[],
            vec![(seeded.clone(), default.clone()), follow],
        ));
    }
    let update = vec![
        SyncRule {
            target: new.clone(),
            expr: p.up.clone(),
            source: old.clone(),
            reverse: p.down.clone(),
        },
        SyncRule {
            target: old.clone(),
            expr: p.down.clone(),
            source: new.clone(),
            reverse: p.up.clone(),
        },
    ];
    let not_null = if lifted {
        vec![old.clone()]
    } else {
        Vec::new()
    };
    let sync = sync(
        name,
        table,
        schema,
        (insert, update, not_null),
        &[(old, &p.old.sql_type), (new, &p.new.sql_type)],
    );
    c.expand.extend(g.create_sync(&sync));
    c.expand.extend(relax);

    let (q_old, q_new, q_table) = (g.q(old), g.q(new), g.q(table));
    let pending = format!("{q_new} IS NULL AND ({}) IS NOT NULL", p.up);
    c.backfills.push(Backfill {
        table: table.to_owned(),
        column: new.clone(),
        expr: p.up.clone(),
        key: key_of(schema, table),
        pending: pending.clone(),
    });
    let key = key_of(schema, table).map_or("id".to_owned(), |k| g.q(&k));
    c.checks.push(check(
        g,
        schema,
        table,
        new,
        &pending,
        format!("rows of {table} where {new} was never filled from {old}"),
        "run `lockstep backfill`, which fills them, then apply again".to_owned(),
    ));
    // Every writer leaves one column following from the other: old code's
    // rows have new = up(old), new code's have old = down(new).
    c.checks.push(check(
        g,
        schema,
        table,
        new,
        &format!(
            "NOT ({pending}) AND {} AND {}",
            g.differs(&q_new, &g.as_column(&p.up, p.new)),
            g.differs(&q_old, &g.as_column(&p.down, p.old))
        ),
        format!("rows of {table} where {old} and {new} disagree"),
        format!(
            "neither follows from the other, so no backfill can choose; keep old code's value with \
             `UPDATE {q_table} SET {q_new} = ({}) WHERE {key} IN ({{keys}})` or new code's with \
             `UPDATE {q_table} SET {q_old} = ({}) WHERE {key} IN ({{keys}})` (the triggers update the other column), then apply again",
            p.up, p.down
        ),
    ));
    if !p.new.nullable {
        c.checks.push(check(
            g,
            schema,
            table,
            new,
            &format!("{q_new} IS NULL AND ({}) IS NULL", p.up),
            format!("rows of {table} where {new} is NULL but must be NOT NULL"),
            format!(
                "give them a value with `UPDATE {q_table} SET {q_new} = … WHERE {key} IN ({{keys}})`, then apply again"
            ),
        ));
    }

    let live_new = schema.get(table).and_then(|t| t.column(new));
    c.contract.extend(g.complete(table, live_new, p.new, p.old));
    c.contract.extend(g.drop_sync(&sync));
    c.column_drops.push(g.drop_column(table, old));
    undo.push({
        let mut u = g.unrelax(table, p.old);
        u.extend(g.drop_sync(&sync));
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

/// A sanity check counting the rows of `table` where `wrong` holds.
fn check(
    g: &dyn OnlineSql,
    schema: &Schema,
    table: &str,
    column: &str,
    wrong: &str,
    what: String,
    fix: String,
) -> SanityCheck {
    let t = g.q(table);
    SanityCheck {
        table: table.to_owned(),
        column: column.to_owned(),
        count_sql: format!("SELECT COUNT(*) FROM {t} WHERE {wrong}"),
        keys_sql: key_of(schema, table).map(|k| {
            let k = g.q(&k);
            format!(
                "SELECT {} FROM {t} WHERE {wrong} ORDER BY {k} LIMIT 10",
                g.dialect().as_bigint(&k)
            )
        }),
        what,
        fix,
    }
}

/// A column as it was before this migration's expand.
fn original(schema: &Schema, table: &str, column: &str) -> Option<ColumnInfo> {
    schema.get(table).and_then(|t| t.original(column)).cloned()
}

/// Insert branches, update rules and columns whose NOT NULL the triggers
/// keep.
type Rules = (Vec<InsertBranch>, Vec<SyncRule>, Vec<String>);

fn sync(
    name: &str,
    table: &str,
    schema: &Schema,
    rules: Rules,
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
                ..ColumnInfo::default()
            });
        }
    }
    let (insert, update, not_null) = rules;
    SyncTriggers {
        name: name.to_owned(),
        table: table.to_owned(),
        key: key_of(schema, table),
        insert,
        update,
        not_null,
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
