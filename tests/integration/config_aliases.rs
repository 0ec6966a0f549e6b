//! One file named several ways (`app.ini`, `./app.ini`, `app.ini/`, its
//! absolute path, a symlink to it inside the root) is one file: its config
//! migrations are planned together from one content, so no write drops
//! another's edit, and the state records it once.

use crate::test::Test;

fn set(t: &Test, version: &str, file: &str, key: &str) {
    t.write(
        &format!("config-migrations/{version}_{key}.yaml"),
        format!("file: \"{file}\"\noperations:\n  - set: {{section: a, key: {key}, value: {version}}}\n"),
    );
}

#[test]
fn every_name_of_one_file_keeps_its_edit() {
    let t = Test::new();
    t.write("config/etc/app.ini", "[a]\nx = 1\n");
    std::os::unix::fs::symlink("etc/app.ini", t.path().join("config/alias.ini")).unwrap();
    let absolute = t.path().join("config/etc/app.ini").display().to_string();
    set(&t, "0001", "etc/app.ini", "k1");
    set(&t, "0002", "./etc/app.ini", "k2");
    set(&t, "0003", "etc/app.ini/", "k3");
    set(&t, "0004", &absolute, "k4");
    set(&t, "0005", "alias.ini", "k5");
    set(&t, "0006", "etc//./app.ini", "k6");
    let args = ["--config-root", "config", "apply"];
    let out = t.run(&args);
    out.assert_ok();
    let expected = "[a]\nx = 1\nk1 = 0001\nk2 = 0002\nk3 = 0003\nk4 = 0004\nk5 = 0005\nk6 = 0006\n";
    assert_eq!(
        String::from_utf8(t.read("config/etc/app.ini")).unwrap(),
        expected
    );
    let files = out.json["config"]["files"].as_array().unwrap();
    assert_eq!(files.len(), 1, "{}", out.stdout);
    assert_eq!(files[0]["path"], "etc/app.ini");
    assert_eq!(
        files[0]["applied"],
        serde_json::json!(["0001", "0002", "0003", "0004", "0005", "0006"])
    );
    let warnings = out.json["warnings"].to_string();
    assert!(
        warnings.contains("name the same file (etc/app.ini)"),
        "{warnings}"
    );
    assert!(
        std::fs::symlink_metadata(t.path().join("config/alias.ini"))
            .unwrap()
            .file_type()
            .is_symlink(),
        "the symlink was replaced"
    );
    // Recorded once; the next run has nothing to do, no drift, no warning.
    let state: serde_json::Value =
        serde_json::from_slice(&t.read(".lockstep/config-state.json")).unwrap();
    let recorded: Vec<&String> = state["files"].as_object().unwrap().keys().collect();
    assert_eq!(recorded, ["etc/app.ini"]);
    let again = t.run(&args);
    again.assert_ok();
    assert_eq!(again.json["changed"], false, "{}", again.stdout);
    assert_eq!(again.json["warnings"], serde_json::json!([]));
    assert_eq!(
        String::from_utf8(t.read("config/etc/app.ini")).unwrap(),
        expected
    );

    // A later migration under another name goes on from the recorded file.
    set(&t, "0007", "./alias.ini", "k7");
    let out = t.run(&args);
    out.assert_ok();
    assert_eq!(out.json["config"]["files"][0]["path"], "etc/app.ini");
    assert_eq!(
        String::from_utf8(t.read("config/etc/app.ini")).unwrap(),
        format!("{expected}k7 = 0007\n")
    );
}
