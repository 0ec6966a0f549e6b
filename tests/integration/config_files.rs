//! What an edit does to the file itself and to what is printed: mode and
//! owner kept, `--check --diff` exact and harmless, secrets masked
//! everywhere, backups on request.

use crate::test::Test;
use std::os::unix::fs::{MetadataExt, PermissionsExt};

const MIGRATION: &str = "file: app.ini\noperations:\n  - set: {section: db, key: password, value: \"${db_password}\", secret: true}\n  - set: {section: db, key: pool, value: 10}\n";

#[test]
fn mode_and_group_survive_an_edit() {
    let t = Test::new();
    t.write("config/app.ini", "[db]\npool = 5\n");
    let path = t.path().join("config/app.ini");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    // A group other than the user's own (gid 1 is `daemon` on Debian).
    std::os::unix::fs::chown(&path, None, Some(1)).unwrap();
    t.write(
        "config-migrations/0001_pool.yaml",
        "file: app.ini\noperations:\n  - set: {section: db, key: pool, value: 10}\n",
    );
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    let meta = std::fs::metadata(&path).unwrap();
    assert_eq!(
        String::from_utf8(t.read("config/app.ini")).unwrap(),
        "[db]\npool = 10\n"
    );
    assert_eq!(meta.mode() & 0o7777, 0o640);
    assert_eq!(meta.gid(), 1);
    // No temporary file left beside it.
    assert_eq!(
        std::fs::read_dir(t.path().join("config")).unwrap().count(),
        1
    );
}

#[test]
fn check_diff_shows_exact_before_after_and_changes_nothing() {
    let t = Test::new();
    let before = "[db]\npool = 5\n";
    t.write("config/app.ini", before);
    t.write(
        "config-migrations/0001_pool.yaml",
        "file: app.ini\noperations:\n  - set: {section: db, key: pool, value: 10}\n",
    );
    let out = t.run(&["--config-root", "config", "apply", "--check", "--diff"]);
    out.assert_ok();
    assert_eq!(out.json["changed"], true);
    assert_eq!(
        out.json["diff"][0],
        serde_json::json!({"before_header": "app.ini", "after_header": "app.ini", "before": before, "after": "[db]\npool = 10\n"})
    );
    assert_eq!(out.json["config"]["files"][0]["changed"], true);
    assert_eq!(String::from_utf8(t.read("config/app.ini")).unwrap(), before);
    assert!(
        !t.path().join(".lockstep").exists(),
        "check mode wrote the state dir"
    );
}

#[test]
fn secret_values_appear_nowhere() {
    let secret = "Sup3rSecretDbPassw0rd";
    let t = Test::new();
    t.write("config/app.ini", "[db]\npool = 5\n");
    t.write("config-migrations/0001_db.yaml", MIGRATION);
    let var = format!("db_password={secret}");
    for args in [
        vec![
            "--config-root",
            "config",
            "--var",
            &var,
            "apply",
            "--check",
            "--diff",
        ],
        vec![
            "--config-root",
            "config",
            "--var",
            &var,
            "apply",
            "--diff",
            "--backup",
        ],
        vec!["--config-root", "config", "--var", &var, "status"],
        vec!["--config-root", "config", "--var", &var, "plan"],
    ] {
        let out = t.run(&args);
        out.assert_ok();
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{}",
            out.stdout
        );
    }
    // The file has it, masked in the diff.
    assert!(String::from_utf8(t.read("config/app.ini"))
        .unwrap()
        .contains(secret));
    // Human output too.
    let (code, stdout, stderr) = t.run_raw(&["--config-root", "config", "--var", &var, "plan"]);
    assert_eq!(code, 0);
    assert!(!stdout.contains(secret) && !stderr.contains(secret));
    // The state dir holds only a hash.
    for entry in walk(&t.path().join(".lockstep")) {
        let bytes = std::fs::read(&entry).unwrap();
        assert!(
            !String::from_utf8_lossy(&bytes).contains(secret),
            "{} holds the secret",
            entry.display()
        );
    }
    // A hand edit of another key is reported as just that key: the secret,
    // kept only as a hash, does not look changed.
    let edited = String::from_utf8(t.read("config/app.ini"))
        .unwrap()
        .replace("pool = 10", "pool = 12");
    t.write("config/app.ini", &edited);
    let out = t.run(&["--config-root", "config", "--var", &var, "apply"]);
    out.assert_ok();
    assert_eq!(
        out.json["drift"][0]["keys"]["changed"],
        serde_json::json!(["db.pool"]),
        "{}",
        out.stdout
    );
    let state_dir = std::fs::metadata(t.path().join(".lockstep")).unwrap();
    assert_eq!(state_dir.mode() & 0o777, 0o700);
    let state_file = std::fs::metadata(t.path().join(".lockstep/config-state.json")).unwrap();
    assert_eq!(state_file.mode() & 0o777, 0o600);
}

#[test]
fn backup_keeps_the_previous_file() {
    let t = Test::new();
    t.write("config/app.ini", "[db]\npool = 5\n");
    t.write(
        "config-migrations/0001_pool.yaml",
        "file: app.ini\noperations:\n  - set: {section: db, key: pool, value: 10}\n",
    );
    let out = t.run(&["--config-root", "config", "apply", "--backup"]);
    out.assert_ok();
    let backup = out.json["config"]["files"][0]["backup_file"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(backup.ends_with('~'));
    assert_eq!(
        std::fs::read_to_string(&backup).unwrap(),
        "[db]\npool = 5\n"
    );
}

fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            out.extend(walk(&p));
        } else {
            out.push(p);
        }
    }
    out
}

#[test]
fn unquoted_yaml_scalars_are_written_as_written() {
    let t = Test::new();
    t.write("app.ini", "[v]\n");
    let values = [
        "1.10", "0o17", "0x10", "+5", "1.0e3", "007", "yes", "-.5", "1_000",
    ];
    let mut yaml = "file: app.ini\noperations:\n".to_owned();
    for (i, v) in values.iter().enumerate() {
        yaml.push_str(&format!("  - set: {{section: v, key: k{i}, value: {v}}}\n"));
    }
    yaml.push_str("  - default: {section: v, key: ttl, value: 0300}\n");
    t.write("config-migrations/0001_numbers.yaml", yaml);
    let out = t.run(&["plan"]);
    out.assert_ok();
    let mut expected = "[v]\n".to_owned();
    for (i, v) in values.iter().enumerate() {
        expected.push_str(&format!("k{i} = {v}\n"));
    }
    expected.push_str("ttl = 0300\n");
    assert_eq!(out.json["diff"][0]["after"], expected.as_str());
    t.run(&["apply"]).assert_ok();
    assert_eq!(String::from_utf8(t.read("app.ini")).unwrap(), expected);
    let again = t.run(&["apply"]);
    assert_eq!(again.json["changed"], false);
}
