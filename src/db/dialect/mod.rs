//! Everything lockstep's own SQL does differently on SQLite, PostgreSQL and
//! MySQL/MariaDB, in one place per dialect: `sqlite`, [`postgres`] and
//! `mysql` each implement [`SqlDialect`] (quoting, placeholders and
//! types; `BEGIN` and whether DDL is transactional; the statement
//! splitter's lexical rules; connecting and locking; reading the history
//! and the live catalog; lint capabilities) and [`online::OnlineSql`] (the
//! DDL and triggers of online migrations, whose row-trigger rules for
//! PostgreSQL and MariaDB come from one builder in `trigger`).
//! [`sqlite_columns`] reads the `CREATE TABLE` text SQLite keeps, where its
//! catalog says less than that text.
//!
//! The rest of the crate asks [`Dialect::sql`] for SQL text or for a
//! capability and branches on the answer, never on which dialect it is: `tests/integration/architecture.rs`
//! fails on a `Dialect::` variant named outside this module.

use sqlite_columns::{ColumnText, ConstraintText};
use std::fmt;
use std::path::PathBuf;

mod mysql;
pub mod online;
pub mod postgres;
mod sqlite;
pub mod sqlite_columns;
mod trigger;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

/// The SQL lockstep itself writes, and what it must know of a dialect's
/// syntax and behaviour, for one dialect. The defaults are what two of the
/// three dialects share.
pub trait SqlDialect: online::OnlineSql + Sync + Send {
    /// The placeholder for the `n`th (1-based) bind parameter.
    fn placeholder(&self, _n: usize) -> String {
        "?".to_owned()
    }

