//! Retention and erasure on the log: deleting expired segments, and rewriting segments
//! without one user's records.

use std::path::{Path, PathBuf};

use super::super::FeedbackError;
use super::super::pseudonym::UserKey;
use super::super::retention::{Expired, MAX_SEGMENT_SPAN_MS};
use super::super::rewrite;
use super::{SegmentLog, Span, open_append, sync_dir};

fn remove_segment(path: &Path) -> Result<(), FeedbackError> {
    match std::fs::remove_file(path) {
        Err(err) if err.kind() != std::io::ErrorKind::NotFound => Err(FeedbackError::Io {
            path: path.to_path_buf(),
            source: err,
        }),
        _ => Ok(()),
    }
}

impl SegmentLog {
    /// Deletes every sealed segment whose newest event is older than `cutoff_ms`. First the
    /// active segment is closed when its oldest event is more than a day old, so that no
    /// segment spans much more than a day and an event outlives the retention by about that
    /// much at most (events are deleted a whole segment at a time).
    pub fn expire(&mut self, cutoff_ms: i64, now_ms: i64) -> Result<Expired, FeedbackError> {
        let span = self.active.span;
        if span.records > 0 && span.oldest_ms < now_ms.saturating_sub(MAX_SEGMENT_SPAN_MS) {
            self.roll()?;
        }
        let mut expired = Expired::default();
        let mut failed = Ok(());
        self.sealed.retain(|segment| {
            if failed.is_err() || segment.span.newest_ms >= cutoff_ms {
                return true;
            }
            match remove_segment(&segment.path) {
                Ok(()) => {
                    expired.segments += 1;
                    expired.records += segment.span.records;
                    false
                }
                Err(err) => {
                    failed = Err(err);
                    true
                }
            }
        });
        failed?;
        if expired.segments > 0 {
            sync_dir(&self.dir)?;
        }
        Ok(expired)
    }

    /// The sealed segments now (number and path). Nothing appends to them, so
    /// [`rewrite::without_user`] may rewrite them while appends go on; it must not run
    /// beside another rewrite or a retention sweep.
    pub fn sealed(&self) -> Vec<(u64, PathBuf)> {
        self.sealed
            .iter()
            .map(|s| (s.number, s.path.clone()))
            .collect()
    }

    /// Records what a rewrite of sealed segment `number` left in it.
    pub fn set_span(&mut self, number: u64, span: Span) {
        if let Some(segment) = self.sealed.iter_mut().find(|s| s.number == number) {
            segment.span = span;
        }
    }

    /// Removes `user`'s records from the sealed segments numbered above `after` (all of them
    /// when `None`) and from the active segment. Appends wait meanwhile (`&mut self`), so
    /// none is lost to the rewrite. Returns how many records were removed.
    pub fn forget_after(
        &mut self,
        after: Option<u64>,
        user: &UserKey,
    ) -> Result<usize, FeedbackError> {
        let mut removed = 0;
        for segment in &mut self.sealed {
            if after.is_some_and(|after| segment.number <= after) {
                continue;
            }
            if let Some(done) = rewrite::without_user(&segment.path, user, false)? {
                segment.span = done.kept;
                removed += done.removed;
            }
        }
        if let Some(done) = rewrite::without_user(&self.active.path, user, true)? {
            // The old handle still points at the replaced file; appends go to the new one.
            self.current = open_append(&self.active.path)?;
            self.current_len = done.len;
            self.active.span = done.kept;
            removed += done.removed;
        }
        Ok(removed)
    }
}
