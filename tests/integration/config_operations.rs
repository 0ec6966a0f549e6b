//! The operations beyond set/default/rename/delete, through the binary, on
//! the dialects they are for: each run once, then again (nothing changes),
//! with `apply --check --diff` first predicting the written bytes exactly.

use crate::test::Test;

/// Writes `file` (under `config/`) and one migration of `ops`, checks that
/// `--check --diff` predicts `expected`, applies, checks the bytes, applies
/// again and checks nothing changes. Returns the first apply's JSON.
fn converges(file: &str, text: &str, ops: &str, expected: &str) -> serde_json::Value {
    let t = Test::new();
    t.write(&format!("config/{file}"), text);
    t.write(
        "config-migrations/0001_edit.yaml",
        format!("file: {file}\noperations:\n{ops}"),
    );
    let plan = t.run(&["--config-root", "config", "apply", "--check", "--diff"]);
    plan.assert_ok();
    let changes = text != expected;
    assert_eq!(plan.json["changed"], changes, "{}", plan.json);
    if changes {
        assert_eq!(plan.json["diff"][0]["after"], expected, "prediction");
    }
    assert_eq!(
        String::from_utf8(t.read(&format!("config/{file}"))).unwrap(),
        text
    );
    let first = t.run(&["--config-root", "config", "apply"]);
    first.assert_ok();
    assert_eq!(
        String::from_utf8(t.read(&format!("config/{file}"))).unwrap(),
        expected
    );
    let again = t.run(&["--config-root", "config", "apply"]);
    again.assert_ok();
    assert_eq!(again.json["changed"], false, "{}", again.json);
    assert_eq!(
        String::from_utf8(t.read(&format!("config/{file}"))).unwrap(),
        expected
    );
    first.json
}

#[test]
fn add_value_and_remove_value_edit_one_line_of_a_list() {
    converges(
        "app.service",
        "[Service]\nEnvironment=A=1\nExecStart=/bin/app\n",
        "  - add_value: {section: Service, key: Environment, value: B=2}\n\
         \x20 - add_value: {section: Service, key: Environment, value: A=1}\n",
        "[Service]\nEnvironment=A=1\nEnvironment=B=2\nExecStart=/bin/app\n",
    );
    converges(
        "php.ini",
        "[PHP]\nextension=gd\nextension=intl\nmemory_limit = 128M\n",
        "  - remove_value: {section: PHP, key: extension, value: gd}\n\
         \x20 - add_value: {section: PHP, key: extension, value: zip}\n",
        "[PHP]\nextension=intl\nextension=zip\nmemory_limit = 128M\n",
    );
    // A missing key is added as set would add it.
    converges(
        "php.ini",
        "[PHP]\nmemory_limit = 128M\n",
        "  - add_value: {section: PHP, key: extension, value: zip}\n",
        "[PHP]\nmemory_limit = 128M\nextension = zip\n",
    );
}

#[test]
fn set_values_leaves_exactly_the_given_values() {
    converges(
        "app.service",
        "[Service]\nEnvironment=A=1\nEnvironment=OLD=x\nEnvironment=A=1\nUser=app\n",
        "  - set_values: {section: Service, key: Environment, values: [A=1, C=3]}\n",
        "[Service]\nEnvironment=A=1\nEnvironment=C=3\nUser=app\n",
    );
    converges(
        ".gitconfig",
        "[remote \"origin\"]\n\turl = https://example.com/r.git\n\tfetch = +refs/heads/*:refs/remotes/origin/*\n",
        "  - set_values: {section: 'remote \"origin\"', key: fetch, values: ['+refs/heads/main:refs/remotes/origin/main', '+refs/tags/*:refs/tags/*']}\n",
        "[remote \"origin\"]\n\turl = https://example.com/r.git\n\tfetch = +refs/heads/main:refs/remotes/origin/main\n\tfetch = +refs/tags/*:refs/tags/*\n",
    );
}

