//! The two towers, both ending in the same L2-normalised `dim`-space so that retrieval is a
//! dot product:
//!
//! ```text
//! item:  text emb ─┐
//!        id emb ───┤
//!        Σ cat emb ┼─► concat ─► Linear ─► ReLU ─► Linear ─► L2 norm ─► m(i)
//!        brand emb ┤
//!        price emb ┘
//! user:  Σ_j w_j·m(h_j) (recent items, recency weights) ─┐
//!        query text emb (zeros when none) ──────────────┼─► concat ─► MLP ─► L2 norm ─► h(u)
//!        has-query flag ────────────────────────────────┘
//! ```
//!
//! The user tower pools the *item tower's outputs* rather than separate history embeddings:
//! one set of item parameters serves both sides, and a new item in a user's history is
//! pooled through the same cold-start path as when it is retrieved.

use candle_core::{D, Tensor};
use candle_nn::{Embedding, Linear, Module, VarBuilder};
use serde::{Deserialize, Serialize};

use super::error::Result;
use super::vocab::{ItemInputs, ItemVocab, PRICE_BUCKETS};

/// Sizes of both towers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TowerConfig {
    /// Width of the shared output space.
    pub dim: usize,
    /// Width of each tower's hidden layer.
    pub hidden: usize,
    /// Width of the text encoder's output.
    pub text_dim: usize,
    pub id_dim: usize,
    pub category_dim: usize,
    pub brand_dim: usize,
    pub price_dim: usize,
    /// How many recent items the user tower pools.
    pub history_len: usize,
    /// Recency weights halve every this many positions back in the history.
    pub recency_half_life: f32,
    /// Rows of the id, category and brand tables (vocabulary sizes including row 0).
    pub item_rows: usize,
    pub category_rows: usize,
    pub brand_rows: usize,
}

impl TowerConfig {
    /// Defaults for a vocabulary and text width: 64-d output, 256-wide hidden layers.
    pub fn new(vocab: &ItemVocab, text_dim: usize) -> Self {
        Self {
            dim: 64,
            hidden: 256,
            text_dim,
            id_dim: 32,
            category_dim: 16,
            brand_dim: 16,
            price_dim: 8,
            history_len: 20,
            recency_half_life: 5.0,
            item_rows: vocab.item_rows(),
            category_rows: vocab.category_rows(),
            brand_rows: vocab.brand_rows(),
        }
    }

    /// Recency weights for `len` history positions, most recent first: `2^(-j / half_life)`.
    /// Fixed rather than learned: with a few epochs on small data a learned decay overfits,
    /// and a fixed curve keeps pooling explainable.
    pub fn recency_weights(&self, len: usize) -> Vec<f32> {
        (0..len)
            .map(|j| (-(j as f32) / self.recency_half_life.max(1e-3)).exp2())
            .collect()
    }
}

/// Item tower: item text embedding + learned categorical embeddings → MLP → unit vector.
#[derive(Debug, Clone)]
pub struct ItemTower {
    ids: Embedding,
    categories: Embedding,
    brands: Embedding,
    prices: Embedding,
    hidden: Linear,
    out: Linear,
}

impl ItemTower {
    pub fn new(config: &TowerConfig, vb: VarBuilder) -> Result<Self> {
        let input = config.text_dim
            + config.id_dim
            + config.category_dim
            + config.brand_dim
            + config.price_dim;
        Ok(Self {
            ids: candle_nn::embedding(config.item_rows, config.id_dim, vb.pp("id"))?,
            categories: candle_nn::embedding(
                config.category_rows,
                config.category_dim,
                vb.pp("category"),
            )?,
            brands: candle_nn::embedding(config.brand_rows, config.brand_dim, vb.pp("brand"))?,
            prices: candle_nn::embedding(PRICE_BUCKETS, config.price_dim, vb.pp("price"))?,
            hidden: candle_nn::linear(input, config.hidden, vb.pp("hidden"))?,
            out: candle_nn::linear(config.hidden, config.dim, vb.pp("out"))?,
        })
    }

