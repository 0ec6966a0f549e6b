//! One lockstep at a time per database: a PostgreSQL advisory lock, a MySQL
//! named lock, or a lock file beside a SQLite database. Every kind dies with
//! the process (session locks, `flock`), so a killed run never leaves one
//! stuck. Waiting polls a non-blocking try: a blocking advisory lock would
//! deadlock with `CREATE INDEX CONCURRENTLY` in the holder.

use crate::db::connection::Database;
use crate::db::dialect::Dialect;
use anyhow::{anyhow, bail, Context, Result};
use fs4::fs_std::FileExt;
use sha2::{Digest, Sha256};
use sqlx::Row;
use std::fs::File;
use std::os::unix::fs::OpenOptionsExt;
use std::time::{Duration, Instant};

const POLL: Duration = Duration::from_millis(100);

/// A held lock. Released by [`DatabaseLock::release`] or when the process
/// ends; dropping the connection releases the server-side kinds too.
pub enum DatabaseLock {
    Advisory(i64),
    Named(String),
    File(File),
    /// An in-memory SQLite database: nothing else can reach it.
    None,
}

impl DatabaseLock {
    pub async fn acquire(db: &mut Database, timeout: Duration) -> Result<DatabaseLock> {
        let started = Instant::now();
        let lock = match db.dialect() {
            Dialect::Postgres => {
                let name = db
                    .fetch_strings("SELECT CAST(current_database() AS TEXT)")
                    .await?
                    .pop()
                    .unwrap_or_default();
                DatabaseLock::Advisory(advisory_key(&name))
            }
            Dialect::Mysql => {
                let name = db
                    .fetch_strings("SELECT CAST(COALESCE(DATABASE(), '') AS CHAR)")
                    .await?
                    .pop()
                    .unwrap_or_default();
                // GET_LOCK names are server-wide and at most 64 characters.
                let digest = hex::encode(Sha256::digest(name.as_bytes()));
                DatabaseLock::Named(format!("lockstep:{}", &digest[..40]))
            }
            Dialect::Sqlite => match &db.target.sqlite_file {
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
            DatabaseLock::Advisory(key) => {
                let row = sqlx_row(db, &format!("SELECT pg_try_advisory_lock({key})")).await?;
                row.try_get::<bool, _>(0)?
            }
            DatabaseLock::Named(name) => {
                let sql = format!(
                    "SELECT GET_LOCK({}, 0)",
                    Dialect::Mysql.string_literal(name)
                );
                let row = sqlx_row(db, &sql).await?;
                row.try_get::<Option<i64>, _>(0)?.unwrap_or(0) == 1
            }
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
            DatabaseLock::Advisory(key) => {
                db.execute(&format!("SELECT pg_advisory_unlock({key})"))
                    .await
            }
            DatabaseLock::Named(name) => {
                db.execute(&format!(
                    "SELECT RELEASE_LOCK({})",
                    Dialect::Mysql.string_literal(name)
                ))
                .await
            }
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

/// A stable 64-bit key per database name, in lockstep's own key space.
fn advisory_key(database: &str) -> i64 {
    let digest = Sha256::digest(format!("lockstep:{database}").as_bytes());
    let mut bytes = [0u8; 8];
    bytes.copy_from_slice(&digest[..8]);
    i64::from_be_bytes(bytes)
}
