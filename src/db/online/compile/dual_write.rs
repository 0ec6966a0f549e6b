//! Replacing a column while old and new code both run (`rename_column`,
//! `alter_column`): the sync triggers both ways, the backfill, the sanity
//! checks and the contract; and the trigger and check builders the other
//! column operations share.

use super::{capture, Backfill, Compiled, SanityCheck, Schema};
use crate::db::dialect::online::{Ddl, InsertBranch, OnlineSql, SyncRule, SyncTriggers};
use crate::db::online::introspect::ColumnInfo;

/// A column replaced by another while old and new code both run.
pub(super) struct Pair<'a> {
    pub table: &'a str,
    /// The old column as it was before expand.
    pub old: &'a ColumnInfo,
    /// The new column as it must be after contract.
    pub new: &'a ColumnInfo,
    /// The new column's value, over the old one.
    pub up: String,
    /// The old column's value, over the new one.
    pub down: String,
    /// For a row that sets neither: the column that gets its default, and
    /// the default; the other column follows from it.
    pub seed: Option<(String, String)>,
}

/// Expand, backfill, check and contract of replacing `old` by `new`. The
/// sync triggers decide by what a statement wrote: on INSERT a column that
/// arrives NULL was left out (expand moved the old column's DEFAULT into
/// the triggers), on UPDATE a column whose value changed was written.
pub(super) fn dual_write(
    g: &dyn OnlineSql,
    c: &mut Compiled,
    undo: &mut Vec<Vec<Ddl>>,
    schema: &Schema,
    name: &str,
    version: &str,
    p: &Pair<'_>,
) {
    let (table, old, new) = (p.table, &p.old.name, &p.new.name);
    // What the old column was is recorded only from a live table.
    if schema.tables.contains_key(table) {
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

    let live_new = schema.tables.get(table).and_then(|t| t.column(new));
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
pub(super) fn not_null_note(dialect: impl std::fmt::Display, table: &str, column: &str) -> String {
    format!(
        "{dialect} cannot make {table}.{column} NOT NULL in place, so the column stays nullable \
         (the sanity check found no NULL); if the database must enforce it, rebuild {table} \
         with the constraint in a later migration (create, copy, drop, rename)"
    )
}

/// A sanity check counting the rows of `table` where `wrong` holds.
pub(super) fn check(
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
                g.dialect().sql().as_bigint(&k)
            )
        }),
        what,
        fix,
    }
}

/// Insert branches, update rules and columns whose NOT NULL the triggers
/// keep.
pub(super) type Rules = (Vec<InsertBranch>, Vec<SyncRule>, Vec<String>);

pub(super) fn sync(
    name: &str,
    table: &str,
    schema: &Schema,
    rules: Rules,
    extra: &[(&str, &str)],
) -> SyncTriggers {
    let mut columns: Vec<ColumnInfo> = schema
        .tables
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

pub(super) fn key_of(schema: &Schema, table: &str) -> Option<String> {
    schema
        .tables
        .get(table)
        .and_then(|t| t.integer_key().ok())
        .map(|c| c.name.clone())
}
