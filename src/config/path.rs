//! Keeps config files inside the config root, also against a directory
//! swapped for a symlink while lockstep runs. The root is opened once; a
//! `file:` is resolved from that handle one component at a time (`openat`
//! with `O_NOFOLLOW`, as systemd's `chase` does): `..` and symlinks are
//! followed only while they stay inside the root. The result keeps the
//! handle of the file's directory, and every read and write goes through
//! it, so nothing that changes on the way afterwards can redirect a write.
//!
//! Not `openat2(RESOLVE_BENEATH)`: it refuses every absolute symlink, also
//! one that points inside the root, which lockstep follows.

use crate::files::ensure_regular;
use std::ffi::{OsStr, OsString};
use std::io;
use std::os::fd::{AsFd, OwnedFd};
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};
use std::sync::Arc;

use rustix::fs::{Mode, OFlags};
use rustix::io::Errno;

/// Why a `file:` is no config file lockstep may edit, or the config root
/// is unusable. An I/O failure is the `source()`, not part of the message:
/// print the whole chain ([`crate::error::chain`], or anyhow's `{:#}`).
/// Cloned with the plan's inputs, so the I/O error is shared.
#[derive(Debug, Clone, thiserror::Error)]
pub enum PathError {
    #[error("the config root {} is not usable", root.display())]
    RootUnusable {
        root: PathBuf,
        #[source]
        source: Arc<io::Error>,
    },
    #[error("`{file}` contains `..`; name files relative to the config root {}", root.display())]
    ParentDir { file: String, root: PathBuf },
    #[error(
        "`{file}` resolves to {}, outside the config root {}; lockstep only edits files inside it",
        resolved.display(),
        root.display()
    )]
    OutsideRoot {
        file: String,
        resolved: PathBuf,
        root: PathBuf,
    },
    #[error("`{file}` cannot be resolved")]
    Unresolvable {
        file: String,
        #[source]
        source: Arc<io::Error>,
    },
    #[error("`{file}` passes through too many symlinks")]
    TooManySymlinks { file: String },
    #[error("`{file}`: {} is not a directory", path.display())]
    NotADirectory { file: String, path: PathBuf },
    #[error("`{file}` is a directory, not a config file")]
    IsADirectory { file: String },
    #[error("the directory {} does not exist; create it first", dir.display())]
    NoDirectory { dir: PathBuf },
    #[error(
        "`{file}` changed while lockstep ran (a directory on its path was moved or replaced); \
         nothing was written to it. Check who changes the config root, then run lockstep again"
    )]
    Changed { file: String },
    #[error("cannot create the directory {} for `{file}`", dir.display())]
    CannotCreateDirectory {
        dir: PathBuf,
        file: String,
        #[source]
        source: Arc<io::Error>,
    },
}

fn io_error(e: Errno) -> Arc<io::Error> {
    Arc::new(io::Error::from(e))
}

/// How many symlinks one path may pass through, as Linux allows.
const MAX_SYMLINKS: usize = 40;

/// The config root, opened once.
#[derive(Debug, Clone)]
pub struct ConfigRoot {
    fd: Arc<OwnedFd>,
    /// As configured, for messages and for absolute `file:` values.
    given: PathBuf,
    /// With its symlinks resolved, for absolute symlinks and `file:` values.
    real: PathBuf,
}

/// A config file's place inside the root: the directory holding it (opened
/// while resolving) and its name there.
#[derive(Debug)]
pub struct ConfigPath {
    root: ConfigRoot,
    /// As the migration names it.
    file: String,
    /// `None` when a directory on the way does not exist.
    dir: Option<OwnedFd>,
    /// Device and inode of `dir`.
    dir_id: Option<(u64, u64)>,
    name: OsString,
    relative: PathBuf,
}

