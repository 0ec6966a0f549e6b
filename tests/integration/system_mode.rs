//! System mode: with no lockstep.ini in the project, the system settings
//! file (`/etc/lockstep/lockstep.ini`, here `$LOCKSTEP_SYSTEM_CONFIG`) is
//! used and the state dir defaults to `/var/lib/lockstep`; `status` says
//! which file and state dir it used.

use crate::test::Test;
use serde_json::Value;

fn status(t: &Test, args: &[&str]) -> Value {
    let mut full = vec!["--format", "json"];
    full.extend(args);
    full.push("status");
    let (code, stdout, stderr) = t.run_raw(&full);
    assert_eq!(code, 0, "{stdout}{stderr}");
    serde_json::from_str(&stdout).unwrap()
}

/// A project directory `app/` without lockstep.ini and a system file
/// `etc/lockstep/lockstep.ini` holding `settings`.
fn system(settings: &str) -> Test {
    let mut t = Test::new();
    t.write("app/.keep", "");
    t.write("etc/lockstep/lockstep.ini", settings);
    let file = t.path().join("etc/lockstep/lockstep.ini");
    t.env("LOCKSTEP_SYSTEM_CONFIG", &file.display().to_string());
    t
}

#[test]
fn without_a_project_file_the_system_file_is_used_with_var_lib_state() {
    let t = system("[lockstep]\nlock_timeout = 5\n");
    let json = status(&t, &["-C", "app"]);
    let file = t.path().join("etc/lockstep/lockstep.ini");
    assert_eq!(json["settings_file"], file.display().to_string());
    assert_eq!(json["system_mode"], true);
    assert_eq!(json["state_dir"], "/var/lib/lockstep");
    assert_eq!(
        json["database"]["url"],
        "sqlite:/var/lib/lockstep/lockstep.db"
    );
}

#[test]
fn system_file_paths_are_absolute_or_relative_to_its_directory() {
    let t = system("");
    // An absolute config root (it must exist) beside relative folders.
    let etc = t.path().join("srv/app/etc");
    std::fs::create_dir_all(&etc).unwrap();
    t.write(
        "etc/lockstep/lockstep.ini",
        format!(
            "[lockstep]\nmigrations = migrations\nstate_dir = state\nconfig_root = {}\n",
            etc.display()
        ),
    );
    t.write(
        "etc/lockstep/migrations/0001_a.sql",
        "CREATE TABLE a (id INT);\n",
    );
    let (code, stdout, stderr) = t.run_raw(&["-C", "app", "--format", "json", "apply"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(t.path().join("etc/lockstep/state/lockstep.db").is_file());
    let json = status(&t, &["-C", "app"]);
    let state = t.path().join("etc/lockstep/state");
    assert_eq!(json["state_dir"], state.display().to_string());
    assert_eq!(json["database"]["migrations"][0]["state"], "applied");
}

#[test]
fn a_project_file_wins_over_the_system_file() {
    let t = system("[lockstep]\nstate_dir = /nonexistent/state\n");
    t.write("app/lockstep.ini", "[lockstep]\nstate_dir = here\n");
    let json = status(&t, &["-C", "app"]);
    assert_eq!(json["system_mode"], false);
    assert_eq!(json["settings_file"], "app/lockstep.ini");
    assert_eq!(json["state_dir"], "app/here");
}

#[test]
fn flags_and_environment_win_over_the_system_file() {
    let mut t = system("[lockstep]\nstate_dir = /nonexistent/state\n");
    assert_eq!(
        status(&t, &["-C", "app", "--state-dir", "flag"])["state_dir"],
        "flag"
    );
    t.env("LOCKSTEP_STATE_DIR", "env");
    assert_eq!(status(&t, &["-C", "app"])["state_dir"], "env");
}

#[test]
fn no_settings_file_at_all_is_reported_as_none() {
    let t = Test::new();
    let json = status(&t, &[]);
    assert_eq!(json["settings_file"], Value::Null);
    assert_eq!(json["system_mode"], false);
    assert_eq!(json["state_dir"], ".lockstep");
}

#[test]
fn an_error_in_the_system_file_names_it() {
    let t = system("[lockstep]\nstate_dri = /x\n");
    let (code, stdout, _) = t.run_raw(&["-C", "app", "--format", "json", "status"]);
    assert_eq!(code, 1);
    let json: Value = serde_json::from_str(&stdout).unwrap();
    let msg = json["msg"].as_str().unwrap();
    assert!(
        msg.contains("etc/lockstep/lockstep.ini") && msg.contains("unknown setting `state_dri`"),
        "{msg}"
    );
}
