//! [`Models`]: the trained encoder, towers and ranker as one value — what `rankd train` writes,
//! what `build-index`, `eval` and the server load, and the inference API they call.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use super::covisit::CoVisitation;
use super::encoder::TextEncoder;
use super::error::{ModelError, Result};
use super::ranker::{Explanation, Ranker, RankerConfig, RankerFeatures};
use super::rows::{ItemTable, RankerRows};
use super::stats::{ItemStats, category_affinity};
use super::towers::{ItemTower, TowerConfig, UserTower};
use super::vocab::{ItemVocab, item_text};
use crate::data::Item;

/// Version of the models directory layout; bumped on incompatible changes (2: the ranker
/// reads co-visitation, saved as `covisit.safetensors`).
pub const FORMAT_VERSION: u32 = 2;
/// Texts per encoder pass: larger batches pad more, smaller ones pay more per-call overhead.
pub const TEXT_BATCH: usize = 64;
/// Items per item-tower pass.
pub const TOWER_BATCH: usize = 1024;

/// Files of a models directory.
pub mod files {
    pub const CONFIG: &str = "config.json";
    pub const VOCAB: &str = "vocab.json";
    pub const STATS: &str = "item_stats.json";
    pub const COVISIT: &str = "covisit.safetensors";
    pub const TOWERS: &str = "towers.safetensors";
    pub const RANKER: &str = "ranker.safetensors";
    pub const ENCODER_DIR: &str = "encoder";
    pub const REPORT: &str = "train_report.json";
}

/// `config.json` of a models directory.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelsConfig {
    pub format_version: u32,
    /// A name for the index manifest, e.g. `rankd-twotower-64d+minilm`.
    pub name: String,
    pub encoder_dim: usize,
    pub towers: TowerConfig,
    pub ranker: RankerConfig,
}

impl ModelsConfig {
    /// Reads `config.json` of the models directory `dir`, refusing a format this build
    /// cannot load (so a caller can tell reusable models from stale ones without loading
    /// the weights).
    pub fn read(dir: &Path) -> Result<Self> {
        let path = dir.join(files::CONFIG);
        if !path.exists() {
            return Err(ModelError::Missing {
                path,
                hint: "train models with `rankd train --out DIR`".to_owned(),
            });
        }
        let bytes = std::fs::read(&path).map_err(ModelError::io(&path))?;
        let config: ModelsConfig =
            serde_json::from_slice(&bytes).map_err(ModelError::json(&path))?;
        if config.format_version != FORMAT_VERSION {
            return Err(ModelError::InvalidInput(format!(
                "{}: models format {} but this build reads format {FORMAT_VERSION}",
                path.display(),
                config.format_version
            )));
        }
        Ok(config)
    }
}

/// A user (or a search) as the user tower sees it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct UserContext {
    /// Item-tower vectors of the user's recent items, most recent first; only the first
    /// `history_len` are read.
    pub recent: Vec<Vec<f32>>,
    /// Search text, when the request is a search.
    pub query: Option<String>,
}

/// Weights by name, as loaded or as trained.
pub type Weights = HashMap<String, Tensor>;

/// The trained models, ready for inference on one device.
#[derive(Debug)]
pub struct Models {
    config: ModelsConfig,
    encoder: TextEncoder,
    vocab: ItemVocab,
    stats: ItemStats,
    covisit: CoVisitation,
    item_tower: ItemTower,
    user_tower: UserTower,
    ranker: Ranker,
    tower_weights: Weights,
    ranker_weights: Weights,
}

