//! One writer per feedback log: an exclusive advisory lock on `<log dir>/LOCK`.
//!
//! Forget and retention rewrite and delete segment files; a second process doing either (or
//! appending) on the same log at the same time would lose events. The lock is `flock(2)`
//! through `fs4`: the kernel drops it when the process dies, so a crashed server never leaves
//! a stale lock behind, unlike a "pid file exists" check. The file itself stays empty.

use std::fs::{File, OpenOptions};
use std::path::{Path, PathBuf};

use fs4::fs_std::FileExt;

use super::FeedbackError;

const LOCK_FILE: &str = "LOCK";

/// Held for the life of a [`super::FeedbackStore`]; dropping it releases the lock.
#[derive(Debug)]
pub struct DirLock {
    _file: File,
}

impl DirLock {
    /// Takes the lock on `dir` (which must exist), or fails at once with
    /// [`FeedbackError::Locked`] when another store holds it.
    pub fn acquire(dir: &Path) -> Result<DirLock, FeedbackError> {
        let path = dir.join(LOCK_FILE);
        let io = |source| FeedbackError::Io {
            path: path.clone(),
            source,
        };
        let file = OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(&path)
            .map_err(io)?;
        if !file.try_lock_exclusive().map_err(io)? {
            return Err(FeedbackError::Locked {
                dir: PathBuf::from(dir),
            });
        }
        Ok(DirLock { _file: file })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn second_holder_is_refused_until_the_first_drops() {
        let dir = tempfile::tempdir().unwrap();
        let first = DirLock::acquire(dir.path()).unwrap();
        let err = DirLock::acquire(dir.path()).unwrap_err();
        assert!(matches!(err, FeedbackError::Locked { .. }), "{err}");
        drop(first);
        DirLock::acquire(dir.path()).unwrap();
    }
}
