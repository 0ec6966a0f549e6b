//! Atomic file replacement through a directory handle: a temporary file
//! created in the file's directory, the original's owner, mode, extended
//! attributes and ACLs copied onto it, fsync, rename over the original,
//! fsync the directory. A crash leaves the old file or the new one, never a
//! torn one, and no temporary file behind on error. Config files are
//! written through the handle their path was resolved to (see
//! [`crate::config::path`]), never by path.

use crate::config::path::{open_regular, ConfigPath};
use anyhow::{anyhow, Context, Result};
use rustix::fs::{AtFlags, Mode, OFlags};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::io::Write;
use std::os::fd::{AsFd, BorrowedFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

const TEMP_SUFFIX: &str = ".lockstep-tmp";

/// Test-only: when `LOCKSTEP_TEST_PAUSE_BEFORE_CONFIG_WRITE` names a file,
/// `apply` creates `<file>.waiting` after planning under the lock and waits
/// (at most a minute) until `<file>` exists, so a test can change the
/// config root deterministically between plan and write. Unset in every
/// real run.
pub fn pause_for_tests() {
    pause_at("LOCKSTEP_TEST_PAUSE_BEFORE_CONFIG_WRITE");
}

/// Test-only: when `LOCKSTEP_TEST_PAUSE_IN_PREVIEW` names a file, `apply`'s
/// unlocked preview creates `<file>.waiting` after reading the config state
/// and before reading the config files, and waits (at most a minute) until
/// `<file>` exists, so a test can run another apply in between. Unset in
/// every real run.
pub fn pause_in_preview_for_tests() {
    pause_at("LOCKSTEP_TEST_PAUSE_IN_PREVIEW");
}

/// Waits at the gate file the environment variable `var` names, if set.
fn pause_at(var: &str) {
    let Some(gate) = std::env::var_os(var) else {
        return;
    };
    let gate = PathBuf::from(gate);
    let mut waiting = gate.clone().into_os_string();
    waiting.push(".waiting");
    let _ = std::fs::write(&waiting, b"");
    let started = std::time::Instant::now();
    while !gate.exists() && started.elapsed() < std::time::Duration::from_secs(60) {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
}

/// What a file lockstep creates gets (an existing file keeps its own):
/// a mode, and an owner and group when not the running user's.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Creation {
    pub mode: u32,
    pub uid: Option<u32>,
    pub gid: Option<u32>,
}

impl Creation {
    pub fn mode(mode: u32) -> Creation {
        Creation {
            mode,
            uid: None,
            gid: None,
        }
    }
}

impl ConfigPath {
    /// Replaces the file with `bytes`. An existing file keeps its mode,
    /// owner, group, extended attributes and ACLs; a new one gets
    /// `new`. Refused when a directory on the path changed since it
    /// was resolved.
    pub fn replace(&self, bytes: &[u8], new: Creation) -> Result<()> {
        self.replace_moved(bytes, None, new)
    }

    /// Writes `bytes` here as `from` moved (a `move_file`): the new file
    /// keeps `from`'s mode, owner, group, extended attributes and ACLs, as
    /// [`ConfigPath::replace`] keeps a replaced file's. Without `from`, or
    /// when it is gone, as [`ConfigPath::replace`]. `from` stays.
    pub fn replace_moved(
        &self,
        bytes: &[u8],
        from: Option<&ConfigPath>,
        new: Creation,
    ) -> Result<()> {
        let full = self.full_path();
        let (dir, name) = self.dir_for_write()?;
        let moved = match from {
            Some(from) => from.open().with_context(|| {
                format!("cannot open {} to move it", from.full_path().display())
            })?,
            None => None,
        };
        let original = match moved {
            Some(file) => Some(file),
            None => open_regular(dir, name)
                .with_context(|| format!("cannot open {} to replace it", full.display()))?,
        };
        write_at(dir, name, bytes, new, original.as_ref(), true)
            .with_context(|| format!("cannot replace {}", full.display()))
    }

    /// Removes the file through its directory's handle; one already gone
    /// is no error.
    pub fn remove(&self) -> Result<()> {
        let full = self.full_path();
        let (dir, name) = self.dir_for_write()?;
        match rustix::fs::unlinkat(dir, name, AtFlags::empty()) {
            Ok(()) | Err(Errno::NOENT) => Ok(()),
            Err(e) => Err(std::io::Error::from(e))
                .with_context(|| format!("cannot remove {}", full.display())),
        }
    }

    /// Copies the file to `<name>.<timestamp>~` beside it, as Ansible's
    /// `backup: yes` does: same owner, group, extended attributes and mode
    /// without set-user-id and set-group-id. Returns the backup's path.
    pub fn backup(&self) -> Result<PathBuf> {
        use std::io::Read;
        let full = self.full_path();
        let (dir, name) = self.dir_for_write()?;
        let cannot = || format!("cannot read {} to back it up", full.display());
        let mut original = open_regular(dir, name)
            .with_context(cannot)?
            .ok_or_else(|| anyhow!("{} does not exist", full.display()))
            .with_context(cannot)?;
        let mut bytes = Vec::new();
        original.read_to_end(&mut bytes).with_context(cannot)?;
        let stamp = chrono::Utc::now().format("%Y-%m-%dT%H%M%S%.3fZ");
        let mut backup = name.to_owned();
        backup.push(format!(".{stamp}~"));
        let target = full.with_file_name(&backup);
        write_at(
            dir,
            &backup,
            &bytes,
            Creation::mode(0o600),
            Some(&original),
            false,
        )
        .with_context(|| format!("cannot write the backup {}", target.display()))?;
        Ok(target)
    }

    /// Removes the temporary files a killed run left beside the file
    /// (`.<name>.XXXXXX.lockstep-tmp`). Only under the state lock, when no
    /// other lockstep can be writing one.
    pub fn remove_stale_temp_files(&self) {
        if let (Some(dir), name) = self.dir_and_name() {
            remove_temp_files_at(dir, name);
        }
    }
}

/// Replaces `path` (lockstep's own files: the state) with `bytes`, the way
/// [`ConfigPath::replace`] does.
pub fn replace(path: &Path, bytes: &[u8], new_mode: u32) -> Result<()> {
    let (dir, name) =
        parent(path).with_context(|| format!("cannot open the directory of {}", path.display()))?;
    let original = open_regular(&dir, &name)
        .with_context(|| format!("cannot open {} to replace it", path.display()))?;
    write_at(
        &dir,
        &name,
        bytes,
        Creation::mode(new_mode),
        original.as_ref(),
        true,
    )
    .with_context(|| format!("cannot replace {}", path.display()))
}

/// Removes the temporary files a killed run left beside `path`.
pub fn remove_stale_temp_files(path: &Path) {
    if let Ok((dir, name)) = parent(path) {
        remove_temp_files_at(&dir, &name);
    }
}

fn parent(path: &Path) -> std::io::Result<(OwnedFd, OsString)> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("no file name"))?;
    let fd = rustix::fs::open(
        dir,
        OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    )?;
    Ok((fd, name.to_owned()))
}

