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

/// Runs `lockstep --format json ARGS status` and returns (exit code, msg).
fn status_msg(t: &Test, args: &[&str]) -> (i32, String) {
    let mut full = vec!["--format", "json"];
    full.extend(args);
    full.push("status");
    let (code, stdout, stderr) = t.run_raw(&full);
    let json: serde_json::Value =
        serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("no JSON ({e}): {stdout}{stderr}"));
    assert_eq!(json["failed"], code != 0, "{stdout}");
    (code, json["msg"].as_str().unwrap().to_owned())
}

#[test]
fn a_missing_project_is_an_error_naming_it_and_its_source() {
    let mut t = Test::new();
    let missing = t.path().join("releases/2O24");
    let m = missing.display().to_string();
    assert_eq!(
        status_msg(&t, &["-C", &m]),
        (
            1,
            format!(
                "the project directory {m} does not exist (set by --project (-C)); \
                 give the directory that holds lockstep.ini and migrations/"
            )
        )
    );
    t.env("LOCKSTEP_PROJECT", &m);
    let (code, msg) = status_msg(&t, &[]);
    assert_eq!(code, 1);
    assert!(
        msg.contains(&format!(
            "{m} does not exist (set by the environment variable LOCKSTEP_PROJECT)"
        )),
        "{msg}"
    );
}

#[test]
fn a_missing_folder_is_an_error_naming_where_it_was_set() {
    let mut t = Test::new();
    let p = t.path().display().to_string();
    // The defaults may be missing: a project without config migrations.
    assert_eq!(status_msg(&t, &[]).0, 0);

    let (code, msg) = status_msg(&t, &["--migrations", "migratoins"]);
    assert_eq!(code, 1);
    assert_eq!(
        msg,
        "the migrations folder migratoins does not exist (set by --migrations); \
         correct the path, or create the folder"
    );

    t.write(
        "lockstep.ini",
        "; settings\n[lockstep]\n\nconfig_migrations = config-migratoins\n",
    );
    let (code, msg) = status_msg(&t, &["-C", &p]);
    assert_eq!(code, 1);
    assert_eq!(
        msg,
        format!(
            "the config migrations folder {p}/config-migratoins does not exist \
             (set in {p}/lockstep.ini:4); correct the path, or create the folder"
        )
    );

    t.write("lockstep.ini", "[lockstep]\n");
    t.env("LOCKSTEP_CONFIG_ROOT", "/nonexistent/etc/app");
    let (code, msg) = status_msg(&t, &[]);
    assert_eq!(code, 1);
    assert!(
        msg.starts_with(
            "the config root /nonexistent/etc/app does not exist \
             (set by the environment variable LOCKSTEP_CONFIG_ROOT)"
        ),
        "{msg}"
    );
    std::fs::create_dir_all(t.path().join("etc/app")).unwrap();
    assert_eq!(status_msg(&t, &["--config-root", "etc/app"]).0, 0);
}

