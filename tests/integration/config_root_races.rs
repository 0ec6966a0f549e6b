//! The config root changing under a running `apply`, between the plan made
//! under the lock and the write: a directory on a file's path swapped for a
//! symlink (out of the root, or to another directory inside it) must not
//! redirect the write. The test-only pause
//! (`LOCKSTEP_TEST_PAUSE_BEFORE_CONFIG_WRITE`) holds lockstep at that point,
//! so every run hits the window an attacker would need luck for.

use crate::test::{run_paused, Output, Test};
use std::path::Path;

/// Runs `apply`, and once it has planned and waits before writing, runs
/// `meddle`; then lets it go on.
fn apply_meddled(t: &Test, args: &[&str], meddle: impl FnOnce()) -> Output {
    run_paused(t, "LOCKSTEP_TEST_PAUSE_BEFORE_CONFIG_WRITE", args, meddle)
}

const BEFORE: &[u8] = b"[a]\nx = 1\n";

fn project() -> Test {
    let t = Test::new();
    t.write("config/sub/app.ini", BEFORE);
    t.write("config/other/app.ini", BEFORE);
    t.write("outside/app.ini", BEFORE);
    t.write(
        "config-migrations/0001_x.yaml",
        "file: sub/app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    t
}

/// Failed, naming the file, because its path changed or now leads out.
#[track_caller]
fn assert_write_refused(out: &Output, case: &str) {
    out.assert_failed()
        .assert_msg_contains(&["sub/app.ini", "the file is unchanged"]);
    assert!(
        out.msg().contains("changed while lockstep ran")
            || out.msg().contains("outside the config root"),
        "{case}: {}",
        out.msg()
    );
}

fn state_migrations(t: &Test) -> serde_json::Value {
    std::fs::read(t.path().join(".lockstep/config-state.json"))
        .map(|b| serde_json::from_slice::<serde_json::Value>(&b).unwrap()["migrations"].clone())
        .unwrap_or_default()
}

#[test]
fn directory_swapped_for_a_symlink_between_plan_and_write() {
    for link in ["{P}/outside", "../outside", "other", "{P}/config/other"] {
        let t = project();
        let link = link.replace("{P}", &t.path().display().to_string());
        let sub = t.path().join("config/sub");
        let out = apply_meddled(&t, &["--config-root", "config", "apply"], || {
            std::fs::rename(&sub, t.path().join("config/moved")).unwrap();
            std::os::unix::fs::symlink(&link, &sub).unwrap();
        });
        for untouched in [
            "outside/app.ini",
            "config/other/app.ini",
            "config/moved/app.ini",
        ] {
            assert_eq!(t.read(untouched), BEFORE, "{link}: {untouched} was written");
        }
        assert_write_refused(&out, &link);
        assert_eq!(out.json["changed"], false, "{link}: {}", out.stdout);
        assert_eq!(state_migrations(&t), serde_json::json!({}), "{link}");
        // Put back, the next run writes the planned file.
        std::fs::remove_file(&sub).unwrap();
        std::fs::rename(t.path().join("config/moved"), &sub).unwrap();
        t.run(&["--config-root", "config", "apply"]).assert_ok();
        assert_eq!(t.read("config/sub/app.ini"), b"[a]\nx = 2\n");
        assert_eq!(t.read("outside/app.ini"), BEFORE);
    }
}

#[test]
fn file_swapped_for_a_symlink_between_plan_and_write() {
    // Out of the root, or to another file inside it: neither target is
    // written, and the link stays as the attacker left it.
    for target in ["{P}/outside/app.ini", "../other/app.ini"] {
        let t = project();
        let target = target.replace("{P}", &t.path().display().to_string());
        let file = t.path().join("config/sub/app.ini");
        let out = apply_meddled(&t, &["--config-root", "config", "apply"], || {
            std::fs::remove_file(&file).unwrap();
            std::os::unix::fs::symlink(&target, &file).unwrap();
        });
        assert_eq!(t.read("outside/app.ini"), BEFORE);
        assert_eq!(t.read("config/other/app.ini"), BEFORE);
        assert_write_refused(&out, &target);
        assert!(
            Path::new(&file).is_symlink(),
            "{target}: the link was replaced"
        );
    }
}

/// `create: true` under a directory that does not exist yet: a symlink
/// planted where lockstep is about to make that directory leads nowhere;
/// nothing is created outside the root, or in the other directory.
#[test]
fn missing_directory_planted_as_a_symlink_between_plan_and_write() {
    for link in ["{P}/outside", "../outside", "other"] {
        let t = project();
        t.write(
            "config-migrations/0001_x.yaml",
            "file: new/deep/app.ini\ncreate: true\noperations:\n  - set: {section: a, key: x, value: 2}\n",
        );
        let link = link.replace("{P}", &t.path().display().to_string());
        let planted = t.path().join("config/new");
        let out = apply_meddled(&t, &["--config-root", "config", "apply"], || {
            std::os::unix::fs::symlink(&link, &planted).unwrap();
        });
        out.assert_failed()
            .assert_msg_contains(&["new/deep/app.ini", "the file is unchanged"]);
        for (dir, what) in [
            ("outside", "outside the root"),
            ("config/other", "in other/"),
        ] {
            assert!(
                !t.path().join(dir).join("deep").exists(),
                "{link}: a directory was made {what}"
            );
        }
        assert_eq!(state_migrations(&t), serde_json::json!({}), "{link}");
        // Without the symlink, the next run makes the directories and the file.
        std::fs::remove_file(&planted).unwrap();
        t.run(&["--config-root", "config", "apply"]).assert_ok();
        assert_eq!(t.read("config/new/deep/app.ini"), b"[a]\nx = 2\n");
    }
}
