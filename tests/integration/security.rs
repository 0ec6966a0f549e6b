//! Security: `file:` paths that try to leave the config root (`..`,
//! absolute paths, `/proc/self/...`, symlinked files and directories, a
//! hard link) are refused or cannot write outside it; secrets (a URL
//! password, `secret: true` values and the `--var` that fills them) appear
//! in no output, no trace log, no state file and no backup name, also when a
//! run fails; the state dir is 0700 and everything in it 0600, lock files
//! and the default SQLite database included, whatever the umask; a config
//! file keeps its mode and owner through every kind of write.

use crate::databases::Kind;
use crate::test::{Output, Test};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// A config root `config` and a migration of `file` (`{P}`: the project
/// directory), with a file `outside.ini` beside the root.
fn project(file: &str) -> Test {
    let t = Test::new();
    let file = file.replace("{P}", &t.path().display().to_string());
    t.write("config/app.ini", "[a]\nx = 1\n");
    t.write("outside.ini", "[a]\nx = 1\n");
    t.write(
        "config-migrations/0001_m.yaml",
        format!("file: \"{file}\"\ncreate: true\noperations:\n  - set: {{section: a, key: x, value: 2}}\n"),
    );
    t
}

#[track_caller]
fn assert_outside_untouched(t: &Test) {
    assert_eq!(t.read("outside.ini"), b"[a]\nx = 1\n");
    let leftovers: Vec<_> = walkdir::WalkDir::new(t.path())
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_name().to_string_lossy().ends_with(".lockstep-tmp"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[test]
fn proc_self_tricks_and_other_escapes_are_refused() {
    // `{P}` is the project directory; the config root is `{P}/config`.
    for template in [
        "/proc/self/root{P}/outside.ini",
        "/proc/self/cwd/outside.ini",
        "/proc/self/root/etc/passwd",
        "/proc/self/cwd/config/../outside.ini",
        "/proc/self/fd/0",
        "/proc/self/environ",
        "/dev/null",
        "{P}/outside.ini",
        "./../outside.ini",
        "sub/./../../outside.ini",
    ] {
        let t = project(template);
        let out = t.run(&["--config-root", "config", "apply"]);
        out.assert_failed()
            .assert_msg_contains(&["config migration 0001"]);
        assert!(
            out.msg().contains("outside the config root") || out.msg().contains("contains `..`"),
            "{template}: {}",
            out.msg()
        );
        assert_outside_untouched(&t);
        assert!(
            !t.path().join(".lockstep").exists(),
            "{template}: the state dir was written"
        );
    }
}

#[test]
fn symlinked_directory_and_chains_out_of_the_root_are_refused() {
    let t = project("linkdir/app.ini");
    std::os::unix::fs::symlink(t.path(), t.path().join("config/linkdir")).unwrap();
    let out = t.run(&["--config-root", "config", "apply"]);
    out.assert_failed()
        .assert_msg_contains(&["linkdir/app.ini", "outside the config root"]);
    assert_outside_untouched(&t);

    // A chain: inside -> inside -> outside.
    let t = project("first.ini");
    std::os::unix::fs::symlink("second.ini", t.path().join("config/first.ini")).unwrap();
    std::os::unix::fs::symlink(
        t.path().join("outside.ini"),
        t.path().join("config/second.ini"),
    )
    .unwrap();
    let out = t.run(&["--config-root", "config", "apply"]);
    out.assert_failed()
        .assert_msg_contains(&["first.ini", "outside the config root"]);
    assert_outside_untouched(&t);
}

#[test]
fn dangling_symlink_out_of_the_root_is_replaced_not_followed() {
    // `create: true` on a link to a file that does not exist outside the
    // root: the write replaces the link inside the root; nothing appears
    // outside.
    let t = project("dangling.ini");
    let target = t.path().join("made-outside.ini");
    std::os::unix::fs::symlink(&target, t.path().join("config/dangling.ini")).unwrap();
    let out = t.run(&["--config-root", "config", "apply"]);
    assert!(
        !target.exists(),
        "lockstep wrote through a symlink out of the root"
    );
    if out.code == 0 {
        let meta = std::fs::symlink_metadata(t.path().join("config/dangling.ini")).unwrap();
        assert!(meta.file_type().is_file());
    } else {
        out.assert_failed().assert_msg_contains(&["dangling.ini"]);
    }
    assert_outside_untouched(&t);
}

#[test]
fn hard_link_to_a_file_outside_is_never_written_through() {
    // Atomic replacement renames a new file over the name: the other name
    // of the old inode, outside the root, keeps its bytes.
    let t = project("app.ini");
    std::fs::remove_file(t.path().join("config/app.ini")).unwrap();
    std::fs::hard_link(
        t.path().join("outside.ini"),
        t.path().join("config/app.ini"),
    )
    .unwrap();
    t.run(&["--config-root", "config", "apply"]).assert_ok();
    assert_eq!(t.read("config/app.ini"), b"[a]\nx = 2\n");
    assert_outside_untouched(&t);
}

// ---- Secrets --------------------------------------------------------------

const URL_PASSWORD: &str = "Url-Pa55word-Zq";
const SECRET: &str = "Cfg-S3cret-Value-Xk";
const SECRET_VAR: &str = "Var-S3cret-Token-Wj";

/// Every output of `out`.
fn leaks(out: &Output) -> Vec<&'static str> {
    [URL_PASSWORD, SECRET, SECRET_VAR]
        .into_iter()
        .filter(|s| out.stdout.contains(s) || out.stderr.contains(s))
        .collect()
}

fn files_holding_a_secret(dir: &Path) -> Vec<String> {
    walkdir::WalkDir::new(dir)
        .into_iter()
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_file())
        .filter(|e| {
            let bytes = std::fs::read(e.path()).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            [URL_PASSWORD, SECRET, SECRET_VAR]
                .iter()
                .any(|s| text.contains(s))
                || e.file_name().to_string_lossy().contains(SECRET)
                || e.file_name().to_string_lossy().contains(SECRET_VAR)
        })
        .map(|e| e.path().display().to_string())
        .collect()
}