impl Models {
    /// Assembles models from trained weights (used by training).
    pub fn from_parts(
        config: ModelsConfig,
        encoder: TextEncoder,
        vocab: ItemVocab,
        stats: ItemStats,
        covisit: CoVisitation,
        tower_weights: Weights,
        ranker_weights: Weights,
    ) -> Result<Self> {
        let device = encoder.device().clone();
        let vb = VarBuilder::from_tensors(tower_weights.clone(), DType::F32, &device);
        let item_tower = ItemTower::new(&config.towers, vb.pp("item"))?;
        let user_tower = UserTower::new(&config.towers, vb.pp("user"))?;
        let vb = VarBuilder::from_tensors(ranker_weights.clone(), DType::F32, &device);
        let ranker = Ranker::new(&config.ranker, vb)?;
        Ok(Self {
            config,
            encoder,
            vocab,
            stats,
            covisit,
            item_tower,
            user_tower,
            ranker,
            tower_weights,
            ranker_weights,
        })
    }

    /// Loads a models directory written by [`Models::save`] onto `device`.
    pub fn load(dir: &Path, device: &Device) -> Result<Self> {
        let config = ModelsConfig::read(dir)?;
        let encoder = TextEncoder::load(&dir.join(files::ENCODER_DIR), device)?;
        let vocab = ItemVocab::load(&dir.join(files::VOCAB))?;
        let stats = ItemStats::load(&dir.join(files::STATS))?;
        let covisit = CoVisitation::load(&dir.join(files::COVISIT))?;
        let load = |name: &str| -> Result<Weights> {
            let path = dir.join(name);
            if !path.exists() {
                return Err(ModelError::Missing {
                    path,
                    hint: "the models directory is incomplete; train again".to_owned(),
                });
            }
            Ok(candle_core::safetensors::load(&path, device)?)
        };
        let (towers, ranker) = (load(files::TOWERS)?, load(files::RANKER)?);
        Self::from_parts(config, encoder, vocab, stats, covisit, towers, ranker)
    }

    /// Writes the models directory (encoder, vocabulary, statistics, weights, config).
    pub fn save(&self, dir: &Path) -> Result<()> {
        std::fs::create_dir_all(dir).map_err(ModelError::io(dir))?;
        self.encoder.save(&dir.join(files::ENCODER_DIR))?;
        self.vocab.save(&dir.join(files::VOCAB))?;
        self.stats.save(&dir.join(files::STATS))?;
        self.covisit.save(&dir.join(files::COVISIT))?;
        candle_core::safetensors::save(&self.tower_weights, dir.join(files::TOWERS))?;
        candle_core::safetensors::save(&self.ranker_weights, dir.join(files::RANKER))?;
        let config_path = dir.join(files::CONFIG);
        let json =
            serde_json::to_vec_pretty(&self.config).map_err(ModelError::json(&config_path))?;
        std::fs::write(&config_path, json).map_err(ModelError::io(&config_path))
    }

    pub fn config(&self) -> &ModelsConfig {
        &self.config
    }

    pub fn device(&self) -> &Device {
        self.encoder.device()
    }

    /// Width of the tower vectors.
    pub fn dim(&self) -> usize {
        self.config.towers.dim
    }

    pub fn encoder(&self) -> &TextEncoder {
        &self.encoder
    }

    pub fn vocab(&self) -> &ItemVocab {
        &self.vocab
    }

    pub fn stats(&self) -> &ItemStats {
        &self.stats
    }

    /// Co-visitation neighbours by vocabulary row.
    pub fn covisit(&self) -> &CoVisitation {
        &self.covisit
    }

    /// Encoder embeddings of the items' texts, `(n, encoder_dim)`.
    pub fn text_embeddings(&self, items: &[Item]) -> Result<Tensor> {
        let texts: Vec<String> = items.iter().map(item_text).collect();
        let refs: Vec<&str> = texts.iter().map(String::as_str).collect();
        self.encoder.embed(&refs, TEXT_BATCH)
    }

    /// Item-tower vectors from precomputed text embeddings (rows of `text` match `items`),
    /// `(n, dim)`, computed in batches of [`TOWER_BATCH`].
    pub fn item_vectors(&self, items: &[&Item], text: &Tensor) -> Result<Tensor> {
        let device = self.device();
        let mut parts = Vec::with_capacity(items.len().div_ceil(TOWER_BATCH));
        for (b, chunk) in items.chunks(TOWER_BATCH).enumerate() {
            let inputs = self.vocab.encode(chunk, &[], device)?;
            let text = text.narrow(0, b * TOWER_BATCH, chunk.len())?;
            parts.push(self.item_tower.forward(&text, &inputs)?);
        }
        if parts.is_empty() {
            return Ok(Tensor::zeros((0, self.dim()), DType::F32, device)?);
        }
        Ok(Tensor::cat(&parts, 0)?)
    }

