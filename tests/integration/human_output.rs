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
    t.write("lockstep.ini", "[lockstep]\nconfig_root = etc\n");
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

#[test]
fn status_after_apply_with_a_hand_edit() {
    let t = project();
    human(&t, &["apply"]);
    let ini = String::from_utf8(t.read("etc/app.ini")).unwrap();
    t.write("etc/app.ini", ini.replace("workers = 8", "workers = 16"));
    redacted(&t, || {
        insta::assert_snapshot!("status_applied_drifted", human(&t, &["status"]))
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
    let t = project();
    human(&t, &["apply"]);
    let ini = String::from_utf8(t.read("etc/app.ini")).unwrap();
    t.write("etc/app.ini", ini.replace("workers = 8", "workers = 16"));
    t.write(
        "config-migrations/0002_threads.yaml",
        "file: app.ini\noperations:\n  - set: {section: server, key: workers, value: 12}\n",
    );
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