    /// `p1, p2, …, pn` placeholders.
    fn placeholders(&self, n: usize) -> String {
        (1..=n)
            .map(|i| self.placeholder(i))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A string literal, escaped for this dialect.
    fn string_literal(&self, value: &str) -> String {
        let backslash = self.lexicon().backslash_escapes;
        let mut out = String::with_capacity(value.len() + 2);
        out.push('\'');
        for c in value.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' if backslash => out.push_str("\\\\"),
                _ => out.push(c),
            }
        }
        out.push('\'');
        out
    }

    /// A quoted identifier.
    fn ident(&self, name: &str) -> String {
        format!("\"{}\"", name.replace('"', "\"\""))
    }

    /// `expr` as a 64-bit integer every driver decodes as one.
    fn as_bigint(&self, expr: &str) -> String {
        format!("CAST({expr} AS BIGINT)")
    }

    /// `expr` as text.
    fn as_text(&self, expr: &str) -> String {
        format!("CAST({expr} AS TEXT)")
    }

    /// A binary column as hexadecimal text.
    fn hex(&self, column: &str) -> String;

    /// Type of a short indexed text column (versions, states, host names).
    fn key_text(&self) -> &'static str {
        "TEXT"
    }

    /// Type of a long text column (error messages, statements). Read back
    /// through [`SqlDialect::text_expr`].
    fn long_text(&self) -> &'static str {
        "TEXT"
    }

    /// An expression that reads a long text column as a string every
    /// driver decodes.
    fn text_expr(&self, column: &str) -> String {
        column.to_owned()
    }

    /// The definition of an integer key column that numbers new rows.
    fn identity_key(&self) -> &'static str;

    /// The statement that opens a migration's transaction.
    fn begin(&self) -> &'static str {
        "BEGIN"
    }

    /// Whether DDL is transactional, so a migration and its history row can
    /// commit together.
    fn transactional_ddl(&self) -> bool {
        true
    }

    /// What the statement splitter must know of the dialect's syntax.
    fn lexicon(&self) -> Lexicon {
        Lexicon::default()
    }

    /// The database file a URL names, where the database is a file (`None`
    /// for a server, or an in-memory database).
    fn database_file(&self, _url: &str) -> anyhow::Result<Option<PathBuf>> {
        Ok(None)
    }

    /// Session settings run on every new connection.
    fn on_connect(&self) -> &'static [&'static str] {
        &[]
    }

    /// A setting for a database lockstep has just created, best effort.
    fn on_create(&self) -> Option<&'static str> {
        None
    }

    /// How one lockstep at a time is ensured on a database.
    fn lock_kind(&self) -> LockKind;

    /// A query returning one row per existing table among lockstep's own,
    /// with the table name as the only column. Without a bind, so check
    /// mode can ask it of a database it must not write to.
    fn existing_tables_query(&self, prefix: &str) -> String;

    /// A query returning, in one row, a JSON array holding an array of
    /// `columns` per row of `table`, where reading that is faster than
    /// reading the rows; `None` where it is not.
    fn json_rows_query(&self, _columns: &str, _table: &str) -> Option<String> {
        None
    }

    /// The columns of table `table` (a string literal): name, type,
    /// nullable (1 or 0), default, collation, extra, in column order.
    fn columns_query(&self, table: &str) -> String;

    /// The primary key columns of table `table` (a string literal), in order.
    fn primary_key_query(&self, table: &str) -> String;

    /// The stored `CREATE TABLE` text of `table` (a string literal), where
    /// the catalog says less than that text (SQLite).
    fn table_definition_query(&self, _table: &str) -> Option<String> {
        None
    }

    /// Where one column's definition sits in the table's stored text (what
    /// [`SqlDialect::table_definition_query`] reads), and what it declares.
    fn column_text(&self, _definition: &str, _column: &str) -> Option<ColumnText> {
        None
    }

    /// The named constraint `name` in the table's stored text.
    fn constraint_text(&self, _definition: &str, _name: &str) -> Option<ConstraintText> {
        None
    }

    /// The parts of a column's extra catalog attributes (MariaDB's
    /// `EXTRA`) that belong to its definition and move with it.
    fn column_extra(&self, _extra: &str) -> Option<String> {
        None
    }

    /// A query answering a row when the catalog says which CHECKs belong to
    /// a column, where only some versions say it (MariaDB does, MySQL not).
    fn column_checks_probe(&self) -> Option<&'static str> {
        None
    }

    /// Constraint or index `name` of `table` (both string literals): kind,
    /// definition, detail (MariaDB: a CHECK's level, when `column_checks`;
    /// SQLite: an index's origin).
    fn constraint_query(&self, table: &str, name: &str, column_checks: bool) -> String;

    /// The foreign keys (table, name) that reference the unique constraint
    /// or index `name` of `table` (both string literals).
    fn referencing_query(&self, table: &str, name: &str) -> String;

    /// The COMMENT of `column` of `table` (both string literals), where a
    /// column's CHECK can belong to it and restating it must keep it.
    fn column_comment_query(&self, _table: &str, _column: &str) -> Option<String> {
        None
    }

    /// Whether index builds and constraints can be made without blocking
    /// writes (`CONCURRENTLY`, `NOT VALID`), so `lint` asks for them.
    fn concurrent_ddl(&self) -> bool {
        false
    }

    /// Whether ALTER TABLE picks an algorithm and a lock level, and
    /// `MODIFY`/`CHANGE` rewrite a column, so `lint` looks for copies.
    fn alter_algorithms(&self) -> bool {
        false
    }
}

/// What the statement splitter must know of a dialect's lexical syntax
/// beyond `'…'`, `"…"`, `` `…` ``, `--` and `/* */`.
#[derive(Debug, Clone, Copy, Default)]
pub struct Lexicon {
    /// `#` starts a comment to the end of the line.
    pub hash_comments: bool,
    /// `/*! … */` and `/*M! … */` are code, not comments.
    pub executable_comments: bool,
    /// A backslash escapes the next character inside a quoted string.
    pub backslash_escapes: bool,
    /// `$tag$ … $tag$` quotes a string.
    pub dollar_quotes: bool,
    /// The client's `DELIMITER` command changes the statement terminator.
    pub delimiter_command: bool,
}

/// How lockstep keeps two runs off one database.
pub enum LockKind {
    /// A lock the server holds for the session, named after the database
    /// that `database_query` answers with.
    Session {
        database_query: &'static str,
        named: fn(&str) -> SessionLock,
    },
    /// A lock file beside the database file.
    File,
}

/// A session lock's statements: `take` tries without waiting and answers
/// one row, which `taken` reads; `release` gives it back.
pub struct SessionLock {
    pub take: String,
    pub release: String,
    pub taken: fn(&sqlx::any::AnyRow) -> Result<bool, sqlx::Error>,
}

