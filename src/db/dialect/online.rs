//! The SQL of online migrations, one generator per dialect behind one
//! trait, implemented in the dialect's file beside this one: the compiler
//! asks for "a nullable column", "sync triggers", "an online index", and
//! never branches on the dialect itself.

use crate::db::dialect::Dialect;
use crate::db::online::introspect::{ColumnInfo, ConstraintInfo};
use crate::db::online::operation::{AddConstraint, CreateTable};

/// One DDL statement and whether it may run inside a transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ddl {
    pub sql: String,
    pub transactional: bool,
}

impl Ddl {
    pub fn tx(sql: String) -> Ddl {
        Ddl {
            sql,
            transactional: true,
        }
    }
    pub fn no_tx(sql: String) -> Ddl {
        Ddl {
            sql,
            transactional: false,
        }
    }
}

/// A table the dialect cannot create as written.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CreateTableError {
    #[error("column {column} has no type for {dialect}")]
    NoType { column: String, dialect: Dialect },
}

/// A constraint the dialect cannot add or drop online, and what to do
/// instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConstraintError {
    #[error("give check, unique or foreign_key")]
    NoKind,
    #[error(
        "SQLite cannot add a CHECK or FOREIGN KEY constraint to the existing table {table}; \
         use an `sql` operation that rebuilds the table"
    )]
    CannotAdd { table: String },
    /// `what`: the kind of constraint, as a phrase ("a UNIQUE constraint …").
    #[error(
        "{name} is {what} written in the definition of table {table}, which SQLite cannot drop \
         without rebuilding the table; use an `sql` operation that rebuilds {table} without it \
         (create the new table, copy the rows, drop the old one, rename)"
    )]
    InDefinition {
        name: String,
        what: String,
        table: String,
    },
    #[error(
        "on SQLite dropping {name} depends on how the table's definition states it; \
         connect to the database to compile this operation"
    )]
    NeedsCatalog { name: String },
}

/// On UPDATE: a statement that changed `source` and left `target` as it
/// was sets `target` from `expr` (over the new row). A statement that
/// changed both wrote both, and keeps what it wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRule {
    pub target: String,
    pub expr: String,
    pub source: String,
    /// The source's value over the target (the other rule's `expr`): a row
    /// whose source already has it was just synced from the target, and
    /// an AFTER trigger (SQLite) must not bounce it back.
    pub reverse: String,
}

/// On INSERT: when the columns in `null` arrived NULL and those in `set`
/// did not, assign each `(column, expr)` in order, each expression seeing
/// the columns assigned before it. The branches of one trigger exclude
/// each other.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertBranch {
    pub null: Vec<String>,
    pub set: Vec<String>,
    pub assign: Vec<(String, String)>,
}

/// The triggers of one operation.
#[derive(Debug, Clone)]
pub struct SyncTriggers {
    /// Base name of the triggers (and PostgreSQL function).
    pub name: String,
    pub table: String,
    /// The row's key, to find it again from an AFTER trigger (SQLite).
    pub key: Option<String>,
    pub insert: Vec<InsertBranch>,
    pub update: Vec<SyncRule>,
    /// Columns expand made nullable although old code relies on NOT NULL
    /// (SQLite): the triggers refuse a row that leaves them NULL.
    pub not_null: Vec<String>,
    /// The table's columns, visible by name inside the expressions.
    pub columns: Vec<ColumnInfo>,
}

/// Session state of a backfill's connection: `on` before the first batch,
/// `between` after each, `off` after the last.
#[derive(Debug, Clone, Default)]
pub struct BackfillSession {
    pub on: Vec<String>,
    pub off: Vec<String>,
    /// Run after each batch's commit, outside any transaction; its time
    /// counts towards the batch's yield.
    pub between: Vec<String>,
}

/// What an online change takes, per phase: adding a constraint, renaming
/// a table.
#[derive(Debug, Clone, Default)]
pub struct ConstraintSql {
    pub expand: Vec<Ddl>,
    pub contract: Vec<Ddl>,
    pub undo: Vec<Ddl>,
}

