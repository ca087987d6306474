//! Feedback: user events (views, clicks, carts, purchases) stored durably and fed back into
//! the next `Rank` for the same user, and into the next training run.
//!
//! ```text
//!  Feedback RPC ─► NewEvent ─► pseudonym.rs (HMAC of the user id)
//!                                   │
//!                                   ▼
//!                  segments.rs: append frames, fsync ─► ack ─► history.rs (LRU, per user)
//!  restart ─► segments.rs replay (torn tail truncated) ──────────► history.rs
//!  hourly and at open ─► retention.rs: delete expired segments, expire history items
//!  ForgetUser / `rankd feedback forget` ─► rewrite.rs (segments without the user) ─► history
//!  `rankd feedback export` ─► segments.rs read_all ─► interactions.csv (pseudonymous ids)
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `record.rs` | one event's binary frame: length, CRC32, payload |
//! | `segments.rs` | the segmented append-only log, fsync policy, replay and repair |
//! | `rewrite.rs` | crash-safe rewrite of a segment without one user's records (erasure) |
//! | `retention.rs` | the retention cutoff and segment span policy |
//! | `lock.rs` | the exclusive lock that makes one process the log's only writer |
//! | `pseudonym.rs` | keyed HMAC-SHA256 user pseudonyms |
//! | `history.rs` | bounded per-user recent items, LRU over users |
//! | `store.rs` | [`FeedbackStore`]: the above behind one lock |
//!
//! What is stored, where and for how long is described for operators in `docs/privacy.md`.

mod history;
mod lock;
mod pseudonym;
mod record;
mod retention;
mod rewrite;
mod segments;
mod store;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use pseudonym::{MIN_SECRET_BYTES, Pseudonymizer, UserKey};
pub use record::FeedbackRecord;
pub use retention::{Expired, cutoff_ms, now_ms};
pub use segments::{FsyncPolicy, ReplayReport, SegmentLog};
pub use store::{FeedbackStore, NewEvent};

#[derive(Debug, thiserror::Error)]
pub enum FeedbackError {
    #[error("feedback log {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("feedback log {path} is damaged at offset {offset}: {reason}")]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: &'static str,
    },
    #[error(
        "feedback log {dir} is in use by another process (a running `rankd serve`?); \
         only one process may write it at a time"
    )]
    Locked { dir: PathBuf },
    #[error(
        "no pseudonym key at {0}: nothing was stored with this configuration \
         (check feedback.data_dir / feedback.pseudonym_key_file)"
    )]
    NoKey(PathBuf),
    #[error("invalid configuration: `{key}` {problem}")]
    Config {
        key: &'static str,
        problem: &'static str,
    },
}

/// The `[feedback]` config section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FeedbackConfig {
    /// Where the log (`<data_dir>/feedback/`) lives.
    pub data_dir: PathBuf,
    pub fsync: FsyncPolicy,
    /// With `fsync = "interval"`: the longest time between syncs.
    pub fsync_interval_ms: u64,
    /// A new segment file starts past this size.
    pub segment_bytes: u64,
    /// Recent items kept per user in memory.
    pub history_per_user: usize,
    /// Users kept in memory; the least recently active are evicted past it.
    pub history_max_users: usize,
    /// File holding the pseudonym secret (at least 16 bytes). Unset: `<data_dir>/pseudonym.key`,
    /// created with a random secret on first start. Replicas that share users must share it.
    pub pseudonym_key_file: Option<PathBuf>,
    /// Days feedback events are kept; 0 keeps them forever. Older segments are deleted at
    /// start and hourly while serving (see `retention.rs` and `docs/privacy.md`).
    pub retention_days: u32,
}

impl Default for FeedbackConfig {
    fn default() -> Self {
        FeedbackConfig {
            data_dir: PathBuf::from("data"),
            fsync: FsyncPolicy::EveryBatch,
            fsync_interval_ms: 100,
            segment_bytes: 64 * 1024 * 1024,
            history_per_user: 50,
            history_max_users: 1_000_000,
            pseudonym_key_file: None,
            // A year: long enough for training to see a full seasonal cycle (the holiday
            // season of last year), short enough that behaviour is not kept indefinitely by
            // default (GDPR's storage limitation). Shorten it where training needs less.
            retention_days: 365,
        }
    }
}

impl FeedbackConfig {
    pub fn log_dir(&self) -> PathBuf {
        self.data_dir.join("feedback")
    }

    pub fn fsync_interval(&self) -> Duration {
        Duration::from_millis(self.fsync_interval_ms)
    }

    /// The pseudonym secret's file: the configured one, else `<data_dir>/pseudonym.key`.
    pub fn pseudonym_key_path(&self) -> PathBuf {
        self.pseudonym_key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("pseudonym.key"))
    }

    /// Reads the pseudonym secret, creating `<data_dir>/pseudonym.key` (mode 0600, random)
    /// when no file is configured and none exists yet.
    pub fn pseudonymizer(&self) -> Result<Pseudonymizer, FeedbackError> {
        let path = self.pseudonym_key_path();
        if self.pseudonym_key_file.is_none() && !path.exists() {
            create_secret(&path)?;
        }
        read_secret(&path)
    }

    /// Opens the store of an existing log, as offline tools need it: a missing key or log is
    /// an error rather than a fresh, empty one (a new random key matches no stored user).
    pub fn open_existing_store(&self) -> Result<(FeedbackStore, ReplayReport), FeedbackError> {
        let key = self.pseudonym_key_path();
        if !key.is_file() {
            return Err(FeedbackError::NoKey(key));
        }
        let log = self.log_dir();
        if !log.is_dir() {
            return Err(FeedbackError::Io {
                path: log,
                source: std::io::ErrorKind::NotFound.into(),
            });
        }
        FeedbackStore::open(self, read_secret(&key)?)
    }

    /// Opens the store under this configuration.
    pub fn open_store(&self) -> Result<(FeedbackStore, ReplayReport), FeedbackError> {
        FeedbackStore::open(self, self.pseudonymizer()?)
    }
}

fn read_secret(path: &std::path::Path) -> Result<Pseudonymizer, FeedbackError> {
    let io = |source| FeedbackError::Io {
        path: path.to_path_buf(),
        source,
    };
    let text = std::fs::read_to_string(path).map_err(io)?;
    Pseudonymizer::new(text.trim().as_bytes()).ok_or(FeedbackError::Config {
        key: "feedback.pseudonym_key_file",
        problem: "names a secret shorter than 16 bytes",
    })
}

fn create_secret(path: &std::path::Path) -> Result<(), FeedbackError> {
    use std::io::Write;
    let io = |source| FeedbackError::Io {
        path: path.to_path_buf(),
        source,
    };
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let secret = hex::encode(rand::random::<[u8; 32]>());
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let mut file = options.open(path).map_err(io)?;
    file.write_all(secret.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(io)?;
    tracing::warn!(
        file = %path.display(),
        "created a new pseudonym secret; replicas sharing users need the same feedback.pseudonym_key_file"
    );
    Ok(())
}