impl ConfigRoot {
    pub fn open(root: &Path) -> Result<ConfigRoot, PathError> {
        let unusable = |source: Arc<io::Error>| PathError::RootUnusable {
            root: root.to_path_buf(),
            source,
        };
        let real = root.canonicalize().map_err(|e| unusable(Arc::new(e)))?;
        let fd = rustix::fs::open(
            &real,
            OFlags::PATH | OFlags::DIRECTORY | OFlags::CLOEXEC,
            Mode::empty(),
        )
        .map_err(|e| unusable(io_error(e)))?;
        let given = std::path::absolute(root).unwrap_or_else(|_| root.to_path_buf());
        Ok(ConfigRoot {
            fd: Arc::new(fd),
            given,
            real,
        })
    }

    /// Where `file` is inside the root, or why not.
    pub fn resolve(&self, file: &str) -> Result<ConfigPath, PathError> {
        let requested = Path::new(file);
        if requested.components().any(|c| c == Component::ParentDir) {
            return Err(PathError::ParentDir {
                file: file.to_owned(),
                root: self.given.clone(),
            });
        }
        let outside = |real: &Path| PathError::OutsideRoot {
            file: file.to_owned(),
            resolved: real.to_path_buf(),
            root: self.given.clone(),
        };
        let relative = if requested.is_absolute() {
            self.strip_root(requested)
                .ok_or_else(|| outside(requested))?
        } else {
            requested.to_path_buf()
        };
        // The names still to walk, and the directories walked into (the
        // root itself is the bottom of the stack, never popped).
        let mut todo: std::collections::VecDeque<OsString> = names(&relative).collect();
        let mut dirs: Vec<(OwnedFd, OsString)> = Vec::new();
        let mut symlinks = 0;
        let cannot = |e: Errno| PathError::Unresolvable {
            file: file.to_owned(),
            source: io_error(e),
        };
        while let Some(name) = todo.pop_front() {
            if name == ".." {
                if dirs.pop().is_none() {
                    let mut real = self.real.clone();
                    real.pop();
                    real.extend(todo.iter());
                    return Err(outside(&real));
                }
                continue;
            }
            let here = dirs.last().map_or(self.fd.as_fd(), |(fd, _)| fd.as_fd());
            let fd = match rustix::fs::openat(
                here,
                name.as_os_str(),
                OFlags::PATH | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                Mode::empty(),
            ) {
                Ok(fd) => fd,
                Err(Errno::NOENT) if todo.iter().all(|n| n != "..") => {
                    // Created later, below what exists: cannot escape. A
                    // directory on the way that is missing has no handle.
                    let mut relative = self.walked(&dirs);
                    relative.push(&name);
                    relative.extend(todo.iter());
                    let dir = if todo.is_empty() {
                        Some(dup(here).map_err(cannot)?)
                    } else {
                        None
                    };
                    let name = relative.file_name().unwrap_or_default().to_owned();
                    return Ok(self.found(file, dir, name, relative));
                }
                Err(e) => return Err(cannot(e)),
            };
            let stat = rustix::fs::fstat(&fd).map_err(cannot)?;
            match rustix::fs::FileType::from_raw_mode(stat.st_mode) {
                rustix::fs::FileType::Symlink => {
                    symlinks += 1;
                    if symlinks > MAX_SYMLINKS {
                        return Err(PathError::TooManySymlinks {
                            file: file.to_owned(),
                        });
                    }
                    let target = rustix::fs::readlinkat(&fd, "", Vec::new()).map_err(cannot)?;
                    let target = PathBuf::from(OsStr::from_bytes(target.as_bytes()));
                    let rest: Vec<OsString> = if target.is_absolute() {
                        let mut real = target.clone();
                        real.extend(todo.iter());
                        let inside = self.strip_root(&target).ok_or_else(|| outside(&real))?;
                        dirs.clear();
                        names(&inside).collect()
                    } else {
                        names(&target).collect()
                    };
                    for n in rest.into_iter().rev() {
                        todo.push_front(n);
                    }
                }
                rustix::fs::FileType::Directory => dirs.push((fd, name)),
                _ if todo.is_empty() => {
                    let relative = self.walked(&dirs).join(&name);
                    let dir = dup(here).map_err(cannot)?;
                    return Ok(self.found(file, Some(dir), name, relative));
                }
                _ => {
                    return Err(PathError::NotADirectory {
                        file: file.to_owned(),
                        path: self.given.join(self.walked(&dirs)).join(&name),
                    })
                }
            }
        }
        Err(PathError::IsADirectory {
            file: file.to_owned(),
        })
    }

