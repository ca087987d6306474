//! Feedback: user events (views, clicks, carts, purchases) stored durably and fed back into
//! the next `Rank` for the same user, and into the next training run.
//!
//! ```text
//!  Feedback RPC ─► NewEvent ─► pseudonym.rs (HMAC of the user id)
//!                                   │
//!                                   ▼
//!                  segments.rs: append frames, fsync ─► ack ─► history.rs (LRU, per user)
//!  restart ─► segments.rs replay (torn tail truncated) ──────────► history.rs
//!  `rankd feedback export` ─► segments.rs read_all ─► interactions.csv (pseudonymous ids)
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `record.rs` | one event's binary frame: length, CRC32, payload |
//! | `segments.rs` | the segmented append-only log, fsync policy, replay and repair |
//! | `pseudonym.rs` | keyed HMAC-SHA256 user pseudonyms |
//! | `history.rs` | bounded per-user recent items, LRU over users |
//! | `store.rs` | [`FeedbackStore`]: the three above behind one lock |

mod history;
mod pseudonym;
mod record;
mod segments;
mod store;

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

pub use pseudonym::{MIN_SECRET_BYTES, Pseudonymizer, UserKey};
pub use record::FeedbackRecord;
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
}