#[test]
fn flag_writes_a_key_without_a_value() {
    converges(
        "my.cnf",
        "[mysqld]\nport = 3306\nsymbolic-links = 0\n",
        "  - set: {section: mysqld, key: skip-name-resolve, flag: true}\n\
         \x20 - set: {section: mysqld, key: symbolic-links, flag: true}\n",
        "[mysqld]\nport = 3306\nsymbolic-links\nskip-name-resolve\n",
    );
}

#[test]
fn ensure_section_adds_an_empty_section_once() {
    converges(
        "app.ini",
        "[a]\nx = 1\n",
        "  - ensure_section: {section: plugins}\n  - ensure_section: {section: a}\n",
        "[a]\nx = 1\n\n[plugins]\n",
    );
}

#[test]
fn modify_inactive_false_keeps_the_commented_line() {
    converges(
        "my.cnf",
        "[mysqld]\n# max_connections = 100\nport = 3306\n",
        "  - set: {section: mysqld, key: max_connections, value: 500, modify_inactive: false}\n",
        "[mysqld]\n# max_connections = 100\nport = 3306\nmax_connections = 500\n",
    );
}

#[test]
fn section_operations_take_an_occurrence() {
    let text = "[server]\nname = a\n\n[other]\nk = 1\n\n[server]\nname = b\n";
    converges(
        "app.ini",
        text,
        "  - delete_section: {section: server, occurrence: 1}\n",
        "[server]\nname = a\n\n[other]\nk = 1\n",
    );
    converges(
        "app.ini",
        text,
        "  - rename_section: {from: server, to: backup, occurrence: last}\n",
        "[server]\nname = a\n\n[other]\nk = 1\n\n[backup]\nname = b\n",
    );
}

/// The three cases of an upgrade whose default changed from 4 to 8.
#[test]
fn replace_default_respects_the_operators_value() {
    let op = "  - replace_default: {section: pool, key: max_workers, from: 4, to: 8}\n";
    // Kept the old default: it follows the new one.
    let out = converges(
        "app.ini",
        "[pool]\nmax_workers = 4\n",
        op,
        "[pool]\nmax_workers = 8\n",
    );
    assert_eq!(out["warnings"], serde_json::json!([]), "{out}");
    // Chose 12: kept, and said so.
    let out = converges(
        "app.ini",
        "[pool]\nmax_workers = 12\n",
        op,
        "[pool]\nmax_workers = 12\n",
    );
    let warnings = out["warnings"].to_string();
    assert!(
        warnings.contains("replace_default kept the operator's value of pool.max_workers: it is not the old default"),
        "{out}"
    );
    assert_eq!(out["changed"], false);
    // Deleted it: stays deleted, and said so.
    let out = converges("app.ini", "[pool]\nother = 1\n", op, "[pool]\nother = 1\n");
    assert!(
        out["warnings"]
            .to_string()
            .contains("the key is absent (removed by hand), so the new default was not added"),
        "{out}"
    );
}

/// The operator's own value is a hand edit of a file lockstep wrote:
/// `--on-drift merge` applies the upgrade without calling it a conflict.
#[test]
fn replace_default_after_a_hand_edit_merges() {
    let t = Test::new();
    t.write("config/app.ini", "[pool]\nmax_workers = 4\n");
    t.write(
        "config-migrations/0001_other.yaml",
        "file: app.ini\noperations:\n  - set: {section: pool, key: other, value: x}\n",
    );
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    t.write("config/app.ini", "[pool]\nmax_workers = 12\nother = x\n");
    t.write(
        "config-migrations/0002_default.yaml",
        "file: app.ini\noperations:\n  - replace_default: {section: pool, key: max_workers, from: 4, to: 8}\n",
    );
    let out = t.run(&["--config-root", "config", "--on-drift", "merge", "apply"]);
    out.assert_ok();
    assert_eq!(
        String::from_utf8(t.read("config/app.ini")).unwrap(),
        "[pool]\nmax_workers = 12\nother = x\n"
    );
    assert!(
        out.json["warnings"]
            .to_string()
            .contains("kept the operator's value"),
        "{}",
        out.json
    );
}