/// Writes `bytes` to a new temporary file in `dir` and renames it over
/// `name`. With `like`, the new file takes that file's owner, group, mode
/// (set-id bits only if `keep_set_id`) and extended attributes; without,
/// `new`'s.
fn write_at(
    dir: &impl AsFd,
    name: &OsStr,
    bytes: &[u8],
    new: Creation,
    like: Option<&std::fs::File>,
    keep_set_id: bool,
) -> Result<()> {
    let dir = dir.as_fd();
    let (temp_name, temp) = create_temp(dir, name).context("cannot create a temporary file")?;
    let result = (|| -> Result<()> {
        match like {
            Some(original) => {
                let meta = original.metadata()?;
                // Owner first: chown clears set-id bits that chmod then restores.
                std::os::unix::fs::fchown(&temp, Some(meta.uid()), Some(meta.gid()))
                    .context("cannot give the new file its owner")?;
                let mask = if keep_set_id { 0o7777 } else { 0o1777 };
                temp.set_permissions(std::fs::Permissions::from_mode(meta.mode() & mask))
                    .context("cannot give the new file its mode")?;
                copy_xattrs(original, &temp)?;
            }
            None => {
                if new.uid.is_some() || new.gid.is_some() {
                    std::os::unix::fs::fchown(&temp, new.uid, new.gid)
                        .context("cannot give the new file its owner and group")?;
                }
                temp.set_permissions(std::fs::Permissions::from_mode(new.mode))
                    .context("cannot set the mode of the new file")?
            }
        }
        (&temp)
            .write_all(bytes)
            .and_then(|_| temp.sync_all())
            .context("cannot write it (is the disk full?)")?;
        rustix::fs::renameat(dir, &temp_name, dir, name).map_err(std::io::Error::from)?;
        Ok(())
    })();
    if result.is_err() {
        let _ = rustix::fs::unlinkat(dir, &temp_name, AtFlags::empty());
        return result;
    }
    if let Ok(d) = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        let _ = rustix::fs::fsync(d);
    }
    Ok(())
}

