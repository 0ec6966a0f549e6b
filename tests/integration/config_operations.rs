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
