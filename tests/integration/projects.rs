//! Projects and end states for the reliability tests (`crash`, `races`):
//! the sample application with its config migrations, a generated larger
//! project, a snapshot of everything an `apply` leaves behind (schema,
//! history, data, config bytes, state dir), and the operator's repair of a
//! migration that a kill interrupted where DDL is not transactional.

use crate::databases::{Db, Kind};
use crate::test::{copy_dir, output, repo, wait_until, Output, Test};
use std::collections::BTreeMap;
use std::path::Path;
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

/// A small deterministic RNG (SplitMix64): a failing run is replayed with
/// its seed, printed in every assertion.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in `0..n` (n > 0).
    pub fn below(&mut self, n: u64) -> u64 {
        self.next_u64() % n.max(1)
    }

    pub fn duration_up_to(&mut self, max: Duration) -> Duration {
        Duration::from_micros(self.below(max.as_micros() as u64 + 1))
    }
}

/// `LOCKSTEP_CRASH_SEED`, or a fixed seed so CI runs are reproducible.
pub fn base_seed() -> u64 {
    std::env::var("LOCKSTEP_CRASH_SEED")
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .unwrap_or(0x010C_57E9)
}

/// The seed of one test: the base seed mixed with the test's own number.
pub fn seed(salt: u64) -> u64 {
    base_seed() ^ salt.wrapping_mul(0x2545_F491_4F6C_DD1D)
}

/// Which project a test lays out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Shape {
    /// The repository's `migrations/` and `config-migrations/`, with the
    /// vars of its `lockstep.ini`, writing `etc/app.ini`.
    Sample,
    /// 50 generated SQL migrations and 20 config migrations over three INI
    /// files (one created, one with CRLF line endings, one in a subdirectory).
    Large,
    /// Only the 20 generated config migrations: every kill lands in config
    /// writes and state writes.
    ConfigOnly,
}

pub struct Project {
    pub t: Test,
    pub shape: Shape,
}

pub const SECRET: &str = "s3cr3t-Sample-Value";
pub const TOKEN: &str = "tok-7f3a9c-Very-Secret";

impl Project {
    /// A fresh project with a fresh database; `None` when its server is down.
    pub fn new(kind: Kind, shape: Shape) -> Option<Project> {
        let t = Test::with_db(kind)?;
        match shape {
            Shape::Sample => {
                t.sample_migrations();
                copy_dir(
                    &repo().join("config-migrations"),
                    &t.path().join("config-migrations"),
                );
                std::fs::create_dir_all(t.path().join("etc")).unwrap();
            }
            Shape::Large => {
                write_large_sql(&t);
                write_large_config(&t);
            }
            Shape::ConfigOnly => {
                std::fs::create_dir_all(t.path().join("migrations")).unwrap();
                write_large_config(&t);
            }
        }
        Some(Project { t, shape })
    }

    pub fn kind(&self) -> Kind {
        self.t.db().kind
    }

    pub fn db(&self) -> &Db {
        self.t.db()
    }

    /// Global options (config root and vars) followed by `cmd`.
    pub fn args(&self, cmd: &[&str]) -> Vec<String> {
        let mut args: Vec<String> = vec!["--config-root".into(), "etc".into()];
        let vars: Vec<String> = match self.shape {
            // The values the repository's lockstep.ini gives.
            Shape::Sample => vec![
                "cache_backend=redis".into(),
                format!("session_secret={SECRET}"),
            ],
            Shape::Large | Shape::ConfigOnly => {
                vec!["tag=blue".into(), format!("secret_token={TOKEN}")]
            }
        };
        for v in vars {
            args.push("--var".into());
            args.push(v);
        }
        args.extend(cmd.iter().map(|s| s.to_string()));
        args
    }

    pub fn run(&self, cmd: &[&str]) -> Output {
        let args = self.args(cmd);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.t.run(&refs)
    }

    /// Starts `lockstep CMD` without waiting; its output is discarded.
    pub fn spawn_quiet(&self, cmd: &[&str]) -> Child {
        let args = self.args(cmd);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.t
            .command(&refs)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    }