impl Dialect {
    /// Every dialect, in the order lockstep reports them.
    pub const ALL: [Dialect; 3] = [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite];

    /// The dispatch: this dialect's SQL.
    pub fn sql(self) -> &'static dyn SqlDialect {
        match self {
            Dialect::Sqlite => &sqlite::Sqlite,
            Dialect::Postgres => &postgres::Postgres,
            Dialect::Mysql => &mysql::Mysql,
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Sqlite => "sqlite",
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
        }
    }

    /// Accepts the names users write in markers and on the command line.
    pub fn parse(text: &str) -> Option<Dialect> {
        match text.to_ascii_lowercase().as_str() {
            "sqlite" | "sqlite3" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" | "pg" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }

    /// The dialect a connection URL speaks, from its scheme.
    pub fn from_url(url: &str) -> Option<Dialect> {
        let scheme = url.split(':').next()?;
        match scheme {
            "sqlite" => Some(Dialect::Sqlite),
            "postgres" | "postgresql" => Some(Dialect::Postgres),
            "mysql" | "mariadb" => Some(Dialect::Mysql),
            _ => None,
        }
    }
}

/// Which drivers this binary has: the cargo features `sqlite`, `postgres`
/// and `mysql` (all on by default) let a packager build a smaller one.
impl Dialect {
    /// The database's own name, for messages.
    pub fn product(self) -> &'static str {
        match self {
            Dialect::Sqlite => "SQLite",
            Dialect::Postgres => "PostgreSQL",
            Dialect::Mysql => "MySQL/MariaDB",
        }
    }

    /// The cargo feature that compiles this dialect's driver in.
    pub fn cargo_feature(self) -> &'static str {
        self.as_str()
    }

    pub fn is_compiled_in(self) -> bool {
        match self {
            Dialect::Sqlite => cfg!(feature = "sqlite"),
            Dialect::Postgres => cfg!(feature = "postgres"),
            Dialect::Mysql => cfg!(feature = "mysql"),
        }
    }

    /// Why a URL of this dialect cannot be used, when its driver is missing.
    pub fn missing_driver(self) -> Option<String> {
        (!self.is_compiled_in()).then(|| {
            format!(
                "this lockstep was built without {} support (cargo feature `{}`); \
                 use a lockstep built with it, or `lockstep sql --dialect {}` to review the SQL offline",
                self.product(),
                self.cargo_feature(),
                self.as_str()
            )
        })
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn literals_escape_per_dialect() {
        assert_eq!(
            Dialect::Postgres.sql().string_literal("it's \\x"),
            "'it''s \\x'"
        );
        assert_eq!(
            Dialect::Mysql.sql().string_literal("it's \\x"),
            "'it''s \\\\x'"
        );
    }

    #[test]
    fn placeholders() {
        assert_eq!(Dialect::Postgres.sql().placeholders(3), "$1, $2, $3");
        assert_eq!(Dialect::Mysql.sql().placeholders(2), "?, ?");
    }

    #[test]
    fn names() {
        assert_eq!(Dialect::parse("MariaDB"), Some(Dialect::Mysql));
        assert_eq!(
            Dialect::from_url("postgresql://x/y"),
            Some(Dialect::Postgres)
        );
        assert_eq!(Dialect::from_url("sqlite:x.db"), Some(Dialect::Sqlite));
        assert_eq!(Dialect::from_url("oracle://x"), None);
    }

    #[test]
    fn a_dialect_without_its_driver_says_which_feature_is_missing() {
        for d in [Dialect::Sqlite, Dialect::Postgres, Dialect::Mysql] {
            match d.missing_driver() {
                None => assert!(d.is_compiled_in()),
                Some(msg) => assert!(
                    msg.starts_with("this lockstep was built without")
                        && msg.contains(&format!("(cargo feature `{}`)", d.as_str())),
                    "{msg}"
                ),
            }
        }
        #[cfg(not(feature = "postgres"))]
        assert!(Dialect::Postgres
            .missing_driver()
            .unwrap()
            .contains("without PostgreSQL support (cargo feature `postgres`)"));
    }
}