fn secrets_appear_nowhere(kind: Kind) {
    let Some(mut t) = Test::with_db(kind) else {
        return;
    };
    // PostgreSQL trusts the test user, so any password connects.
    let url = match kind {
        Kind::Postgres => t
            .db()
            .url
            .replacen("postgres@", &format!("postgres:{URL_PASSWORD}@"), 1),
        _ => t.db().url.clone(),
    };
    t.env("LOCKSTEP_LOG", "trace");
    t.write("config/app.ini", "[db]\npool = 5\n");
    t.write(
        "config-migrations/0001_db.yaml",
        format!(
            "file: app.ini\noperations:\n  - set: {{section: db, key: password, value: {SECRET}, secret: true}}\n  - set: {{section: db, key: token, value: \"${{token}}\", secret: true}}\n  - set: {{section: db, key: pool, value: 10}}\n"
        ),
    );
    t.migration(
        "0001_one.sql",
        "-- lockstep:up\nCREATE TABLE one (id INT);\n-- lockstep:down\nDROP TABLE one;\n",
    );
    let var = format!("token={SECRET_VAR}");
    let base = [
        "--database",
        url.as_str(),
        "--config-root",
        "config",
        "--var",
        var.as_str(),
        "-vvv",
    ];
    let run = |t: &Test, cmd: &[&str]| -> Output {
        let mut args: Vec<&str> = base.to_vec();
        args.extend(cmd);
        let out = t.run(&args);
        out.expect_stderr(&["settings resolved"]);
        out
    };
    let mut outputs = Vec::new();
    for cmd in [
        &["apply", "--check", "--diff"][..],
        &["apply", "--diff", "--backup"],
        &["status"],
        &["verify"],
        &["plan", "--detailed-exitcode"],
        &["sql"],
        &["hosts"],
    ] {
        let out = run(&t, cmd);
        assert_eq!(out.code, 0, "{cmd:?}: {}\n{}", out.stdout, out.stderr);
        outputs.push(out);
    }
    // A hand edit of the secret: drift names the key, never the value.
    let edited = String::from_utf8(t.read("config/app.ini"))
        .unwrap()
        .replace(SECRET, "changed-by-hand");
    t.write("config/app.ini", edited);
    t.write(
        "config-migrations/0002_more.yaml",
        "file: app.ini\noperations:\n  - set: {section: db, key: pool, value: 20}\n",
    );
    let drift = run(&t, &["apply", "--diff"]);
    drift.assert_failed();
    outputs.push(drift);
    for cmd in [
        &["apply", "--diff", "--on-drift", "force", "--backup"][..],
        &["rollback", "--to", "0001", "--diff"],
    ] {
        let out = run(&t, cmd);
        out.assert_ok();
        outputs.push(out);
    }
    // A failing secret operation: the message names the key, not the value.
    t.write(
        "config-migrations/0003_dup.yaml",
        "file: app.ini\noperations:\n  - set: {section: db, key: token, value: \"${token}\", secret: true}\n",
    );
    t.write("config/app.ini", "[db]\ntoken = a\ntoken = b\n");
    outputs.push(run(&t, &["resolve", "--adopt", "app.ini"]));
    let failing = run(&t, &["apply"]);
    failing
        .assert_failed()
        .assert_msg_contains(&["token", "appears 2 times"]);
    outputs.push(failing);
    // A database that refuses the password is not the case here; a wrong
    // database name fails the connection with the URL in the message.
    let wrong = url.replace(&url[url.rfind('/').unwrap()..], "/no_such_database_here");
    let refused = t.run(&[
        "--database",
        wrong.as_str(),
        "--config-root",
        "config",
        "-vvv",
        "apply",
    ]);
    if kind == Kind::Postgres {
        refused
            .expect_stderr(&["settings resolved"])
            .assert_failed()
            .assert_msg_contains(&["***"]);
    }
    outputs.push(refused);
    for out in &outputs {
        assert!(!out.stdout.is_empty() || !out.stderr.is_empty());
        assert_eq!(
            leaks(out),
            Vec::<&str>::new(),
            "leaked in:\n{}\n{}",
            out.stdout,
            out.stderr
        );
    }
    // Nothing under the state dir (state, lock files, the default SQLite
    // database) holds one, and no backup is named after one.
    assert_eq!(
        files_holding_a_secret(&t.path().join(".lockstep")),
        Vec::<String>::new()
    );
    for entry in std::fs::read_dir(t.path().join("config")).unwrap() {
        let name = entry.unwrap().file_name().to_string_lossy().into_owned();
        assert!(
            !name.contains(SECRET) && !name.contains(SECRET_VAR),
            "{name}"
        );
    }
    // The database's history neither.
    if kind == Kind::Postgres {
        let log = t.db().strings("SELECT CAST(COALESCE(detail, '') || action || state || host AS TEXT) FROM lockstep_log");
        assert!(log
            .iter()
            .all(|l| !l.contains(SECRET) && !l.contains(SECRET_VAR) && !l.contains(URL_PASSWORD)));
    }
}

