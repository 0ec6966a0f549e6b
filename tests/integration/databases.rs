//! A fresh database per test on SQLite, PostgreSQL or MariaDB, dropped when
//! the test ends. Server tests skip (loudly) when the server is down, unless
//! `LOCKSTEP_TEST_REQUIRE_SERVERS=1` (set by `.ci/run`) makes that a failure.

use sqlx::{AnyConnection, Connection, Executor, Row};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sqlite,
    Postgres,
    Mysql,
}

pub struct Db {
    pub kind: Kind,
    pub url: String,
    name: Option<String>,
    admin_url: String,
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    runtime().block_on(f)
}

fn server_url(kind: Kind) -> String {
    match kind {
        Kind::Postgres => std::env::var("LOCKSTEP_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432".to_owned()),
        Kind::Mysql => std::env::var("LOCKSTEP_TEST_MYSQL_URL")
            .unwrap_or_else(|_| "mysql://root@127.0.0.1:3306".to_owned()),
        Kind::Sqlite => unreachable!(),
    }
}

impl Db {
    /// A new, empty database; `None` when its server is unreachable and the
    /// servers are not required.
    pub fn create(kind: Kind, dir: &Path) -> Option<Db> {
        sqlx::any::install_default_drivers();
        if kind == Kind::Sqlite {
            let file: PathBuf = dir.join("app.db");
            return Some(Db {
                kind,
                url: format!("sqlite:{}", file.display()),
                name: None,
                admin_url: String::new(),
            });
        }
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!("lockstep_t{}_{n}_{nanos}", std::process::id());
        let base = server_url(kind);
        let admin_url = match kind {
            Kind::Postgres => format!("{base}/postgres"),
            _ => format!("{base}/mysql"),
        };
        let created = block_on(async {
            let mut c = AnyConnection::connect(&admin_url).await?;
            c.execute(format!("CREATE DATABASE {name}").as_str())
                .await?;
            c.close().await
        });
        if let Err(e) = created {
            if std::env::var("LOCKSTEP_TEST_REQUIRE_SERVERS").as_deref() == Ok("1") {
                panic!("{kind:?} server at {base} is required (LOCKSTEP_TEST_REQUIRE_SERVERS=1) but not usable: {e}");
            }
            crate::test::skip(&format!("{kind:?} server at {base} not reachable ({e}); set LOCKSTEP_TEST_REQUIRE_SERVERS=1 to fail instead"));
            return None;
        }
        Some(Db {
            kind,
            url: format!("{base}/{name}"),
            name: Some(name),
            admin_url,
        })
    }

    pub async fn connect(&self) -> AnyConnection {
        AnyConnection::connect(&self.url).await.unwrap()
    }

    /// Runs statements against the test database.
    pub fn execute(&self, sql: &str) {
        block_on(async {
            let mut c = self.connect().await;
            c.execute(sql)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.close().await.unwrap();
        })
    }