    /// `path` relative to the root, if it is inside it as configured or as
    /// resolved.
    fn strip_root(&self, path: &Path) -> Option<PathBuf> {
        [&self.given, &self.real]
            .into_iter()
            .find_map(|root| path.strip_prefix(root).ok())
            .map(Path::to_path_buf)
    }

    fn walked(&self, dirs: &[(OwnedFd, OsString)]) -> PathBuf {
        dirs.iter().map(|(_, n)| n.as_os_str()).collect()
    }

    fn found(
        &self,
        file: &str,
        dir: Option<OwnedFd>,
        name: OsString,
        relative: PathBuf,
    ) -> ConfigPath {
        let dir_id = dir
            .as_ref()
            .and_then(|d| rustix::fs::fstat(d).ok())
            .map(|s| (s.st_dev, s.st_ino));
        ConfigPath {
            root: self.clone(),
            file: file.to_owned(),
            dir,
            dir_id,
            name,
            relative,
        }
    }
}

/// The plain names of a path: no root, no `.`; `..` kept for the walk.
fn names(path: &Path) -> impl Iterator<Item = OsString> + '_ {
    path.components().filter_map(|c| match c {
        Component::Normal(n) => Some(n.to_owned()),
        Component::ParentDir => Some(OsString::from("..")),
        _ => None,
    })
}

fn dup(fd: std::os::fd::BorrowedFd<'_>) -> Result<OwnedFd, Errno> {
    rustix::io::fcntl_dupfd_cloexec(fd, 0)
}

/// `root` opened and `file` resolved in it.
pub fn resolve(root: &Path, file: &str) -> Result<ConfigPath, PathError> {
    ConfigRoot::open(root)?.resolve(file)
}

impl ConfigPath {
    /// The path relative to the root with every symlink resolved: two
    /// `file:` values name the same file when this is the same.
    pub fn identity(&self) -> &Path {
        &self.relative
    }

    /// `file` resolved in the same config root.
    pub fn resolve_in_root(&self, file: &str) -> Result<ConfigPath, PathError> {
        self.root.resolve(file)
    }

    /// The full path, for messages.
    pub fn full_path(&self) -> PathBuf {
        self.root.given.join(&self.relative)
    }

    /// The directory handle and the name in it, checking first that the
    /// directory is still the one found when planning, at the same place.
    pub(crate) fn dir_for_write(&self) -> Result<(&OwnedFd, &OsStr), PathError> {
        let Some(dir) = &self.dir else {
            let parent = self.relative.parent().unwrap_or(Path::new(""));
            return Err(PathError::NoDirectory {
                dir: self.root.given.join(parent),
            });
        };
        let again = self.root.resolve(&self.file)?;
        if again.relative != self.relative || again.dir_id != self.dir_id {
            return Err(PathError::Changed {
                file: self.file.clone(),
            });
        }
        Ok((dir, &self.name))
    }

    /// Whether a directory on the way to the file does not exist yet.
    pub fn lacks_directories(&self) -> bool {
        self.dir.is_none()
    }