#[test]
fn set_needs_a_value_or_a_flag() {
    let t = Test::new();
    t.write("config/my.cnf", "[mysqld]\n");
    t.write(
        "config-migrations/0001_bad.yaml",
        "file: my.cnf\noperations:\n  - set: {section: mysqld, key: port, value: 1}\n  - set: {section: mysqld, key: skip-name-resolve}\n",
    );
    let out = t.run(&["--config-root", "config", "apply"]);
    out.assert_failed();
    out.assert_msg_contains(&["0001_bad.yaml:4", "operation 2 (set)", "flag: true"]);
    assert_eq!(
        String::from_utf8(t.read("config/my.cnf")).unwrap(),
        "[mysqld]\n"
    );
}

/// systemd-networkd's `[Route]` comes once per route: `section_occurrence`
/// picks the block a key operation looks in and adds to.
#[test]
fn key_operations_address_one_block_of_a_repeated_section() {
    let text = "[Match]\nName=eth0\n\n[Route]\nGateway=10.0.0.1\nDestination=10.1.0.0/16\n\n\
                [Route]\nGateway=10.0.0.2\nDestination=10.2.0.0/16\n";
    converges(
        "eth0.network",
        text,
        concat!(
            "  - set: {section: Route, key: Metric, value: 100, section_occurrence: 0}\n",
            "  - set: {section: Route, key: Gateway, value: 10.0.0.9, section_occurrence: 1}\n",
            "  - add_value: {section: Route, key: Destination, value: 10.3.0.0/16, section_occurrence: 1}\n",
        ),
        "[Match]\nName=eth0\n\n[Route]\nGateway=10.0.0.1\nDestination=10.1.0.0/16\nMetric=100\n\n\
         [Route]\nGateway=10.0.0.9\nDestination=10.2.0.0/16\nDestination=10.3.0.0/16\n",
    );
    let text = "[server]\nname = a\n\n[other]\nk = 1\n\n[server]\nname = b\n";
    converges(
        "app.ini",
        text,
        concat!(
            "  - replace_default: {section: server, key: name, from: a, to: c, section_occurrence: 0}\n",
            "  - set_values: {section: server, key: alias, values: [x, y], section_occurrence: 0}\n",
            "  - delete: {section: server, key: name, section_occurrence: 1}\n",
            "  - default: {section: server, key: port, value: 80, section_occurrence: 1}\n",
        ),
        "[server]\nname = c\nalias = x\nalias = y\n\n[other]\nk = 1\n\n[server]\nport = 80\n",
    );
}

const TWO_SERVERS: &str = "[server]\nname = a\n\n[server]\nname = b\n";

/// `config/app.ini` with two `[server]` blocks, one migration of `ops`.
fn two_servers(ops: &str) -> Test {
    let t = Test::new();
    t.write("config/app.ini", TWO_SERVERS);
    t.write(
        "config-migrations/0001_edit.yaml",
        format!("file: app.ini\noperations:\n{ops}"),
    );
    t
}

fn app_ini(t: &Test) -> String {
    String::from_utf8(t.read("config/app.ini")).unwrap()
}

#[test]
fn section_occurrence_out_of_range_or_without_a_section_is_refused() {
    for (ops, expected) in [
        (
            "  - set: {section: server, key: name, value: c, section_occurrence: 2}\n",
            &[
                "operation 1 (set)",
                "occurrence 2 of section [server] does not exist",
            ][..],
        ),
        (
            "  - set: {key: name, value: c, section_occurrence: 0}\n",
            &["0001_edit.yaml:3", "`section_occurrence` needs a `section`"][..],
        ),
    ] {
        let t = two_servers(ops);
        let out = t.run(&["--config-root", "config", "apply"]);
        out.assert_failed();
        out.assert_msg_contains(expected);
        assert_eq!(app_ini(&t), TWO_SERVERS);
    }
}

/// Rollback puts back the prior values of the block the migration edited,
/// leaving the other block's same-named key alone.
#[test]
fn rollback_restores_the_block_a_section_occurrence_edited() {
    let t = two_servers(concat!(
        "  - set: {section: server, key: name, value: c, section_occurrence: 1}\n",
        "  - set: {section: server, key: port, value: 80, section_occurrence: 0}\n",
    ));
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    assert_eq!(
        app_ini(&t),
        "[server]\nname = a\nport = 80\n\n[server]\nname = c\n"
    );
    let out = t.run(&["--config-root", "config", "rollback", "--to", "0000"]);
    out.assert_ok();
    assert_eq!(app_ini(&t), TWO_SERVERS);
}

