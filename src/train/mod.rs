//! Training: the two towers, then the ranker on the towers' hard negatives.
//!
//! ```text
//! items ──► vocab, text embeddings (encoder, once) ─┐
//! interactions ─► per-user sequences ─┬─ targets before T' ─► towers (sampled softmax, log-Q)
//!                                     ├─ events before T' ──► co-visitation (ranker feature)
//!                                     └─ targets from T' ──► mine top-k negatives ─► ranker (BCE)
//!                                                            ▼
//!                                        Models (+ TrainReport) ─► models dir
//! ```
//!
//! `T'` is the `1 − holdout` quantile of interaction times: the ranker learns on interactions
//! the towers never fitted, so the retrieval scores it sees are as honest as at serving time.
//! Training everything on everything was rejected: the towers memorise their own positives and
//! the ranker then learns to trust the retrieval score far too much. The same holds for the
//! co-visitation table: the ranker trains on one fitted before `T'` (fitted on everything, it
//! would count each positive's own interaction), the saved one is fitted on all events.
//!
//! | file | responsibility |
//! |---|---|
//! | `mod.rs` | [`train`]: the whole run; [`TrainConfig`] |
//! | `examples.rs` | per-user sequences, next-item examples, the holdout time |
//! | `towers.rs` | in-batch sampled softmax with log-Q correction, AdamW |
//! | `ranker.rs` | hard-negative mining from retrieval, BCE training |
//! | `progress.rs` | indicatif bars per epoch |
//! | `report.rs` | [`TrainReport`] |
//!
//! Runs are deterministic for a seed on one device: weights are drawn from a ChaCha stream
//! ([`crate::model::SeededVars`]), examples shuffled with it, and nothing iterates a hash map.
//! Errors are the model layer's [`ModelError`]: training is that layer's write path.

mod examples;
mod progress;
mod ranker;
mod report;
mod towers;

use std::time::Instant;

use candle_core::{DType, Tensor};
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

pub use examples::{Example, Sequences, holdout_time};
pub use progress::EpochProgress;
pub use ranker::{RankerData, RankerTrainConfig, stable_bce};
pub use report::TrainReport;
pub use towers::{EpochStats, TowerTrainConfig};

use crate::data::{Interaction, Item};
use crate::model::{
    COVISIT_NEIGHBOURS, CoVisitation, FORMAT_VERSION, ItemStats, ItemTower, ItemVocab, ModelError,
    Models, ModelsConfig, RECENCY_WINDOW_SECS, Ranker, RankerConfig, Result, SeededVars,
    TEXT_BATCH, TextEncoder, TowerConfig, UserTower, describe_device, item_text,
};

/// Everything a training run can be told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub seed: u64,
    /// Width of the towers' output space.
    pub dim: usize,
    /// Width of the towers' hidden layers.
    pub hidden: usize,
    /// Share of interactions (the latest) kept from the towers for ranker training.
    pub holdout: f32,
    /// Co-visitation neighbours kept per item.
    #[serde(default = "covisit_neighbours")]
    pub covisit_neighbours: usize,
    pub towers: TowerTrainConfig,
    pub ranker: RankerTrainConfig,
    /// Show indicatif progress bars on stderr.
    #[serde(skip)]
    pub progress: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        Self {
            seed: 42,
            dim: 64,
            hidden: 256,
            holdout: 0.1,
            covisit_neighbours: COVISIT_NEIGHBOURS,
            towers: TowerTrainConfig::default(),
            ranker: RankerTrainConfig::default(),
            progress: false,
        }
    }
}

fn covisit_neighbours() -> usize {
    COVISIT_NEIGHBOURS
}

/// The result of [`train`].
#[derive(Debug)]
pub struct TrainedModels {
    pub models: Models,
    pub report: TrainReport,
}

impl TrainedModels {
    /// Writes the models directory and the report into `dir`.
    pub fn save(&self, dir: &std::path::Path) -> Result<()> {
        self.models.save(dir)?;
        self.report.save(&dir.join(crate::model::files::REPORT))
    }
}

