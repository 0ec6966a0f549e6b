//! `whole_apply`: the whole `lockstep apply`, in process, on a throwaway
//! SQLite database and a throwaway config root, from three fuzzed files.
//!
//! The input is split at its first two RS bytes (0x1E) into a database
//! migration (`migrations/0001_fuzz.sql`), a config migration
//! (`config-migrations/0001_fuzz.yaml`) and the config root's `app.ini`; a
//! part that is missing is a file that does not exist. In the YAML,
//! `{OUTSIDE}` and `{ROOT}` stand for the absolute paths of a directory
//! beside the config root and of the root itself, and the root holds
//! `link -> ../outside`, so escapes are one mutation away.
//!
//! The properties:
//! - no panic (libFuzzer aborts on one in any thread), no hang (the smoke's
//!   `-timeout`);
//! - the run ends in a report: success, or a failure with a message; an
//!   error, if any, has a message too;
//! - nothing outside the config root changes (the files beside it, the
//!   migrations; the state dir holds lockstep's two files only), whatever
//!   the YAML names;
//! - after a success a second apply succeeds and changes nothing: no
//!   migration applied, no file changed, the root's bytes and modes as
//!   they were.

use clap::Parser;
use lockstep::cli::args::{Cli, Command};
use lockstep::cli::settings::Settings;
use lockstep::commands::{self, Ctx};
use lockstep::report::Report;
use std::collections::BTreeMap;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

/// Separates the three parts of an input.
pub const SEPARATOR: u8 = 0x1e;

/// The three files an input stands for; `None`: that file does not exist.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Parts<'a> {
    pub sql: Option<&'a [u8]>,
    pub yaml: Option<&'a [u8]>,
    pub ini: Option<&'a [u8]>,
}

impl<'a> Parts<'a> {
    pub fn split(data: &'a [u8]) -> Parts<'a> {
        let mut parts = data.splitn(3, |b| *b == SEPARATOR);
        Parts {
            sql: parts.next().filter(|p| !p.is_empty()),
            yaml: parts.next().filter(|p| !p.is_empty()),
            ini: parts.next(),
        }
    }
}

/// One-time process setup: no setting may come from the environment or a
/// system-wide lockstep.ini.
fn setup() -> &'static (tokio::runtime::Runtime, PathBuf) {
    static RUNTIME: OnceLock<(tokio::runtime::Runtime, PathBuf)> = OnceLock::new();
    RUNTIME.get_or_init(|| {
        for (key, _) in std::env::vars_os() {
            let key = key.to_string_lossy();
            if key.starts_with("LOCKSTEP_") || key == "DATABASE_URL" {
                std::env::remove_var(&*key);
            }
        }
        // One scratch directory for every run (what lands there is never
        // read); the system settings file is in a directory that does not
        // exist, so no migration (an `ATTACH`) can create it.
        let scratch = std::env::temp_dir().join("lockstep-fuzz-scratch");
        std::fs::create_dir_all(&scratch).expect("a scratch directory");
        std::env::set_var(
            "LOCKSTEP_SYSTEM_CONFIG",
            scratch.join("absent/lockstep.ini"),
        );
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a tokio runtime");
        (runtime, scratch)
    })
}

/// While it lives, the working directory is the scratch directory: a
/// relative path a migration names (an SQLite `ATTACH 'x'`) lands there,
/// not in the fuzz crate; libFuzzer, which writes its corpus by relative
/// path, gets its own directory back after each input.
struct InScratch(PathBuf);

impl InScratch {
    fn enter() -> InScratch {
        let back = std::env::current_dir().expect("the working directory");
        std::env::set_current_dir(&setup().1).expect("cd to the scratch directory");
        InScratch(back)
    }
}

impl Drop for InScratch {
    fn drop(&mut self) {
        std::env::set_current_dir(&self.0).expect("cd back");
    }
}

