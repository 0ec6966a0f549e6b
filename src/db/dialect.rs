//! Everything that differs between SQLite, PostgreSQL and MySQL/MariaDB in
//! lockstep's own SQL: the history tables, bind placeholders, string
//! literals, catalog queries. The runner asks this module for SQL text and
//! never branches on the dialect itself.

use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Dialect {
    Sqlite,
    Postgres,
    Mysql,
}

impl Dialect {
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

    /// Whether DDL is transactional, so a migration and its history row can
    /// commit together. MySQL commits implicitly on DDL.
    pub fn transactional_ddl(self) -> bool {
        !matches!(self, Dialect::Mysql)
    }

    /// The statement that opens a migration's transaction. SQLite's
    /// `IMMEDIATE` takes the write lock at once, so a concurrent writer
    /// waits at the start instead of failing at its first write.
    pub fn begin(self) -> &'static str {
        match self {
            Dialect::Sqlite => "BEGIN IMMEDIATE",
            Dialect::Postgres | Dialect::Mysql => "BEGIN",
        }
    }

    /// The placeholder for the `n`th (1-based) bind parameter.
    pub fn placeholder(self, n: usize) -> String {
        match self {
            Dialect::Postgres => format!("${n}"),
            Dialect::Sqlite | Dialect::Mysql => "?".to_owned(),
        }
    }

    /// `p1, p2, …, pn` placeholders.
    pub fn placeholders(self, n: usize) -> String {
        (1..=n)
            .map(|i| self.placeholder(i))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// A string literal, escaped for this dialect (MySQL also treats a
    /// backslash as an escape unless `NO_BACKSLASH_ESCAPES` is set).
    pub fn string_literal(self, value: &str) -> String {
        let mut out = String::with_capacity(value.len() + 2);
        out.push('\'');
        for c in value.chars() {
            match c {
                '\'' => out.push_str("''"),
                '\\' if self == Dialect::Mysql => out.push_str("\\\\"),
                _ => out.push(c),
            }
        }
        out.push('\'');
        out
    }

    /// A quoted identifier.
    pub fn ident(self, name: &str) -> String {
        match self {
            Dialect::Mysql => format!("`{}`", name.replace('`', "``")),
            Dialect::Sqlite | Dialect::Postgres => format!("\"{}\"", name.replace('"', "\"\"")),
        }
    }

    /// `expr` as a 64-bit integer every driver decodes as one.
    pub fn as_bigint(self, expr: &str) -> String {
        match self {
            Dialect::Mysql => format!("CAST({expr} AS SIGNED)"),
            Dialect::Sqlite | Dialect::Postgres => format!("CAST({expr} AS BIGINT)"),
        }
    }

    /// Type of a short indexed text column (versions, states, host names).
    pub fn key_text(self) -> &'static str {
        match self {
            Dialect::Mysql => "VARCHAR(255)",
            Dialect::Sqlite | Dialect::Postgres => "TEXT",
        }
    }

    /// Type of a long text column (error messages, statements). Read back
    /// through [`Dialect::text_expr`].
    pub fn long_text(self) -> &'static str {
        match self {
            Dialect::Mysql => "LONGTEXT",
            Dialect::Sqlite | Dialect::Postgres => "TEXT",
        }
    }

    /// An expression that reads a long text column as a string every driver
    /// decodes (MySQL reports TEXT columns as BLOBs).
    pub fn text_expr(self, column: &str) -> String {
        match self {
            Dialect::Mysql => format!("CAST({column} AS CHAR(16000))"),
            Dialect::Sqlite | Dialect::Postgres => column.to_owned(),
        }
    }

    /// A query returning one row per existing table among lockstep's own,
    /// with the table name as the only column. Without a bind, so check
    /// mode can ask it of a database it must not write to.
    pub fn existing_tables_query(self, prefix: &str) -> String {
        let like = self.string_literal(&format!("{prefix}%"));
        match self {
            Dialect::Sqlite => {
                format!("SELECT name FROM sqlite_master WHERE type = 'table' AND name LIKE {like}")
            }
            Dialect::Postgres => format!(
                "SELECT CAST(table_name AS TEXT) FROM information_schema.tables \
                 WHERE table_schema = current_schema() AND table_name LIKE {like}"
            ),
            Dialect::Mysql => format!(
                "SELECT CAST(table_name AS CHAR) FROM information_schema.tables \
                 WHERE table_schema = DATABASE() AND table_name LIKE {like}"
            ),
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
        assert_eq!(Dialect::Postgres.string_literal("it's \\x"), "'it''s \\x'");
        assert_eq!(Dialect::Mysql.string_literal("it's \\x"), "'it''s \\\\x'");
    }

    #[test]
    fn placeholders() {
        assert_eq!(Dialect::Postgres.placeholders(3), "$1, $2, $3");
        assert_eq!(Dialect::Mysql.placeholders(2), "?, ?");
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
