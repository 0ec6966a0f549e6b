//! Secrets stay secret wherever they travel: a password in a database URL
//! (user info, a `?password=`-like parameter, a malformed URL without `//`)
//! is masked in the human header, the JSON `database.url`, connection
//! errors and logs; a config value marked `secret`, or in a key named like
//! a secret, stays secret when later migrations rename it, move its section
//! or delete it, and so does a secret variable reused in a plain value. The
//! leak test runs every command in every output mode and greps everything
//! lockstep writes for each cleartext.

use crate::databases::Kind;
use crate::test::{Output, Test};

const QUERY_PASSWORD: &str = "Query-Pa55-Vb";
const SSL_PASSWORD: &str = "Ssl-Pa55-Nm";
const USERINFO_PASSWORD: &str = "Info-Pa55-Lk";

/// The server URL of `t` with `secrets` put where each form puts them.
fn url_forms(t: &Test) -> Vec<(String, &'static str)> {
    let url = &t.db().url;
    let (scheme, rest) = url.split_once("://").unwrap();
    vec![
        (format!("{url}?password={QUERY_PASSWORD}"), "?password=***"),
        (
            format!("{url}?sslpassword={SSL_PASSWORD}&application_name=x"),
            "?sslpassword=***&application_name=x",
        ),
        // No `//`: the driver refuses it, quoting nothing of it.
        (
            format!(
                "{scheme}:{}",
                rest.replacen('@', &format!(":{USERINFO_PASSWORD}@"), 1)
            ),
            "",
        ),
    ]
}

#[track_caller]
fn assert_no_leak(out: &Output, what: &str) {
    for secret in [QUERY_PASSWORD, SSL_PASSWORD, USERINFO_PASSWORD] {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{what} leaked {secret}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

fn url_passwords_are_masked(kind: Kind) {
    let Some(t) = Test::with_db(kind) else {
        return;
    };
    t.migration("0001_a.sql", "CREATE TABLE a (id INT);\n");
    for (url, shown) in url_forms(&t) {
        for args in [
            &["status"][..],
            &["apply", "--check", "--diff"],
            &["-vvv", "apply"],
        ] {
            let mut all = vec!["--database", url.as_str()];
            all.extend(args);
            let out = t.run(&all);
            assert_no_leak(&out, &format!("{args:?} on {url}"));
            let json_url = out.json["database"]["url"].as_str().unwrap_or("");
            if !shown.is_empty() && out.code == 0 {
                assert!(json_url.ends_with(shown), "{json_url}");
            }
            if out.code != 0 {
                assert!(out.msg().contains("***"), "{}", out.msg());
            }
            // Human output: the header line, or the error.
            let (code, stdout, stderr) = t.run_raw(&{
                let mut raw = vec!["--database", url.as_str()];
                raw.extend(args);
                raw
            });
            let human = Output::raw(code, stdout, stderr);
            assert_no_leak(&human, &format!("human {args:?} on {url}"));
            assert!(
                human.stdout.contains("***") || human.stderr.contains("***"),
                "{}\n{}",
                human.stdout,
                human.stderr
            );
        }
    }
}

#[test]
fn url_passwords_are_masked_postgres() {
    url_passwords_are_masked(Kind::Postgres);
}

#[test]
fn url_passwords_are_masked_mysql() {
    url_passwords_are_masked(Kind::Mysql);
}

// ---- Config secrets ---------------------------------------------------------

/// A `secret: true` value from a variable, reused in a plain DSN.
const VAR_SECRET: &str = "Var-Pw-S3cret-Tq";
/// A `secret: true` literal whose section is renamed, then deleted.
const MOVED_SECRET: &str = "Moved-S3cret-Rh";
/// Secret by its key's name only (`auth_token`), later renamed.
const NAMED_SECRET: &str = "Named-T0ken-Ue";
/// The URL password (PostgreSQL, which trusts the test user).
const URL_SECRET: &str = "Url-S3cret-Pz";
/// A `?sslpassword=` the PostgreSQL driver ignores with a warning.
const SSL_SECRET: &str = "Ssl-S3cret-Yb";

const CLEARTEXTS: [&str; 5] = [
    VAR_SECRET,
    MOVED_SECRET,
    NAMED_SECRET,
    URL_SECRET,
    SSL_SECRET,
];

/// The migrations of a project whose secrets travel: set, rename (out of
/// its section, without repeating `secret: true`), rename_section, delete,
/// a variable reused in a plain value, a key secret by its name, and one
/// declared `secret: false` although its name looks secret.
fn travelling_secrets(t: &Test) {
    t.write("config/app.ini", "[db]\nhost = db\n");
    t.write(
        "config-migrations/0001_set.yaml",
        format!(
            "file: app.ini\nsyntax: configparser\noperations:\n\
             - set: {{section: db, key: pw, value: \"${{pw}}\", secret: true}}\n\
             - set: {{section: db, key: dsn, value: \"postgres://app:${{pw}}@db/app\"}}\n\
             - set: {{section: vault, key: unseal, value: {MOVED_SECRET}, secret: true}}\n\
             - set: {{section: api, key: auth_token, value: {NAMED_SECRET}}}\n\
             - set: {{section: api, key: public_key, value: ssh-ed25519-AAAA, secret: false}}\n"
        ),
    );
    t.write(
        "config-migrations/0002_rename.yaml",
        "file: app.ini\nsyntax: configparser\noperations:\n\
         - rename: {section: db, key: pw, to_section: auth, to_key: current}\n\
         - rename: {section: api, key: auth_token, to_key: bearer}\n",
    );
    t.write(
        "config-migrations/0003_move.yaml",
        "file: app.ini\nsyntax: configparser\noperations:\n  - rename_section: {from: vault, to: sealed}\n",
    );
    t.write(
        "config-migrations/0004_delete.yaml",
        "file: app.ini\nsyntax: configparser\noperations:\n  - delete: {section: sealed, key: unseal}\n  - set: {section: db, key: pool, value: 5}\n",
    );
}

/// Every file under `dir` (recursively) that holds a cleartext.
fn files_with_cleartext(dir: &std::path::Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            let text = String::from_utf8_lossy(&std::fs::read(e.path()).unwrap()).into_owned();
            CLEARTEXTS.iter().any(|s| text.contains(s))
        })
        .map(|e| e.path().display().to_string())
        .collect()
}

