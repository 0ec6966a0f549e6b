//! Keeps config files inside the config root: a `file:` that is absolute
//! outside it, climbs out with `..`, or resolves through a symlink to a
//! place outside it is refused. Returns the real path to read and write.

use std::path::{Component, Path, PathBuf};

/// The real path of `file` inside `root`, or a message saying why not.
pub fn resolve_in_root(root: &Path, file: &str) -> Result<PathBuf, String> {
    let root_real = root
        .canonicalize()
        .map_err(|e| format!("the config root {} is not usable: {e}", root.display()))?;
    let requested = Path::new(file);
    if requested.components().any(|c| c == Component::ParentDir) {
        return Err(format!(
            "`{file}` contains `..`; name files relative to the config root {}",
            root.display()
        ));
    }
    let joined = if requested.is_absolute() {
        requested.to_path_buf()
    } else {
        root_real.join(requested)
    };
    // The longest part that exists, resolved with its symlinks; the rest is
    // created below it and so cannot escape.
    let mut existing = joined.as_path();
    let mut rest: Vec<&std::ffi::OsStr> = Vec::new();
    let real = loop {
        match existing.canonicalize() {
            Ok(real) => break real,
            Err(_) => {
                let (Some(parent), Some(name)) = (existing.parent(), existing.file_name()) else {
                    return Err(format!("`{file}` cannot be resolved"));
                };
                rest.push(name);
                existing = parent;
            }
        }
    };
    let mut real = real;
    for name in rest.iter().rev() {
        real.push(name);
    }
    if !real.starts_with(&root_real) {
        return Err(format!(
            "`{file}` resolves to {}, outside the config root {}; lockstep only edits files inside it",
            real.display(),
            root.display()
        ));
    }
    if real.is_dir() {
        return Err(format!("`{file}` is a directory, not a config file"));
    }
    Ok(real)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn confinement() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/app.ini"), "").unwrap();
        std::fs::write(dir.path().join("outside.ini"), "").unwrap();
        let real_root = root.canonicalize().unwrap();
        assert_eq!(
            resolve_in_root(&root, "etc/app.ini").unwrap(),
            real_root.join("etc/app.ini")
        );
        assert_eq!(
            resolve_in_root(&root, "new/dir/x.ini").unwrap(),
            real_root.join("new/dir/x.ini")
        );
        assert!(resolve_in_root(&root, "../outside.ini")
            .unwrap_err()
            .contains("`..`"));
        assert!(resolve_in_root(&root, "etc/../../outside.ini").is_err());
        let abs = dir.path().join("outside.ini").display().to_string();
        assert!(resolve_in_root(&root, &abs)
            .unwrap_err()
            .contains("outside the config root"));
        assert!(resolve_in_root(&root, "/proc/self/root/etc/passwd").is_err());
        std::os::unix::fs::symlink(dir.path().join("outside.ini"), root.join("link.ini")).unwrap();
        assert!(resolve_in_root(&root, "link.ini")
            .unwrap_err()
            .contains("outside the config root"));
        std::os::unix::fs::symlink(dir.path(), root.join("linkdir")).unwrap();
        assert!(resolve_in_root(&root, "linkdir/new.ini").is_err());
        std::os::unix::fs::symlink(root.join("etc/app.ini"), root.join("inside.ini")).unwrap();
        assert_eq!(
            resolve_in_root(&root, "inside.ini").unwrap(),
            real_root.join("etc/app.ini")
        );
        assert!(resolve_in_root(&root, "etc")
            .unwrap_err()
            .contains("directory"));
    }
}
