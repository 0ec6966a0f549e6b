//! Nothing lockstep reads may block it forever: a NUL byte in a SQL
//! migration (SQLite's statement loop never ended on one, holding both
//! locks), and a config file, state file, migration, lockstep.ini or vars
//! file that is a FIFO (a plain open blocks until a writer comes). Each is
//! refused with exit 1 and a message naming the file (and the line), well
//! within a deadline.

use crate::test::{output, Output, Test};
use std::time::{Duration, Instant};

/// Runs lockstep, killing it and failing the test if it outlives `limit`.
fn run_within(t: &Test, args: &[&str], limit: Duration) -> Output {
    finish_within(t.command(args), limit)
}

/// Runs `cmd`, killing it and failing the test if it outlives `limit`.
fn finish_within(mut cmd: std::process::Command, limit: Duration) -> Output {
    let mut child = cmd
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = output(child.wait_with_output().unwrap());
            panic!("{cmd:?} hung for {limit:?}: {out:#?}");
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    output(child.wait_with_output().unwrap())
}

const LIMIT: Duration = Duration::from_secs(30);

fn mkfifo(t: &Test, relative: &str) {
    let path = t.path().join(relative);
    std::fs::create_dir_all(path.parent().unwrap()).unwrap();
    let status = std::process::Command::new("mkfifo")
        .arg(&path)
        .status()
        .unwrap();
    assert!(status.success());
}

dialects!(nul_byte_in_a_sql_migration, |t: Test| {
    t.migration("0001_ok.sql", "CREATE TABLE a (id INT);\n");
    t.migration(
        "0002_nul.sql",
        "CREATE TABLE b (id INT);\n\nINSERT INTO b VALUES (1);\0\nSELECT 1;\n",
    );
    for args in [&["apply"][..], &["status"], &["plan"], &["lint"]] {
        let out = run_within(&t, args, LIMIT);
        out.assert_failed()
            .assert_msg_contains(&["0002_nul.sql:3:", "NUL byte at column 26"]);
    }
    // Removed, the migrations apply: none had been applied before.
    t.migration("0002_nul.sql", "CREATE TABLE b (id INT);\n");
    let out = run_within(&t, &["apply"], LIMIT);
    out.assert_ok();
    assert_eq!(out.versions("/database/applied"), ["0001", "0002"]);
    assert_eq!(t.db().history(), ["0001:applied", "0002:applied"]);
});

fn config_project() -> Test {
    let t = Test::new();
    t.write(
        "config-migrations/0001_x.yaml",
        "file: app.ini\ncreate: true\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    t
}

#[test]
fn config_file_that_is_a_fifo() {
    // Managed (status reads it then) and replaced by a FIFO.
    let t = config_project();
    t.write("config/app.ini", "[a]\nx = 1\n");
    let mut args = vec!["--config-root", "config", "apply"];
    run_within(&t, &args, LIMIT).assert_ok();
    std::fs::remove_file(t.path().join("config/app.ini")).unwrap();
    mkfifo(&t, "config/app.ini");
    t.write(
        "config-migrations/0002_y.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: y, value: 3}\n",
    );
    args.pop();
    for more in [
        &["apply"][..],
        &["status"],
        &["verify"],
        &["apply", "--check"],
    ] {
        let mut all = args.clone();
        all.extend(more);
        let out = run_within(&t, &all, LIMIT);
        out.assert_failed()
            .assert_msg_contains(&["app.ini", "FIFO", "not a regular file"]);
    }
    // Still a FIFO: nothing replaced it.
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(t.path().join("config/app.ini"))
        .unwrap()
        .file_type()
        .is_fifo());
}

