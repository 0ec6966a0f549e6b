//! What a write keeps and what it must not: a config file's POSIX ACLs and
//! extended attributes survive every kind of write (the file is replaced by
//! a new inode); a `--backup` copy keeps the original's owner and group but
//! not its set-user-id and set-group-id bits; a state directory other users
//! can write to is refused.
//!
//! The ACL tests need `setfacl`/`getfacl` and `setfattr`/`getfattr` (Debian
//! packages `acl` and `attr`, which `scripts/test` installs when it can);
//! without them they skip loudly, unless `LOCKSTEP_TEST_REQUIRE_TOOLS=1` (as
//! in CI) makes that a failure.

use crate::test::{Output, Test};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;

/// Whether the ACL and xattr tools are here; fails in CI when they are not.
fn acl_tools() -> bool {
    let found = ["setfacl", "getfacl", "setfattr", "getfattr"]
        .iter()
        .all(|tool| Command::new(tool).arg("--version").output().is_ok());
    if !found {
        assert!(
            std::env::var("LOCKSTEP_TEST_REQUIRE_TOOLS").as_deref() != Ok("1"),
            "setfacl/getfacl/setfattr/getfattr are missing: apt-get install acl attr"
        );
        crate::test::skip("setfacl/setfattr not installed (apt-get install acl attr)");
    }
    found
}

fn tool(args: &[&str], path: &Path) -> String {
    let out = Command::new(args[0])
        .args(&args[1..])
        .arg(path)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// The ACL and every extended attribute, as `getfattr` dumps them (the
/// ACL included, as `system.posix_acl_access`), without the file name.
fn attributes(path: &Path) -> String {
    let dump = tool(&["getfattr", "--absolute-names", "-d", "-m", "-"], path);
    dump.lines()
        .filter(|l| !l.starts_with("# file:"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn config(t: &Test, args: &[&str]) -> Output {
    let mut all = vec!["--config-root", "config"];
    all.extend(args);
    t.run(&all)
}

fn backup_file(t: &Test, out: &Output) -> std::path::PathBuf {
    let backup = out.json["config"]["files"][0]["backup_file"]
        .as_str()
        .unwrap_or_else(|| panic!("no backup_file: {}", out.stdout));
    t.path().join(backup)
}

#[test]
fn acls_and_extended_attributes_survive_every_write() {
    if !acl_tools() {
        return;
    }
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    let path = t.path().join("config/app.ini");
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o640)).unwrap();
    tool(&["setfacl", "-m", "u:1234:rw,g:5678:r"], &path);
    tool(&["setfattr", "-n", "user.origin", "-v", "deploy"], &path);
    let wanted = attributes(&path);
    assert!(
        wanted.contains("system.posix_acl_access=") && wanted.contains("user.origin=\"deploy\""),
        "{wanted}"
    );
    let acl = tool(&["getfacl", "--omit-header", "--numeric"], &path);
    assert!(acl.contains("user:1234:rw-"), "{acl}");
    t.write(
        "config-migrations/0001_m.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    let out = config(&t, &["apply", "--backup"]);
    out.assert_ok();
    assert_eq!(t.read("config/app.ini"), b"[a]\nx = 2\n");
    assert_eq!(attributes(&path), wanted, "after apply --backup");
    let backup = backup_file(&t, &out);
    assert_eq!(attributes(&backup), wanted, "the backup");
    t.write(
        "config-migrations/0002_m.yaml",
        "file: app.ini\noperations:\n  - set: {section: b, key: y, value: 3}\n",
    );
    config(&t, &["apply"]).assert_ok();
    assert_eq!(attributes(&path), wanted, "after apply");
    config(&t, &["rollback", "--to", "0001"]).assert_ok();
    assert_eq!(attributes(&path), wanted, "after rollback");
    std::fs::write(&path, "[a]\nx = 5\n").unwrap();
    config(&t, &["apply", "--on-drift", "force"]).assert_ok();
    assert_eq!(attributes(&path), wanted, "after apply --on-drift force");
    assert_eq!(tool(&["getfacl", "--omit-header", "--numeric"], &path), acl);
}

#[test]
fn backup_keeps_the_owner_and_drops_set_id_bits() {
    let t = Test::new();
    t.write("config/app.ini", "[a]\nx = 1\n");
    let path = t.path().join("config/app.ini");
    std::os::unix::fs::chown(&path, Some(65534), Some(65534)).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o6750)).unwrap();
    t.write(
        "config-migrations/0001_m.yaml",
        "file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
    );
    let out = config(&t, &["apply", "--backup"]);
    out.assert_ok();
    let backup = std::fs::metadata(backup_file(&t, &out)).unwrap();
    assert_eq!(
        (backup.mode() & 0o7777, backup.uid(), backup.gid()),
        (0o750, 65534, 65534),
        "the backup's mode and owner"
    );
    let file = std::fs::metadata(&path).unwrap();
    assert_eq!(
        (file.mode() & 0o7777, file.uid(), file.gid()),
        (0o6750, 65534, 65534),
        "the file's own mode and owner"
    );
}

#[test]
fn state_dir_writable_by_others_is_refused() {
    for mode in [0o777, 0o1777, 0o770] {
        let t = Test::new();
        t.write("config/app.ini", "[a]\nx = 1\n");
        t.write(
            "config-migrations/0001_m.yaml",
            "file: app.ini\noperations:\n  - set: {section: a, key: x, value: 2}\n",
        );
        let dir = t.path().join(".lockstep");
        std::fs::create_dir(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(mode)).unwrap();
        for args in [&["apply"][..], &["status"], &["apply", "--check"]] {
            let out = config(&t, args);
            out.assert_failed().assert_msg_contains(&[
                ".lockstep",
                "writable by other users",
                &format!("{mode:04o}"),
                "chmod 700",
            ]);
        }
        assert_eq!(t.read("config/app.ini"), b"[a]\nx = 1\n", "{mode:o}");
        assert_eq!(
            std::fs::metadata(&dir).unwrap().mode() & 0o7777,
            mode,
            "the directory was changed"
        );
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0, "{mode:o}");
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
        config(&t, &["apply"]).assert_ok();
        assert_eq!(t.read("config/app.ini"), b"[a]\nx = 2\n");
    }
}
