//! Bad config migrations and targets: exit 1, `failed: true`, a message
//! naming the problem and the file (and line), and nothing written
//! anywhere: not the config file, not the state dir, not the database.

use crate::test::Test;

fn project(migration: &str) -> Test {
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    t.write("config-migrations/0001_m.yaml", migration);
    t
}

#[track_caller]
fn assert_refused(t: &Test, extra: &[&str], parts: &[&str]) {
    let mut args = vec!["--config-root", "config"];
    args.extend(extra);
    args.push("apply");
    t.run(&args).assert_failed().assert_msg_contains(parts);
    assert_eq!(
        String::from_utf8(t.read("config/app.ini")).unwrap(),
        "[a]\nx = 1\n"
    );
    assert!(
        !t.path().join(".lockstep").exists(),
        "something was written to the state dir"
    );
}

#[test]
fn unknown_operation() {
    let t = project("file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n  - sett: {section: a, key: y, value: 3}\n");
    assert_refused(
        &t,
        &[],
        &["config-migrations/0001_m.yaml:4:", "unknown variant `sett`"],
    );
}

#[test]
fn malformed_yaml() {
    let t = project("file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2\n");
    assert_refused(
        &t,
        &[],
        &["config-migrations/0001_m.yaml:", "did not find expected"],
    );
}

#[test]
fn missing_variable() {
    let t =
        project("file: app.ini\noperations:\n  - set: {section: a, key: x, value: \"${port}\"}\n");
    assert_refused(
        &t,
        &[],
        &[
            "config migration 0001",
            "variable `port` is not set",
            "--var port=",
        ],
    );
}

#[test]
fn path_outside_the_root() {
    for file in ["../outside.ini", "/etc/passwd", "sub/../../outside.ini"] {
        let t = project(&format!(
            "file: {file}\noperations:\n  - set: {{section: a, key: x, value: 2}}\n"
        ));
        assert_refused(&t, &[], &["config migration 0001", file]);
    }
}

#[test]
fn symlink_escaping_the_root() {
    let t = project("file: link.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n");
    t.write("outside.ini", "[a]\nx = 1\n");
    std::os::unix::fs::symlink(
        t.path().join("outside.ini"),
        t.path().join("config/link.ini"),
    )
    .unwrap();
    assert_refused(&t, &[], &["link.ini", "outside the config root"]);
    assert_eq!(
        String::from_utf8(t.read("outside.ini")).unwrap(),
        "[a]\nx = 1\n"
    );
}

#[test]
fn missing_file_without_create() {
    let t = project("file: missing.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n");
    assert_refused(&t, &[], &["missing.ini", "does not exist", "create: true"]);
    // With create it is made.
    t.write(
        "config-migrations/0001_m.yaml",
        "file: missing.ini\ncreate: true\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    assert_eq!(
        String::from_utf8(t.read("config/missing.ini")).unwrap(),
        "[a]\nx = 2\n"
    );
}

#[test]
fn duplicated_key_needs_an_occurrence() {
    let t = Test::new();
    t.write(
        "config/unit.service",
        "[Service]\nExecStart=\nExecStart=/bin/a\n",
    );
    t.write("config-migrations/0001_m.yaml", "file: unit.service\noperations:\n  - set: {section: Service, key: ExecStart, value: /bin/b}\n");
    t.run(&["--config-root", "config", "apply"])
        .assert_failed()
        .assert_msg_contains(&["ExecStart", "appears 2 times", "occurrence"]);
    t.write("config-migrations/0001_m.yaml", "file: unit.service\noperations:\n  - set: {section: Service, key: ExecStart, value: /bin/b, occurrence: last}\n");
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    assert_eq!(
        String::from_utf8(t.read("config/unit.service")).unwrap(),
        "[Service]\nExecStart=\nExecStart=/bin/b\n"
    );
}

#[test]
fn unwritable_directory_leaves_the_file_and_state_intact() {
    // Root ignores directory permissions, so a read-only bind is the only
    // honest way; where mounting is not allowed the test says so.
    let t = project("file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n");
    let dir = t.path().join("config");
    let mounted = std::process::Command::new("mount")
        .args(["--bind", "-o", "ro"])
        .arg(&dir)
        .arg(&dir)
        .status()
        .is_ok_and(|s| s.success())
        && std::process::Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(&dir)
            .status()
            .is_ok_and(|s| s.success());
    if !mounted {
        crate::test::skip("cannot mount a read-only directory here");
        return;
    }
    let out = t.run(&["--config-root", "config", "apply"]);
    let _ = std::process::Command::new("umount").arg(&dir).status();
    out.assert_failed()
        .assert_msg_contains(&["app.ini", "the file is unchanged"]);
    assert_eq!(
        String::from_utf8(t.read("config/app.ini")).unwrap(),
        "[a]\nx = 1\n"
    );
    let state: serde_json::Value =
        serde_json::from_slice(&t.read(".lockstep/config-state.json")).unwrap();
    assert_eq!(
        state["migrations"],
        serde_json::json!({}),
        "the state claims a migration that did not land"
    );
}
