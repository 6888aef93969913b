//! Small persistent state of the handlers and the watchdog (restart times,
//! failure counts, what a shedding handler did), kept safely: a directory
//! that is not a symlink and not writable by others, files opened without
//! following symlinks, written whole (temporary file, then rename), and an
//! exclusive lock per name so two runs for the same service never overlap.

use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

/// Why the state could not be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StateError {
    /// The path concerned.
    pub path: PathBuf,
    /// What is wrong with it.
    pub reason: String,
}

impl fmt::Display for StateError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "state {}: {}", self.path.display(), self.reason)
    }
}

impl std::error::Error for StateError {}

fn error(path: &Path, reason: impl Into<String>) -> StateError {
    StateError {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// A checked state directory.
#[derive(Debug, Clone)]
pub struct StateDir {
    path: PathBuf,
}

/// An exclusive lock on one name, released when dropped.
#[derive(Debug)]
pub struct Lock {
    _file: File,
}

impl StateDir {
    /// Opens `path`, creating it (mode 0750) when its parent exists. Refused:
    /// a symlink, something else than a directory, a directory writable by
    /// group or others, or owned by another user than us or root.
    pub fn open(path: &Path) -> Result<StateDir, StateError> {
        if std::fs::symlink_metadata(path).is_err() {
            std::fs::DirBuilder::new()
                .mode(0o750)
                .create(path)
                .map_err(|e| error(path, format!("cannot create: {e}")))?;
        }
        let meta = std::fs::symlink_metadata(path).map_err(|e| error(path, e.to_string()))?;
        if meta.file_type().is_symlink() {
            return Err(error(path, "is a symlink: refused"));
        }
        if !meta.is_dir() {
            return Err(error(path, "is not a directory"));
        }
        if meta.mode() & 0o022 != 0 {
            return Err(error(
                path,
                format!(
                    "is writable by group or others (mode {:o}): refused",
                    meta.mode() & 0o7777
                ),
            ));
        }
        let me = nix::unistd::geteuid().as_raw();
        if meta.uid() != me && meta.uid() != 0 {
            return Err(error(
                path,
                format!(
                    "belongs to uid {}, not to us ({me}) or root: refused",
                    meta.uid()
                ),
            ));
        }
        Ok(StateDir {
            path: path.to_path_buf(),
        })
    }

    /// The directory.
    pub fn path(&self) -> &Path {
        &self.path
    }

    fn file(&self, name: &str, suffix: &str) -> Result<PathBuf, StateError> {
        let ok = !name.is_empty()
            && !name.starts_with('.')
            && name
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "._@:-".contains(c));
        if !ok {
            return Err(error(
                &self.path,
                format!("'{name}' is not a valid state name"),
            ));
        }
        Ok(self.path.join(format!("{name}{suffix}")))
    }

    /// Takes the exclusive lock of `name`; `None` when another run holds it.
    pub fn try_lock(&self, name: &str) -> Result<Option<Lock>, StateError> {
        let path = self.file(name, ".lock")?;
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
            .map_err(|e| error(&path, format!("cannot open the lock: {e}")))?;
        // SAFETY: a valid descriptor owned by `file`.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            return Ok(Some(Lock { _file: file }));
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() == Some(libc::EWOULDBLOCK) {
            Ok(None)
        } else {
            Err(error(&path, format!("cannot lock: {err}")))
        }
    }

    /// The JSON stored under `name`, `None` when there is none yet.
    pub fn load(&self, name: &str) -> Result<Option<serde_json::Value>, StateError> {
        let path = self.file(name, ".json")?;
        let mut file = match OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&path)
        {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(e) => return Err(error(&path, format!("cannot read: {e}"))),
        };
        let mut text = String::new();
        Read::by_ref(&mut file)
            .take(1 << 20)
            .read_to_string(&mut text)
            .map_err(|e| error(&path, format!("cannot read: {e}")))?;
        serde_json::from_str(&text)
            .map(Some)
            .map_err(|e| error(&path, format!("is not valid JSON: {e}")))
    }

    /// Stores `value` under `name` (mode 0600), replacing the old one whole.
    pub fn save(&self, name: &str, value: &serde_json::Value) -> Result<(), StateError> {
        let path = self.file(name, ".json")?;
        let tmp = self.file(name, ".json.tmp")?;
        let _ = std::fs::remove_file(&tmp);
        let mut file = OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
            .open(&tmp)
            .map_err(|e| error(&tmp, format!("cannot write: {e}")))?;
        file.write_all(value.to_string().as_bytes())
            .and_then(|_| file.sync_all())
            .map_err(|e| error(&tmp, format!("cannot write: {e}")))?;
        std::fs::rename(&tmp, &path).map_err(|e| error(&path, format!("cannot replace: {e}")))
    }

    /// Removes what is stored under `name` (nothing stored is fine).
    pub fn remove(&self, name: &str) -> Result<(), StateError> {
        let path = self.file(name, ".json")?;
        match std::fs::remove_file(&path) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                Err(error(&path, format!("cannot remove: {e}")))
            }
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    #[test]
    fn values_round_trip_and_are_private() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(&dir.path().join("s")).unwrap();
        assert_eq!(state.load("ftp").unwrap(), None);
        let value = serde_json::json!({"restarts": [1, 2]});
        state.save("ftp", &value).unwrap();
        assert_eq!(state.load("ftp").unwrap(), Some(value));
        let mode = std::fs::metadata(state.path().join("ftp.json"))
            .unwrap()
            .mode();
        assert_eq!(mode & 0o777, 0o600);
        assert_eq!(
            std::fs::metadata(state.path()).unwrap().mode() & 0o777,
            0o750
        );
        state.remove("ftp").unwrap();
        state.remove("ftp").unwrap();
        assert_eq!(state.load("ftp").unwrap(), None);
    }

    #[test]
    fn a_symlinked_directory_or_file_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let real = dir.path().join("real");
        std::fs::create_dir(&real).unwrap();
        std::fs::set_permissions(&real, std::fs::Permissions::from_mode(0o700)).unwrap();
        let link = dir.path().join("link");
        std::os::unix::fs::symlink(&real, &link).unwrap();
        let err = StateDir::open(&link).unwrap_err();
        assert!(err.reason.contains("symlink"), "{err}");

        let state = StateDir::open(&real).unwrap();
        std::os::unix::fs::symlink("/etc/passwd", real.join("ftp.json")).unwrap();
        assert!(state.load("ftp").is_err());
        std::os::unix::fs::symlink("/tmp/elsewhere", real.join("x.lock")).unwrap();
        assert!(state.try_lock("x").is_err());
    }

    #[test]
    fn a_world_writable_directory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let open = dir.path().join("open");
        std::fs::create_dir(&open).unwrap();
        std::fs::set_permissions(&open, std::fs::Permissions::from_mode(0o777)).unwrap();
        let err = StateDir::open(&open).unwrap_err();
        assert!(err.reason.contains("writable by group or others"), "{err}");
    }

    #[test]
    fn names_cannot_leave_the_directory() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(&dir.path().join("s")).unwrap();
        for bad in ["../x", "a/b", "", ".hidden"] {
            assert!(state.save(bad, &serde_json::json!(1)).is_err(), "{bad}");
        }
    }

    #[test]
    fn a_second_lock_on_the_same_name_is_refused_until_released() {
        let dir = tempfile::tempdir().unwrap();
        let state = StateDir::open(&dir.path().join("s")).unwrap();
        let first = state.try_lock("ftp").unwrap();
        assert!(first.is_some());
        assert!(state.try_lock("ftp").unwrap().is_none());
        assert!(state.try_lock("smtp").unwrap().is_some());
        drop(first);
        assert!(state.try_lock("ftp").unwrap().is_some());
    }
}