    /// Creates the directories missing on the way to the file (mode 0755
    /// before the umask), each through the handle of the one above it and
    /// never through a symlink, so nothing outside the root is created;
    /// then resolves the file again, with its directory now there.
    pub fn create_directories(&self) -> Result<ConfigPath, PathError> {
        let parent = self.relative.parent().unwrap_or(Path::new(""));
        let cannot = |e: Errno| PathError::CannotCreateDirectory {
            dir: self.root.given.join(parent),
            file: self.file.clone(),
            source: io_error(e),
        };
        let mut here = dup(self.root.fd.as_fd()).map_err(cannot)?;
        for name in names(parent) {
            let open = |dir: &OwnedFd| {
                rustix::fs::openat(
                    dir,
                    name.as_os_str(),
                    OFlags::PATH | OFlags::DIRECTORY | OFlags::NOFOLLOW | OFlags::CLOEXEC,
                    Mode::empty(),
                )
            };
            here = match open(&here) {
                Ok(fd) => fd,
                Err(Errno::NOENT) => {
                    match rustix::fs::mkdirat(&here, name.as_os_str(), Mode::from_raw_mode(0o755)) {
                        Ok(()) | Err(Errno::EXIST) => {}
                        Err(e) => return Err(cannot(e)),
                    }
                    open(&here).map_err(cannot)?
                }
                // A symlink or a file where a directory should be: it
                // appeared since the path was resolved.
                Err(e) => return Err(cannot(e)),
            };
        }
        self.root.resolve(&self.file)
    }

    /// The directory handle, if the directory exists, and the file's name.
    pub(crate) fn dir_and_name(&self) -> (Option<&OwnedFd>, &OsStr) {
        (self.dir.as_ref(), &self.name)
    }

    /// Opens the file for reading through the directory handle: never
    /// through a symlink, never blocking (a FIFO or a device is refused
    /// once open, by what the open file is). `None` when it does not exist.
    pub fn open(&self) -> std::io::Result<Option<std::fs::File>> {
        let Some(dir) = &self.dir else {
            return Ok(None);
        };
        open_regular(dir, &self.name)
    }

    /// The file's bytes; `None` when it does not exist.
    pub fn read(&self) -> std::io::Result<Option<Vec<u8>>> {
        use std::io::Read;
        let Some(mut f) = self.open()? else {
            return Ok(None);
        };
        let mut bytes = Vec::new();
        f.read_to_end(&mut bytes)?;
        Ok(Some(bytes))
    }
}