/// `create: true` makes the directories on the way inside the config root,
/// and the new file gets the migration's mode, owner and group; a second
/// run changes nothing, and `--check --diff` predicts the bytes and creates
/// nothing.
#[test]
fn create_makes_parent_directories_with_mode_owner_and_group() {
    use std::os::unix::fs::MetadataExt;
    let t = Test::new();
    t.write("config/.keep", "");
    t.write(
        "config-migrations/0001_create.yaml",
        concat!(
            "file: etc/app/conf.d/app.ini\ncreate: true\nmode: \"0600\"\n",
            "owner: nobody\ngroup: \"65534\"\noperations:\n",
            "  - set: {section: server, key: port, value: 8080}\n",
        ),
    );
    let plan = t.run(&["--config-root", "config", "apply", "--check", "--diff"]);
    plan.assert_ok();
    assert_eq!(plan.json["changed"], true, "{}", plan.json);
    assert_eq!(plan.json["diff"][0]["after"], "[server]\nport = 8080\n");
    assert!(
        !t.path().join("config/etc").exists(),
        "check mode created a directory"
    );
    let first = t.run(&["--config-root", "config", "apply"]);
    first.assert_ok();
    let file = t.path().join("config/etc/app/conf.d/app.ini");
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        "[server]\nport = 8080\n"
    );
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o600);
    if rustix::process::geteuid().is_root() {
        assert_eq!((meta.uid(), meta.gid()), (65534, 65534));
    }
    assert!(t.path().join("config/etc/app/conf.d").is_dir());
    let again = t.run(&["--config-root", "config", "apply"]);
    again.assert_ok();
    assert_eq!(again.json["changed"], false, "{}", again.json);
    let status = t.run(&["--config-root", "config", "verify"]);
    status.assert_ok();
}

/// Writes `migration` as 0001, applies, and expects a failure naming `parts`.
fn refused(t: &Test, migration: &str, parts: &[&str]) {
    t.write("config-migrations/0001_edit.yaml", migration);
    let out = t.run(&["--config-root", "config", "apply"]);
    out.assert_failed();
    out.assert_msg_contains(parts);
}

#[test]
fn mode_owner_and_group_need_create() {
    let t = Test::new();
    t.write("config/app.ini", "[server]\n");
    refused(
        &t,
        "file: app.ini\nmode: \"0600\"\noperations:\n  - set: {section: server, key: port, value: 1}\n",
        &["0001_edit.yaml:2", "are for a file `create: true` makes"],
    );
    refused(
        &t,
        "file: new.ini\ncreate: true\nowner: no-such-user-here\noperations:\n  - set: {section: server, key: port, value: 1}\n",
        &["no user `no-such-user-here`"],
    );
    assert!(!t.path().join("config/new.ini").exists());
}

const MOVED: &str = "etc/app/app.ini";

/// `app.ini` (mode 0640) and a migration that edits it and moves it to
/// `etc/app/app.ini`, plus one that edits it at its new path.
fn moving() -> Test {
    use std::os::unix::fs::PermissionsExt;
    let t = Test::new();
    t.write("config/app.ini", "[server]\nport = 80\n");
    std::fs::set_permissions(
        t.path().join("config/app.ini"),
        std::fs::Permissions::from_mode(0o640),
    )
    .unwrap();
    t.write(
        "config-migrations/0001_move.yaml",
        format!(
            "file: app.ini\noperations:\n  - set: {{section: server, key: port, value: 8080}}\n  - move_file: {{to: {MOVED}}}\n"
        ),
    );
    t.write(
        "config-migrations/0002_after.yaml",
        format!("file: {MOVED}\noperations:\n  - set: {{section: server, key: host, value: a}}\n"),
    );
    t
}

const MOVED_TEXT: &str = "[server]\nport = 8080\nhost = a\n";