/// A new, empty, private file `.<name>.XXXXXX.lockstep-tmp` in `dir`.
fn create_temp(dir: BorrowedFd<'_>, name: &OsStr) -> std::io::Result<(OsString, std::fs::File)> {
    loop {
        let mut temp = OsString::from(".");
        temp.push(name);
        temp.push(".");
        temp.push(
            std::iter::repeat_with(fastrand::alphanumeric)
                .take(6)
                .collect::<String>(),
        );
        temp.push(TEMP_SUFFIX);
        match rustix::fs::openat(
            dir,
            &temp,
            OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::NOFOLLOW | OFlags::CLOEXEC,
            Mode::from_raw_mode(0o600),
        ) {
            Ok(fd) => return Ok((temp, std::fs::File::from(fd))),
            Err(Errno::EXIST) => continue,
            Err(e) => return Err(e.into()),
        }
    }
}

/// Copies every extended attribute of `from` onto `to`: POSIX ACLs
/// (`system.posix_acl_access`), `user.*`, and SELinux labels and the
/// like where the kernel lets this process set them.
fn copy_xattrs(from: &std::fs::File, to: &std::fs::File) -> Result<()> {
    let names = match sized(
        || rustix::fs::flistxattr_query(from),
        |buf| rustix::fs::flistxattr(from, buf),
    ) {
        Ok(n) => n,
        Err(Errno::NOTSUP) => return Ok(()),
        Err(e) => {
            return Err(std::io::Error::from(e)).context("cannot list the extended attributes")
        }
    };
    for name in names.split(|b| *b == 0).filter(|n| !n.is_empty()) {
        let name = OsStr::from_bytes(name);
        let value = match sized(
            || rustix::fs::fgetxattr_query(from, name),
            |buf| rustix::fs::fgetxattr(from, name, buf),
        ) {
            Ok(v) => v,
            Err(Errno::NODATA) => continue,
            Err(e) => {
                return Err(std::io::Error::from(e)).with_context(|| {
                    format!(
                        "cannot read the extended attribute {}",
                        name.to_string_lossy()
                    )
                })
            }
        };
        if let Err(e) = rustix::fs::fsetxattr(to, name, &value, rustix::fs::XattrFlags::empty()) {
            // Labels the kernel manages (`security.*`, `trusted.*`) are
            // kept where allowed; losing an ACL or a `user.*` attribute
            // silently is not.
            let essential = name.as_bytes().starts_with(b"user.")
                || name.as_bytes().starts_with(b"system.posix_acl");
            if essential {
                return Err(std::io::Error::from(e)).with_context(|| {
                    format!(
                        "cannot copy the extended attribute {}",
                        name.to_string_lossy()
                    )
                });
            }
        }
    }
    Ok(())
}

/// A value read with a size query first, again if it grew in between.
fn sized(
    query: impl Fn() -> rustix::io::Result<usize>,
    read: impl Fn(&mut [u8]) -> rustix::io::Result<usize>,
) -> rustix::io::Result<Vec<u8>> {
    loop {
        let mut buf = vec![0; query()?];
        match read(&mut buf) {
            Ok(n) => {
                buf.truncate(n);
                return Ok(buf);
            }
            Err(Errno::RANGE) => continue,
            Err(e) => return Err(e),
        }
    }
}

