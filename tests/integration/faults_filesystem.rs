//! File-system faults under config writes: a full disk (a small tmpfs), a
//! file size limit (RLIMIT_FSIZE with SIGXFSZ ignored, so write() returns
//! EFBIG), a read-only config directory or state dir (read-only bind
//! mounts), a missing parent directory, a config file replaced by a
//! directory or by a symlink. Each time: exit 1, a message naming the
//! file, the original bytes intact, no `.*.lockstep-tmp` left behind, no
//! state claiming a write that did not land, and once the fault is gone
//! the next run converges. Mounting needs root; without it the mount
//! tests skip loudly.

use crate::test::{Output, Test};
use std::path::{Path, PathBuf};
use std::process::Command;

/// A mount undone when the test ends, even when it fails.
struct Mount(PathBuf);

impl Mount {
    fn tmpfs(dir: &Path, size: &str) -> Option<Mount> {
        std::fs::create_dir_all(dir).unwrap();
        let ok = Command::new("mount")
            .args(["-t", "tmpfs", "-o", &format!("size={size}"), "tmpfs"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        Mount::made(ok, dir)
    }

    fn read_only(dir: &Path) -> Option<Mount> {
        let bind = Command::new("mount")
            .args(["--bind"])
            .arg(dir)
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        let m = Mount::made(bind, dir)?;
        let ro = Command::new("mount")
            .args(["-o", "remount,bind,ro"])
            .arg(dir)
            .status()
            .is_ok_and(|s| s.success());
        ro.then_some(m)
    }

    fn made(ok: bool, dir: &Path) -> Option<Mount> {
        if ok {
            Some(Mount(dir.to_path_buf()))
        } else {
            crate::test::skip(&format!(
                "cannot mount on {} here (needs root)",
                dir.display()
            ));
            None
        }
    }
}

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

/// Temporary files anywhere under `dir`.
fn temp_files(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .map(|e| e.path().display().to_string())
        .filter(|p| p.ends_with(".lockstep-tmp"))
        .collect()
}

#[track_caller]
fn assert_refused(t: &Test, out: &Output, names: &[&str]) {
    assert_eq!(
        out.code, 1,
        "expected exit 1:\n{}\n{}",
        out.stdout, out.stderr
    );
    assert_eq!(out.json["failed"], true, "{}", out.stdout);
    out.assert_msg_contains(names);
    assert!(!out.stderr.contains("panicked"), "{}", out.stderr);
    assert_eq!(
        temp_files(t.path()),
        Vec::<String>::new(),
        "a temporary file was left behind"
    );
    // A write that did not land is neither changed nor applied.
    for f in out.json["config"]["files"].as_array().into_iter().flatten() {
        assert_eq!(f["changed"], false, "{}", out.stdout);
        assert_eq!(f["applied"], serde_json::json!([]), "{}", out.stdout);
    }
}

/// The config state, or `Null` when there is none.
fn state(t: &Test) -> serde_json::Value {
    std::fs::read(t.path().join(".lockstep/config-state.json"))
        .map(|b| serde_json::from_slice(&b).expect("the state does not parse"))
        .unwrap_or(serde_json::Value::Null)
}

/// No migration recorded, no file claimed, no intent left.
#[track_caller]
fn assert_state_claims_nothing(t: &Test) {
    let s = state(t);
    if s.is_null() {
        return;
    }
    assert_eq!(s["migrations"], serde_json::json!({}), "{s:#}");
    assert_eq!(s["files"], serde_json::json!({}), "{s:#}");
}

fn config(t: &Test, args: &[&str]) -> Output {
    let mut all = vec!["--config-root", "config"];
    all.extend(args);
    t.run(&all)
}

#[test]
fn full_disk_under_the_config_file() {
    let t = Test::new();
    let dir = t.path().join("config");
    let Some(_mount) = Mount::tmpfs(&dir, "64k") else {
        return;
    };
    t.write("config/app.ini", "[a]\nx = 1\n");
    let big = "v".repeat(40_000);
    t.write(
        "config-migrations/0001_big.yaml",
        format!("file: app.ini\noperations:\n  - set: {{section: a, key: big, value: {big}}}\n"),
    );
    // 48 KiB of the 64 leave no room for the 40 KB file.
    t.write("config/filler", vec![0u8; 48 * 1024]);
    let out = config(&t, &["apply"]);
    assert_refused(&t, &out, &["app.ini", "the file is unchanged"]);
    assert_eq!(t.read("config/app.ini"), b"[a]\nx = 1\n");
    assert_state_claims_nothing(&t);
    assert_eq!(config(&t, &["status"]).code, 0);
    // Space again: the same run converges.
    std::fs::remove_file(dir.join("filler")).unwrap();
    config(&t, &["apply"]).assert_ok();
    assert_eq!(
        t.read("config/app.ini"),
        format!("[a]\nx = 1\nbig = {big}\n").into_bytes()
    );
    config(&t, &["verify"]).assert_ok();
}

/// Runs lockstep with a file size limit: SIGXFSZ ignored (as a shell
/// `trap '' XFSZ` does, inherited through exec), so a write past the limit
/// fails with EFBIG instead of killing the process.
fn run_with_fsize(t: &Test, bytes: u64, args: &[&str]) -> Option<Output> {
    let cmd = t.command(args);
    let program = cmd.get_program().to_owned();
    let lockstep_args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut wrapped = Command::new("sh");
    wrapped
        .arg("-c")
        .arg(format!("trap '' XFSZ; exec prlimit --fsize={bytes} \"$@\""))
        .arg("sh")
        .arg(program)
        .args(lockstep_args)
        .current_dir(t.path());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapped.env(k, v),
            None => wrapped.env_remove(k),
        };
    }
    if Command::new("prlimit").arg("--version").output().is_err() {
        crate::test::skip("prlimit (util-linux) is not installed");
        return None;
    }
    Some(crate::test::output(wrapped.output().unwrap()))
}

