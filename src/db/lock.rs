//! One lockstep at a time per database: a PostgreSQL advisory lock, a MySQL
//! named lock, or a lock file beside a SQLite database. Every kind dies with
//! the process (session locks, `flock`), so a killed run never leaves one
//! stuck. Waiting polls a non-blocking try: a blocking advisory lock would
//! deadlock with `CREATE INDEX CONCURRENTLY` in the holder. Which kind, and
//! the server locks' statements, come from the dialect
//! ([`crate::db::dialect::SqlDialect::lock_kind`]).

use crate::db::connection::Database;
use crate::db::dialect::{LockKind, SessionLock};
use anyhow::{anyhow, bail, Context, Result};
use fs4::fs_std::FileExt;
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);

/// A held lock. Released by [`DatabaseLock::release`] or when the process
/// ends; dropping the connection releases the server-side kinds too.
pub enum DatabaseLock {
    /// A server's session lock (PostgreSQL advisory, MySQL named), as the
    /// dialect takes and releases it.
    Session(SessionLock),
    File(File),
    /// An in-memory SQLite database: nothing else can reach it.
    None,
}

impl DatabaseLock {
    pub async fn acquire(db: &mut Database, timeout: Duration) -> Result<DatabaseLock> {
        let started = Instant::now();
        let lock = match db.dialect().sql().lock_kind() {
            LockKind::Session {
                database_query,
                named,
            } => {
                let name = db
                    .fetch_strings(database_query)
                    .await?
                    .pop()
                    .unwrap_or_default();
                DatabaseLock::Session(named(&name))
            }
            LockKind::File => match &db.target.sqlite_file {
                None => DatabaseLock::None,
                Some(file) => {
                    let mut path = file.clone().into_os_string();
                    path.push(".lockstep-lock");
                    let f = File::options()
                        .create(true)
                        .truncate(false)
                        .write(true)
                        .mode(0o600)
                        .open(&path)
                        .with_context(|| {
                            format!("cannot open the lock file {}", path.to_string_lossy())
                        })?;
                    DatabaseLock::File(f)
                }
            },
        };
        loop {
            if lock.try_lock(db).await? {
                return Ok(lock);
            }
            if started.elapsed() >= timeout {
                bail!(
                    "timed out after {}s waiting for the lock on {}: another lockstep is migrating it; \
                     wait for it to finish or raise --lock-timeout",
                    timeout.as_secs_f64().round(),
                    db.target.display
                );
            }
            tokio::time::sleep(POLL).await;
        }
    }

    async fn try_lock(&self, db: &mut Database) -> Result<bool> {
        Ok(match self {
            DatabaseLock::Session(lock) => (lock.taken)(&sqlx_row(db, &lock.take).await?)?,
            DatabaseLock::File(f) => match FileExt::try_lock_exclusive(f) {
                Ok(got) => got,
                Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => false,
                Err(e) => return Err(anyhow!("cannot lock the SQLite lock file: {e}")),
            },
            DatabaseLock::None => true,
        })
    }

    pub async fn release(self, db: &mut Database) {
        let _ = match &self {
            DatabaseLock::Session(lock) => db.execute(&lock.release).await,
            DatabaseLock::File(f) => {
                let _ = FileExt::unlock(f);
                Ok(0)
            }
            DatabaseLock::None => Ok(0),
        };
    }
}

async fn sqlx_row(db: &mut Database, sql: &str) -> Result<sqlx::any::AnyRow> {
    db.fetch_all(sql)
        .await?
        .into_iter()
        .next()
        .ok_or_else(|| anyhow!("`{sql}` returned no row"))
}