pub trait OnlineSql: std::marker::Sync + Send {
    fn dialect(&self) -> Dialect;

    fn q(&self, ident: &str) -> String {
        self.dialect().sql().ident(ident)
    }

    fn create_table(&self, t: &CreateTable) -> Result<String, CreateTableError> {
        let mut parts = Vec::new();
        let keys: Vec<&str> = t
            .columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.as_str())
            .collect();
        for c in &t.columns {
            let ty =
                c.sql_type
                    .for_dialect(self.dialect())
                    .ok_or_else(|| CreateTableError::NoType {
                        column: c.name.clone(),
                        dialect: self.dialect(),
                    })?;
            let mut def = format!("{} {ty}", self.q(&c.name));
            if !c.nullable {
                def.push_str(" NOT NULL");
            }
            if let Some(d) = &c.default {
                def.push_str(&format!(" DEFAULT {d}"));
            }
            if c.primary_key && keys.len() == 1 {
                def.push_str(" PRIMARY KEY");
            }
            parts.push(def);
        }
        if keys.len() > 1 {
            let cols: Vec<String> = keys.iter().map(|k| self.q(k)).collect();
            parts.push(format!("PRIMARY KEY ({})", cols.join(", ")));
        }
        Ok(format!(
            "CREATE TABLE {} (\n    {}\n){}",
            self.q(&t.name),
            parts.join(",\n    "),
            self.table_options()
        ))
    }

    fn table_options(&self) -> &'static str {
        ""
    }

    fn drop_table(&self, name: &str) -> Ddl {
        Ddl::tx(format!("DROP TABLE {}", self.q(name)))
    }

    /// What an `ALTER TABLE` ends with to run without blocking writers,
    /// where the database takes it (MariaDB's `ALGORITHM=INPLACE,
    /// LOCK=NONE`).
    fn in_place(&self) -> &'static str {
        ""
    }

    /// Always nullable: a NOT NULL column is constrained at contract.
    fn add_column(&self, table: &str, column: &str, sql_type: &str, default: Option<&str>) -> Ddl {
        let default = default.map_or(String::new(), |d| format!(" DEFAULT {d}"));
        Ddl::tx(format!(
            "ALTER TABLE {} ADD COLUMN {} {sql_type} NULL{default}{}",
            self.q(table),
            self.q(column),
            self.in_place()
        ))
    }

    fn drop_column(&self, table: &str, column: &str) -> Ddl {
        Ddl::tx(format!(
            "ALTER TABLE {} DROP COLUMN {}{}",
            self.q(table),
            self.q(column),
            self.in_place()
        ))
    }

    /// Constrains a backfilled column NOT NULL with as short a lock as the
    /// database allows; empty where it cannot be done in place.
    fn set_not_null(&self, table: &str, column: &str, sql_type: &str) -> Vec<Ddl>;

    /// The nullable column that will replace `old`, with its collation.
    fn add_replacement(&self, table: &str, column: &str, sql_type: &str, old: &ColumnInfo) -> Ddl {
        let collate = old
            .collation
            .as_ref()
            .map_or(String::new(), |c| format!(" COLLATE {c}"));
        self.add_column(table, column, &format!("{sql_type}{collate}"), None)
    }

    /// Expand: lets a statement leave `column` out and find it NULL in the
    /// triggers (its DEFAULT moves into them), and, where NOT NULL is
    /// checked before the triggers could fill it (SQLite), lets it be NULL
    /// until they do. Returns whether NOT NULL was lifted.
    fn relax(&self, table: &str, column: &ColumnInfo) -> (Vec<Ddl>, bool) {
        let sql = column.default.as_ref().map(|_| {
            Ddl::tx(format!(
                "ALTER TABLE {} ALTER COLUMN {} DROP DEFAULT",
                self.q(table),
                self.q(&column.name)
            ))
        });
        (sql.into_iter().collect(), false)
    }

    /// Undo of [`OnlineSql::relax`]: `column` as it was before expand.
    fn unrelax(&self, table: &str, column: &ColumnInfo) -> Vec<Ddl> {
        column
            .default
            .as_ref()
            .map(|d| {
                Ddl::tx(format!(
                    "ALTER TABLE {} ALTER COLUMN {} SET DEFAULT {d}",
                    self.q(table),
                    self.q(&column.name)
                ))
            })
            .into_iter()
            .collect()
    }

    /// `column` (as it is now) with `default` as its DEFAULT, or none.
    fn set_default(&self, table: &str, column: &ColumnInfo, default: Option<&str>) -> Vec<Ddl> {
        let (t, c) = (self.q(table), self.q(&column.name));
        vec![Ddl::tx(match default {
            Some(d) => format!("ALTER TABLE {t} ALTER COLUMN {c} SET DEFAULT {d}"),
            None => format!("ALTER TABLE {t} ALTER COLUMN {c} DROP DEFAULT"),
        })]
    }

    /// Contract: gives `live` (the replacement column as expand added it)
    /// the complete definition `target`: NOT NULL, DEFAULT, and what else
    /// the database keeps per column; and releases `old` as
    /// [`OnlineSql::release`] does. Runs while the triggers still sync.
    fn complete(
        &self,
        table: &str,
        live: Option<&ColumnInfo>,
        target: &ColumnInfo,
        old: &ColumnInfo,
    ) -> Vec<Ddl>;

    /// Contract, where its statements do not run in one transaction: lets
    /// new code's inserts leave `old` out once the triggers that filled it
    /// are gone, in the moment before it is dropped.
    fn release(&self, _table: &str, _old: &ColumnInfo) -> Vec<Ddl> {
        Vec::new()
    }

    fn create_sync(&self, s: &SyncTriggers) -> Vec<Ddl>;

    fn drop_sync(&self, s: &SyncTriggers) -> Vec<Ddl>;

    fn create_index(&self, table: &str, name: &str, columns: &[String], unique: bool) -> Vec<Ddl>;

    fn drop_index(&self, table: &str, name: &str) -> Vec<Ddl>;

    fn add_constraint(&self, c: &AddConstraint) -> Result<ConstraintSql, ConstraintError>;

    /// Contract: drops constraint `name` of `table`, which the catalog
    /// describes as `c` (`None` offline). Refuses, saying what to do
    /// instead, what the database cannot drop in place.
    fn drop_constraint(
        &self,
        table: &str,
        name: &str,
        c: Option<&ConstraintInfo>,
    ) -> Result<Vec<Ddl>, ConstraintError>;

    /// Renames table `from` to `to` and leaves a view under the old name
    /// that old code can read and write (`columns`: the table's, with
    /// their definitions; `key`: its integer key, where it has one).
    /// Contract drops the view; undo puts the table back.
    fn rename_table(
        &self,
        from: &str,
        to: &str,
        columns: &[ColumnInfo],
        _key: Option<&str>,
    ) -> ConstraintSql {
        rename_with_view(self, from, to, columns)
    }

    /// `a` and `b` differ, NULLs compared as values.
    fn differs(&self, a: &str, b: &str) -> String;

    /// `expr` as a value of `column`'s type, where comparing it with the
    /// column needs that (MariaDB: a string in the column's collation).
    fn as_column(&self, expr: &str, _column: &ColumnInfo) -> String {
        expr.to_owned()
    }

    /// Statements run once before the batches, e.g. the SQLite guard table.
    fn backfill_setup(&self) -> Vec<Ddl> {
        Vec::new()
    }

    /// A query asked once before the batches, whose one text answer
    /// `backfill_session` is given (SQLite: journal mode and synchronous).
    fn backfill_probe(&self) -> Option<&'static str> {
        None
    }

    /// Session settings for the batches, given the probe's answer: what to
    /// run before the first batch and what to run after the last one (or a
    /// failure), so the connection leaves the backfill as it came in.
    fn backfill_session(&self, _probe: Option<&str>) -> BackfillSession {
        BackfillSession::default()
    }

    /// Opens a batch's transaction and sets the sync triggers aside for
    /// the backfill's own writes (unless the session does): one string, so
    /// one round trip.
    fn batch_begin(&self) -> String;

    /// Puts the triggers back and commits a batch's transaction.
    fn batch_commit(&self) -> String {
        "COMMIT".to_owned()
    }

    /// How long to leave the database to the application after a batch that
    /// took `batch`, on top of `--batch-sleep`: where a batch locks out every
    /// other writer, a writer that found it locked must get in before the
    /// next batch, or it waits for many.
    fn batch_yield(&self, _batch: std::time::Duration) -> std::time::Duration {
        std::time::Duration::ZERO
    }

    /// Most rows one UPDATE statement of a batch rewrites; a batch's
    /// transaction runs as many as it needs. On a server, another session's
    /// statement that arrives while one of the backfill's runs was measured
    /// to wait about as long as that statement, not as long as the whole
    /// transaction (BENCHMARKS.md), so servers keep each statement short.
    /// `None` where a batch locks out every other writer for its whole
    /// transaction anyway (SQLite): one statement is then cheapest.
    fn statement_rows(&self) -> Option<i64> {
        Some(STATEMENT_ROWS)
    }

    /// Session settings that make DDL give up instead of queueing behind a
    /// long transaction (and blocking the application behind it).
    fn ddl_lock_timeout(&self) -> Option<String> {
        None
    }

    /// Whether a driver error is a lock timeout worth retrying.
    fn is_lock_timeout(&self, error: &str) -> bool {
        let e = error.to_ascii_lowercase();
        e.contains("lock timeout") || e.contains("lock wait timeout") || e.contains("55p03")
    }
}