fn remove_temp_files_at(dir: &impl AsFd, name: &OsStr) {
    let Ok(listing) = rustix::fs::openat(
        dir,
        ".",
        OFlags::RDONLY | OFlags::DIRECTORY | OFlags::CLOEXEC,
        Mode::empty(),
    ) else {
        return;
    };
    let Ok(entries) = rustix::fs::Dir::new(listing) else {
        return;
    };
    let mut prefix = b".".to_vec();
    prefix.extend_from_slice(name.as_bytes());
    prefix.push(b'.');
    for entry in entries.flatten() {
        let n = entry.file_name().to_bytes();
        if n.starts_with(&prefix)
            && n.ends_with(TEMP_SUFFIX.as_bytes())
            && entry.file_type() == rustix::fs::FileType::RegularFile
        {
            let _ = rustix::fs::unlinkat(dir, entry.file_name(), AtFlags::empty());
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_mode_and_leaves_no_temp_file() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.ini");
        std::fs::write(&p, "a = 1\n").unwrap();
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o640)).unwrap();
        replace(&p, b"a = 2\n", 0o644).unwrap();
        assert_eq!(std::fs::read(&p).unwrap(), b"a = 2\n");
        assert_eq!(std::fs::metadata(&p).unwrap().mode() & 0o777, 0o640);
        assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 1);
        replace(&dir.path().join("new.ini"), b"x", 0o600).unwrap();
        assert_eq!(
            std::fs::metadata(dir.path().join("new.ini"))
                .unwrap()
                .mode()
                & 0o777,
            0o600
        );
    }

    #[test]
    fn copies_user_xattrs_where_the_file_system_has_them() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("app.ini");
        std::fs::write(&p, "a = 1\n").unwrap();
        let f = std::fs::File::open(&p).unwrap();
        if rustix::fs::fsetxattr(
            &f,
            "user.origin",
            b"deploy",
            rustix::fs::XattrFlags::empty(),
        )
        .is_err()
        {
            eprintln!(
                "SKIPPED: no user.* extended attributes on {}",
                dir.path().display()
            );
            return;
        }
        let root = crate::config::path::ConfigRoot::open(dir.path()).unwrap();
        root.resolve("app.ini")
            .unwrap()
            .replace(b"a = 2\n", Creation::mode(0o644))
            .unwrap();
        assert_eq!(user_origin(&p), b"deploy");
    }

    /// The `user.origin` extended attribute of the file at `path`.
    fn user_origin(path: &Path) -> Vec<u8> {
        let f = std::fs::File::open(path).unwrap();
        sized(
            || rustix::fs::fgetxattr_query(&f, "user.origin"),
            |b| rustix::fs::fgetxattr(&f, "user.origin", b),
        )
        .unwrap()
    }

    /// A moved file keeps the old one's mode and `user.*` attributes; the
    /// old one stays until removed.
    #[test]
    fn a_moved_file_keeps_mode_and_xattrs() {
        let dir = tempfile::tempdir().unwrap();
        let old = dir.path().join("app.ini");
        std::fs::write(&old, "a = 1\n").unwrap();
        std::fs::set_permissions(&old, std::fs::Permissions::from_mode(0o640)).unwrap();
        let xattrs = rustix::fs::fsetxattr(
            std::fs::File::open(&old).unwrap(),
            "user.origin",
            b"deploy",
            rustix::fs::XattrFlags::empty(),
        )
        .is_ok();
        let root = crate::config::path::ConfigRoot::open(dir.path()).unwrap();
        let from = root.resolve("app.ini").unwrap();
        let to = root.resolve("moved.ini").unwrap();
        to.replace_moved(b"a = 2\n", Some(&from), Creation::mode(0o644))
            .unwrap();
        let new = dir.path().join("moved.ini");
        assert_eq!(std::fs::read(&new).unwrap(), b"a = 2\n");
        assert_eq!(std::fs::metadata(&new).unwrap().mode() & 0o7777, 0o640);
        if xattrs {
            assert_eq!(user_origin(&new), b"deploy");
        } else {
            eprintln!("SKIPPED xattrs: no user.* extended attributes here");
        }
        assert!(old.exists());
        from.remove().unwrap();
        assert!(!old.exists());
        from.remove().unwrap();
    }

    #[test]
    fn stale_temp_files_of_the_file_only_are_removed() {
        let dir = tempfile::tempdir().unwrap();
        for n in [
            ".app.ini.abc123.lockstep-tmp",
            ".other.ini.abc123.lockstep-tmp",
            "app.ini",
        ] {
            std::fs::write(dir.path().join(n), "").unwrap();
        }
        remove_stale_temp_files(&dir.path().join("app.ini"));
        let mut left: Vec<_> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().into_string().unwrap())
            .collect();
        left.sort();
        assert_eq!(left, [".other.ini.abc123.lockstep-tmp", "app.ini"]);
    }
}
