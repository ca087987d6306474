//! The feedback retention sweep while serving: hourly, on a blocking thread (it deletes
//! files and walks the in-memory history). The store already swept once when it opened.

use std::sync::Arc;
use std::time::Duration;

use tracing::warn;

use super::state::State;
use crate::feedback::now_ms;

/// Hourly: retention is counted in days, and segments are deleted whole, so checking more
/// often buys nothing; a failed sweep is simply retried an hour later.
const SWEEP_INTERVAL: Duration = Duration::from_secs(60 * 60);

/// Runs until the task is aborted at shutdown.
pub async fn sweep_feedback(state: Arc<State>) {
    let mut ticker =
        tokio::time::interval_at(tokio::time::Instant::now() + SWEEP_INTERVAL, SWEEP_INTERVAL);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        let sweeping = state.clone();
        match tokio::task::spawn_blocking(move || sweeping.feedback.expire(now_ms())).await {
            Ok(Ok(_)) => {}
            Ok(Err(err)) => {
                warn!(error = %err, "feedback retention sweep failed; next try in an hour")
            }
            Err(join) => warn!(%join, "feedback retention sweep panicked; next try in an hour"),
        }
    }
}
