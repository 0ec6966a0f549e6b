//! Nothing lockstep reads may block it forever: a NUL byte in a SQL
//! migration (SQLite's statement loop never ended on one, holding both
//! locks), and a config file, state file or migration that is a FIFO (a
//! plain open blocks until a writer comes). Each is refused with exit 1 and
//! a message naming the file (and the line), well within a deadline.

use crate::test::{output, Output, Test};
use std::time::{Duration, Instant};

/// Runs lockstep, killing it and failing the test if it outlives `limit`.
fn run_within(t: &Test, args: &[&str], limit: Duration) -> Output {
    let mut child = t
        .command(args)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > limit {
            let _ = child.kill();
            let out = output(child.wait_with_output().unwrap());
            panic!("lockstep {args:?} hung for {limit:?}: {out:#?}");
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
