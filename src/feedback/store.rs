//! The feedback store: pseudonymise → append to the durable log → update recent history.

use std::num::NonZeroUsize;
use std::path::PathBuf;

use parking_lot::Mutex;

use super::history::UserHistory;
use super::pseudonym::{Pseudonymizer, UserKey};
use super::record::FeedbackRecord;
use super::segments::{ReplayReport, SegmentLog};
use super::{FeedbackConfig, FeedbackError};
use crate::data::EventKind;

/// An event as the API receives it, raw user id included; it never leaves this module raw.
#[derive(Debug, Clone, PartialEq)]
pub struct NewEvent {
    pub user_id: String,
    pub item_id: String,
    pub event: EventKind,
    pub timestamp_ms: i64,
    pub request_id: String,
    pub position: u32,
}

#[derive(Debug)]
struct Inner {
    log: SegmentLog,
    history: UserHistory,
}

/// Thread-safe; appends are serialised by one mutex. A `parking_lot` mutex rather than a
/// tokio one: no `.await` is held across it, and callers run it on blocking threads because
/// the append does file I/O and fsync.
#[derive(Debug)]
pub struct FeedbackStore {
    dir: PathBuf,
    pseudonyms: Pseudonymizer,
    inner: Mutex<Inner>,
}

impl FeedbackStore {
    /// Opens the log under `config.data_dir`, replaying it into the recent-history cache.
    pub fn open(
        config: &FeedbackConfig,
        pseudonyms: Pseudonymizer,
    ) -> Result<(FeedbackStore, ReplayReport), FeedbackError> {
        let nz = |key: &'static str, n: usize| {
            NonZeroUsize::new(n).ok_or(FeedbackError::Config {
                key,
                problem: "must be greater than 0",
            })
        };
        let mut history = UserHistory::new(
            nz("feedback.history_per_user", config.history_per_user)?,
            nz("feedback.history_max_users", config.history_max_users)?,
        );
        let dir = config.log_dir();
        let (log, report) = SegmentLog::open(
            &dir,
            config.segment_bytes,
            config.fsync,
            config.fsync_interval(),
            |record| history.push(record.user, &record.item_id),
        )?;
        let store = FeedbackStore {
            dir,
            pseudonyms,
            inner: Mutex::new(Inner { log, history }),
        };
        Ok((store, report))
    }

    pub fn user_key(&self, raw_user_id: &str) -> UserKey {
        self.pseudonyms.key(raw_user_id)
    }

    /// Stores the batch durably (per the fsync policy), then makes it visible in history.
    /// Returns how many events were stored: all of them, or an error and none.
    pub fn record(&self, events: &[NewEvent]) -> Result<usize, FeedbackError> {
        let records: Vec<FeedbackRecord> = events
            .iter()
            .map(|e| FeedbackRecord {
                user: self.pseudonyms.key(&e.user_id),
                item_id: e.item_id.clone(),
                event: e.event,
                timestamp_ms: e.timestamp_ms,
                request_id: e.request_id.clone(),
                position: e.position,
            })
            .collect();
        let mut inner = self.inner.lock();
        inner.log.append(&records)?;
        for record in &records {
            inner.history.push(record.user, &record.item_id);
        }
        Ok(records.len())
    }

    /// The user's recent items from feedback, newest first.
    pub fn recent_items(&self, raw_user_id: &str) -> Vec<String> {
        let key = self.pseudonyms.key(raw_user_id);
        self.inner.lock().history.recent(&key)
    }

    /// Every stored record, oldest first.
    pub fn read_all(&self) -> Result<Vec<FeedbackRecord>, FeedbackError> {
        // Hold the lock so no append is half-visible to the reader.
        let _guard = self.inner.lock();
        SegmentLog::read_all(&self.dir)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::feedback::FsyncPolicy;

    fn config(dir: &std::path::Path) -> FeedbackConfig {
        FeedbackConfig {
            data_dir: dir.to_path_buf(),
            fsync: FsyncPolicy::EveryBatch,
            ..FeedbackConfig::default()
        }
    }

    fn event(user: &str, item: &str) -> NewEvent {
        NewEvent {
            user_id: user.to_string(),
            item_id: item.to_string(),
            event: EventKind::Click,
            timestamp_ms: 1_700_000_000_000,
            request_id: String::new(),
            position: 0,
        }
    }

    fn pseudonyms() -> Pseudonymizer {
        Pseudonymizer::new(b"test-secret-0123456789").unwrap()
    }

    #[test]
    fn recorded_events_show_in_history_and_survive_restart() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = FeedbackStore::open(&config(dir.path()), pseudonyms()).unwrap();
        assert_eq!(
            store
                .record(&[event("alice", "i1"), event("alice", "i2")])
                .unwrap(),
            2
        );
        store.record(&[event("bob", "i9")]).unwrap();
        assert_eq!(store.recent_items("alice"), ["i2", "i1"]);
        drop(store);

        let (store, report) = FeedbackStore::open(&config(dir.path()), pseudonyms()).unwrap();
        assert_eq!(report.records, 3);
        assert_eq!(store.recent_items("alice"), ["i2", "i1"]);
        assert_eq!(store.recent_items("bob"), ["i9"]);
        assert!(store.recent_items("carol").is_empty());
    }

    #[test]
    fn raw_user_ids_never_reach_disk() {
        let dir = tempfile::tempdir().unwrap();
        let (store, _) = FeedbackStore::open(&config(dir.path()), pseudonyms()).unwrap();
        store
            .record(&[event("raw-user-7731@example.com", "i1")])
            .unwrap();
        drop(store);
        for entry in walk(dir.path()) {
            let bytes = std::fs::read(&entry).unwrap();
            let text = String::from_utf8_lossy(&bytes);
            assert!(
                !text.contains("raw-user-7731"),
                "raw id found in {}",
                entry.display()
            );
        }
    }

    fn walk(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                files.extend(walk(&path));
            } else {
                files.push(path);
            }
        }
        files
    }
}