#[test]
fn a_missing_migrations_folder_fails_apply_with_exit_1() {
    let t = Test::new();
    t.write("lockstep.ini", "[lockstep]\nmigrations = db/migratoins\n");
    let (code, stdout, _) = t.run_raw(&["--format", "json", "apply"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("db/migratoins does not exist (set in lockstep.ini:2)"),
        "{stdout}"
    );
    assert!(!t.path().join(".lockstep").exists(), "nothing is written");
}

#[test]
fn lockstep_ini_values_are_read_literally() {
    let t = Test::new();
    t.write(
        "lockstep.ini",
        "[lockstep]\nconfig_root = etc\n[vars]\npassword = pa\\ss\\tw0rd\nquoted = \"x\" ; y\n",
    );
    t.write("etc/app.ini", "[session]\n");
    t.write(
        "config-migrations/0001_session.yaml",
        "file: app.ini\nsyntax: configparser\noperations:\n  - set: {section: session, key: token, value: \"${password}\"}\n  \
         - set: {section: session, key: quoted, value: \"${quoted}\"}\n",
    );
    let (code, stdout, stderr) = t.run_raw(&["--format", "json", "apply"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert_eq!(
        String::from_utf8(t.read("etc/app.ini")).unwrap(),
        "[session]\ntoken = pa\\ss\\tw0rd\nquoted = \"x\" ; y\n"
    );
}

#[test]
fn lockstep_ini_errors_carry_line_numbers() {
    let t = Test::new();
    // A header missing its `]` would otherwise swallow the lines after it.
    t.write(
        "lockstep.ini",
        "[lockstep]\nphase = expand\n\n[vars\nsecret = x\n",
    );
    assert_eq!(
        status_msg(&t, &[]),
        (
            1,
            "lockstep.ini:4: the section header `[vars` has no closing `]`; \
             write it as [lockstep] or [vars]"
                .to_owned()
        )
    );
    t.write("lockstep.ini", "[lockstep]\n; c\non_drift = merg\n");
    assert_eq!(
        status_msg(&t, &[]),
        (
            1,
            "lockstep.ini:3: on_drift = merg: expected fail, merge or force".to_owned()
        )
    );
    t.write("lockstep.ini", "[lockstep]\n\n\ndatabse = sqlite:x.db\n");
    let (code, msg) = status_msg(&t, &[]);
    assert_eq!(code, 1);
    assert!(
        msg.starts_with("lockstep.ini:4: unknown setting `databse`"),
        "{msg}"
    );
}

#[test]
fn secret_vars_files_are_masked_in_every_output() {
    let t = Test::new();
    t.write("etc/app.ini", "[session]\n");
    t.write(
        "config-migrations/0001_session.yaml",
        "file: app.ini\noperations:\n  - set: {section: session, key: dsn, value: \"redis://:${token}@cache/0\"}\n",
    );
    t.write("secret.yaml", "token: hunter2-s3cret\n");
    let args = [
        "--format",
        "json",
        "--config-root",
        "etc",
        "--secret-vars-file",
        "secret.yaml",
        "--diff",
        "apply",
    ];
    let (code, stdout, stderr) = t.run_raw(&args);
    assert_eq!(code, 0, "{stdout}{stderr}");
    // A value that embeds a secret is shown masked whole.
    assert!(stdout.contains("dsn = ********"), "{stdout}");
    assert!(
        !stdout.contains("hunter2") && !stderr.contains("hunter2"),
        "{stdout}{stderr}"
    );
    assert_eq!(
        String::from_utf8(t.read("etc/app.ini")).unwrap(),
        "[session]\ndsn = redis://:hunter2-s3cret@cache/0\n"
    );
    // A plain --var may not quietly replace (and unmask) a secret.
    let (code, stdout, _) = t.run_raw(&[
        "--format",
        "json",
        "--config-root",
        "etc",
        "--secret-vars-file",
        "secret.yaml",
        "--var",
        "token=x",
        "status",
    ]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("token is also a secret variable"),
        "{stdout}"
    );
}

#[test]
fn the_database_password_comes_from_the_environment() {
    let Some(mut t) = Test::with_db(crate::databases::Kind::Postgres) else {
        return;
    };
    t.migration("0001_a.sql", "CREATE TABLE a (id INTEGER);\n");
    // The test server trusts every password; the URL shows it masked.
    t.env("LOCKSTEP_DATABASE_PASSWORD", "pw/with@odd:chars");
    let out = t.run(&["apply"]);
    out.assert_ok();
    let url = out.json["database"]["url"].as_str().unwrap();
    assert!(
        url.starts_with("postgres://postgres:***@127.0.0.1:"),
        "{url}"
    );
    assert!(!out.stdout.contains("odd:chars") && !out.stderr.contains("odd:chars"));

    // SQLite takes no password: say so instead of ignoring it.
    let out = t.run(&["--database", "sqlite:x.db", "status"]);
    out.assert_failed();
    assert_eq!(
        out.msg(),
        "LOCKSTEP_DATABASE_PASSWORD is set, but the database URL sqlite:x.db has no user name; \
         give one (postgres://USER@HOST/DB) or leave the password unset"
    );
}