/// The file lands at the new path with the edits and the old mode, the old
/// one is gone, the state and status name the new path, a second run
/// changes nothing, and a hand edit of the moved file is drift there.
#[test]
fn move_file_moves_the_file_its_state_and_drift_tracking() {
    use std::os::unix::fs::MetadataExt;
    let t = moving();
    let plan = t.run(&["--config-root", "config", "apply", "--check", "--diff"]);
    plan.assert_ok();
    assert_eq!(plan.json["changed"], true, "{}", plan.json);
    assert_eq!(plan.json["diff"][0]["before_header"], "app.ini");
    assert_eq!(plan.json["diff"][0]["after_header"], MOVED);
    assert_eq!(plan.json["diff"][0]["after"], MOVED_TEXT);
    assert_eq!(plan.json["config"]["files"][0]["moved_to"], MOVED);
    assert_eq!(t.read("config/app.ini"), b"[server]\nport = 80\n");
    assert!(!t.path().join("config/etc").exists(), "check mode wrote");

    let first = t.run(&["--config-root", "config", "apply"]);
    first.assert_ok();
    assert_eq!(first.json["changed"], true);
    assert_eq!(first.json["config"]["files"][0]["path"], "app.ini");
    assert_eq!(first.json["config"]["files"][0]["moved_to"], MOVED);
    assert_eq!(
        String::from_utf8(t.read(&format!("config/{MOVED}"))).unwrap(),
        MOVED_TEXT
    );
    assert!(!t.path().join("config/app.ini").exists(), "old file left");
    let meta = std::fs::metadata(t.path().join(format!("config/{MOVED}"))).unwrap();
    assert_eq!(meta.mode() & 0o7777, 0o640);
    let state: serde_json::Value =
        serde_json::from_slice(&t.read(".lockstep/config-state.json")).unwrap();
    let files: Vec<&String> = state["files"].as_object().unwrap().keys().collect();
    assert_eq!(files, [MOVED]);
    assert_eq!(state["migrations"]["0001"]["file"], MOVED);

    let again = t.run(&["--config-root", "config", "apply"]);
    again.assert_ok();
    assert_eq!(again.json["changed"], false, "{}", again.json);
    let status = t.run(&["--config-root", "config", "status"]);
    status.assert_ok();
    assert_eq!(status.json["config"]["files"][0]["path"], MOVED);
    assert_eq!(status.json["config"]["files"][0]["drifted"], false);
    assert_eq!(status.json["config"]["files"].as_array().unwrap().len(), 1);
    t.run(&["--config-root", "config", "verify"]).assert_ok();

    t.write(&format!("config/{MOVED}"), "[server]\nport = 9\nhost = a\n");
    let status = t.run(&["--config-root", "config", "status"]);
    assert_eq!(
        status.json["drift"][0]["kind"], "config_edited",
        "{}",
        status.json
    );
    assert_eq!(status.json["drift"][0]["path"], MOVED);
    assert_eq!(
        status.json["drift"][0]["keys"]["changed"],
        serde_json::json!(["server.port"])
    );
    t.run(&["--config-root", "config", "verify"])
        .assert_failed()
        .assert_msg_contains(&["etc/app/app.ini was edited by hand"]);
}