/// Every file and symlink under `dir` (not descending into `skip`), with
/// its bytes (or target) and mode.
fn snapshot(dir: &Path, skip: &[&Path]) -> BTreeMap<PathBuf, (Vec<u8>, u32)> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).expect("read_dir") {
            let path = entry.expect("dir entry").path();
            if skip.contains(&path.as_path()) {
                continue;
            }
            let meta = std::fs::symlink_metadata(&path).expect("lstat");
            let mode = meta.permissions().mode();
            let content = if meta.file_type().is_symlink() {
                use std::os::unix::ffi::OsStrExt;
                std::fs::read_link(&path)
                    .expect("readlink")
                    .as_os_str()
                    .as_bytes()
                    .to_vec()
            } else if meta.is_dir() {
                stack.push(path.clone());
                Vec::new()
            } else {
                std::fs::read(&path).expect("read")
            };
            out.insert(path, (content, mode));
        }
    }
    out
}

struct Project {
    dir: tempfile::TempDir,
}

impl Project {
    fn path(&self, relative: &str) -> PathBuf {
        self.dir.path().join(relative)
    }

    fn new(parts: &Parts) -> Project {
        let p = Project {
            dir: tempfile::Builder::new()
                .prefix("lockstep-fuzz")
                .tempdir()
                .expect("a temporary directory"),
        };
        for d in [
            "project/migrations",
            "project/config-migrations",
            "root/sub",
            "outside/sub",
        ] {
            std::fs::create_dir_all(p.path(d)).unwrap();
        }
        std::os::unix::fs::symlink("../outside", p.path("root/link")).unwrap();
        for f in ["outside/app.ini", "outside/sub/app.ini", "root/sub/app.ini"] {
            std::fs::write(p.path(f), b"[a]\nx = 1\n").unwrap();
        }
        if let Some(sql) = parts.sql {
            std::fs::write(p.path("project/migrations/0001_fuzz.sql"), sql).unwrap();
        }
        if let Some(yaml) = parts.yaml {
            let yaml = replace(yaml, b"{OUTSIDE}", p.path("outside").as_os_str());
            let yaml = replace(&yaml, b"{ROOT}", p.path("root").as_os_str());
            std::fs::write(p.path("project/config-migrations/0001_fuzz.yaml"), yaml).unwrap();
        }
        if let Some(ini) = parts.ini {
            std::fs::write(p.path("root/app.ini"), ini).unwrap();
        }
        p
    }

    /// `lockstep apply` through the library, as `main` runs it: the report,
    /// or the error `main` would print in a failed report.
    fn apply(&self) -> Result<Report, String> {
        let path = |r: &str| self.path(r).display().to_string();
        let cli = Cli::try_parse_from([
            "lockstep".to_owned(),
            "--format".into(),
            "json".into(),
            "--host-id".into(),
            "fuzz".into(),
            "--project".into(),
            path("project"),
            "--database".into(),
            format!("sqlite:{}", path("db.sqlite")),
            "--config-root".into(),
            path("root"),
            "--state-dir".into(),
            path("state"),
            "--lock-timeout".into(),
            "5".into(),
            "apply".into(),
        ])
        .expect("the command line parses");
        let Command::Apply(args) = &cli.command else {
            unreachable!("the command is apply")
        };
        let settings = Settings::resolve(&cli.global).map_err(|e| format!("{e:#}"))?;
        let ctx = Ctx::new(settings).map_err(|e| format!("{e:#}"))?;
        setup()
            .0
            .block_on(commands::apply::run(&ctx, args))
            .map_err(|e| format!("{e:#}"))
    }
}

fn replace(haystack: &[u8], needle: &[u8], with: &std::ffi::OsStr) -> Vec<u8> {
    use std::os::unix::ffi::OsStrExt;
    let mut out = Vec::with_capacity(haystack.len());
    let mut rest = haystack;
    while let Some(at) = rest.windows(needle.len()).position(|w| w == needle) {
        out.extend_from_slice(&rest[..at]);
        out.extend_from_slice(with.as_bytes());
        rest = &rest[at + needle.len()..];
    }
    out.extend_from_slice(rest);
    out
}

