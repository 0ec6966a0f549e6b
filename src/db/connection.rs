//! A connection to the target database through sqlx's `Any` driver, with
//! the dialect it speaks and its URL with the password masked. Runs SQL
//! text and bookkeeping statements; knows nothing of migrations.

use crate::db::bookkeeping::{Bookkeeping, Value};
use crate::db::dialect::Dialect;
use crate::redact::redact_url;
use anyhow::{anyhow, bail, Context, Result};
use sqlx::any::{AnyConnectOptions, AnyRow};
use sqlx::{AnyConnection, ConnectOptions, Connection, Executor, Row};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

/// Where a database lives, decided before connecting.
#[derive(Debug, Clone)]
pub struct Target {
    /// The URL as the driver gets it (may hold a password).
    pub url: String,
    /// The URL safe to print.
    pub display: String,
    pub dialect: Dialect,
    /// For SQLite: the database file (`None` for `:memory:`).
    pub sqlite_file: Option<PathBuf>,
}

impl Target {
    pub fn parse(url: &str) -> Result<Target> {
        let display = redact_url(url);
        let dialect = Dialect::from_url(url).ok_or_else(|| {
            anyhow!(
                "unsupported database URL `{display}`: expected sqlite:, postgres:// or mysql://"
            )
        })?;
        if let Some(why) = dialect.missing_driver() {
            bail!("cannot use the database `{display}`: {why}");
        }
        let sqlite_file = dialect.sql().database_file(url)?;
        Ok(Target {
            url: url.to_owned(),
            display,
            dialect,
            sqlite_file,
        })
    }

    /// Whether there is nothing to connect to yet: a SQLite file not created.
    /// Check mode treats that as an empty database instead of creating it.
    pub fn is_absent(&self) -> bool {
        self.sqlite_file.as_ref().is_some_and(|f| !f.exists())
    }
}

pub struct Database {
    pub target: Target,
    conn: AnyConnection,
}

impl Database {
    /// Connects; `read_only` opens a SQLite file without creating it.
    pub async fn connect(target: &Target, read_only: bool, timeout: Duration) -> Result<Database> {
        sqlx::any::install_default_drivers();
        let created = !read_only && target.is_absent();
        let mut url = target.url.clone();
        if target.sqlite_file.is_some() && !url.contains("mode=") {
            let sep = if url.contains('?') { '&' } else { '?' };
            url.push(sep);
            // A writer killed mid-transaction leaves a hot journal that only
            // a connection allowed to write can roll back: read-only, every
            // later read would fail (SQLITE_READONLY_ROLLBACK) and no run
            // could recover. `rw` still never creates the file.
            let hot_journal = target.sqlite_file.as_ref().is_some_and(|f| {
                let mut journal = f.clone().into_os_string();
                journal.push("-journal");
                std::fs::metadata(journal).is_ok_and(|m| m.len() > 0)
            });
            url.push_str(match (read_only, hot_journal) {
                (true, false) => "mode=ro",
                (true, true) => "mode=rw",
                (false, _) => "mode=rwc",
            });
            if !read_only {
                if let Some(parent) = target.sqlite_file.as_ref().and_then(|f| f.parent()) {
                    if !parent.as_os_str().is_empty() {
                        std::fs::create_dir_all(parent).with_context(|| {
                            format!(
                                "cannot create the directory {} for the SQLite database",
                                parent.display()
                            )
                        })?;
                    }
                }
                // A database lockstep creates is private to its owner, as
                // the state dir it defaults to is; SQLite would make it
                // world-readable (0644), and its journal copies that mode.
                if let Some(file) = &target.sqlite_file {
                    use std::os::unix::fs::OpenOptionsExt;
                    match std::fs::File::options()
                        .write(true)
                        .create_new(true)
                        .mode(0o600)
                        .open(file)
                    {
                        Ok(_) => {}
                        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                        Err(e) => {
                            return Err(e).with_context(|| {
                                format!("cannot create the SQLite database {}", file.display())
                            })
                        }
                    }
                }
            }
        }
        let options = AnyConnectOptions::from_str(&url)
            .map_err(|e| {
                anyhow!(
                    "invalid database URL `{}`: {}",
                    target.display,
                    scrub(&e.to_string(), target)
                )
            })?
            .disable_statement_logging();
        let conn = tokio::time::timeout(timeout, AnyConnection::connect_with(&options))
            .await
            .map_err(|_| {
                anyhow!(
                    "cannot connect to {}: no answer within {}s; is the server running and reachable?",
                    target.display,
                    timeout.as_secs()
                )
            })?
            .map_err(|e| {
                anyhow!(
                    "cannot connect to {}: {}; check that the server is running and the URL, user and password are right",
                    target.display,
                    scrub(&e.to_string(), target)
                )
            })?;
        let mut db = Database {
            target: target.clone(),
            conn,
        };
        let sql = target.dialect.sql();
        for setting in sql.on_connect() {
            db.execute(setting).await?;
        }
        if let Some(setting) = sql.on_create().filter(|_| created) {
            // Best effort: another lockstep creating the same file at this
            // moment may hold a lock that makes it fail (SQLite's switch to
            // WAL); the migration works without it.
            if let Err(e) = db.execute(setting).await {
                tracing::debug!("could not apply `{setting}` to the new database: {e}");
            }
        }
        Ok(db)
    }