    /// Item-tower vectors of `items`: text encoder, then tower. One row per item.
    pub fn embed_items(&self, items: &[Item]) -> Result<Vec<Vec<f32>>> {
        let text = self.text_embeddings(items)?;
        let refs: Vec<&Item> = items.iter().collect();
        Ok(self.item_vectors(&refs, &text)?.to_vec2()?)
    }

    /// User-tower vectors, one per context; batched == one at a time.
    pub fn embed_users(&self, users: &[UserContext]) -> Result<Vec<Vec<f32>>> {
        if users.is_empty() {
            return Ok(Vec::new());
        }
        let config = &self.config.towers;
        let device = self.device();
        let (dim, text_dim) = (config.dim, config.text_dim);
        let len = users
            .iter()
            .map(|u| u.recent.len().min(config.history_len))
            .max()
            .unwrap_or(0)
            .max(1);
        let recency = config.recency_weights(len);
        let mut history = vec![0f32; users.len() * len * dim];
        let mut weights = vec![0f32; users.len() * len];
        for (u, user) in users.iter().enumerate() {
            for (j, vector) in user.recent.iter().take(len).enumerate() {
                if vector.len() != dim {
                    return Err(ModelError::InvalidInput(format!(
                        "user #{u}: recent item #{j} has {} values, the towers use {dim}",
                        vector.len()
                    )));
                }
                let at = (u * len + j) * dim;
                history[at..at + dim].copy_from_slice(vector);
                weights[u * len + j] = recency[j];
            }
        }
        let history = Tensor::from_vec(history, (users.len(), len, dim), device)?;
        let weights = Tensor::from_vec(weights, (users.len(), len), device)?;
        let (query, has_query) = self.query_inputs(users.iter().map(|u| u.query.as_deref()))?;
        debug_assert_eq!(query.dims2()?.1, text_dim);
        let out = self
            .user_tower
            .forward(&history, &weights, &query, &has_query)?;
        Ok(out.to_vec2()?)
    }