#[test]
fn file_size_limit_on_the_state_file() {
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    let long = "w".repeat(300);
    t.write(
        "config-migrations/0001_long.yaml",
        format!("file: app.ini\noperations:\n  - set: {{section: a, key: long, value: {long}}}\n"),
    );
    // The state (snapshot, priors) outgrows 600 bytes; the file does not.
    let args = [
        "--database",
        "sqlite::memory:",
        "--config-root",
        "config",
        "apply",
    ];
    let Some(out) = run_with_fsize(&t, 600, &args) else {
        return;
    };
    assert_refused(&t, &out, &["config-state.json", "disk full"]);
    assert_eq!(t.read("config/app.ini"), b"[a]\nx = 1\n");
    assert_state_claims_nothing(&t);
    let out = t.run(&args);
    out.assert_ok();
    assert!(String::from_utf8(t.read("config/app.ini"))
        .unwrap()
        .contains(&long));
}

#[test]
fn file_size_limit_on_the_config_file() {
    // A secret is kept in the state as a hash only, so a long secret makes
    // the config file, not the state, outgrow the limit.
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    t.write(
        "config-migrations/0001_secret.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: token, value: \"${token}\", secret: true}\n",
    );
    let token = format!("T{}", "k".repeat(5000));
    let var = format!("token={token}");
    let args = [
        "--database",
        "sqlite::memory:",
        "--config-root",
        "config",
        "--var",
        &var,
        "apply",
    ];
    let Some(out) = run_with_fsize(&t, 3000, &args) else {
        return;
    };
    assert_refused(&t, &out, &["app.ini", "disk full", "the file is unchanged"]);
    assert!(!out.stdout.contains(&token) && !out.stderr.contains(&token));
    assert_eq!(t.read("config/app.ini"), b"[a]\nx = 1\n");
    assert_state_claims_nothing(&t);
    t.run(&args).assert_ok();
    assert!(String::from_utf8(t.read("config/app.ini"))
        .unwrap()
        .contains(&token));
}

