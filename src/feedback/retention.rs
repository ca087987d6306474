//! How long feedback is kept: `feedback.retention_days`, applied a whole segment at a time.
//!
//! A sweep deletes every sealed segment whose newest event is older than the cutoff (now minus
//! the retention) and drops expired items from the in-memory history. It runs when the store
//! opens, after replay, so a restart never brings expired events back into history, and then
//! periodically while serving. Whole segments rather than single records: deleting a file is
//! cheap and atomic, while cutting records out means a rewrite. The cost is precision: an
//! event can outlive the retention by the span of its segment, which [`MAX_SEGMENT_SPAN_MS`]
//! bounds.

use std::time::{SystemTime, UNIX_EPOCH};

const DAY_MS: i64 = 24 * 60 * 60 * 1000;

/// A sweep closes the active segment once its oldest event is older than this, so that
/// segments on a quiet server do not span months (and hold events that long past retention).
pub const MAX_SEGMENT_SPAN_MS: i64 = DAY_MS;

/// What a retention sweep deleted.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Expired {
    pub segments: usize,
    pub records: usize,
}

/// Events older than this (milliseconds since the epoch) are past retention; `None` when
/// `retention_days` is 0 (keep forever).
pub fn cutoff_ms(retention_days: u32, now_ms: i64) -> Option<i64> {
    (retention_days > 0).then(|| now_ms.saturating_sub(i64::from(retention_days) * DAY_MS))
}

/// Wall-clock now in milliseconds since the epoch (0 if the clock is before 1970).
pub fn now_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_keeps_forever_and_days_count_back_from_now() {
        assert_eq!(cutoff_ms(0, 10 * DAY_MS), None);
        assert_eq!(cutoff_ms(3, 10 * DAY_MS), Some(7 * DAY_MS));
    }
}