/// Rows per UPDATE statement of a backfill batch on a server: under a
/// millisecond of work each at the bench's row width, against a round trip
/// of about 0.1 ms. Smaller statements cut the application's p99 further
/// and the backfill's throughput with it (BENCHMARKS.md has the curve).
const STATEMENT_ROWS: i64 = 250;

/// Renames the table and creates the view in expand, which must be one
/// transaction (PostgreSQL, SQLite) so that no statement finds neither
/// name; a simple view is updatable on PostgreSQL and passes the table's
/// defaults through.
pub(super) fn rename_with_view<G: OnlineSql + ?Sized>(
    g: &G,
    from: &str,
    to: &str,
    columns: &[ColumnInfo],
) -> ConstraintSql {
    let (f, t) = (g.q(from), g.q(to));
    ConstraintSql {
        expand: vec![
            Ddl::tx(format!("ALTER TABLE {f} RENAME TO {t}")),
            Ddl::tx(format!(
                "CREATE VIEW {f} AS SELECT {} FROM {t}",
                select_list(g, columns)
            )),
        ],
        contract: vec![Ddl::tx(format!("DROP VIEW IF EXISTS {f}"))],
        undo: vec![
            Ddl::tx(format!("DROP VIEW IF EXISTS {f}")),
            Ddl::tx(format!("ALTER TABLE {t} RENAME TO {f}")),
        ],
    }
}

/// The columns of a compatibility view: the table's, or all of them.
pub(super) fn select_list<G: OnlineSql + ?Sized>(g: &G, columns: &[ColumnInfo]) -> String {
    if columns.is_empty() {
        return "*".to_owned();
    }
    let names: Vec<String> = columns.iter().map(|c| c.name.clone()).collect();
    column_list(g, &names)
}

/// `columns` as a quoted, comma-separated list.
pub(super) fn column_list<G: OnlineSql + ?Sized>(g: &G, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| g.q(c))
        .collect::<Vec<_>>()
        .join(", ")
}
