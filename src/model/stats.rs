//! Item statistics and history features the ranker reads besides the tower vectors: item
//! popularity, recency of its attention, and category affinity with a user's history.
//!
//! All are computed from interactions strictly before an `as_of` time, so a training or
//! evaluation run never sees the future; the statistics at the end of training are saved with
//! the models for serving.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::error::{ModelError, Result};
use super::vocab::ItemVocab;
use crate::data::Interaction;

/// Default trailing window of the recency feature: 30 days.
pub const RECENCY_WINDOW_SECS: i64 = 30 * 24 * 3600;

/// Per-item statistics, indexed by vocabulary row (row 0, the unknown item, is all zeros).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ItemStats {
    /// Interactions strictly before this time (seconds since the epoch) were counted.
    pub as_of: i64,
    pub window_secs: i64,
    /// Interaction counts before `as_of`.
    pub counts: Vec<u32>,
    /// `ln(1 + count) / ln(1 + max count)`.
    pub popularity: Vec<f32>,
    /// The same over the trailing window `[as_of − window, as_of)`: a trend, not a total.
    pub recency: Vec<f32>,
}

fn log_scaled(counts: &[u32]) -> Vec<f32> {
    let max = counts.iter().copied().max().unwrap_or(0);
    let denom = (1.0 + max as f32).ln().max(f32::MIN_POSITIVE);
    counts
        .iter()
        .map(|&c| (1.0 + c as f32).ln() / denom)
        .collect()
}

impl ItemStats {
    /// Counts `interactions` before `as_of`; items not in `vocab` are ignored.
    pub fn compute(
        vocab: &ItemVocab,
        interactions: &[Interaction],
        as_of: i64,
        window_secs: i64,
    ) -> Self {
        let mut counts = vec![0u32; vocab.item_rows()];
        let mut recent = vec![0u32; vocab.item_rows()];
        for event in interactions.iter().filter(|e| e.timestamp < as_of) {
            let row = vocab.item_row(&event.item_id) as usize;
            if row == 0 {
                continue;
            }
            counts[row] += 1;
            if event.timestamp >= as_of.saturating_sub(window_secs) {
                recent[row] += 1;
            }
        }
        Self {
            as_of,
            window_secs,
            popularity: log_scaled(&counts),
            recency: log_scaled(&recent),
            counts,
        }
    }

    /// Popularity of a vocabulary row (0 for unknown rows).
    pub fn popularity(&self, row: u32) -> f32 {
        self.popularity.get(row as usize).copied().unwrap_or(0.0)
    }

    /// Recency of a vocabulary row (0 for unknown rows).
    pub fn recency(&self, row: u32) -> f32 {
        self.recency.get(row as usize).copied().unwrap_or(0.0)
    }

    /// Writes the statistics as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec(self).map_err(ModelError::json(path))?;
        std::fs::write(path, json).map_err(ModelError::io(path))
    }

    /// Reads statistics written by [`ItemStats::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(ModelError::io(path))?;
        serde_json::from_slice(&bytes).map_err(ModelError::json(path))
    }
}

/// Share of `history` items (given as their category rows) that share at least one category
/// with the candidate; 0 for an empty history or a candidate without categories.
pub fn category_affinity(history: &[&[u32]], candidate: &[u32]) -> f32 {
    if history.is_empty() || candidate.is_empty() {
        return 0.0;
    }
    let shared = history
        .iter()
        .filter(|cats| cats.iter().any(|c| candidate.contains(c)))
        .count();
    shared as f32 / history.len() as f32
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{EventKind, Item};

    fn event(item: &str, timestamp: i64) -> Interaction {
        Interaction {
            user_id: "u".into(),
            item_id: item.into(),
            timestamp,
            event: EventKind::View,
            value: None,
        }
    }

    #[test]
    fn stats_count_only_the_past_and_the_window() {
        let items: Vec<Item> = ["a", "b"]
            .iter()
            .map(|id| Item {
                id: (*id).into(),
                title: String::new(),
                categories: vec![],
                brand: None,
                price: None,
            })
            .collect();
        let vocab = ItemVocab::from_items(&items);
        let events = [
            event("a", 1),
            event("a", 2),
            event("a", 3),
            event("b", 9),
            event("b", 20),
            event("zz", 9),
        ];
        let stats = ItemStats::compute(&vocab, &events, 10, 5);
        assert_eq!(stats.counts, vec![0, 3, 1]);
        assert!((stats.popularity(1) - 1.0).abs() < 1e-6);
        assert!((stats.popularity(2) - 2f32.ln() / 4f32.ln()).abs() < 1e-6);
        // Only b's event at 9 is inside [5, 10).
        assert_eq!(stats.recency, vec![0.0, 0.0, 1.0]);
        assert_eq!(stats.popularity(99), 0.0);
    }

    #[test]
    fn affinity_is_the_share_of_history_sharing_a_category() {
        let history: [&[u32]; 4] = [&[1, 2], &[3], &[2], &[]];
        assert_eq!(category_affinity(&history, &[2]), 0.5);
        assert_eq!(category_affinity(&history, &[9]), 0.0);
        assert_eq!(category_affinity(&[], &[2]), 0.0);
        assert_eq!(category_affinity(&history, &[]), 0.0);
    }
}
