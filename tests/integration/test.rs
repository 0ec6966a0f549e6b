//! The `Test` builder: lays out a temporary project (migrations, config
//! migrations, INI files, a database), runs the real `lockstep` binary, and
//! hands back its exit code, stdout, stderr and parsed JSON together.

use crate::databases::{Db, Kind};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;
use tempfile::TempDir;

pub struct Test {
    pub dir: TempDir,
    pub db: Option<Db>,
    env: Vec<(String, String)>,
}

#[derive(Debug)]
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
    pub json: Value,
    /// Whether the test has said what stderr holds: `assert_ok` and
    /// `assert_failed` expect it empty otherwise.
    stderr_expected: std::cell::Cell<bool>,
}

impl Output {
    /// A run that printed no JSON (human output).
    pub fn raw(code: i32, stdout: String, stderr: String) -> Output {
        Output {
            code,
            stdout,
            stderr,
            json: Value::Null,
            stderr_expected: std::cell::Cell::new(false),
        }
    }

    /// The versions in a JSON list such as `database.applied`.
    pub fn versions(&self, pointer: &str) -> Vec<String> {
        self.json
            .pointer(pointer)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("no array at {pointer} in {}", self.json))
            .iter()
            .map(|e| e["version"].as_str().unwrap().to_owned())
            .collect()
    }

    /// `version:FIELD` of every entry of a list, in order (`part` of
    /// `/database/applied`, `state` of `/database/migrations`).
    pub fn version_and(&self, pointer: &str, field: &str) -> Vec<String> {
        self.json
            .pointer(pointer)
            .and_then(Value::as_array)
            .unwrap_or_else(|| panic!("no array at {pointer} in {}", self.json))
            .iter()
            .map(|e| {
                format!(
                    "{}:{}",
                    e["version"].as_str().unwrap(),
                    e[field].as_str().unwrap()
                )
            })
            .collect()
    }

    /// The versions of a list, each once, in order.
    pub fn distinct_versions(&self, pointer: &str) -> Vec<String> {
        let mut v = self.versions(pointer);
        v.dedup();
        v
    }

    pub fn msg(&self) -> &str {
        self.json["msg"].as_str().unwrap_or("")
    }

    /// Exit 0, `failed: false`, and nothing on stderr unless the test said
    /// what is there ([`Output::expect_stderr`]).
    #[track_caller]
    pub fn assert_ok(&self) -> &Self {
        assert_eq!(
            self.code, 0,
            "expected exit 0\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert_eq!(self.json["failed"], false, "{}", self.stdout);
        self.assert_stderr_as_expected()
    }

    /// Exit 1, `failed: true` (the result is JSON even on failure), and
    /// nothing on stderr unless the test said what is there.
    #[track_caller]
    pub fn assert_failed(&self) -> &Self {
        assert_eq!(
            self.code, 1,
            "expected exit 1\nstdout: {}\nstderr: {}",
            self.stdout, self.stderr
        );
        assert_eq!(self.json["failed"], true, "{}", self.stdout);
        self.assert_stderr_as_expected()
    }

    /// Says stderr holds each of `parts`; `assert_ok` and `assert_failed`
    /// then accept it.
    #[track_caller]
    pub fn expect_stderr(&self, parts: &[&str]) -> &Self {
        for p in parts {
            assert!(
                self.stderr.contains(p),
                "stderr lacks `{p}`: {}",
                self.stderr
            );
        }
        self.stderr_expected.set(true);
        self
    }

    #[track_caller]
    fn assert_stderr_as_expected(&self) -> &Self {
        assert!(
            self.stderr_expected.get() || self.stderr.is_empty(),
            "unexpected stderr (say what it holds with expect_stderr):\n{}",
            self.stderr
        );
        self
    }

    #[track_caller]
    pub fn assert_msg_contains(&self, parts: &[&str]) -> &Self {
        for p in parts {
            assert!(self.msg().contains(p), "msg lacks `{p}`: {}", self.msg());
        }
        self
    }
}

/// The sample application's migrations; 0006 is a YAML (online) one, so it
/// shows up twice in a full run: its expand and its contract part.
pub const SAMPLE_VERSIONS: [&str; 6] = ["0001", "0002", "0003", "0004", "0005", "0006"];

/// `version:state` of the sample fully applied.
pub fn sample_history() -> Vec<String> {
    SAMPLE_VERSIONS
        .iter()
        .map(|v| {
            format!(
                "{v}:{}",
                if *v == "0006" {
                    "contracted"
                } else {
                    "applied"
                }
            )
        })
        .collect()
}

impl Test {
    pub fn new() -> Test {
        Test {
            dir: tempfile::tempdir().unwrap(),
            db: None,
            env: Vec::new(),
        }
    }

    /// A project with a fresh database of `kind`; `None` when skipped.
    pub fn with_db(kind: Kind) -> Option<Test> {
        let mut t = Test::new();
        t.db = Some(Db::create(kind, t.dir.path())?);
        Some(t)
    }

    pub fn db(&self) -> &Db {
        self.db.as_ref().expect("this test has no database")
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Writes a file under the project, creating directories.
    pub fn write(&self, relative: &str, content: impl AsRef<[u8]>) -> &Self {
        let path = self.path().join(relative);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, content).unwrap();
        self
    }

    pub fn read(&self, relative: &str) -> Vec<u8> {
        std::fs::read(self.path().join(relative)).unwrap()
    }

    pub fn migration(&self, name: &str, sql: &str) -> &Self {
        self.write(&format!("migrations/{name}"), sql)
    }

