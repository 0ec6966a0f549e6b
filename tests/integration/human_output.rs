//! Snapshots of the human output an operator reads: `status`, `plan`, and
//! one of each class of error, with colour off (`NO_COLOR=1`) and the
//! temporary directory, timestamps and durations redacted. Review a changed
//! snapshot as you would a changed screen: `INSTA_UPDATE=always cargo test`
//! rewrites them, `git diff tests/integration/snapshots` shows what moved.

use crate::test::Test;

/// A small project: two SQL migrations and one config migration of app.ini.
fn project() -> Test {
    let t = Test::new();
    t.migration(
        "0001_create_users.sql",
        "-- lockstep:up\nCREATE TABLE users (id INTEGER PRIMARY KEY, mail TEXT);\n\
         -- lockstep:down\nDROP TABLE users;\n",
    );
    t.migration(
        "0002_index_mail.sql",
        "CREATE INDEX users_mail ON users (mail);\n",
    );
    t.write(
        "etc/app.ini",
        "; the app's settings\n[server]\nlisten = 127.0.0.1:8080\nworkers = 4\n",
    );
    t.write(
        "config-migrations/0001_workers.yaml",
        "description: more workers, and a cache\nfile: app.ini\noperations:\n  \
         - set: {section: server, key: workers, value: 8}\n  \
         - set: {section: cache, key: backend, value: redis}\n",
    );
    t.write(
        "lockstep.ini",
        "[lockstep]\nconfig_root = etc\nhost_id = web-1\n",
    );
    t
}

/// The project applied, then app.ini edited by hand (`from` replaced by
/// `to`); with `threads`, a new config migration 0002 sets server.workers.
fn hand_edited(from: &str, to: &str, threads: bool) -> Test {
    let t = project();
    human(&t, &["apply"]);
    let ini = String::from_utf8(t.read("etc/app.ini")).unwrap();
    t.write("etc/app.ini", ini.replace(from, to));
    if threads {
        t.write(
            "config-migrations/0002_threads.yaml",
            "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 12}\n",
        );
    }
    t
}

/// Runs lockstep with human output and returns stdout and stderr as one
/// text, the exit code first.
fn human(t: &Test, args: &[&str]) -> String {
    let mut full = vec!["--format", "human"];
    full.extend(args);
    let (code, stdout, stderr) = t.run_raw(&full);
    let mut text = format!("exit {code}\n");
    if !stdout.is_empty() {
        text.push_str("--- stdout\n");
        text.push_str(&stdout);
    }
    if !stderr.is_empty() {
        text.push_str("--- stderr\n");
        text.push_str(&stderr);
    }
    text
}

/// Runs `f` with filters for what differs from run to run.
fn redacted(t: &Test, f: impl FnOnce()) {
    let mut settings = insta::Settings::clone_current();
    settings.set_prepend_module_to_snapshot(false);
    let dir = t.path().display().to_string();
    settings.add_filter(&regex_escape(&dir), "[TMP]");
    settings.add_filter(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z",
        "[TIME]            ",
    );
    settings.add_filter(r"in \d+ ms", "in [N] ms");
    settings.add_filter(r"lockstep \d+\.\d+\.\d+", "lockstep [VERSION]");
    settings.bind(f);
}

fn regex_escape(text: &str) -> String {
    text.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '/' || c == '_' {
                c.to_string()
            } else {
                format!("\\{c}")
            }
        })
        .collect()
}

#[test]
fn status_of_a_new_project() {
    let t = project();
    redacted(&t, || {
        insta::assert_snapshot!("status_new", human(&t, &["status"]))
    });
}

/// status and verify agree: the file is edited by hand, never "ok".
#[test]
fn status_and_verify_after_apply_with_a_hand_edit() {
    let t = hand_edited("workers = 8", "workers = 16", false);
    redacted(&t, || {
        insta::assert_snapshot!("status_applied_drifted", human(&t, &["status"]));
        insta::assert_snapshot!("verify_config_edited", human(&t, &["verify"]));
    });
}

#[test]
fn plan_shows_the_config_diff_and_the_sql() {
    let t = project();
    redacted(&t, || insta::assert_snapshot!("plan", human(&t, &["plan"])));
}

#[test]
fn apply_then_nothing_to_do() {
    let t = project();
    redacted(&t, || {
        insta::assert_snapshot!("apply", human(&t, &["apply"]));
        insta::assert_snapshot!("apply_again", human(&t, &["apply"]));
    });
}

#[test]
fn quiet_prints_nothing_on_success_and_the_error_on_failure() {
    let t = project();
    assert_eq!(human(&t, &["--quiet", "apply"]), "exit 0\n");
    t.migration("0003_bad.sql", "-- lockstep:sideways\n");
    redacted(&t, || {
        insta::assert_snapshot!("quiet_error", human(&t, &["-q", "apply"]))
    });
}

#[test]
fn error_unreachable_database() {
    let t = project();
    redacted(&t, || {
        insta::assert_snapshot!(
            "error_unreachable_database",
            human(
                &t,
                &[
                    "--database",
                    "postgres://app:secret@127.0.0.1:1/app",
                    "apply"
                ]
            )
        )
    });
}

#[test]
fn error_lock_timeout() {
    use fs4::fs_std::FileExt;
    let t = project();
    // Another lockstep holds the SQLite database's lock file.
    let db = t.path().join("app.db");
    let lock = std::fs::File::create(t.path().join("app.db.lockstep-lock")).unwrap();
    lock.lock_exclusive().unwrap();
    let url = format!("sqlite:{}", db.display());
    redacted(&t, || {
        insta::assert_snapshot!(
            "error_lock_timeout",
            human(&t, &["--database", &url, "--lock-timeout", "1", "apply"])
        )
    });
    FileExt::unlock(&lock).unwrap();
}