#[test]
fn read_only_directory_for_a_new_file() {
    // Found here: the intent's placeholder record for a file that did not
    // exist stayed behind, so every later run reported the file "deleted by
    // hand" and refused to create it.
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    t.write(
        "config-migrations/0001_new.yaml",
        "file: new.ini\ncreate: true\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    let dir = t.path().join("config");
    let mount = Mount::read_only(&dir);
    if mount.is_none() {
        return;
    }
    let out = config(&t, &["apply"]);
    drop(mount);
    assert_refused(&t, &out, &["new.ini", "the file is unchanged"]);
    assert!(!dir.join("new.ini").exists());
    assert_state_claims_nothing(&t);
    config(&t, &["apply"]).assert_ok();
    assert_eq!(t.read("config/new.ini"), b"[a]\nx = 2\n");
}

#[test]
fn read_only_state_dir() {
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    t.write(
        "config-migrations/0001_x.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    let state_dir = t.path().join(".lockstep");
    std::fs::create_dir_all(&state_dir).unwrap();
    let mount = Mount::read_only(&state_dir);
    if mount.is_none() {
        return;
    }
    let out = config(&t, &["--database", "sqlite::memory:", "apply"]);
    drop(mount);
    assert_refused(&t, &out, &[".lockstep"]);
    assert_eq!(t.read("config/app.ini"), b"[a]\nx = 1\n");
    config(&t, &["--database", "sqlite::memory:", "apply"]).assert_ok();
    assert_eq!(t.read("config/app.ini"), b"[a]\nx = 2\n");
}

/// A file whose directory does not exist: refused without `create`, with
/// nothing made; `create: true` makes the directories inside the root.
#[test]
fn missing_parent_directory() {
    let t = Test::new();
    std::fs::create_dir_all(t.path().join("config")).unwrap();
    t.write(
        "config-migrations/0001_x.yaml",
        "file: sub/dir/app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    let out = config(&t, &["apply"]);
    assert_refused(&t, &out, &["sub/dir/app.ini", "does not exist"]);
    assert!(!t.path().join("config/sub").exists());
    assert_state_claims_nothing(&t);
    t.write(
        "config-migrations/0001_x.yaml",
        "file: sub/dir/app.ini\ncreate: true\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    config(&t, &["apply"]).assert_ok();
    assert_eq!(t.read("config/sub/dir/app.ini"), b"[a]\nx = 2\n");
}

/// A managed `app.ini` (one migration applied), and a second migration.
fn managed() -> Test {
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    t.write(
        "config-migrations/0001_x.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    config(&t, &["apply"]).assert_ok();
    t.write(
        "config-migrations/0002_y.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: y, value: 3}\n",
    );
    t
}

#[test]
fn config_file_replaced_by_a_directory() {
    let t = managed();
    let path = t.path().join("config/app.ini");
    std::fs::remove_file(&path).unwrap();
    std::fs::create_dir(&path).unwrap();
    std::fs::write(path.join("keep"), "x").unwrap();
    let out = config(&t, &["apply"]);
    assert_refused(&t, &out, &["app.ini", "is a directory"]);
    assert_eq!(std::fs::read(path.join("keep")).unwrap(), b"x");
    // The applied migration stays recorded; the new one is not.
    let s = state(&t);
    assert!(
        s["migrations"].get("0001").is_some() && s["migrations"].get("0002").is_none(),
        "{s:#}"
    );
}

#[test]
fn config_file_replaced_by_a_symlink_inside_the_root() {
    let t = managed();
    t.write("config/other.ini", "[a]\nx = 9\n");
    let path = t.path().join("config/app.ini");
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink("other.ini", &path).unwrap();
    // Its content is not what lockstep wrote: a hand edit, refused.
    let out = config(&t, &["apply"]);
    assert_refused(&t, &out, &["app.ini", "edited by hand"]);
    assert_eq!(t.read("config/other.ini"), b"[a]\nx = 9\n");
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());
    // Accepted as it stands, the edit goes through the link to its target,
    // which stays a file inside the root; the link stays a link.
    config(&t, &["resolve", "--adopt", "app.ini"]).assert_ok();
    config(&t, &["apply"]).assert_ok();
    assert_eq!(t.read("config/other.ini"), b"[a]\nx = 9\ny = 3\n");
    assert!(std::fs::symlink_metadata(&path)
        .unwrap()
        .file_type()
        .is_symlink());
}

#[test]
fn config_file_replaced_by_a_symlink_out_of_the_root() {
    let t = managed();
    t.write("outside.ini", "[a]\nx = 2\n");
    let path = t.path().join("config/app.ini");
    std::fs::remove_file(&path).unwrap();
    std::os::unix::fs::symlink(t.path().join("outside.ini"), &path).unwrap();
    let out = config(&t, &["apply"]);
    assert_refused(&t, &out, &["app.ini", "outside the config root"]);
    assert_eq!(t.read("outside.ini"), b"[a]\nx = 2\n");
    // Nor does adopting it read through the link.
    let adopt = config(&t, &["resolve", "--adopt", "app.ini"]);
    assert_refused(&t, &adopt, &["app.ini", "outside the config root"]);
}
