//! Settings precedence: flag > environment > lockstep.ini > default.

use crate::test::Test;

fn url_of(t: &Test, args: &[&str]) -> String {
    let mut full = vec!["--format", "json"];
    full.extend(args);
    full.push("status");
    let (code, stdout, stderr) = t.run_raw(&full);
    assert_eq!(code, 0, "{stdout}{stderr}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    json["database"]["url"].as_str().unwrap().to_owned()
}

#[test]
fn precedence_flag_env_ini_default() {
    let mut t = Test::new();
    let p = t.path().display().to_string();
    assert_eq!(url_of(&t, &[]), "sqlite:.lockstep/lockstep.db");
    t.write(
        "lockstep.ini",
        "[lockstep]\ndatabase = sqlite:from-ini.db\n",
    );
    assert_eq!(url_of(&t, &[]), "sqlite:from-ini.db");
    t.env("DATABASE_URL", &format!("sqlite:{p}/from-database-url.db"));
    assert_eq!(url_of(&t, &[]), format!("sqlite:{p}/from-database-url.db"));
    t.env("LOCKSTEP_DATABASE", &format!("sqlite:{p}/from-env.db"));
    assert_eq!(url_of(&t, &[]), format!("sqlite:{p}/from-env.db"));
    assert_eq!(
        url_of(&t, &["--database", "sqlite:from-flag.db"]),
        "sqlite:from-flag.db"
    );
}

#[test]
fn ini_paths_are_relative_to_the_project() {
    let t = Test::new();
    t.write(
        "app/lockstep.ini",
        "[lockstep]\nmigrations = db/migrations\nstate_dir = var/state\n",
    );
    t.write("app/db/migrations/0001_a.sql", "CREATE TABLE a (id INT);\n");
    let (code, stdout, stderr) = t.run_raw(&["-C", "app", "--format", "json", "apply"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(t.path().join("app/var/state/lockstep.db").is_file());
    assert!(stdout.contains("\"version\": \"0001\""));
}

#[test]
fn unknown_setting_is_an_error_naming_it() {
    let t = Test::new();
    t.write("lockstep.ini", "[lockstep]\ndatabse = sqlite:x.db\n");
    let (code, stdout, _) = t.run_raw(&["--format", "json", "status"]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let msg = json["msg"].as_str().unwrap();
    assert!(
        msg.contains("lockstep.ini") && msg.contains("unknown setting `databse`"),
        "{msg}"
    );
}

#[test]
fn ansible_args_file_runs_apply_with_check_mode() {
    let t = Test::new();
    t.sample_migrations();
    let p = t.path().display().to_string();
    let args = serde_json::json!({
        "project": p,
        "_ansible_check_mode": true,
        "_ansible_diff": true,
        "_ansible_verbosity": 0,
    });
    t.write("args.json", args.to_string());
    let (code, stdout, _) = t.run_raw(&[&format!("{p}/args.json")]);
    assert_eq!(code, 0, "{stdout}");
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["changed"], true);
    assert_eq!(json["check_mode"], true);
    assert!(json["diff"][0]["prepared"]
        .as_str()
        .unwrap()
        .contains("CREATE TABLE users"));
    assert!(!t.path().join(".lockstep").exists());

    t.write(
        "args.json",
        serde_json::json!({"project": p, "colour": "blue"}).to_string(),
    );
    let (code, stdout, _) = t.run_raw(&[&format!("{p}/args.json")]);
    assert_eq!(code, 1);
    let json: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(json["failed"], true);
    let msg = json["msg"].as_str().unwrap();
    assert!(
        msg.contains("unsupported parameter `colour`") && msg.contains("database"),
        "{msg}"
    );
}