    /// Copies the repository's sample `migrations/` into the project.
    pub fn sample_migrations(&self) -> &Self {
        copy_dir(&repo().join("migrations"), &self.path().join("migrations"));
        self
    }

    pub fn env(&mut self, key: &str, value: &str) -> &mut Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    pub fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockstep"));
        cmd.current_dir(self.path());
        for var in ["DATABASE_URL", "NO_COLOR", "LOCKSTEP_LOG"] {
            cmd.env_remove(var);
        }
        for (k, _) in std::env::vars() {
            if k.starts_with("LOCKSTEP_") && !k.starts_with("LOCKSTEP_TEST_") {
                cmd.env_remove(k);
            }
        }
        // A system-wide /etc/lockstep/lockstep.ini must not leak into tests.
        cmd.env(
            "LOCKSTEP_SYSTEM_CONFIG",
            self.path().join("no-system-settings.ini"),
        );
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        if !args.contains(&"--host-id") {
            cmd.args(["--host-id", "test-host"]);
        }
        cmd.args(["--format", "json"]);
        if let Some(db) = self.db.as_ref().filter(|_| !args.contains(&"--database")) {
            cmd.args(["--database", &db.url]);
        }
        cmd.args(args);
        cmd
    }

    /// Runs `lockstep --format json [--database URL] ARGS` in the project.
    pub fn run(&self, args: &[&str]) -> Output {
        output(self.command(args).output().unwrap())
    }

    /// Runs without the test's `--database` and `--format json`, for
    /// settings and human-output tests.
    pub fn run_raw(&self, args: &[&str]) -> (i32, String, String) {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_lockstep"));
        cmd.current_dir(self.path())
            .env_remove("DATABASE_URL")
            .env("NO_COLOR", "1");
        for (k, _) in std::env::vars() {
            if k.starts_with("LOCKSTEP_") && !k.starts_with("LOCKSTEP_TEST_") {
                cmd.env_remove(k);
            }
        }
        // A system-wide /etc/lockstep/lockstep.ini must not leak into tests.
        cmd.env(
            "LOCKSTEP_SYSTEM_CONFIG",
            self.path().join("no-system-settings.ini"),
        );
        for (k, v) in &self.env {
            cmd.env(k, v);
        }
        let out = cmd.args(args).output().unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        if let Ok(json) = serde_json::from_str::<Value>(&stdout) {
            assert_valid_result(&json);
        }
        (
            out.status.code().unwrap_or(-1),
            stdout,
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    }
}

/// Runs lockstep with the test-only pause `var` (see `config::write`) set
/// to a gate file: once lockstep waits there, runs `meddle`, then opens the
/// gate and lets it finish.
pub fn run_paused(t: &Test, var: &str, args: &[&str], meddle: impl FnOnce()) -> Output {
    let gate = t.path().join("gate");
    let mut cmd = t.command(args);
    cmd.env(var, &gate)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let mut child = cmd.spawn().unwrap();
    let waiting = t.path().join("gate.waiting");
    wait_until(&format!("lockstep reaches its pause ({var})"), || {
        if let Some(status) = child.try_wait().unwrap() {
            panic!("lockstep ended ({status}) before its pause ({var})");
        }
        waiting.exists()
    });
    meddle();
    std::fs::write(&gate, b"").unwrap();
    output(child.wait_with_output().unwrap())
}

pub fn output(out: std::process::Output) -> Output {
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let json = serde_json::from_str(&stdout).unwrap_or(Value::Null);
    if !json.is_null() {
        assert_valid_result(&json);
    }
    Output {
        code: out.status.code().unwrap_or(-1),
        stdout,
        stderr,
        json,
        stderr_expected: std::cell::Cell::new(false),
    }
}

/// `docs/output.schema.json`, compiled once for the whole test run.
fn result_schema() -> &'static jsonschema::Validator {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    SCHEMA.get_or_init(|| {
        let path = repo().join("docs/output.schema.json");
        let text = std::fs::read_to_string(&path).unwrap();
        let schema: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{} is not JSON: {e}", path.display()));
        jsonschema::draft202012::new(&schema)
            .unwrap_or_else(|e| panic!("{} is not a valid JSON Schema: {e}", path.display()))
    })
}

/// Fails the test when a JSON result does not match the documented schema.
#[track_caller]
pub fn assert_valid_result(json: &Value) {
    let errors: Vec<String> = result_schema()
        .iter_errors(json)
        .map(|e| format!("{e} at {}", e.instance_path()))
        .collect();
    assert!(
        errors.is_empty(),
        "the result does not match docs/output.schema.json:\n  {}\nresult: {json:#}",
        errors.join("\n  ")
    );
}

/// Says on stderr that the running test is skipped and why, and appends
/// the test's name and the reason to the file `LOCKSTEP_TEST_SKIPS` names,
/// so `scripts/test` can count the skips and print them at the end.
pub fn skip(reason: &str) {
    let name = std::thread::current().name().unwrap_or("a test").to_owned();
    eprintln!("SKIPPED: {name}: {reason}");
    if let Some(file) = std::env::var_os("LOCKSTEP_TEST_SKIPS") {
        use std::io::Write;
        let mut f = std::fs::File::options()
            .create(true)
            .append(true)
            .open(file)
            .expect("cannot open the LOCKSTEP_TEST_SKIPS file");
        // One write per line, so lines of tests running in parallel do not mix.
        f.write_all(format!("{name}: {reason}\n").as_bytes())
            .expect("cannot write the LOCKSTEP_TEST_SKIPS file");
    }
}

/// Polls `done` every 20 ms; fails the test after a minute, naming `what`.
pub fn wait_until(what: &str, mut done: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !done() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out waiting until {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

pub fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}
