//! Atomic file replacement: a temporary file in the same directory, the
//! original's mode and owner copied onto it, fsync, rename over the
//! original, fsync the directory. A crash leaves the old file or the new
//! one, never a torn one, and no temporary file behind on error.

use anyhow::{Context, Result};
use std::io::Write;
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;

/// Replaces `path` with `bytes`. An existing file keeps its mode, owner and
/// group; a new one gets `new_mode`.
pub fn replace(path: &Path, bytes: &[u8], new_mode: u32) -> Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let existing = std::fs::metadata(path).ok();
    let mut temp = tempfile::Builder::new()
        .prefix(&format!(
            ".{}.",
            path.file_name()
                .map_or("lockstep".into(), |n| n.to_string_lossy())
        ))
        .suffix(".lockstep-tmp")
        .tempfile_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    match &existing {
        Some(meta) => {
            // Owner first: chown may clear set-id bits that chmod then restores.
            std::os::unix::fs::fchown(temp.as_file(), Some(meta.uid()), Some(meta.gid()))
                .with_context(|| format!("cannot give the new {} its owner", path.display()))?;
            temp.as_file()
                .set_permissions(std::fs::Permissions::from_mode(meta.mode() & 0o7777))
                .with_context(|| format!("cannot give the new {} its mode", path.display()))?;
        }
        None => temp
            .as_file()
            .set_permissions(std::fs::Permissions::from_mode(new_mode))
            .with_context(|| format!("cannot set the mode of the new {}", path.display()))?,
    }
    temp.write_all(bytes)
        .and_then(|_| temp.as_file().sync_all())
        .with_context(|| format!("cannot write {} (is the disk full?)", path.display()))?;
    temp.persist(path)
        .map_err(|e| e.error)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

/// Removes the temporary files a killed run left beside `path`
/// (`.<name>.XXXXXX.lockstep-tmp`, made by [`replace`]). Only under the
/// state lock, when no other lockstep can be writing one.
pub fn remove_stale_temp_files(path: &Path) {
    let (Some(dir), Some(name)) = (path.parent(), path.file_name()) else {
        return;
    };
    let dir = if dir.as_os_str().is_empty() {
        Path::new(".")
    } else {
        dir
    };
    let prefix = format!(".{}.", name.to_string_lossy());
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let n = file_name.to_string_lossy();
        if n.starts_with(&prefix)
            && n.ends_with(".lockstep-tmp")
            && entry.file_type().is_ok_and(|t| t.is_file())
        {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// Copies `path` to `<path>.<timestamp>~` beside it, as Ansible's
/// `backup: yes` does; returns the backup's path.
pub fn backup(path: &Path) -> Result<std::path::PathBuf> {
    let stamp = chrono::Utc::now().format("%Y-%m-%dT%H%M%S%.3fZ");
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".{stamp}~"));
    let target = std::path::PathBuf::from(name);
    let bytes = std::fs::read(path)
        .with_context(|| format!("cannot read {} to back it up", path.display()))?;
    let mode = std::fs::metadata(path)
        .map(|m| m.mode() & 0o7777)
        .unwrap_or(0o600);
    replace(&target, &bytes, mode)?;
    Ok(target)
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
}