#[test]
fn error_malformed_marker() {
    let t = project();
    t.migration(
        "0003_bad.sql",
        "-- lockstep:up\nSELECT 1;\n-- lockstep:sideways\n",
    );
    redacted(&t, || {
        insta::assert_snapshot!("error_malformed_marker", human(&t, &["apply"]))
    });
}

#[test]
fn error_edited_migration() {
    let t = project();
    human(&t, &["apply"]);
    t.migration(
        "0002_index_mail.sql",
        "CREATE INDEX users_mail ON users (mail, id);\n",
    );
    redacted(&t, || {
        insta::assert_snapshot!("error_edited_migration", human(&t, &["apply"]));
        insta::assert_snapshot!("error_verify_drift", human(&t, &["verify"]));
    });
}

#[test]
fn error_config_drift_with_pending_operations() {
    let t = hand_edited("workers = 8", "workers = 16", true);
    redacted(&t, || {
        insta::assert_snapshot!("error_config_drift", human(&t, &["apply"]))
    });
}

#[test]
fn error_failed_statement() {
    let t = project();
    t.migration(
        "0003_broken.sql",
        "CREATE TABLE tags (id INTEGER);\nCREATE TABLE users (id INTEGER);\n",
    );
    redacted(&t, || {
        insta::assert_snapshot!("error_failed_statement", human(&t, &["apply"]))
    });
}

#[test]
fn error_bad_settings_file() {
    let t = project();
    t.write("lockstep.ini", "[lockstep]\nconfig_rot = etc\n");
    redacted(&t, || {
        insta::assert_snapshot!("error_bad_settings", human(&t, &["status"]))
    });
}

#[test]
fn error_usage() {
    let t = project();
    redacted(&t, || {
        insta::assert_snapshot!("error_usage", human(&t, &["rollback"]))
    });
}

/// `--on-drift force` over a hand-edited key: check mode says what it
/// would overwrite, a real run what it overwrote.
#[test]
fn force_over_a_hand_edit_in_check_mode_and_for_real() {
    let t = hand_edited("workers = 8", "workers = 16", true);
    redacted(&t, || {
        insta::assert_snapshot!(
            "force_check",
            human(&t, &["--on-drift", "force", "--check", "apply"])
        );
        insta::assert_snapshot!("force_apply", human(&t, &["--on-drift", "force", "apply"]));
    });
}

/// A hand edit of a key no pending migration touches: merge would work, so
/// the refusal offers it (the conflicting case is `error_config_drift`).
#[test]
fn error_config_drift_that_merge_can_keep() {
    let t = hand_edited("127.0.0.1:8080", "0.0.0.0:8080", true);
    redacted(&t, || {
        insta::assert_snapshot!("error_config_drift_mergeable", human(&t, &["apply"]))
    });
}

/// The sample application's first run on SQLite: every part applied, and
/// no warning (contract makes the renamed column NOT NULL on SQLite too).
#[test]
fn first_run_of_the_sample() {
    let t = Test::new();
    t.sample_migrations();
    redacted(&t, || {
        insta::assert_snapshot!("sample_first_run", human(&t, &["apply"]))
    });
}

/// Runs lockstep with colour allowed by the environment (`NO_COLOR` unset)
/// and both streams piped; returns stdout and stderr.
fn piped_without_no_color(t: &Test, args: &[&str]) -> (String, String) {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_lockstep"))
        .current_dir(t.path())
        .env_remove("NO_COLOR")
        .env_remove("LOCKSTEP_LOG")
        .env(
            "LOCKSTEP_SYSTEM_CONFIG",
            t.path().join("no-system-settings.ini"),
        )
        .args(args)
        .output()
        .unwrap();
    (
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn no_colour_codes_into_redirected_streams() {
    let t = project();
    // -v logs to stderr; a failure's report goes to stderr too.
    let (stdout, stderr) = piped_without_no_color(&t, &["-v", "--format", "human", "status"]);
    assert!(stderr.contains("settings resolved"), "{stderr}");
    assert!(
        !stdout.contains('\x1b') && !stderr.contains('\x1b'),
        "{stdout}{stderr}"
    );
    t.migration("0003_bad.sql", "-- lockstep:sideways\n");
    let (_, stderr) = piped_without_no_color(&t, &["-v", "--format", "human", "apply"]);
    assert!(
        stderr.contains("error: migrations/0003_bad.sql:1"),
        "{stderr}"
    );
    assert!(!stderr.contains('\x1b'), "{stderr}");
}

/// Under a pseudo-terminal (`script` from util-linux) the summary is
/// coloured, unless `NO_COLOR` is set.
#[test]
fn colour_on_a_terminal_unless_no_color() {
    if std::process::Command::new("script")
        .arg("--version")
        .output()
        .is_err()
    {
        panic!("the colour test needs `script` (util-linux, Debian package bsdutils)");
    }
    let t = project();
    let bin = env!("CARGO_BIN_EXE_lockstep");
    let on_tty = |no_color: bool| {
        let mut cmd = std::process::Command::new("script");
        cmd.current_dir(t.path())
            .env_remove("NO_COLOR")
            .env(
                "LOCKSTEP_SYSTEM_CONFIG",
                t.path().join("no-system-settings.ini"),
            )
            .args(["-qec", &format!("{bin} --format human status"), "/dev/null"]);
        if no_color {
            cmd.env("NO_COLOR", "1");
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let coloured = on_tty(false);
    assert!(coloured.contains("\x1b[1msettings\x1b[0m"), "{coloured:?}");
    let plain = on_tty(true);
    assert!(
        plain.contains("settings ") && !plain.contains('\x1b'),
        "{plain:?}"
    );
}
