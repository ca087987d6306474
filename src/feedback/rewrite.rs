//! Erasure inside a segment: rewriting it without one user's records, crash-safely.
//!
//! The kept records go to `<segment>.tmp`, which is synced, renamed over the segment, and
//! then the directory is synced. `rename(2)` replaces a file atomically, so a crash at any
//! point leaves either the whole old segment or the whole new one: other users' events are
//! never lost. A crash before the rename leaves the old segment (the erasure has not been
//! reported done yet, and running it again finishes it) plus a stray `.tmp`, which the next
//! open removes. Rewriting in place instead would leave a half-rewritten segment after a crash.

use std::fs::OpenOptions;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::FeedbackError;
use super::pseudonym::UserKey;
use super::segments::{Span, read_file, scan_segment, sync_dir};

const TEMP_SUFFIX: &str = ".tmp";

/// What rewriting one segment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rewritten {
    /// The user's records taken out.
    pub removed: usize,
    /// The records left in the segment.
    pub kept: Span,
    /// The new file's length in bytes.
    pub len: u64,
}

fn temp_path(path: &Path) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(TEMP_SUFFIX);
    PathBuf::from(name)
}

/// Rewrites the segment at `path` without `user`'s records. `None`, and the file untouched,
/// when it holds none of them. `is_newest` lets an unfinished last write (never
/// acknowledged) be dropped instead of refused, as replay does.
pub fn without_user(
    path: &Path,
    user: &UserKey,
    is_newest: bool,
) -> Result<Option<Rewritten>, FeedbackError> {
    let bytes = read_file(path)?;
    let mut kept_bytes = Vec::with_capacity(bytes.len());
    let mut kept = Span::default();
    let mut removed = 0;
    scan_segment(path, &bytes, is_newest, |record| {
        if record.user == *user {
            removed += 1;
        } else {
            kept.add(record.timestamp_ms);
            // Re-encoding is byte-identical to the frame read (one payload format, no
            // optional fields), so kept records are unchanged on disk.
            record.encode_frame(&mut kept_bytes);
        }
    })?;
    if removed == 0 {
        return Ok(None);
    }
    let temp = temp_path(path);
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FeedbackError::Io { path, source }
    };
    let mut file = OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&temp)
        .map_err(io(&temp))?;
    file.write_all(&kept_bytes)
        .and_then(|()| file.sync_all())
        .map_err(io(&temp))?;
    drop(file);
    std::fs::rename(&temp, path).map_err(io(path))?;
    if let Some(dir) = path.parent() {
        sync_dir(dir)?;
    }
    Ok(Some(Rewritten {
        removed,
        kept,
        len: kept_bytes.len() as u64,
    }))
}

/// Removes temp files a crash left mid-rewrite; their segments are still whole.
pub fn remove_unfinished(dir: &Path) -> Result<(), FeedbackError> {
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| FeedbackError::Io { path, source }
    };
    for entry in std::fs::read_dir(dir).map_err(io(dir))? {
        let path = entry.map_err(io(dir))?.path();
        let unfinished = path
            .file_name()
            .and_then(|n| n.to_str())
            .is_some_and(|n| n.ends_with(&format!(".log{TEMP_SUFFIX}")));
        if unfinished {
            tracing::warn!(file = %path.display(), "removing an unfinished feedback segment rewrite");
            std::fs::remove_file(&path).map_err(io(&path))?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::record::tests::sample;
    use super::super::segments::SegmentLog;
    use super::*;

    fn write_segment(dir: &Path, users: &[u8]) -> PathBuf {
        let path = dir.join(format!("{:020}.log", 1));
        let mut bytes = Vec::new();
        for (i, user) in users.iter().enumerate() {
            sample(*user, &format!("item-{i}")).encode_frame(&mut bytes);
        }
        std::fs::write(&path, bytes).unwrap();
        path
    }

    fn users_in(dir: &Path) -> Vec<u8> {
        SegmentLog::read_all(dir)
            .unwrap()
            .into_iter()
            .map(|r| r.user.0[0])
            .collect()
    }

    #[test]
    fn removes_only_that_users_records_and_keeps_the_rest_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &[1, 2, 1, 3, 1]);
        let done = without_user(&path, &UserKey([1; 32]), false)
            .unwrap()
            .unwrap();
        assert_eq!(done.removed, 3);
        assert_eq!(done.kept.records, 2);
        assert_eq!(done.len, std::fs::metadata(&path).unwrap().len());
        assert_eq!(users_in(dir.path()), [2, 3]);
        assert!(!temp_path(&path).exists());
    }

    #[test]
    fn a_segment_without_the_user_is_left_alone() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &[2, 3]);
        let before = std::fs::read(&path).unwrap();
        assert_eq!(without_user(&path, &UserKey([1; 32]), false).unwrap(), None);
        assert_eq!(std::fs::read(&path).unwrap(), before);
    }

    #[test]
    fn a_crash_before_the_rename_leaves_the_old_segment_and_open_cleans_up() {
        let dir = tempfile::tempdir().unwrap();
        let path = write_segment(dir.path(), &[1, 2]);
        // What a crash between writing the temp file and renaming it leaves behind.
        std::fs::write(temp_path(&path), b"half a rewrite").unwrap();
        remove_unfinished(dir.path()).unwrap();
        assert!(!temp_path(&path).exists());
        assert_eq!(users_in(dir.path()), [1, 2]);
    }
}
