//! The SQL of online migrations, one generator per dialect behind one
//! trait: the compiler asks for "a nullable column", "sync triggers",
//! "an online index", and never branches on the dialect itself.

mod mysql;
mod postgres;
mod sqlite;

use crate::db::dialect::Dialect;
use crate::db::online::introspect::ColumnInfo;
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

/// Keeps `target` filled from `expr` while old and new code both write.
/// With a `source`, an update that changes only the source recomputes the
/// target; without one, only inserts that leave the target empty fill it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncRule {
    pub target: String,
    pub expr: String,
    pub source: Option<String>,
}

/// The triggers of one operation.
#[derive(Debug, Clone)]
pub struct SyncTriggers {
    /// Base name of the triggers (and PostgreSQL function).
    pub name: String,
    pub table: String,
    /// The row's key, to find it again from an AFTER trigger (SQLite).
    pub key: Option<String>,
    /// Checked in order; the first that applies wins.
    pub rules: Vec<SyncRule>,
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

/// What adding a constraint online takes, per phase.
#[derive(Debug, Clone, Default)]
pub struct ConstraintSql {
    pub expand: Vec<Ddl>,
    pub contract: Vec<Ddl>,
    pub undo: Vec<Ddl>,
}

pub trait OnlineSql: std::marker::Sync + Send {
    fn dialect(&self) -> Dialect;

    fn q(&self, ident: &str) -> String {
        self.dialect().ident(ident)
    }

    fn create_table(&self, t: &CreateTable) -> Result<String, String> {
        let mut parts = Vec::new();
        let keys: Vec<&str> = t
            .columns
            .iter()
            .filter(|c| c.primary_key)
            .map(|c| c.name.as_str())
            .collect();
        for c in &t.columns {
            let ty = c
                .sql_type
                .for_dialect(self.dialect())
                .ok_or_else(|| format!("column {} has no type for {}", c.name, self.dialect()))?;
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

    /// Always nullable: a NOT NULL column is constrained at contract.
    fn add_column(&self, table: &str, column: &str, sql_type: &str, default: Option<&str>) -> Ddl {
        let default = default.map_or(String::new(), |d| format!(" DEFAULT {d}"));
        Ddl::tx(format!(
            "ALTER TABLE {} ADD COLUMN {} {sql_type} NULL{default}",
            self.q(table),
            self.q(column)
        ))
    }

    fn drop_column(&self, table: &str, column: &str) -> Ddl {
        Ddl::tx(format!(
            "ALTER TABLE {} DROP COLUMN {}",
            self.q(table),
            self.q(column)
        ))
    }

    /// Constrains a backfilled column NOT NULL with as short a lock as the
    /// database allows; empty where it cannot be done in place.
    fn set_not_null(&self, table: &str, column: &str, sql_type: &str) -> Vec<Ddl>;

    fn create_sync(&self, s: &SyncTriggers) -> Vec<Ddl>;

    fn drop_sync(&self, s: &SyncTriggers) -> Vec<Ddl>;

    fn create_index(&self, table: &str, name: &str, columns: &[String], unique: bool) -> Vec<Ddl>;

    fn drop_index(&self, table: &str, name: &str) -> Vec<Ddl>;

    fn add_constraint(&self, c: &AddConstraint) -> Result<ConstraintSql, String>;

    /// `a` and `b` differ, NULLs compared as values.
    fn differs(&self, a: &str, b: &str) -> String;

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

pub fn for_dialect(d: Dialect) -> &'static dyn OnlineSql {
    match d {
        Dialect::Postgres => &postgres::Postgres,
        Dialect::Mysql => &mysql::Mysql,
        Dialect::Sqlite => &sqlite::Sqlite,
    }
}

/// `columns` as a quoted, comma-separated list.
fn column_list(g: &dyn OnlineSql, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| g.q(c))
        .collect::<Vec<_>>()
        .join(", ")
}
