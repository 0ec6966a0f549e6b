//! Hand edits of managed config files: reported by key, and handled by the
//! `--on-drift` policy when operations are pending.

use crate::test::Test;

const BASE: &str =
    "[server]\nlisten = 127.0.0.1:8080\nworkers = 4\n\n[options]\ncache = memcache\n";

/// A project whose app.ini lockstep has already written once.
fn managed() -> Test {
    let t = Test::new();
    t.write("config/app.ini", BASE);
    t.write(
        "config-migrations/0001_workers.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 8}\n",
    );
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    t
}

fn run(t: &Test, args: &[&str]) -> crate::test::Output {
    let mut full = vec!["--config-root", "config"];
    full.extend(args);
    t.run(&full)
}

fn text(t: &Test) -> String {
    String::from_utf8(t.read("config/app.ini")).unwrap()
}

#[test]
fn hand_edit_with_nothing_pending_is_a_warning() {
    let t = managed();
    let edited = text(&t).replace("listen = 127.0.0.1:8080", "listen = 0.0.0.0:8080");
    t.write("config/app.ini", &edited);
    let out = run(&t, &["apply"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], false);
    assert_eq!(out.json["drift"][0]["kind"], "config_edited");
    assert_eq!(out.json["drift"][0]["path"], "app.ini");
    assert_eq!(
        out.json["drift"][0]["keys"]["changed"],
        serde_json::json!(["server.listen"])
    );
    assert!(out.json["warnings"][0]
        .as_str()
        .unwrap()
        .contains("lockstep resolve --adopt app.ini"));
    assert_eq!(text(&t), edited);
    // verify reports it as drift.
    run(&t, &["verify"])
        .assert_failed()
        .assert_msg_contains(&["app.ini was edited by hand"]);
}

#[test]
fn on_drift_policies_with_an_unrelated_hand_edit() {
    let t = managed();
    let edited = text(&t).replace("listen = 127.0.0.1:8080", "listen = 0.0.0.0:8080");
    t.write("config/app.ini", &edited);
    t.write(
        "config-migrations/0002_cache.yaml",
        "file: app.ini\noperations:\n  - set: {section: cache, key: backend, value: redis}\n",
    );

    // fail (the default): stops, names the key, writes nothing.
    let out = run(&t, &["apply"]);
    out.assert_failed().assert_msg_contains(&[
        "app.ini was edited by hand",
        "server.listen",
        "--on-drift merge",
    ]);
    assert_eq!(text(&t), edited);

    // merge: applies on top, the hand edit stays.
    let out = run(&t, &["--on-drift", "merge", "apply"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], true);
    assert_eq!(text(&t), format!("{edited}\n[cache]\nbackend = redis\n"));
    // The merged result is now what lockstep recorded: no drift any more.
    let again = run(&t, &["apply"]);
    again.assert_ok();
    assert_eq!(again.json["drift"], serde_json::json!([]));
}

#[test]
fn hand_edit_of_a_touched_key_merge_refuses_force_overwrites() {
    let t = managed();
    let edited = text(&t).replace("workers = 8", "workers = 16");
    t.write("config/app.ini", &edited);
    t.write(
        "config-migrations/0002_workers.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 12}\n",
    );

    run(&t, &["--on-drift", "merge", "apply"])
        .assert_failed()
        .assert_msg_contains(&["cannot merge", "server.workers"]);
    assert_eq!(text(&t), edited);

    let out = run(&t, &["--on-drift", "force", "apply"]);
    out.assert_ok();
    assert_eq!(
        out.json["config"]["files"][0]["overwritten"],
        serde_json::json!(["server.workers"])
    );
    assert!(out.json["warnings"][0]
        .as_str()
        .unwrap()
        .contains("overwrote the hand-edited key server.workers"));
    assert_eq!(text(&t), edited.replace("workers = 16", "workers = 12"));
}

#[test]
fn resolve_adopt_clears_the_drift() {
    let t = managed();
    let edited = text(&t).replace("cache = memcache", "cache = none");
    t.write("config/app.ini", &edited);
    t.write("config-migrations/0002_listen.yaml", "file: app.ini\noperations:\n  - set: {section: server, key: listen, value: \"127.0.0.1:9090\"}\n");
    run(&t, &["apply"]).assert_failed();
    let adopt = run(&t, &["resolve", "--adopt", "app.ini"]);
    adopt.assert_ok();
    assert_eq!(adopt.json["changed"], true);
    let out = run(&t, &["apply"]);
    out.assert_ok();
    assert_eq!(out.json["drift"], serde_json::json!([]));
    assert_eq!(text(&t), edited.replace("127.0.0.1:8080", "127.0.0.1:9090"));
}

#[test]
fn edited_config_migration_is_drift_until_restamped() {
    let t = managed();
    t.write(
        "config-migrations/0001_workers.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 9}\n",
    );
    for cmd in ["apply", "verify"] {
        run(&t, &[cmd]).assert_failed().assert_msg_contains(&[
            "config migration 0001",
            "0001_workers.yaml",
            "lockstep resolve --restamp config:0001",
        ]);
    }
    run(&t, &["resolve", "--restamp", "0001"]).assert_ok();
    run(&t, &["apply"]).assert_ok();
    run(&t, &["verify"]).assert_ok();
}

#[test]
fn config_rollback_restores_prior_values() {
    let t = managed();
    t.write("config-migrations/0002_cache.yaml", "file: app.ini\noperations:\n  - rename: {section: options, key: cache, to_section: cache, to_key: backend}\n");
    run(&t, &["apply"]).assert_ok();
    assert_eq!(text(&t), "[server]\nlisten = 127.0.0.1:8080\nworkers = 8\n\n[options]\n\n[cache]\nbackend = memcache\n");
    let out = run(&t, &["rollback", "--to", "0001"]);
    out.assert_ok();
    assert_eq!(out.json["config_rolled_back"], serde_json::json!(["0002"]));
    // The [cache] section 0002 created goes with it: the file is as before.
    assert_eq!(
        text(&t),
        "[server]\nlisten = 127.0.0.1:8080\nworkers = 8\n\n[options]\ncache = memcache\n"
    );
    let out = run(&t, &["rollback", "--to", "0000"]);
    out.assert_ok();
    assert!(text(&t).contains("workers = 4\n"));
    // Rolled back migrations apply again.
    let again = run(&t, &["apply"]);
    again.assert_ok();
    assert_eq!(
        again.json["config"]["files"][0]["applied"],
        serde_json::json!(["0001", "0002"])
    );
}