/// Trains towers and ranker on `items` and `interactions` with `encoder` embedding the item
/// texts; the device is the encoder's.
pub fn train(
    items: &[Item],
    interactions: &[Interaction],
    encoder: TextEncoder,
    config: &TrainConfig,
) -> Result<TrainedModels> {
    let started = Instant::now();
    let device = encoder.device().clone();
    let progress = EpochProgress::new(config.progress);
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let vocab = ItemVocab::from_items(items);
    let rows = vocab.item_rows();
    // One item per vocabulary row (the first of any duplicate ids), row 0 being "unknown".
    let mut catalogue: Vec<&Item> = Vec::with_capacity(rows - 1);
    let mut seen = std::collections::HashSet::new();
    catalogue.extend(items.iter().filter(|item| seen.insert(item.id.as_str())));

    let text_started = Instant::now();
    let bar = progress.task("embedding item text", catalogue.len());
    let texts: Vec<String> = catalogue.iter().map(|item| item_text(item)).collect();
    let mut parts = vec![Tensor::zeros((1, encoder.dim()), DType::F32, &device)?];
    for chunk in texts.chunks(TEXT_BATCH * 16) {
        let refs: Vec<&str> = chunk.iter().map(String::as_str).collect();
        parts.push(encoder.embed(&refs, TEXT_BATCH)?);
        bar.advance(chunk.len());
    }
    bar.done();
    let text = Tensor::cat(&parts, 0)?;
    let text_embedding_secs = text_started.elapsed().as_secs_f32();

    let sequences = Sequences::new(&vocab, interactions);
    let split = holdout_time(interactions, config.holdout);
    let tower_examples = sequences.examples(i64::MIN, split);
    let ranker_examples = sequences.examples(split, i64::MAX);
    if tower_examples.len() < 2 {
        return Err(ModelError::InvalidInput(format!(
            "{} interactions with catalogue items give {} tower training examples; need at least 2",
            interactions.len(),
            tower_examples.len()
        )));
    }

    let mut tower_config = TowerConfig::new(&vocab, encoder.dim());
    tower_config.dim = config.dim;
    tower_config.hidden = config.hidden;
    let tower_vars = SeededVars::new(config.seed, &device);
    let item_tower = ItemTower::new(&tower_config, tower_vars.builder().pp("item"))?;
    let user_tower = UserTower::new(&tower_config, tower_vars.builder().pp("user"))?;
    let unknown = Item {
        id: String::new(),
        title: String::new(),
        categories: Vec::new(),
        brand: None,
        price: None,
    };
    let all_items: Vec<&Item> = std::iter::once(&unknown)
        .chain(catalogue.iter().copied())
        .collect();
    let mut inputs = vocab.encode(&all_items, &[], &device)?;
    // Row 0 is the unknown item whatever its (empty) id would look up to.
    inputs.ids = Tensor::arange(0u32, rows as u32, &device)?;
    let log_q = towers::log_q(&sequences, &tower_examples, rows, &device)?;
    let tower_started = Instant::now();
    let tower_epochs = towers::train_towers(
        &towers::TowerModel {
            item: &item_tower,
            user: &user_tower,
            config: &tower_config,
        },
        tower_vars.all_vars(),
        &towers::TowerData {
            sequences: &sequences,
            examples: &tower_examples,
            text: &text,
            inputs: &inputs,
            log_q: &log_q,
        },
        &config.towers,
        &mut rng,
        &progress,
    )?;
    let tower_secs = tower_started.elapsed().as_secs_f32();

    let mining_started = Instant::now();
    let item_vectors = towers::all_item_vectors(&item_tower, &text, &inputs)?;
    let categories: Vec<Vec<u32>> = all_items
        .iter()
        .map(|item| vocab.category_rows_of(item))
        .collect();
    let holdout_stats = ItemStats::compute(&vocab, interactions, split, RECENCY_WINDOW_SECS);
    let holdout_covisit = CoVisitation::fit(
        &sequences.pairs_before(split),
        rows,
        config.covisit_neighbours,
    );
    let ranker_data = ranker::mine(
        &ranker::MiningContext {
            sequences: &sequences,
            item_vectors: &item_vectors,
            user: &user_tower,
            towers: &tower_config,
            stats: &holdout_stats,
            covisit: &holdout_covisit,
            categories: &categories,
        },
        &ranker_examples,
        &config.ranker,
        &mut rng,
        &progress,
    )?;
    let mining_secs = mining_started.elapsed().as_secs_f32();

    let ranker_started = Instant::now();
    let ranker_vars = SeededVars::new(config.seed ^ 0x5eed, &device);
    let mut ranker_model = Ranker::new(&RankerConfig::new(config.dim), ranker_vars.builder())?;
    let ranker_epochs = if ranker_data.labels.is_empty() {
        tracing::warn!("no interactions after the holdout time: the ranker stays untrained");
        ranker_model.set_baseline(vec![0.0; ranker_model.config().input_dim()]);
        Vec::new()
    } else {
        ranker::train_ranker(
            &mut ranker_model,
            ranker_vars.all_vars(),
            &ranker_data,
            &config.ranker,
            &mut rng,
            &progress,
        )?
    };
    let ranker_secs = ranker_started.elapsed().as_secs_f32();

    let as_of = interactions
        .iter()
        .map(|e| e.timestamp)
        .max()
        .map_or(0, |t| t + 1);
    let stats = ItemStats::compute(&vocab, interactions, as_of, RECENCY_WINDOW_SECS);
    let covisit = CoVisitation::fit(
        &sequences.pairs_before(i64::MAX),
        rows,
        config.covisit_neighbours,
    );
    let models_config = ModelsConfig {
        format_version: FORMAT_VERSION,
        name: format!("rankd-twotower-{}d-dcn", config.dim),
        encoder_dim: encoder.dim(),
        towers: tower_config,
        ranker: ranker_model.config().clone(),
    };
    let report = TrainReport {
        config: config.clone(),
        device: describe_device(&device),
        items: catalogue.len(),
        interactions: interactions.len(),
        users: sequences.users.len(),
        holdout_time: split,
        tower_examples: tower_examples.len(),
        ranker_positives: ranker_data.labels.iter().filter(|&&l| l > 0.5).count(),
        ranker_pairs: ranker_data.labels.len(),
        text_embedding_secs,
        text_items_per_sec: catalogue.len() as f32 / text_embedding_secs.max(1e-6),
        tower_epochs,
        tower_secs,
        mining_secs,
        ranker_epochs,
        ranker_secs,
        total_secs: started.elapsed().as_secs_f32(),
    };
    let models = Models::from_parts(
        models_config,
        encoder,
        vocab,
        stats,
        covisit,
        tower_vars.tensors(),
        ranker_vars.tensors(),
    )?;
    Ok(TrainedModels { models, report })
}
