//! Models: the text encoder, the two towers, the cross-feature ranker and the device they run
//! on, all on candle.
//!
//! ```text
//!  item text ─► TextEncoder (MiniLM) ─┐
//!  item id/cats/brand/price ──────────┴► ItemTower ─► m(i) ─┐            (index vectors)
//!  recent m(h_j) + query text ─────────► UserTower ─► h(u) ─┼─► h·m (retrieval score)
//!                                                           └─► Ranker(h, m, h⊙m, score,
//!                        popularity, recency, category affinity, co-visitation) ─► P(interact)
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `models.rs` | [`Models`]: load/save a models directory; the inference API |
//! | `encoder.rs` | [`TextEncoder`]: MiniLM via candle BERT + tokenizers, mean pool, L2 norm |
//! | `tiny.rs` | a tiny random BERT config and tokenizer for fast tests |
//! | `towers.rs` | [`ItemTower`], [`UserTower`] and their [`TowerConfig`] |
//! | `ranker.rs` | [`Ranker`]: DCN-v2 cross + deep MLP; ablation explanations |
//! | `rows.rs` | [`RankerRows`]: the ranker's input matrix written in place; [`ItemTable`] |
//! | `vocab.rs` | [`ItemVocab`]: ids, categories, brands → rows; price buckets; item text |
//! | `stats.rs` | [`ItemStats`] (popularity, recency) and category affinity |
//! | `covisit.rs` | [`CoVisitation`]: item-to-item co-occurrence neighbours, the history sum |
//! | `candidates.rs` | popular items mixed into the retrieved candidates |
//! | `init.rs` | [`SeededVars`]: seeded weight init, so training is deterministic |
//! | `device.rs` | run-time device choice (`--device auto|cpu|cuda`), logged |
//! | `error.rs` | [`ModelError`] |
//!
//! Inference in a few lines:
//!
//! ```no_run
//! # fn demo(items: &[rankd::data::Item]) -> Result<(), rankd::model::ModelError> {
//! use rankd::model::{DevicePreference, Models, UserContext, select_device};
//! let device = select_device(DevicePreference::Auto)?;
//! let models = Models::load(std::path::Path::new("models"), &device)?;
//! let item_vectors = models.embed_items(items)?; // what build-index stores
//! let user = &models.embed_users(&[UserContext {
//!     recent: vec![item_vectors[0].clone()],
//!     query: None,
//! }])?[0];
//! let score: f32 = user.iter().zip(&item_vectors[1]).map(|(a, b)| a * b).sum();
//! let features = models.ranker_features(user, &item_vectors[1], &items[1], &[&items[0]], score);
//! let probability = models.score(&[features.clone()])?[0];
//! let why = models.explain(&[features])?;
//! # let _ = (probability, why); Ok(()) }
//! ```

mod candidates;
mod covisit;
mod device;
mod encoder;
mod error;
mod init;
mod models;
mod ranker;
mod rows;
mod stats;
mod tiny;
mod towers;
mod vocab;

pub use candidates::{POPULAR_CANDIDATES, popular_extras, popularity_ranking};
pub use covisit::{COVISIT_NEIGHBOURS, CoVisitation, HistoryAffinity};
pub use device::{
    DevicePreference, configure_cpu_threads, configure_cpu_threads_for_serving,
    describe as describe_device, select_device,
};
pub use encoder::{MINILM_HINT, TextEncoder, minilm_dir};
pub use error::{ModelError, Result};
pub use init::SeededVars;
pub use models::{FORMAT_VERSION, Models, ModelsConfig, TEXT_BATCH, UserContext, Weights, files};
pub use ranker::{Explanation, FeatureGroup, Ranker, RankerConfig, RankerFeatures};
pub use rows::{ItemTable, RankerRows, RowScalars, SCALAR_COLUMNS};
pub use stats::{ItemStats, RECENCY_WINDOW_SECS, category_affinity};
pub use towers::{ItemTower, TowerConfig, UserTower};
pub use vocab::{ItemInputs, ItemVocab, MAX_CATEGORIES, item_text, price_bucket};

use candle_core::Tensor;

/// Scales each row of a `(n, d)` tensor to unit length (rows of zeros stay zero).
pub fn l2_normalize(x: &Tensor) -> Result<Tensor> {
    let norm = x.sqr()?.sum_keepdim(1)?.sqrt()?.clamp(1e-12, f64::MAX)?;
    Ok(x.broadcast_div(&norm)?)
}
