//! The feedback store: pseudonymise → append to the durable log → update recent history;
//! and the two ways events leave it, erasure ([`FeedbackStore::forget`]) and retention
//! ([`FeedbackStore::expire`]).

use std::num::NonZeroUsize;
use std::path::PathBuf;

use parking_lot::Mutex;

use super::history::UserHistory;
use super::lock::DirLock;
use super::pseudonym::{Pseudonymizer, UserKey};
use super::record::FeedbackRecord;
use super::retention::{Expired, cutoff_ms, now_ms};
use super::rewrite;
use super::segments::{ReplayReport, SegmentLog};
use super::{FeedbackConfig, FeedbackError};
use crate::data::EventKind;

/// An event as the API receives it, raw user id included; it never leaves this module raw.
#[derive(Clone, PartialEq)]
pub struct NewEvent {
    pub user_id: String,
    pub item_id: String,
    pub event: EventKind,
    pub timestamp_ms: i64,
    pub request_id: String,
    pub position: u32,
}

/// By hand so that a `?event` in a log line or a panic message cannot print the raw id.
impl std::fmt::Debug for NewEvent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NewEvent")
            .field("user_id", &"<raw id withheld>")
            .field("item_id", &self.item_id)
            .field("event", &self.event)
            .field("timestamp_ms", &self.timestamp_ms)
            .field("request_id", &self.request_id)
            .field("position", &self.position)
            .finish()
    }
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
    retention_days: u32,
    /// Forget and retention sweeps, one at a time. A lock of their own, taken before `inner`,
    /// so a forget can rewrite sealed segments (the bulk of the log) while appends and
    /// history lookups go on, and holds `inner` only for the newest segments.
    maintenance: Mutex<()>,
    inner: Mutex<Inner>,
    /// This process is the log's only writer while the store lives.
    _lock: DirLock,
}

impl FeedbackStore {
    /// Opens the log under `config.data_dir`, replaying it into the recent-history cache,
    /// then applies the retention (so expired events never come back into history).
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
        std::fs::create_dir_all(&dir).map_err(|source| FeedbackError::Io {
            path: dir.clone(),
            source,
        })?;
        let lock = DirLock::acquire(&dir)?;
        let (log, report) = SegmentLog::open(
            &dir,
            config.segment_bytes,
            config.fsync,
            config.fsync_interval(),
            |record| history.push(record.user, &record.item_id, record.timestamp_ms),
        )?;
        let store = FeedbackStore {
            dir,
            pseudonyms,
            retention_days: config.retention_days,
            maintenance: Mutex::new(()),
            inner: Mutex::new(Inner { log, history }),
            _lock: lock,
        };
        store.expire(now_ms())?;
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
            inner
                .history
                .push(record.user, &record.item_id, record.timestamp_ms);
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

    /// Erases `user`: every record of theirs stored before the call returns is removed from
    /// the log (segments rewritten crash-safely, see `rewrite.rs`) and their history is
    /// dropped. Events appended while it runs are not lost; those of `user` that land in a
    /// segment already rewritten are kept, as events recorded after the erasure. Returns how
    /// many records were removed.
    pub fn forget(&self, user: &UserKey) -> Result<usize, FeedbackError> {
        let _one_at_a_time = self.maintenance.lock();
        let sealed = self.inner.lock().log.sealed();
        let mut removed = 0;
        let mut rewritten = Vec::new();
        for (number, path) in &sealed {
            if let Some(done) = rewrite::without_user(path, user, false)? {
                removed += done.removed;
                rewritten.push((*number, done.kept));
            }
        }
        let mut inner = self.inner.lock();
        for (number, span) in rewritten {
            inner.log.set_span(number, span);
        }
        // Segments sealed since the snapshot, and the active one, under the append lock.
        removed += inner
            .log
            .forget_after(sealed.last().map(|(n, _)| *n), user)?;
        inner.history.forget(user);
        drop(inner);
        tracing::info!(removed, "erased a user's feedback events");
        Ok(removed)
    }