    /// Starts `lockstep CMD` with its output captured.
    pub fn spawn(&self, cmd: &[&str]) -> Child {
        let args = self.args(cmd);
        let refs: Vec<&str> = args.iter().map(String::as_str).collect();
        self.t
            .command(&refs)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    }

    /// An uninterrupted `apply`, timed.
    pub fn timed_apply(&self) -> (Output, Duration) {
        let started = Instant::now();
        let child = self.spawn(&["apply"]);
        let out = output(child.wait_with_output().unwrap());
        (out, started.elapsed())
    }

    /// Everything an apply leaves behind, for comparing two runs.
    pub fn end_state(&self) -> EndState {
        let db = self.db();
        let tables: Vec<String> = db.tables();
        let data = tables
            .iter()
            .filter(|t| !t.starts_with("lockstep_"))
            .map(|t| {
                format!(
                    "{t}: {} rows",
                    db.count(&format!("SELECT COUNT(*) FROM {t}"))
                )
            })
            .collect();
        let backfills = if tables.iter().any(|t| t == "lockstep_backfills") {
            db.strings(match db.kind {
                Kind::Mysql => "SELECT CAST(CONCAT(version, ':', table_name, '.', column_name, ':', CAST(finished AS CHAR(10))) AS CHAR(1000)) FROM lockstep_backfills ORDER BY 1",
                _ => "SELECT version || ':' || table_name || '.' || column_name || ':' || CAST(finished AS TEXT) FROM lockstep_backfills ORDER BY 1",
            })
        } else {
            Vec::new()
        };
        let history = if tables.iter().any(|t| t == "lockstep_migrations") {
            db.history()
        } else {
            Vec::new()
        };
        let state_dir = self.t.path().join(".lockstep");
        let state: serde_json::Value = std::fs::read(state_dir.join("config-state.json"))
            .map(|b| {
                serde_json::from_slice(&b).unwrap_or_else(|e| {
                    panic!(
                        "config-state.json does not parse: {e}: {}",
                        String::from_utf8_lossy(&b)
                    )
                })
            })
            .unwrap_or(serde_json::Value::Null);
        let config_state = if state.is_null() {
            Vec::new()
        } else {
            let mut v: Vec<String> = state["migrations"]
                .as_object()
                .unwrap()
                .keys()
                .map(|k| format!("migration {k}"))
                .collect();
            for (file, rec) in state["files"].as_object().unwrap() {
                v.push(format!("file {file} {}", rec["sha256"].as_str().unwrap()));
                assert!(
                    rec.get("pending").is_none(),
                    "a write intent was left in the state: {rec}"
                );
            }
            v
        };
        EndState {
            schema: schema(db),
            history,
            backfills,
            data,
            config_files: files_under(&self.t.path().join("etc")),
            state_dir: files_under(&state_dir).into_keys().collect(),
            config_state,
        }
    }

    /// `status` and `verify` both exit 0: the state dir and history parse
    /// and agree with the files.
    #[track_caller]
    pub fn assert_status_and_verify(&self, context: &str) {
        let status = self.run(&["status"]);
        assert_eq!(
            status.code, 0,
            "{context}: status failed: {}\n{}",
            status.stdout, status.stderr
        );
        let verify = self.run(&["verify"]);
        assert_eq!(
            verify.code, 0,
            "{context}: verify failed: {}\n{}",
            verify.stdout, verify.stderr
        );
    }

    /// Migrations recorded as `running` or `failed`.
    pub fn interrupted(&self) -> Vec<(String, String)> {
        let db = self.db();
        if !db.tables().iter().any(|t| t == "lockstep_migrations") {
            return Vec::new();
        }
        db.history()
            .into_iter()
            .filter_map(|r| {
                let (v, s) = r.split_once(':')?;
                (s == "running" || s == "failed").then(|| (v.to_owned(), s.to_owned()))
            })
            .collect()
    }