    /// `(n, text_dim)` query embeddings (zeros where there is none) and the `(n, 1)` flags.
    fn query_inputs<'q>(
        &self,
        queries: impl ExactSizeIterator<Item = Option<&'q str>>,
    ) -> Result<(Tensor, Tensor)> {
        let device = self.device();
        let n = queries.len();
        let text_dim = self.config.towers.text_dim;
        let mut present = Vec::new();
        let mut flags = vec![0f32; n];
        for (i, query) in queries.enumerate() {
            if let Some(q) = query {
                present.push((i, q));
                flags[i] = 1.0;
            }
        }
        let flags = Tensor::from_vec(flags, (n, 1), device)?;
        let mut rows = vec![0f32; n * text_dim];
        if !present.is_empty() {
            let texts: Vec<&str> = present.iter().map(|(_, q)| *q).collect();
            let embedded: Vec<Vec<f32>> = self.encoder.embed(&texts, TEXT_BATCH)?.to_vec2()?;
            for ((i, _), row) in present.iter().zip(embedded) {
                rows[i * text_dim..(i + 1) * text_dim].copy_from_slice(&row);
            }
        }
        Ok((Tensor::from_vec(rows, (n, text_dim), device)?, flags))
    }

    /// Ranker features for a (user, candidate) pair; `history` are the user's recent items,
    /// most recent first (only the first `history_len` count for category affinity and
    /// co-visitation).
    pub fn ranker_features(
        &self,
        user: &[f32],
        item_vector: &[f32],
        item: &Item,
        history: &[&Item],
        retrieval_score: f32,
    ) -> RankerFeatures {
        let history_cats: Vec<Vec<u32>> = history
            .iter()
            .take(self.config.towers.history_len)
            .map(|h| self.vocab.category_rows_of(h))
            .collect();
        let history_refs: Vec<&[u32]> = history_cats.iter().map(Vec::as_slice).collect();
        let history_rows: Vec<u32> = history
            .iter()
            .take(self.config.towers.history_len)
            .map(|h| self.vocab.item_row(&h.id))
            .collect();
        let row = self.vocab.item_row(&item.id);
        RankerFeatures {
            user: user.to_vec(),
            item: item_vector.to_vec(),
            retrieval_score,
            popularity: self.stats.popularity(row),
            recency: self.stats.recency(row),
            category_affinity: category_affinity(&history_refs, &self.vocab.category_rows_of(item)),
            co_visitation: self.covisit.affinity(&history_rows).feature(row),
        }
    }

    /// What the ranker reads about each of `items` besides its vector, by position: build
    /// once per catalogue, then [`Models::ranker_rows`] reads it per request.
    pub fn item_table(&self, items: &[Item]) -> ItemTable {
        ItemTable::new(items, &self.vocab, &self.stats)
    }

    /// The ranker's input rows for many candidates of one user, written in place; the same
    /// values [`Models::ranker_features`] gives one by one. `history` holds the positions in
    /// `table` of the user's recent items, most recent first; each candidate is its item
    /// vector, its position in `table` and its retrieval score.
    pub fn ranker_rows<'c>(
        &self,
        table: &ItemTable,
        user: &[f32],
        history: &[u32],
        candidates: impl ExactSizeIterator<Item = (&'c [f32], u32, f32)>,
    ) -> Result<RankerRows> {
        let recent = &history[..history.len().min(self.config.towers.history_len)];
        let history_cats: Vec<&[u32]> = recent
            .iter()
            .map(|&h| table.categories(h as usize))
            .collect();
        let history_rows: Vec<u32> = recent.iter().map(|&h| table.row(h as usize)).collect();
        let near = self.covisit.affinity(&history_rows);
        let mut rows = RankerRows::with_capacity(self.dim(), candidates.len());
        for (vector, position, retrieval_score) in candidates {
            let scalars = table.scalars(position as usize, &history_cats, &near, retrieval_score);
            rows.push(user, vector, scalars)?;
        }
        Ok(rows)
    }

    /// Ranker probabilities, one per feature row (one forward pass for the whole slice).
    pub fn score(&self, features: &[RankerFeatures]) -> Result<Vec<f32>> {
        if features.is_empty() {
            return Ok(Vec::new());
        }
        let x0 = self.ranker.inputs(features, self.device())?;
        self.ranker.probabilities(&x0)
    }

    /// Ranker probabilities of rows from [`Models::ranker_rows`], in one forward pass; rows of
    /// one user (one request) take the cheaper folded pass ([`Ranker::logits_one_user`]).
    pub fn score_rows(&self, rows: &RankerRows) -> Result<Vec<f32>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let x0 = self.ranker.rows_tensor(rows, self.device())?;
        match rows.common_user() {
            Some(user) => {
                let user = Tensor::from_slice(user, user.len(), self.device())?;
                self.ranker.probabilities_one_user(&x0, &user)
            }
            None => self.ranker.probabilities(&x0),
        }
    }

    /// [`Models::explain`] for rows from [`Models::ranker_rows`].
    pub fn explain_rows(&self, rows: &RankerRows) -> Result<Vec<Explanation>> {
        if rows.is_empty() {
            return Ok(Vec::new());
        }
        let x0 = self.ranker.rows_tensor(rows, self.device())?;
        self.ranker.explain(&x0)
    }

    /// Per-feature-group contributions (ablation against training means; see `ranker.rs`).
    pub fn explain(&self, features: &[RankerFeatures]) -> Result<Vec<Explanation>> {
        if features.is_empty() {
            return Ok(Vec::new());
        }
        let x0 = self.ranker.inputs(features, self.device())?;
        self.ranker.explain(&x0)
    }
}