/// A report that is a clean result: valid JSON, and a message when failed.
fn check_report(report: &Report, which: &str) {
    let json: serde_json::Value =
        serde_json::from_str(&report.to_json()).expect("the report is JSON");
    assert_eq!(json["failed"], report.failed, "{which}");
    if report.failed {
        assert!(
            !report.msg.trim().is_empty(),
            "{which} failed without a message"
        );
    }
}

pub fn whole_apply(data: &[u8]) {
    check(data);
}

/// The properties for one input; whether its first apply succeeded.
fn check(data: &[u8]) -> bool {
    let _cwd = InScratch::enter();
    let parts = Parts::split(data);
    let p = Project::new(&parts);
    let root = p.path("root");
    let state = p.path("state");
    // The database, its journals and lockstep's lock file beside it.
    let db: Vec<PathBuf> = ["", "-journal", "-wal", "-shm", ".lockstep-lock"]
        .iter()
        .map(|s| p.path(&format!("db.sqlite{s}")))
        .collect();
    let mut lockstep_owned: Vec<&Path> = vec![&root, &state];
    lockstep_owned.extend(db.iter().map(PathBuf::as_path));
    let outside_before = snapshot(p.dir.path(), &lockstep_owned);

    let first = p.apply();
    let outside = |which: &str| {
        assert_eq!(
            snapshot(p.dir.path(), &lockstep_owned),
            outside_before,
            "{which} changed a file outside the config root: {first:?}"
        );
        // The state dir holds lockstep's own files, nothing a `file:` named.
        if let Ok(entries) = std::fs::read_dir(&state) {
            for e in entries {
                let name = e.expect("dir entry").file_name();
                assert!(
                    name == "config-state.json" || name == "config.lock",
                    "{which} wrote {name:?} into the state dir: {first:?}"
                );
            }
        }
    };
    outside("the first apply");
    let report = match first {
        Err(ref msg) => {
            assert!(!msg.trim().is_empty(), "an error without a message");
            return false;
        }
        Ok(ref report) => report,
    };
    check_report(report, "the first apply");
    if report.failed {
        return false;
    }

    let root_before = snapshot(&root, &[]);
    let second = match p.apply() {
        Ok(r) => r,
        Err(e) => panic!("the second apply failed: {e}\nafter the first: {report:#?}"),
    };
    check_report(&second, "the second apply");
    outside("the second apply");
    assert!(
        !second.failed && !second.changed,
        "the second apply failed or changed something: {second:#?}\nafter the first: {report:#?}"
    );
    assert!(second.database.applied.is_empty(), "{second:#?}");
    for f in &second.config.files {
        if let lockstep::report::ConfigFile::Applied(f) = f {
            assert!(!f.changed, "{second:#?}");
        }
    }
    assert_eq!(
        snapshot(&root, &[]),
        root_before,
        "the second apply changed the config root"
    );
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The property holds, natively, for a success (applied twice) and for
    /// refused escapes out of the root.
    #[test]
    fn whole_apply_runs_in_process() {
        for (file, succeeds) in [
            ("app.ini", true),
            ("sub/app.ini", true),
            ("link/app.ini", false),
            ("{OUTSIDE}/app.ini", false),
            ("../outside/app.ini", false),
        ] {
            let input = format!(
                "CREATE TABLE t (id INT);\n\x1efile: {file}\noperations:\n  - set: {{section: a, key: x, value: 2}}\n\x1e[a]\nx = 1\n"
            );
            assert_eq!(check(input.as_bytes()), succeeds, "{file}");
        }
    }

    #[test]
    fn parts() {
        assert_eq!(
            Parts::split(b"a\x1eb\x1ec\x1ed"),
            Parts {
                sql: Some(b"a"),
                yaml: Some(b"b"),
                ini: Some(b"c\x1ed"),
            }
        );
        assert_eq!(
            Parts::split(b"a"),
            Parts {
                sql: Some(b"a"),
                ..Parts::default()
            }
        );
        assert_eq!(
            Parts::split(b"\x1e\x1e"),
            Parts {
                ini: Some(b""),
                ..Parts::default()
            }
        );
    }
}