/// A target that exists with other content is refused, nothing written;
/// one outside the config root (`..`, an absolute path, a symlink out) too.
#[test]
fn move_file_refuses_an_existing_target_and_one_outside_the_root() {
    let t = Test::new();
    t.write("config/app.ini", "[server]\nport = 80\n");
    t.write("config/new.ini", "[other]\n");
    refused(
        &t,
        "file: app.ini\noperations:\n  - move_file: {to: new.ini}\n",
        &[
            "config migration 0001",
            "0001_edit.yaml",
            "moves app.ini to new.ini",
            "exists already with other content; nothing was written",
            "Move it aside",
        ],
    );
    assert_eq!(t.read("config/app.ini"), b"[server]\nport = 80\n");
    assert_eq!(t.read("config/new.ini"), b"[other]\n");
    refused(
        &t,
        "file: app.ini\noperations:\n  - move_file: {to: ../outside.ini}\n",
        &["0001_edit.yaml", "move_file", "contains `..`"],
    );
    refused(
        &t,
        "file: app.ini\noperations:\n  - move_file: {to: /tmp/lockstep-moved.ini}\n",
        &["0001_edit.yaml", "outside the config root"],
    );
    let outside = tempfile::tempdir().unwrap();
    std::os::unix::fs::symlink(outside.path(), t.path().join("config/out")).unwrap();
    refused(
        &t,
        "file: app.ini\noperations:\n  - move_file: {to: out/app.ini}\n",
        &["0001_edit.yaml", "outside the config root"],
    );
    assert_eq!(std::fs::read_dir(outside.path()).unwrap().count(), 0);
    assert_eq!(t.read("config/app.ini"), b"[server]\nport = 80\n");
    assert!(!t.path().join("tmp/lockstep-moved.ini").exists());
}

/// The old file gone and the new one there with the content the move
/// writes (a run stopped after writing it): the rerun records the move,
/// with no drift; the same with both files there (the old one goes).
#[test]
fn move_file_finishes_a_move_already_on_disk() {
    for keep_old in [false, true] {
        let t = Test::new();
        t.write("config/app.ini", "[server]\nport = 80\n");
        t.write(
            "config-migrations/0001_set.yaml",
            "file: app.ini\noperations:\n  - set: {section: server, key: port, value: 8080}\n",
        );
        t.run(&["--config-root", "config", "apply"]).assert_ok();
        t.write(
            "config-migrations/0002_move.yaml",
            "file: app.ini\noperations:\n  - move_file: {to: new.ini}\n",
        );
        t.write("config/new.ini", "[server]\nport = 8080\n");
        if !keep_old {
            std::fs::remove_file(t.path().join("config/app.ini")).unwrap();
        }
        let out = t.run(&["--config-root", "config", "apply"]);
        out.assert_ok();
        assert_eq!(out.json["drift"], serde_json::json!([]), "{}", out.json);
        assert_eq!(out.json["changed"], keep_old, "{}", out.json);
        assert!(!t.path().join("config/app.ini").exists());
        assert_eq!(t.read("config/new.ini"), b"[server]\nport = 8080\n");
        let status = t.run(&["--config-root", "config", "status"]);
        status.assert_ok();
        assert_eq!(
            status.json["config"]["files"][0]["path"], "new.ini",
            "{}",
            status.json
        );
        assert_eq!(status.json["drift"], serde_json::json!([]));
        let again = t.run(&["--config-root", "config", "apply"]);
        again.assert_ok();
        assert_eq!(again.json["changed"], false, "{}", again.json);
    }
}

/// Rollback does not move a file back: it says so and changes nothing.
#[test]
fn rollback_refuses_to_undo_a_move() {
    let t = moving();
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    let out = t.run(&["--config-root", "config", "rollback", "--to", "0000"]);
    out.assert_failed();
    out.assert_msg_contains(&[
        "config migration 0001",
        "0001_move.yaml",
        "moved app.ini to etc/app/app.ini, and rollback does not move files back",
    ]);
    assert_eq!(
        String::from_utf8(t.read(&format!("config/{MOVED}"))).unwrap(),
        MOVED_TEXT
    );
}

/// A run stopped after recording the move and before removing the old
/// file: the next run removes it (only while it has the bytes it was moved
/// with) and reports no drift.
#[test]
fn move_file_rerun_removes_the_old_file_a_stopped_run_left() {
    for edited in [false, true] {
        let t = moving();
        let first = t.run(&["--config-root", "config", "apply"]);
        first.assert_ok();
        let sha = first.json["config"]["files"][0]["sha256_before"].clone();
        let old = if edited {
            "[server]\nport = 81\n"
        } else {
            "[server]\nport = 80\n"
        };
        t.write("config/app.ini", old);
        let mut state: serde_json::Value =
            serde_json::from_slice(&t.read(".lockstep/config-state.json")).unwrap();
        state["files"][MOVED]["moved_from"] = serde_json::json!({"file": "app.ini", "sha256": sha});
        t.write(
            ".lockstep/config-state.json",
            serde_json::to_vec(&state).unwrap(),
        );
        let out = t.run(&["--config-root", "config", "apply"]);
        out.assert_ok();
        assert_eq!(out.json["drift"], serde_json::json!([]), "{}", out.json);
        assert_eq!(t.path().join("config/app.ini").exists(), edited);
        let state: serde_json::Value =
            serde_json::from_slice(&t.read(".lockstep/config-state.json")).unwrap();
        assert!(state["files"][MOVED].get("moved_from").is_none(), "{state}");
        assert_eq!(
            String::from_utf8(t.read(&format!("config/{MOVED}"))).unwrap(),
            MOVED_TEXT
        );
    }
}