#[test]
fn secrets_appear_nowhere_sqlite() {
    secrets_appear_nowhere(Kind::Sqlite);
}

#[test]
fn secrets_appear_nowhere_postgres() {
    secrets_appear_nowhere(Kind::Postgres);
}

// ---- Modes and owners -----------------------------------------------------

#[test]
fn state_dir_is_private_whatever_the_umask() {
    // Found here: `config.lock`, the SQLite lock file and the default SQLite
    // database were created 0644 (world-readable under the usual umask).
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    t.write(
        "config-migrations/0001_m.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    t.migration("0001_one.sql", "CREATE TABLE one (id INT);\n");
    // The default database (in the state dir), under umask 000.
    let mut cmd = t.command(&["--config-root", "config", "apply"]);
    let args: Vec<_> = cmd.get_args().map(|a| a.to_owned()).collect();
    let mut sh = std::process::Command::new("sh");
    sh.arg("-c")
        .arg("umask 000; exec \"$@\"")
        .arg("sh")
        .arg(cmd.get_program())
        .args(args)
        .current_dir(t.path());
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => sh.env(k, v),
            None => sh.env_remove(k),
        };
    }
    let _ = &mut cmd;
    crate::test::output(sh.output().unwrap()).assert_ok();
    let dir = t.path().join(".lockstep");
    assert_eq!(std::fs::metadata(&dir).unwrap().mode() & 0o777, 0o700);
    let mut seen = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let entry = entry.unwrap();
        let name = entry.file_name().to_string_lossy().into_owned();
        let mode = entry.metadata().unwrap().mode() & 0o777;
        assert_eq!(mode, 0o600, "{name} is {mode:o}");
        seen.push(name);
    }
    seen.sort();
    for expected in [
        "config-state.json",
        "config.lock",
        "lockstep.db",
        "lockstep.db.lockstep-lock",
    ] {
        assert!(
            seen.iter().any(|s| s == expected),
            "{expected} not in {seen:?}"
        );
    }
}

/// The file's mode, owner and group.
fn owner_and_mode(path: &Path) -> (u32, u32, u32) {
    let m = std::fs::metadata(path).unwrap();
    (m.mode() & 0o7777, m.uid(), m.gid())
}

#[test]
fn mode_and_owner_survive_every_kind_of_write() {
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    let path = t.path().join("config/app.ini");
    // Someone else's file (nobody:nogroup), group-readable, setgid.
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o2640)).unwrap();
    let wanted = owner_and_mode(&path);
    assert_eq!(wanted, (0o2640, 65534, 65534));
    t.write(
        "config-migrations/0001_m.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    let config = |args: &[&str]| {
        let mut all = vec!["--config-root", "config"];
        all.extend(args);
        t.run(&all)
    };
    config(&["apply", "--backup"]).assert_ok();
    assert_eq!(owner_and_mode(&path), wanted, "after apply --backup");
    t.write(
        "config-migrations/0002_m.yaml",
        "file: app.ini\noperations:\n  - delete: {section: a, key: x}\n  - set: {section: b, key: y, value: 3}\n",
    );
    config(&["apply"]).assert_ok();
    assert_eq!(owner_and_mode(&path), wanted, "after apply");
    config(&["rollback", "--to", "0001"]).assert_ok();
    assert_eq!(owner_and_mode(&path), wanted, "after rollback");
    // A hand edit, adopted, then forced over.
    std::fs::write(&path, "[a]\nx = 5\n").unwrap();
    assert_eq!(owner_and_mode(&path), wanted);
    config(&["resolve", "--adopt", "app.ini"]).assert_ok();
    config(&["apply", "--on-drift", "force"]).assert_ok();
    assert_eq!(
        owner_and_mode(&path),
        wanted,
        "after apply --on-drift force"
    );
    assert_eq!(t.read("config/app.ini"), b"[a]\n\n[b]\ny = 3\n");
}