    /// `text`: `(n, text_dim)`; returns `(n, dim)` unit rows.
    pub fn forward(&self, text: &Tensor, inputs: &ItemInputs) -> Result<Tensor> {
        let cats = self.categories.forward(&inputs.categories)?;
        let cats = cats
            .broadcast_mul(&inputs.category_weights.unsqueeze(D::Minus1)?)?
            .sum(1)?;
        let x = Tensor::cat(
            &[
                text.clone(),
                self.ids.forward(&inputs.ids)?,
                cats,
                self.brands.forward(&inputs.brands)?,
                self.prices.forward(&inputs.prices)?,
            ],
            1,
        )?;
        let h = self.hidden.forward(&x)?.relu()?;
        super::l2_normalize(&self.out.forward(&h)?)
    }
}

/// User/query tower: pooled history + optional query text → MLP → unit vector.
#[derive(Debug, Clone)]
pub struct UserTower {
    hidden: Linear,
    out: Linear,
}

impl UserTower {
    pub fn new(config: &TowerConfig, vb: VarBuilder) -> Result<Self> {
        let input = config.dim + config.text_dim + 1;
        Ok(Self {
            hidden: candle_nn::linear(input, config.hidden, vb.pp("hidden"))?,
            out: candle_nn::linear(config.hidden, config.dim, vb.pp("out"))?,
        })
    }

    /// `history`: `(n, h, dim)` item vectors, most recent first; `weights`: `(n, h)` recency
    /// weights, 0 for padding; `query`: `(n, text_dim)`, zeros where there is no query;
    /// `has_query`: `(n, 1)` of 0/1. Returns `(n, dim)` unit rows.
    pub fn forward(
        &self,
        history: &Tensor,
        weights: &Tensor,
        query: &Tensor,
        has_query: &Tensor,
    ) -> Result<Tensor> {
        let total = weights.sum_keepdim(1)?.clamp(1e-6, f64::MAX)?;
        let weights = weights.broadcast_div(&total)?.unsqueeze(D::Minus1)?;
        let pooled = history.broadcast_mul(&weights)?.sum(1)?;
        let x = Tensor::cat(&[pooled, query.clone(), has_query.clone()], 1)?;
        let h = self.hidden.forward(&x)?.relu()?;
        super::l2_normalize(&self.out.forward(&h)?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::SeededVars;
    use candle_core::{DType, Device};

    fn config() -> TowerConfig {
        let mut config = TowerConfig::new(&ItemVocab::default(), 6);
        (config.dim, config.hidden, config.history_len) = (4, 8, 3);
        config
    }

    #[test]
    fn recency_weights_halve_every_half_life() {
        let mut config = config();
        config.recency_half_life = 2.0;
        assert_eq!(
            config.recency_weights(5),
            vec![1.0, 2f32.powf(-0.5), 0.5, 2f32.powf(-1.5), 0.25]
        );
    }

    #[test]
    fn user_tower_ignores_padded_history_slots() {
        let config = config();
        let vars = SeededVars::new(3, &Device::Cpu);
        let tower = UserTower::new(&config, vars.builder()).unwrap();
        let dev = &Device::Cpu;
        let item = Tensor::new(&[[0.5f32, -0.5, 0.5, 0.5]], dev).unwrap();
        let one = item.unsqueeze(0).unwrap();
        let garbage = Tensor::new(&[[9f32, 9.0, 9.0, 9.0]], dev).unwrap();
        let padded = Tensor::cat(&[&item, &garbage], 0)
            .unwrap()
            .unsqueeze(0)
            .unwrap();
        let query = Tensor::zeros((1, 6), DType::F32, dev).unwrap();
        let flag = Tensor::zeros((1, 1), DType::F32, dev).unwrap();
        let w1 = Tensor::new(&[[1f32]], dev).unwrap();
        let w2 = Tensor::new(&[[1f32, 0.0]], dev).unwrap();
        let a: Vec<Vec<f32>> = tower
            .forward(&one, &w1, &query, &flag)
            .unwrap()
            .to_vec2()
            .unwrap();
        let b: Vec<Vec<f32>> = tower
            .forward(&padded, &w2, &query, &flag)
            .unwrap()
            .to_vec2()
            .unwrap();
        assert_eq!(a, b);
        assert_eq!(a[0].len(), 4);
    }
}