#[test]
fn state_file_that_is_a_fifo() {
    let t = config_project();
    t.write("config/app.ini", "[a]\nx = 1\n");
    mkfifo(&t, ".lockstep/config-state.json");
    for args in [&["apply"][..], &["status"]] {
        let mut all = vec!["--config-root", "config"];
        all.extend(args);
        let out = run_within(&t, &all, LIMIT);
        out.assert_failed()
            .assert_msg_contains(&["config-state.json", "FIFO"]);
    }
    assert_eq!(t.read("config/app.ini"), b"[a]\nx = 1\n");
}

/// The message for a settings or vars file that is a FIFO: the file, what
/// it is, and that lockstep wants a regular file.
#[track_caller]
fn assert_fifo_refused(out: &Output, what: &str, path: &std::path::Path) {
    out.assert_failed().assert_msg_contains(&[
        &format!("cannot read the {what} {}", path.display()),
        "it is a FIFO (named pipe), not a regular file; lockstep reads and writes regular files only",
    ]);
    assert_eq!(out.code, 1);
}

#[test]
fn settings_file_that_is_a_fifo() {
    // The project's lockstep.ini: refused, not skipped (which would run on
    // the defaults) and not waited on.
    let t = config_project();
    mkfifo(&t, "lockstep.ini");
    for args in [&["apply"][..], &["status"], &["plan"]] {
        let out = run_within(&t, args, LIMIT);
        assert_fifo_refused(&out, "settings file", std::path::Path::new("lockstep.ini"));
    }
    // In human output too, on stderr.
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lockstep"));
    cmd.current_dir(t.path())
        .env_remove("DATABASE_URL")
        .env("NO_COLOR", "1")
        .env(
            "LOCKSTEP_SYSTEM_CONFIG",
            t.path().join("no-system-settings.ini"),
        )
        .arg("status");
    let out = finish_within(cmd, LIMIT);
    assert_eq!(out.code, 1, "{out:#?}");
    assert!(
        out.stderr
            .contains("cannot read the settings file lockstep.ini: it is a FIFO (named pipe)"),
        "{out:#?}"
    );
    assert!(!t.path().join(".lockstep").exists(), "nothing written");

    // The system one (/etc/lockstep/lockstep.ini), with no project file.
    let mut t = config_project();
    mkfifo(&t, "etc/lockstep.ini");
    let system = t.path().join("etc/lockstep.ini");
    t.env("LOCKSTEP_SYSTEM_CONFIG", system.to_str().unwrap());
    let out = run_within(&t, &["status"], LIMIT);
    assert_fifo_refused(&out, "settings file", &system);
}

#[test]
fn vars_file_that_is_a_fifo() {
    let t = config_project();
    t.write("config/app.ini", "[a]\nx = 1\n");
    mkfifo(&t, "vars.yaml");
    for flag in ["--vars-file", "--secret-vars-file"] {
        let out = run_within(
            &t,
            &["--config-root", "config", flag, "vars.yaml", "apply"],
            LIMIT,
        );
        assert_fifo_refused(&out, "vars file", std::path::Path::new("vars.yaml"));
    }
    // Named by lockstep.ini, relative to the project.
    t.write(
        "lockstep.ini",
        "[lockstep]\nconfig_root = config\nvars_file = vars.yaml\n",
    );
    let out = run_within(&t, &["apply"], LIMIT);
    assert_fifo_refused(&out, "vars file", std::path::Path::new("vars.yaml"));
    assert_eq!(t.read("config/app.ini"), b"[a]\nx = 1\n");
    assert!(!t.path().join(".lockstep/config-state.json").exists());
}

#[test]
fn a_fifo_as_the_only_argument_is_no_ansible_arguments_file() {
    // The binary-module form reads the file its one argument names; a FIFO
    // is not one, and is never waited on: it is a (wrong) command.
    let t = Test::new();
    mkfifo(&t, "args");
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_lockstep"));
    cmd.current_dir(t.path()).arg("args");
    let out = finish_within(cmd, LIMIT);
    assert_eq!(out.code, 2, "{out:#?}");
    assert!(
        out.stderr.contains("unrecognized subcommand 'args'"),
        "{out:#?}"
    );
}