    /// Applies the retention as of `now_ms`: deletes segments whose newest event is past it
    /// and drops expired items from history. Nothing when `retention_days` is 0.
    pub fn expire(&self, now_ms: i64) -> Result<Expired, FeedbackError> {
        let Some(cutoff) = cutoff_ms(self.retention_days, now_ms) else {
            return Ok(Expired::default());
        };
        let _one_at_a_time = self.maintenance.lock();
        let mut inner = self.inner.lock();
        let expired = inner.log.expire(cutoff, now_ms)?;
        inner.history.expire(cutoff);
        drop(inner);
        if expired.segments > 0 {
            tracing::info!(
                segments = expired.segments,
                events = expired.records,
                retention_days = self.retention_days,
                "deleted feedback segments past retention"
            );
        }
        Ok(expired)
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

    const DAY_MS: i64 = 24 * 60 * 60 * 1000;

    /// An event from a minute ago: inside any retention.
    fn event(user: &str, item: &str) -> NewEvent {
        event_at(user, item, now_ms() - 60_000)
    }

    fn event_at(user: &str, item: &str, timestamp_ms: i64) -> NewEvent {
        NewEvent {
            user_id: user.to_string(),
            item_id: item.to_string(),
            event: EventKind::Click,
            timestamp_ms,
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
    fn debug_output_withholds_the_raw_id() {
        let shown = format!("{:?}", event("raw-user-7731@example.com", "i1"));
        assert!(!shown.contains("raw-user-7731"), "{shown}");
        assert!(shown.contains("i1"), "{shown}");
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

    fn users_on_disk(store: &FeedbackStore) -> Vec<UserKey> {
        store
            .read_all()
            .unwrap()
            .into_iter()
            .map(|r| r.user)
            .collect()
    }

    #[test]
    fn forget_removes_a_users_events_from_every_segment_and_history() {
        let dir = tempfile::tempdir().unwrap();
        // Small segments: the user's events end up in several sealed ones and the active one.
        let config = FeedbackConfig {
            segment_bytes: 300,
            ..config(dir.path())
        };
        let (store, _) = FeedbackStore::open(&config, pseudonyms()).unwrap();
        for i in 0..12 {
            store
                .record(&[
                    event("alice", &format!("a{i}")),
                    event("bob", &format!("b{i}")),
                ])
                .unwrap();
        }
        let (alice, bob) = (store.user_key("alice"), store.user_key("bob"));
        assert!(store.inner.lock().log.sealed().len() >= 2);

        assert_eq!(store.forget(&alice).unwrap(), 12);
        assert!(store.recent_items("alice").is_empty());
        assert_eq!(store.recent_items("bob")[0], "b11");
        assert_eq!(users_on_disk(&store), vec![bob; 12]);
        assert_eq!(store.forget(&alice).unwrap(), 0, "nothing left to remove");

        // Appends go on after the rewrite of the active segment, and all of it survives a
        // restart without bringing alice back.
        store.record(&[event("bob", "b12")]).unwrap();
        drop(store);
        let (store, report) = FeedbackStore::open(&config, pseudonyms()).unwrap();
        assert_eq!(report.records, 13);
        assert!(store.recent_items("alice").is_empty());
        assert_eq!(store.recent_items("bob")[0], "b12");
    }

    #[test]
    fn appends_during_a_forget_are_not_lost() {
        let dir = tempfile::tempdir().unwrap();
        let config = FeedbackConfig {
            segment_bytes: 2_000,
            ..config(dir.path())
        };
        let (store, _) = FeedbackStore::open(&config, pseudonyms()).unwrap();
        for i in 0..200 {
            store
                .record(&[event("alice", &format!("a{i}")), event("bob", "x")])
                .unwrap();
        }
        let alice = store.user_key("alice");
        let appended = std::thread::scope(|scope| {
            let writer = scope.spawn(|| {
                for i in 0..300 {
                    store.record(&[event("carol", &format!("c{i}"))]).unwrap();
                }
            });
            let removed = store.forget(&alice).unwrap();
            writer.join().unwrap();
            removed
        });
        assert_eq!(appended, 200);
        let carol = store.user_key("carol");
        let on_disk = users_on_disk(&store);
        assert_eq!(on_disk.iter().filter(|u| **u == carol).count(), 300);
        assert_eq!(on_disk.iter().filter(|u| **u == alice).count(), 0);
        assert_eq!(on_disk.len(), 500);
    }

    #[test]
    fn expired_segments_are_deleted_at_open_and_stay_out_of_history() {
        let dir = tempfile::tempdir().unwrap();
        let config = FeedbackConfig {
            segment_bytes: 100,
            retention_days: 30,
            ..config(dir.path())
        };
        let old = now_ms() - 40 * DAY_MS;
        let forever = FeedbackConfig {
            retention_days: 0,
            ..config.clone()
        };
        let (store, _) = FeedbackStore::open(&forever, pseudonyms()).unwrap();
        store.record(&[event_at("alice", "old-1", old)]).unwrap();
        store.record(&[event_at("alice", "old-2", old)]).unwrap();
        store.record(&[event("alice", "new")]).unwrap();
        assert_eq!(store.expire(now_ms()).unwrap(), Expired::default());
        drop(store);

        let (store, report) = FeedbackStore::open(&config, pseudonyms()).unwrap();
        assert_eq!(report.records, 3, "replay saw everything before the sweep");
        assert_eq!(store.recent_items("alice"), ["new"]);
        let items: Vec<String> = store
            .read_all()
            .unwrap()
            .into_iter()
            .map(|r| r.item_id)
            .collect();
        assert_eq!(items, ["new"]);
        drop(store);
        let (store, _) = FeedbackStore::open(&config, pseudonyms()).unwrap();
        assert_eq!(store.recent_items("alice"), ["new"]);
    }

    #[test]
    fn a_sweep_while_open_closes_a_day_old_active_segment_and_deletes_it_once_expired() {
        let dir = tempfile::tempdir().unwrap();
        let config = FeedbackConfig {
            retention_days: 30,
            ..config(dir.path())
        };
        let (store, _) = FeedbackStore::open(&config, pseudonyms()).unwrap();
        let start = now_ms();
        store.record(&[event_at("alice", "a", start)]).unwrap();
        // A day and a bit later: the active segment is closed but within retention.
        let expired = store.expire(start + DAY_MS + 1).unwrap();
        assert_eq!(expired, Expired::default());
        assert_eq!(store.inner.lock().log.sealed().len(), 1);
        assert_eq!(store.recent_items("alice"), ["a"]);
        // Past the retention: the segment goes, and history with it.
        let expired = store.expire(start + 31 * DAY_MS).unwrap();
        assert_eq!(
            expired,
            Expired {
                segments: 1,
                records: 1
            }
        );
        assert!(store.recent_items("alice").is_empty());
        assert!(store.read_all().unwrap().is_empty());
    }

    #[test]
    fn a_second_store_on_the_same_log_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let (_store, _) = FeedbackStore::open(&config(dir.path()), pseudonyms()).unwrap();
        let err = FeedbackStore::open(&config(dir.path()), pseudonyms()).unwrap_err();
        assert!(matches!(err, FeedbackError::Locked { .. }), "{err}");
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