    pub fn dialect(&self) -> Dialect {
        self.target.dialect
    }

    /// Runs one statement of SQL text (no binds).
    pub async fn execute(&mut self, sql: &str) -> Result<u64, sqlx::Error> {
        Ok(self.conn.execute(sql).await?.rows_affected())
    }

    pub async fn run(&mut self, b: &Bookkeeping) -> Result<u64, sqlx::Error> {
        Ok(bind(sqlx::query(&b.sql), &b.values)
            .execute(&mut self.conn)
            .await?
            .rows_affected())
    }

    pub async fn fetch_all_bound(
        &mut self,
        sql: &str,
        values: &[Value],
    ) -> Result<Vec<AnyRow>, sqlx::Error> {
        bind(sqlx::query(sql), values)
            .fetch_all(&mut self.conn)
            .await
    }

    pub async fn fetch_all(&mut self, sql: &str) -> Result<Vec<AnyRow>, sqlx::Error> {
        sqlx::query(sql).fetch_all(&mut self.conn).await
    }

    pub async fn fetch_strings(&mut self, sql: &str) -> Result<Vec<String>, sqlx::Error> {
        let rows = self.fetch_all(sql).await?;
        rows.iter().map(|r| r.try_get::<String, _>(0)).collect()
    }

    pub async fn begin(&mut self) -> Result<(), sqlx::Error> {
        self.execute(self.dialect().sql().begin()).await.map(|_| ())
    }

    pub async fn commit(&mut self) -> Result<(), sqlx::Error> {
        self.execute("COMMIT").await.map(|_| ())
    }

    /// Rolls back, ignoring "no transaction" errors: the caller is already
    /// reporting the failure that led here.
    pub async fn rollback(&mut self) {
        let _ = self.execute("ROLLBACK").await;
    }

    pub async fn close(self) {
        let _ = self.conn.close().await;
    }
}

fn bind<'q>(
    mut q: sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>,
    values: &[Value],
) -> sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>> {
    for v in values {
        q = match v {
            Value::Text(t) => q.bind(t.clone()),
            Value::Int(i) => q.bind(*i),
            Value::Null => q.bind(Option::<String>::None),
        };
    }
    q
}

/// Removes the URL's passwords from a driver message, should a driver
/// ever echo one.
pub fn scrub(message: &str, target: &Target) -> String {
    let mut redactor = crate::redact::Redactor::default();
    redactor.add_url(&target.url);
    redactor.scrub(&message.replace(&target.url, &target.display))
}