    /// What an operator does when `apply` refuses because a migration was
    /// interrupted: waits for the killed run's session to end, looks at the
    /// schema to see whether the migration's DDL landed, undoes a partial
    /// one, and says which with `lockstep resolve`. Returns how many it
    /// resolved.
    pub fn resolve_as_operator(&self, context: &str) -> usize {
        let interrupted = self.interrupted();
        if interrupted.is_empty() {
            return 0;
        }
        wait_for_other_sessions(self.db());
        for (version, _) in &interrupted {
            let verdict = match self.shape {
                Shape::Sample => probe_sample(self.db(), version),
                Shape::Large | Shape::ConfigOnly => probe_generated(self.db(), version),
            };
            let flag = match verdict {
                Landed::Fully => "--mark-applied",
                Landed::Not(undo) => {
                    for sql in undo {
                        self.db().execute(&sql);
                    }
                    "--mark-rolled-back"
                }
                Landed::CompletedByHand(rest) => {
                    for sql in rest {
                        self.db().execute(&sql);
                    }
                    "--mark-applied"
                }
            };
            let out = self.run(&["resolve", version, flag]);
            assert_eq!(
                out.code, 0,
                "{context}: resolve {version} {flag} failed: {}\n{}",
                out.stdout, out.stderr
            );
        }
        interrupted.len()
    }
}

/// The operator's verdict on an interrupted migration.
pub enum Landed {
    /// All of it is in the database: `--mark-applied`.
    Fully,
    /// Not (or only partly, undone by these statements): `--mark-rolled-back`.
    Not(Vec<String>),
    /// Partly, and the operator finishes it by hand: `--mark-applied`.
    CompletedByHand(Vec<String>),
}

#[derive(Debug, PartialEq, serde::Serialize)]
pub struct EndState {
    pub schema: Vec<String>,
    pub history: Vec<String>,
    pub backfills: Vec<String>,
    pub data: Vec<String>,
    /// Every file under the config root, hidden ones (temporary files) too.
    pub config_files: BTreeMap<String, String>,
    pub state_dir: Vec<String>,
    pub config_state: Vec<String>,
}

impl EndState {
    /// The parts that differ from `expected`, as a unified diff; `None`
    /// when equal.
    pub fn diff(&self, expected: &EndState) -> Option<String> {
        if self == expected {
            return None;
        }
        let a = serde_json::to_string_pretty(expected).unwrap();
        let b = serde_json::to_string_pretty(self).unwrap();
        Some(
            similar::TextDiff::from_lines(&a, &b)
                .unified_diff()
                .context_radius(3)
                .header("expected (uninterrupted run)", "actual")
                .to_string(),
        )
    }
}

