//! The training report (`train_report.json` in the models directory): what was trained on,
//! how long each stage took and how the losses went.

use std::path::Path;

use serde::{Deserialize, Serialize};

use super::TrainConfig;
use super::towers::EpochStats;
use crate::model::{ModelError, Result};

/// Figures of one training run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainReport {
    pub config: TrainConfig,
    pub device: String,
    pub items: usize,
    pub interactions: usize,
    pub users: usize,
    /// Towers train on targets before this time, the ranker on targets from it on.
    pub holdout_time: i64,
    pub tower_examples: usize,
    pub ranker_positives: usize,
    pub ranker_pairs: usize,
    pub text_embedding_secs: f32,
    pub text_items_per_sec: f32,
    pub tower_epochs: Vec<EpochStats>,
    pub tower_secs: f32,
    pub mining_secs: f32,
    pub ranker_epochs: Vec<EpochStats>,
    pub ranker_secs: f32,
    pub total_secs: f32,
}

impl TrainReport {
    /// Writes the report as pretty JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec_pretty(self).map_err(ModelError::json(path))?;
        std::fs::write(path, json).map_err(ModelError::io(path))
    }
}