    /// The first column of every row, as text.
    pub fn strings(&self, sql: &str) -> Vec<String> {
        block_on(async {
            let mut c = self.connect().await;
            let rows = sqlx::query(sql)
                .fetch_all(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.close().await.unwrap();
            rows.iter()
                .map(|r| r.try_get::<String, _>(0).unwrap())
                .collect()
        })
    }

    /// A single integer, such as `SELECT COUNT(*) …`.
    pub fn count(&self, sql: &str) -> i64 {
        block_on(async {
            let mut c = self.connect().await;
            let row = sqlx::query(sql)
                .fetch_one(&mut c)
                .await
                .unwrap_or_else(|e| panic!("{sql}: {e}"));
            c.close().await.unwrap();
            row.try_get::<i64, _>(0).unwrap()
        })
    }

    /// Columns of a table as `name type nullable`, and its triggers and
    /// indexes: what a rollback must restore exactly.
    pub fn catalog(&self, table: &str) -> Vec<String> {
        let queries: Vec<String> = match self.kind {
            Kind::Postgres => vec![
                format!("SELECT CAST(column_name || ' ' || data_type || ' ' || is_nullable AS TEXT) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}' ORDER BY ordinal_position"),
                format!("SELECT CAST('trigger ' || tgname AS TEXT) FROM pg_trigger WHERE tgrelid = to_regclass('{table}') AND NOT tgisinternal ORDER BY tgname"),
                format!("SELECT CAST('index ' || indexname AS TEXT) FROM pg_indexes WHERE tablename = '{table}' ORDER BY indexname"),
                "SELECT CAST('function ' || proname AS TEXT) FROM pg_proc WHERE proname LIKE 'lockstep%' ORDER BY proname".to_owned(),
            ],
            Kind::Mysql => vec![
                format!("SELECT CAST(CONCAT(column_name, ' ', column_type, ' ', is_nullable) AS CHAR(255)) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY ordinal_position"),
                format!("SELECT CAST(CONCAT('trigger ', trigger_name) AS CHAR(255)) FROM information_schema.triggers WHERE trigger_schema = DATABASE() AND event_object_table = '{table}' ORDER BY trigger_name"),
                format!("SELECT DISTINCT CAST(CONCAT('index ', index_name) AS CHAR(255)) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = '{table}' ORDER BY 1"),
            ],
            Kind::Sqlite => vec![
                format!("SELECT name || ' ' || type || ' ' || \"notnull\" FROM pragma_table_info('{table}') ORDER BY cid"),
                format!("SELECT type || ' ' || name FROM sqlite_master WHERE tbl_name = '{table}' AND type IN ('trigger', 'index') ORDER BY name"),
            ],
        };
        queries.iter().flat_map(|q| self.strings(q)).collect()
    }

    /// Every table in the database, sorted.
    pub fn tables(&self) -> Vec<String> {
        if self.kind == Kind::Sqlite && !self.sqlite_file().exists() {
            return Vec::new();
        }
        let mut t = self.strings(match self.kind {
            Kind::Sqlite => "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'",
            Kind::Postgres => "SELECT CAST(table_name AS TEXT) FROM information_schema.tables WHERE table_schema = 'public'",
            Kind::Mysql => "SELECT CAST(table_name AS CHAR) FROM information_schema.tables WHERE table_schema = DATABASE()",
        });
        t.sort();
        t
    }

    /// `version:state` of every history row, by version.
    pub fn history(&self) -> Vec<String> {
        let concat = match self.kind {
            Kind::Mysql => "CAST(CONCAT(version, ':', state) AS CHAR)",
            _ => "version || ':' || state",
        };
        self.strings(&format!(
            "SELECT {concat} FROM lockstep_migrations ORDER BY version"
        ))
    }

    /// Whether lockstep's history table exists.
    pub fn history_exists(&self) -> bool {
        self.tables().iter().any(|t| t == "lockstep_migrations")
    }

    pub fn sqlite_file(&self) -> PathBuf {
        PathBuf::from(self.url.trim_start_matches("sqlite:"))
    }
}

impl Drop for Db {
    fn drop(&mut self) {
        if let Some(name) = &self.name {
            let admin = self.admin_url.clone();
            let kind = self.kind;
            let sql = match kind {
                Kind::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                _ => format!("DROP DATABASE IF EXISTS {name}"),
            };
            let _ = block_on(async move {
                let mut c = AnyConnection::connect(&admin).await?;
                c.execute(sql.as_str()).await?;
                c.close().await
            });
        }
    }
}

/// Declares one test per database: `dialects!(name, |t: Test| { … })`
/// expands to `name::sqlite`, `name::postgres` and `name::mysql`.
#[macro_export]
macro_rules! dialects {
    ($name:ident, $body:expr) => {
        mod $name {
            #[allow(unused_imports)]
            use super::*;
            #[test]
            fn sqlite() {
                if let Some(t) = $crate::test::Test::with_db($crate::databases::Kind::Sqlite) {
                    ($body)(t)
                }
            }
            #[test]
            fn postgres() {
                if let Some(t) = $crate::test::Test::with_db($crate::databases::Kind::Postgres) {
                    ($body)(t)
                }
            }
            #[test]
            fn mysql() {
                if let Some(t) = $crate::test::Test::with_db($crate::databases::Kind::Mysql) {
                    ($body)(t)
                }
            }
        }
    };
}
