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