/// A run stopped after writing the new file and before recording it (the
/// state holds only the intent): the next run records the move from the
/// intent, removes the old file and reports no drift.
#[test]
fn move_file_rerun_settles_a_move_written_but_not_recorded() {
    let t = moving();
    let first = t.run(&["--config-root", "config", "apply"]);
    first.assert_ok();
    let sha = first.json["config"]["files"][0]["sha256_before"].clone();
    let done: serde_json::Value =
        serde_json::from_slice(&t.read(".lockstep/config-state.json")).unwrap();
    let record = &done["files"][MOVED];
    let mut intent = done.clone();
    intent["migrations"] = serde_json::json!({});
    intent["files"] = serde_json::json!({ MOVED: {
        "sha256": "",
        "snapshot": "",
        "secret_keys": [],
        "updated_at": record["updated_at"],
        "pending": {
            "sha256": record["sha256"],
            "snapshot": record["snapshot"],
            "secret_keys": [],
            "migrations": [done["migrations"]["0001"], done["migrations"]["0002"]],
            "new_record": true,
            "moved_from": {"file": "app.ini", "sha256": sha},
        },
    }});
    t.write(
        ".lockstep/config-state.json",
        serde_json::to_vec(&intent).unwrap(),
    );
    t.write("config/app.ini", "[server]\nport = 80\n");
    let out = t.run(&["--config-root", "config", "apply"]);
    out.assert_ok();
    assert_eq!(out.json["drift"], serde_json::json!([]), "{}", out.json);
    assert_eq!(out.json["changed"], false, "{}", out.json);
    assert!(!t.path().join("config/app.ini").exists());
    let state: serde_json::Value =
        serde_json::from_slice(&t.read(".lockstep/config-state.json")).unwrap();
    let files: Vec<&String> = state["files"].as_object().unwrap().keys().collect();
    assert_eq!(files, [MOVED]);
    assert_eq!(state["files"][MOVED]["sha256"], record["sha256"]);
    assert!(state["migrations"]["0002"].is_object(), "{state}");
    let status = t.run(&["--config-root", "config", "status"]);
    status.assert_ok();
    assert_eq!(
        status.json["drift"],
        serde_json::json!([]),
        "{}",
        status.json
    );
}

/// Two moves of one file in one run, and a later migration that still
/// names the old path, are refused with nothing written.
#[test]
fn move_file_refuses_a_second_move_and_the_old_name_after_it() {
    let t = Test::new();
    t.write("config/app.ini", "[server]\n");
    t.write(
        "config-migrations/0002_more.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: port, value: 1}\n",
    );
    refused(
        &t,
        "file: app.ini\noperations:\n  - move_file: {to: new.ini}\n",
        &[
            "config migration 0002",
            "0002_more.yaml) names app.ini, which config migration 0001",
            "moves to `new.ini` before it; write `file: new.ini` in it",
        ],
    );
    t.write(
        "config-migrations/0002_more.yaml",
        "file: new.ini\noperations:\n  - move_file: {to: third.ini}\n",
    );
    refused(
        &t,
        "file: app.ini\noperations:\n  - move_file: {to: new.ini}\n",
        &["both move app.ini; apply them in separate runs"],
    );
    assert_eq!(t.read("config/app.ini"), b"[server]\n");
    assert!(!t.path().join("config/new.ini").exists());
    assert!(!t.path().join("config/third.ini").exists());
}