#[track_caller]
fn assert_clean(out: &Output, what: &str) {
    for secret in CLEARTEXTS {
        assert!(
            !out.stdout.contains(secret) && !out.stderr.contains(secret),
            "{what} leaked {secret}:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
}

fn secrets_leak_nowhere(kind: Kind) {
    let Some(t) = Test::with_db(kind) else {
        return;
    };
    let url = match kind {
        Kind::Postgres => format!(
            "{}?sslpassword={SSL_SECRET}",
            t.db()
                .url
                .replacen("postgres@", &format!("postgres:{URL_SECRET}@"), 1)
        ),
        _ => t.db().url.clone(),
    };
    travelling_secrets(&t);
    t.migration(
        "0001_one.sql",
        "-- lockstep:up\nCREATE TABLE one (id INT);\n-- lockstep:down\nDROP TABLE one;\n",
    );
    let var = format!("pw={VAR_SECRET}");
    let mut runs = 0;
    // Each command, in JSON and in human form, quiet and at -vvv.
    let run_all = |args: &[&str], expect_ok: bool| {
        let mut outputs = Vec::new();
        for mode in [&[][..], &["-vvv"]] {
            let mut all = vec![
                "--database",
                url.as_str(),
                "--config-root",
                "config",
                "--var",
                var.as_str(),
            ];
            all.extend(mode);
            all.extend(args);
            let json = t.run(&all);
            if !mode.is_empty() {
                json.expect_stderr(&["settings resolved"]);
            } else if !json.stderr.is_empty() {
                // sqlx's own warning about the URL's query, value masked.
                json.expect_stderr(&["unrecognized connect parameter key=sslpassword value=***"]);
            }
            if expect_ok {
                json.assert_ok();
            }
            let (code, stdout, stderr) = t.run_raw(&all);
            outputs.push(json);
            outputs.push(Output::raw(code, stdout, stderr));
        }
        for out in &outputs {
            assert_clean(out, &format!("{args:?}"));
        }
        outputs.swap_remove(0)
    };
    for target in ["0001", "0002", "0003", "0004"] {
        for args in [
            &["plan", "--target", target][..],
            &["apply", "--check", "--diff", "--target", target],
            &["status"],
        ] {
            run_all(args, true);
        }
        let out = run_all(&["apply", "--diff", "--target", target], true);
        runs += 1;
        if target == "0001" {
            // A plain value that embeds the secret variable (a DSN) is
            // masked as a secret; a key declared `secret: false` is shown.
            let after = out.json["diff"][0]["after"].as_str().unwrap();
            assert!(after.contains("dsn = ********"), "{after}");
            assert!(after.contains("pw = ********"), "{after}");
            assert!(after.contains("auth_token = ********"), "{after}");
            assert!(after.contains("public_key = ssh-ed25519-AAAA"), "{after}");
        }
        for args in [&["verify"][..], &["sql"], &["lint"], &["hosts"]] {
            run_all(args, false);
        }
        assert_eq!(
            files_with_cleartext(&t.path().join(".lockstep")),
            Vec::<String>::new(),
            "after {target}"
        );
    }
    assert_eq!(runs, 4);
    assert_eq!(
        String::from_utf8(t.read("config/app.ini")).unwrap(),
        format!(
            "[db]\nhost = db\ndsn = postgres://app:{VAR_SECRET}@db/app\npool = 5\n\n[sealed]\n\n\
             [api]\nbearer = {NAMED_SECRET}\npublic_key = ssh-ed25519-AAAA\n\n[auth]\ncurrent = {VAR_SECRET}\n"
        )
    );
    // The state keeps hashes: of the renamed key, of the key secret by its
    // name, and of the deleted one's prior value; `secret: false` in clear.
    let state = String::from_utf8(t.read(".lockstep/config-state.json")).unwrap();
    assert!(state.contains("current = sha256:"), "{state}");
    assert!(state.contains("bearer = sha256:"), "{state}");
    assert!(state.contains("public_key = ssh-ed25519-AAAA"), "{state}");
    // A hand edit of a secret that moved: drift names the key, not the value.
    let ini = String::from_utf8(t.read("config/app.ini")).unwrap();
    t.write(
        "config/app.ini",
        ini.replace(&format!("current = {VAR_SECRET}"), "current = by-hand"),
    );
    t.write(
        "config-migrations/0005_more.yaml",
        "file: app.ini\nsyntax: configparser\noperations:\n  - set: {section: auth, key: current, value: \"${pw}\"}\n",
    );
    let drift = run_all(&["apply", "--diff"], false);
    drift.assert_failed().assert_msg_contains(&["auth.current"]);
    run_all(
        &["apply", "--diff", "--on-drift", "force", "--backup"],
        true,
    );
    // Errors: a secret value that is invalid is named by its key only.
    t.write(
        "config-migrations/0006_bad.yaml",
        "file: app.ini\nsyntax: configparser\noperations:\n  - set: {section: db, key: pw2, value: \"${pw} \", secret: true}\n",
    );
    let bad = run_all(&["apply"], false);
    bad.assert_failed().assert_msg_contains(&[
        "config migration 0006",
        "key `pw2`",
        "trailing whitespace",
    ]);
    std::fs::remove_file(t.path().join("config-migrations/0006_bad.yaml")).unwrap();
    run_all(&["rollback", "--to", "0004"], false);
    run_all(&["resolve", "--adopt", "app.ini"], false);
    assert_eq!(
        files_with_cleartext(&t.path().join(".lockstep")),
        Vec::<String>::new()
    );
    // The database: lockstep's own tables, and (SQLite) the file itself.
    let log = t.db().strings(match kind {
        Kind::Mysql => "SELECT CAST(CONCAT(COALESCE(detail, ''), action, state, host, checksum) AS CHAR(2000)) FROM lockstep_log",
        _ => "SELECT CAST(COALESCE(detail, '') || action || state || host || checksum AS TEXT) FROM lockstep_log",
    });
    assert!(!log.is_empty());
    for line in &log {
        assert!(CLEARTEXTS.iter().all(|s| !line.contains(s)), "{line}");
    }
    if kind == Kind::Sqlite {
        let bytes = std::fs::read(t.db().sqlite_file()).unwrap();
        let text = String::from_utf8_lossy(&bytes);
        assert!(CLEARTEXTS.iter().all(|s| !text.contains(s)));
    }
}

#[test]
fn secrets_leak_nowhere_sqlite() {
    secrets_leak_nowhere(Kind::Sqlite);
}

#[test]
fn secrets_leak_nowhere_postgres() {
    secrets_leak_nowhere(Kind::Postgres);
}

#[test]
fn secrets_leak_nowhere_mysql() {
    secrets_leak_nowhere(Kind::Mysql);
}

#[test]
fn secret_key_names_come_from_lockstep_ini() {
    let t = Test::new();
    t.write("lockstep.ini", "[lockstep]\nsecret_keys = *dsn, vault_*\n");
    t.write("app.ini", "[a]\n");
    t.write(
        "config-migrations/0001_m.yaml",
        "file: app.ini\nsyntax: configparser\noperations:\n\
         - set: {section: a, key: db_dsn, value: Dsn-S3cret-Kk}\n\
         - set: {section: a, key: Vault_Seal, value: Seal-S3cret-Kk}\n\
         - set: {section: a, key: password, value: shown-now}\n",
    );
    let out = t.run(&["apply", "--diff"]);
    out.assert_ok();
    assert_eq!(
        out.json["diff"][0]["after"],
        "[a]\ndb_dsn = ********\nVault_Seal = ********\npassword = shown-now\n"
    );
    let state = String::from_utf8(t.read(".lockstep/config-state.json")).unwrap();
    assert!(!state.contains("S3cret"), "{state}");
    assert!(state.contains("password = shown-now"), "{state}");
}