/// Every file under `dir` (relative path → content, lossy UTF-8 so that a
/// difference reads well), hidden files included.
pub fn files_under(dir: &Path) -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    if !dir.exists() {
        return out;
    }
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        let entry = entry.unwrap();
        if entry.file_type().is_file() {
            let rel = entry
                .path()
                .strip_prefix(dir)
                .unwrap()
                .display()
                .to_string();
            let bytes = std::fs::read(entry.path()).unwrap();
            out.insert(rel, String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    out
}

/// The whole schema as text: tables, columns, indexes (and whether they are
/// valid), triggers, constraints, lockstep's functions.
pub fn schema(db: &Db) -> Vec<String> {
    let queries: &[&str] = match db.kind {
        Kind::Postgres => &[
            "SELECT CAST(table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable || ' ' || COALESCE(column_default, '') AS TEXT) FROM information_schema.columns WHERE table_schema = 'public' ORDER BY 1",
            "SELECT CAST(c.relname || ' valid=' || CAST(i.indisvalid AS TEXT) || ' ' || pg_get_indexdef(i.indexrelid) AS TEXT) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1",
            "SELECT CAST(tgrelid::regclass || ' trigger ' || tgname AS TEXT) FROM pg_trigger WHERE NOT tgisinternal ORDER BY 1",
            "SELECT CAST(conrelid::regclass || ' constraint ' || conname || ' ' || CAST(contype AS TEXT) || ' validated=' || CAST(convalidated AS TEXT) AS TEXT) FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' ORDER BY 1",
            "SELECT CAST('function ' || proname AS TEXT) FROM pg_proc WHERE proname LIKE 'lockstep%' ORDER BY 1",
        ],
        Kind::Mysql => &[
            "SELECT CAST(CONCAT(table_name, '.', column_name, ' ', column_type, ' ', is_nullable, ' ', COALESCE(column_default, '')) AS CHAR(1000)) FROM information_schema.columns WHERE table_schema = DATABASE() ORDER BY 1",
            "SELECT CAST(CONCAT(table_name, ' index ', index_name, ' ', CAST(seq_in_index AS CHAR(10)), ' ', column_name, ' unique=', CAST(1 - non_unique AS CHAR(10))) AS CHAR(1000)) FROM information_schema.statistics WHERE table_schema = DATABASE() ORDER BY 1",
            "SELECT CAST(CONCAT(event_object_table, ' trigger ', trigger_name, ' ', action_timing, ' ', event_manipulation) AS CHAR(1000)) FROM information_schema.triggers WHERE trigger_schema = DATABASE() ORDER BY 1",
            "SELECT CAST(CONCAT(table_name, ' constraint ', constraint_name, ' ', constraint_type) AS CHAR(1000)) FROM information_schema.table_constraints WHERE table_schema = DATABASE() ORDER BY 1",
        ],
        Kind::Sqlite => &[
            "SELECT type || ' ' || name || ' ' || tbl_name || ' ' || COALESCE(sql, '') FROM sqlite_master WHERE name NOT LIKE 'sqlite_%' ORDER BY type, name",
        ],
    };
    if db.kind == Kind::Sqlite && !db.sqlite_file().exists() {
        return Vec::new();
    }
    queries.iter().flat_map(|q| db.strings(q)).collect()
}

/// Waits until no other session is connected to the test database: a
/// killed client's statement runs on in the server until it ends, and an
/// operator must not inspect (or repair) a schema still being changed.
pub fn wait_for_other_sessions(db: &Db) {
    let sql = match db.kind {
        Kind::Postgres => "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()",
        Kind::Mysql => "SELECT COUNT(*) FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID()",
        Kind::Sqlite => return,
    };
    wait_until("the killed run's session ended", || db.count(sql) == 0);
}

fn has(db: &Db, sql: &str) -> bool {
    db.count(sql) > 0
}

pub fn has_table(db: &Db, table: &str) -> bool {
    db.tables().iter().any(|t| t == table)
}

pub fn has_column(db: &Db, table: &str, column: &str) -> bool {
    match db.kind {
        Kind::Sqlite => has(db, &format!("SELECT COUNT(*) FROM pragma_table_info('{table}') WHERE name = '{column}'")),
        Kind::Postgres => has(db, &format!("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = 'public' AND table_name = '{table}' AND column_name = '{column}'")),
        Kind::Mysql => has(db, &format!("SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '{table}' AND column_name = '{column}'")),
    }
}

/// `Some(valid)` when the index exists.
pub fn index(db: &Db, name: &str) -> Option<bool> {
    match db.kind {
        Kind::Sqlite => has(db, &format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'index' AND name = '{name}'")).then_some(true),
        Kind::Postgres => {
            let valid = db.count(&format!("SELECT COUNT(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid WHERE c.relname = '{name}' AND i.indisvalid"));
            let all = db.count(&format!("SELECT COUNT(*) FROM pg_class WHERE relname = '{name}' AND relkind = 'i'"));
            (all > 0).then_some(valid > 0)
        }
        Kind::Mysql => has(db, &format!("SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND index_name = '{name}'")).then_some(true),
    }
}

pub fn has_trigger(db: &Db, name: &str) -> bool {
    match db.kind {
        Kind::Sqlite => has(db, &format!("SELECT COUNT(*) FROM sqlite_master WHERE type = 'trigger' AND name = '{name}'")),
        Kind::Postgres => has(db, &format!("SELECT COUNT(*) FROM pg_trigger WHERE tgname = '{name}'")),
        Kind::Mysql => has(db, &format!("SELECT COUNT(*) FROM information_schema.triggers WHERE trigger_schema = DATABASE() AND trigger_name = '{name}'")),
    }
}

/// An index verdict: landed (valid), or not (an invalid one, left by an
/// interrupted `CREATE INDEX CONCURRENTLY`, is dropped first).
fn probe_index(db: &Db, name: &str, table: &str) -> Landed {
    match index(db, name) {
        Some(true) => Landed::Fully,
        Some(false) => Landed::Not(vec![format!("DROP INDEX {name}")]),
        None => {
            let _ = table;
            Landed::Not(Vec::new())
        }
    }
}

/// The last action lockstep logged for a version (`expand`, `contract`, …):
/// how an operator tells which part of a YAML migration was interrupted.
pub fn last_logged_action(db: &Db, version: &str) -> Option<String> {
    let sql = match db.kind {
        Kind::Mysql => format!("SELECT CAST(action AS CHAR) FROM lockstep_log WHERE version = '{version}' ORDER BY id DESC LIMIT 1"),
        _ => format!("SELECT action FROM lockstep_log WHERE version = '{version}' ORDER BY id DESC LIMIT 1"),
    };
    db.strings(&sql).pop()
}

fn probe_sample(db: &Db, version: &str) -> Landed {
    let table_verdict = |t: &str| {
        if has_table(db, t) {
            Landed::Fully
        } else {
            Landed::Not(Vec::new())
        }
    };
    match version {
        "0001" => table_verdict("users"),
        "0002" => table_verdict("items"),
        "0003" => table_verdict("votes"),
        "0004" => probe_index(db, "items_title_idx", "items"),
        "0005" => {
            if has_column(db, "users", "display_name") {
                Landed::Fully
            } else {
                Landed::Not(Vec::new())
            }
        }
        "0006" => probe_rename(db),
        other => panic!("no probe for sample migration {other}"),
    }
}

/// 0006 renames users.mail to users.email online. Its expand adds `email`
/// and two sync triggers; its contract drops the triggers and `mail`.
fn probe_rename(db: &Db) -> Landed {
    assert_eq!(
        db.kind,
        Kind::Mysql,
        "only MariaDB runs 0006 outside a transaction"
    );
    let triggers = ["lockstep_0006_1_ins", "lockstep_0006_1_upd"];
    let present: Vec<&str> = triggers
        .iter()
        .copied()
        .filter(|t| has_trigger(db, t))
        .collect();
    let mail = has_column(db, "users", "mail");
    let email = has_column(db, "users", "email");
    let contract = last_logged_action(db, "0006").as_deref() == Some("contract");
    if contract {
        // Contract cannot be undone (a column is gone): finish it, as
        // `lockstep sql` shows it: drop the triggers, then `mail`, then make
        // `email` NOT NULL as `mail` was.
        let mut rest: Vec<String> = present
            .iter()
            .map(|t| format!("DROP TRIGGER {t}"))
            .collect();
        if mail {
            rest.push("ALTER TABLE users DROP COLUMN mail".to_owned());
        }
        if has(db, "SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = 'users' AND column_name = 'email' AND is_nullable = 'YES'") {
            rest.push("ALTER TABLE users MODIFY COLUMN email VARCHAR(255) NOT NULL".to_owned());
        }
        return if rest.is_empty() {
            Landed::Fully
        } else {
            Landed::CompletedByHand(rest)
        };
    }
    if email && present.len() == triggers.len() {
        return Landed::Fully;
    }
    let mut undo: Vec<String> = present
        .iter()
        .map(|t| format!("DROP TRIGGER {t}"))
        .collect();
    if email {
        undo.push("ALTER TABLE users DROP COLUMN email".to_owned());
    }
    Landed::Not(undo)
}

// ---- the generated project ------------------------------------------------

pub const LARGE_SQL: usize = 50;
pub const LARGE_CONFIG: usize = 20;

/// Migration `i` of the generated project (1-based), by `i % 5`:
/// 1 creates table g{i} and inserts a row (two statements), 2 adds a
/// column, 3 creates an index (on PostgreSQL every other one
/// `CONCURRENTLY`, outside a transaction), 4 inserts a row, 0 updates one.
fn large_sql(i: usize) -> String {
    let base = i - (i - 1) % 5;
    let t = format!("g{base:02}");
    match i % 5 {
        1 => format!(
            "-- lockstep:up\nCREATE TABLE {t} (id INT PRIMARY KEY, name VARCHAR(50) NOT NULL);\nINSERT INTO {t} (id, name) VALUES (1, 'first');\n-- lockstep:down\nDROP TABLE {t};\n"
        ),
        2 => format!("ALTER TABLE {t} ADD COLUMN c{i:02} INT NULL;\n"),
        3 if i % 10 == 3 => format!(
            "-- lockstep:up\nCREATE INDEX {t}_name_idx ON {t} (name);\n-- lockstep:up dialect=postgres transaction=false\nCREATE INDEX CONCURRENTLY IF NOT EXISTS {t}_name_idx ON {t} (name);\n"
        ),
        3 => format!("CREATE INDEX {t}_name_idx ON {t} (name);\n"),
        4 => format!("INSERT INTO {t} (id, name) VALUES ({i}, 'row{i}');\n"),
        _ => format!("UPDATE {t} SET name = 'updated{i}' WHERE id = 1;\n"),
    }
}

fn probe_generated(db: &Db, version: &str) -> Landed {
    let i: usize = version.parse().unwrap();
    let base = i - (i - 1) % 5;
    let t = format!("g{base:02}");
    let yes = |b: bool| {
        if b {
            Landed::Fully
        } else {
            Landed::Not(Vec::new())
        }
    };
    match i % 5 {
        1 => {
            if !has_table(db, &t) {
                Landed::Not(Vec::new())
            } else if has(db, &format!("SELECT COUNT(*) FROM {t} WHERE id = 1")) {
                Landed::Fully
            } else {
                Landed::Not(vec![format!("DROP TABLE {t}")])
            }
        }
        2 => yes(has_column(db, &t, &format!("c{i:02}"))),
        3 => probe_index(db, &format!("{t}_name_idx"), &t),
        4 => yes(has(db, &format!("SELECT COUNT(*) FROM {t} WHERE id = {i}"))),
        _ => yes(has(
            db,
            &format!("SELECT COUNT(*) FROM {t} WHERE id = 1 AND name = 'updated{i}'"),
        )),
    }
}

fn write_large_sql(t: &Test) {
    for i in 1..=LARGE_SQL {
        let release = (i - 1) / 10 + 1;
        t.migration(
            &format!("release-{release}/{i:04}_step_{i}.sql"),
            &large_sql(i),
        );
    }
}

/// The three files: `app.ini` (LF, comments), `db/db.ini` (CRLF, in a
/// subdirectory), `worker.ini` (created by its first migration).
const FILES: [&str; 3] = ["app.ini", "db/db.ini", "worker.ini"];

fn write_large_config(t: &Test) {
    t.write(
        "etc/app.ini",
        "; application settings, edited by hand and by lockstep\n[server]\nlisten = 0.0.0.0:80\nworkers=2   ; per core\n\n[legacy]\nold_key = 1\n",
    );
    t.write(
        "etc/db/db.ini",
        "# database settings\r\n[database]\r\nhost = localhost\r\nport = 5432\r\n",
    );
    for j in 1..=LARGE_CONFIG {
        let file = FILES[j % 3];
        let mut ops = vec![
            format!("  - set: {{section: s{j}, key: k{j}, value: \"v{j}-${{tag}}\"}}"),
            format!("  - default: {{section: server, key: d{j}, value: {j}}}"),
        ];
        if j > 3 {
            ops.push(format!(
                "  - rename: {{section: s{}, key: k{}, to_section: s{j}, to_key: moved{}}}",
                j - 3,
                j - 3,
                j - 3
            ));
        }
        if j % 4 == 0 && j > 3 {
            ops.push(format!("  - delete: {{section: server, key: d{}}}", j - 3));
        }
        if j % 5 == 0 {
            ops.push(format!(
                "  - set: {{section: secrets, key: token{j}, value: \"${{secret_token}}\", secret: true}}"
            ));
        }
        if j == 9 {
            ops.push("  - rename_section: {from: legacy, to: legacy_old}".to_owned());
        }
        let phase = if j >= 18 { "contract" } else { "expand" };
        if j >= 18 {
            ops = vec![format!("  - delete: {{section: server, key: d{}}}", j - 6)];
            if j == 18 {
                ops.push("  - delete_section: {section: legacy_old}".to_owned());
            }
        }
        let create = if file == "worker.ini" && j == 2 {
            "create: true\n"
        } else {
            ""
        };
        t.write(
            &format!("config-migrations/{j:04}_cfg_{j}.yaml"),
            format!(
                "description: generated config migration {j}\nfile: {file}\nphase: {phase}\n{create}operations:\n{}\n",
                ops.join("\n")
            ),
        );
    }
}