/// Opens `name` in `dir` to read, refusing anything but a regular file
/// without ever blocking on it; `None` when it does not exist.
pub(crate) fn open_regular(dir: impl AsFd, name: &OsStr) -> std::io::Result<Option<std::fs::File>> {
    let fd = match rustix::fs::openat(
        dir,
        name,
        OFlags::RDONLY | OFlags::NOFOLLOW | OFlags::NONBLOCK | OFlags::NOCTTY | OFlags::CLOEXEC,
        Mode::empty(),
    ) {
        Ok(fd) => fd,
        Err(Errno::NOENT) => return Ok(None),
        Err(Errno::LOOP) => {
            return Err(std::io::Error::other(
                "it became a symlink while lockstep ran; run lockstep again",
            ))
        }
        Err(e) => return Err(e.into()),
    };
    let file = std::fs::File::from(fd);
    ensure_regular(&file.metadata()?)?;
    Ok(Some(file))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolved(root: &Path, file: &str) -> Result<PathBuf, String> {
        resolve(root, file)
            .map(|p| p.full_path())
            .map_err(|e| crate::error::chain(&e))
    }

    #[test]
    fn confinement() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        std::fs::create_dir_all(root.join("etc")).unwrap();
        std::fs::write(root.join("etc/app.ini"), "").unwrap();
        std::fs::write(dir.path().join("outside.ini"), "").unwrap();
        let real_root = root.canonicalize().unwrap();
        assert_eq!(
            resolved(&root, "etc/app.ini").unwrap(),
            real_root.join("etc/app.ini")
        );
        assert_eq!(
            resolved(&root, "new/dir/x.ini").unwrap(),
            real_root.join("new/dir/x.ini")
        );
        assert!(resolved(&root, "../outside.ini")
            .unwrap_err()
            .contains("`..`"));
        assert!(resolved(&root, "etc/../../outside.ini").is_err());
        let abs = dir.path().join("outside.ini").display().to_string();
        assert!(resolved(&root, &abs)
            .unwrap_err()
            .contains("outside the config root"));
        let inside = real_root.join("etc/app.ini").display().to_string();
        assert_eq!(
            resolved(&root, &inside).unwrap(),
            real_root.join("etc/app.ini")
        );
        assert!(resolved(&root, "/proc/self/root/etc/passwd").is_err());
        std::os::unix::fs::symlink(dir.path().join("outside.ini"), root.join("link.ini")).unwrap();
        assert!(resolved(&root, "link.ini")
            .unwrap_err()
            .contains("outside the config root"));
        std::os::unix::fs::symlink(dir.path(), root.join("linkdir")).unwrap();
        assert!(resolved(&root, "linkdir/new.ini").is_err());
        std::os::unix::fs::symlink("../../outside.ini", root.join("etc/up.ini")).unwrap();
        assert!(resolved(&root, "etc/up.ini")
            .unwrap_err()
            .contains("outside the config root"));
        std::os::unix::fs::symlink(root.join("etc/app.ini"), root.join("inside.ini")).unwrap();
        assert_eq!(
            resolved(&root, "inside.ini").unwrap(),
            real_root.join("etc/app.ini")
        );
        std::os::unix::fs::symlink("etc/../etc", root.join("etc2")).unwrap();
        assert_eq!(
            resolved(&root, "etc2/app.ini").unwrap(),
            real_root.join("etc/app.ini")
        );
        std::os::unix::fs::symlink("loop", root.join("loop")).unwrap();
        assert!(resolved(&root, "loop").unwrap_err().contains("too many"));
        assert!(resolved(&root, "etc").unwrap_err().contains("directory"));
        assert!(resolved(&root, "etc/app.ini/x")
            .unwrap_err()
            .contains("not a directory"));
    }

    #[test]
    fn an_io_failure_is_the_source_and_ends_the_message() {
        let dir = tempfile::tempdir().unwrap();
        let missing = dir.path().join("missing");
        let e = ConfigRoot::open(&missing).unwrap_err();
        let whole = format!(
            "the config root {} is not usable: No such file or directory (os error 2)",
            missing.display()
        );
        assert!(std::error::Error::source(&e).is_some());
        assert_eq!(crate::error::chain(&e), whole);
        assert_eq!(format!("{:#}", anyhow::Error::new(e)), whole);
    }

    #[test]
    fn aliases_share_one_identity() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path();
        std::fs::write(root.join("app.ini"), "").unwrap();
        std::os::unix::fs::symlink("app.ini", root.join("alias.ini")).unwrap();
        let abs = root.canonicalize().unwrap().join("app.ini");
        for name in [
            "app.ini",
            "./app.ini",
            "app.ini/",
            ".//app.ini",
            "alias.ini",
            abs.to_str().unwrap(),
        ] {
            assert_eq!(
                resolve(root, name).unwrap().identity(),
                Path::new("app.ini"),
                "{name}"
            );
        }
    }

    #[test]
    fn a_fifo_is_refused_without_blocking() {
        let dir = tempfile::tempdir().unwrap();
        let fifo = dir.path().join("pipe.ini");
        rustix::fs::mknodat(
            rustix::fs::CWD,
            &fifo,
            rustix::fs::FileType::Fifo,
            Mode::from_raw_mode(0o600),
            0,
        )
        .unwrap();
        let err = resolve(dir.path(), "pipe.ini").unwrap().read().unwrap_err();
        assert!(err.to_string().contains("FIFO"), "{err}");
        assert!(crate::files::read_regular(&fifo)
            .unwrap_err()
            .to_string()
            .contains("FIFO"));
    }
}
