//! The trained models as [`Recommender`]s: (c) two-tower retrieval by exact dot product over
//! the whole catalogue, (d) the same through the HNSW index (`rankd-index`, built and opened
//! memory-mapped exactly as `build-index` and the server do), (e) ANN retrieval of
//! [`CANDIDATES`] items plus popular unseen items re-scored by the cross-feature ranker; plus
//! the ranker's AUC and log loss on held-out pairs.
//!
//! The user tower sees a test user as at serving time: their history items, most recent
//! first, no query. Item vectors are L2-normalised by the item tower, so cosine
//! distance in the index ranks exactly as the dot product of (c).

use std::path::Path;

use rankd_index::{BuildParams, Filter, IndexBuilder, MappedIndex, Metric, PublishOptions};

use crate::model::{ItemTable, Models, UserContext, popular_extras, popularity_ranking};

use super::EvalError;
use super::metrics::{auc, logloss};
use super::recommender::{Recommender, UserQuery, top_k};
use super::report::RankerQuality;
use super::split::{Catalog, ItemIdx, TestUser};

/// Retrieval candidates the ranker re-scores in (e).
pub const CANDIDATES: usize = 200;
/// Items embedded per call (bounds the text encoder's memory).
const EMBED_CHUNK: usize = 1024;

/// Item vectors of the whole catalogue and the user tower, shared by (c), (d) and (e).
#[derive(Debug)]
pub struct TwoTower<'a> {
    models: &'a Models,
    catalog: &'a Catalog,
    /// Row-major `n × dim`, catalogue order.
    vectors: Vec<f32>,
    dim: usize,
}

impl<'a> TwoTower<'a> {
    pub fn new(models: &'a Models, catalog: &'a Catalog) -> Result<Self, EvalError> {
        let dim = models.dim();
        let mut vectors = Vec::with_capacity(catalog.len() * dim);
        for chunk in catalog.items.chunks(EMBED_CHUNK) {
            for v in models.embed_items(chunk)? {
                vectors.extend_from_slice(&v);
            }
        }
        Ok(Self {
            models,
            catalog,
            vectors,
            dim,
        })
    }

    pub fn vector(&self, item: ItemIdx) -> &[f32] {
        let at = item as usize * self.dim;
        &self.vectors[at..at + self.dim]
    }

    /// Most recent first, as the towers were trained.
    fn recent(&self, user: &UserQuery<'_>) -> Vec<ItemIdx> {
        let len = self.models.config().towers.history_len;
        user.history
            .iter()
            .rev()
            .take(len)
            .map(|h| h.item)
            .collect()
    }

    /// User-tower vectors, one batched forward pass.
    pub fn users(&self, users: &[UserQuery<'_>]) -> Result<Vec<Vec<f32>>, EvalError> {
        let contexts: Vec<UserContext> = users
            .iter()
            .map(|u| UserContext {
                recent: self
                    .recent(u)
                    .into_iter()
                    .map(|i| self.vector(i).to_vec())
                    .collect(),
                query: None,
            })
            .collect();
        Ok(self.models.embed_users(&contexts)?)
    }

    fn dot(&self, user: &[f32], item: ItemIdx) -> f32 {
        user.iter().zip(self.vector(item)).map(|(a, b)| a * b).sum()
    }

    fn scores(&self, user: &[f32]) -> Vec<f32> {
        self.vectors
            .chunks_exact(self.dim)
            .map(|v| v.iter().zip(user).map(|(a, b)| a * b).sum())
            .collect()
    }

    /// Builds the HNSW index over the item vectors, publishes it under `root` and opens the
    /// published version memory-mapped: the serving path, not an in-memory shortcut.
    pub fn build_index(&self, root: &Path, params: BuildParams) -> Result<MappedIndex, EvalError> {
        let mut builder = IndexBuilder::new(self.dim, Metric::Cosine, params)?;
        for (i, item) in self.catalog.items.iter().enumerate() {
            builder.add(rankd_index::Item {
                id: &item.id,
                vector: self.vector(i as ItemIdx),
                category: 0,
                price: item.price.unwrap_or(f32::INFINITY),
            })?;
        }
        let published = builder
            .build()?
            .publish(root, "eval", &PublishOptions::default())?;
        Ok(MappedIndex::open(&published.dir)?)
    }
}

/// (c) Exact two-tower retrieval.
#[derive(Debug)]
pub struct ExactRetrieval<'a>(pub &'a TwoTower<'a>);

impl Recommender for ExactRetrieval<'_> {
    fn name(&self) -> &str {
        "two-tower exact"
    }

    fn recommend_batch(
        &self,
        users: &[UserQuery<'_>],
        k: usize,
    ) -> Result<Vec<Vec<ItemIdx>>, EvalError> {
        let vectors = self.0.users(users)?;
        Ok(users
            .iter()
            .zip(&vectors)
            .map(|(u, v)| top_k(&self.0.scores(v), u.exclude, k))
            .collect())
    }
}

/// (d) Two-tower retrieval through the memory-mapped HNSW index; training items are
/// excluded by the index's own filter, during the graph search.
#[derive(Debug)]
pub struct AnnRetrieval<'a> {
    pub tower: &'a TwoTower<'a>,
    pub index: MappedIndex,
    pub ef: usize,
}

impl AnnRetrieval<'_> {
    fn search(
        &self,
        user: &[f32],
        exclude: &[ItemIdx],
        k: usize,
    ) -> Result<Vec<ItemIdx>, EvalError> {
        let filter = Filter::new().exclude_slots(exclude.iter().copied());
        Ok(self
            .index
            .search(user, k, self.ef.max(k), &filter)?
            .into_iter()
            .map(|hit| hit.slot)
            .collect())
    }
}

impl Recommender for AnnRetrieval<'_> {
    fn name(&self) -> &str {
        "two-tower ANN (HNSW)"
    }

    fn recommend_batch(
        &self,
        users: &[UserQuery<'_>],
        k: usize,
    ) -> Result<Vec<Vec<ItemIdx>>, EvalError> {
        let vectors = self.tower.users(users)?;
        users
            .iter()
            .zip(&vectors)
            .map(|(u, v)| self.search(v, u.exclude, k))
            .collect()
    }
}

/// (e) ANN retrieval of [`CANDIDATES`] items plus popular unseen items (as ranker training
/// mined them, [`crate::model::popular_extras`]), re-ranked by the ranker's probability.
#[derive(Debug)]
pub struct Pipeline<'a> {
    pub retrieval: &'a AnnRetrieval<'a>,
    /// Catalogue rows by the models' training-period interaction counts, most first.
    popular: Vec<ItemIdx>,
    popular_candidates: usize,
    /// What the ranker reads about each catalogue item, by catalogue row (as serving has).
    table: ItemTable,
}

impl<'a> Pipeline<'a> {
    /// Mixes the first `popular_candidates` unseen items by the models' own popularity (the
    /// statistics saved with them, as serving has) into the retrieved candidates.
    pub fn new(retrieval: &'a AnnRetrieval<'a>, popular_candidates: usize) -> Self {
        let models = retrieval.tower.models;
        let counts: Vec<u32> = retrieval
            .tower
            .catalog
            .items
            .iter()
            .map(|item| {
                let row = models.vocab().item_row(&item.id) as usize;
                models.stats().counts.get(row).copied().unwrap_or(0)
            })
            .collect();
        Self {
            retrieval,
            popular: popularity_ranking(&counts, false),
            popular_candidates,
            table: models.item_table(&retrieval.tower.catalog.items),
        }
    }

    /// The candidates the ranker orders: the ANN top `n`, then the popular extras.
    fn candidates(
        &self,
        user_vector: &[f32],
        exclude: &[ItemIdx],
        n: usize,
    ) -> Result<Vec<ItemIdx>, EvalError> {
        let mut candidates = self.retrieval.search(user_vector, exclude, n)?;
        let extras = popular_extras(&candidates, &self.popular, self.popular_candidates, |i| {
            exclude.binary_search(&i).is_ok()
        });
        candidates.extend(extras);
        Ok(candidates)
    }

    /// Ranker probabilities of `candidates` for one user (one forward pass), from rows
    /// written as serving writes them.
    fn probabilities(
        &self,
        user: &UserQuery<'_>,
        user_vector: &[f32],
        candidates: &[ItemIdx],
    ) -> Result<Vec<f32>, EvalError> {
        let tower = self.retrieval.tower;
        let history = tower.recent(user);
        let inputs = candidates
            .iter()
            .map(|&c| (tower.vector(c), c, tower.dot(user_vector, c)));
        let rows = tower
            .models
            .ranker_rows(&self.table, user_vector, &history, inputs)?;
        Ok(tower.models.score_rows(&rows)?)
    }
}

impl Recommender for Pipeline<'_> {
    fn name(&self) -> &str {
        "retrieval + ranker"
    }

    fn recommend_batch(
        &self,
        users: &[UserQuery<'_>],
        k: usize,
    ) -> Result<Vec<Vec<ItemIdx>>, EvalError> {
        let vectors = self.retrieval.tower.users(users)?;
        let mut lists = Vec::with_capacity(users.len());
        for (user, vector) in users.iter().zip(&vectors) {
            let candidates = self.candidates(vector, user.exclude, CANDIDATES.max(k))?;
            let probs = self.probabilities(user, vector, &candidates)?;
            let mut order: Vec<usize> = (0..candidates.len()).collect();
            // Stable on ties: the retrieval order decides between equal probabilities.
            order.sort_by(|&a, &b| probs[b].total_cmp(&probs[a]));
            lists.push(order.into_iter().take(k).map(|i| candidates[i]).collect());
        }
        Ok(lists)
    }
}

/// AUC and log loss of the ranker on held-out pairs, drawn as the ranker meets them when
/// serving: each test user's [`CANDIDATES`] ANN-retrieved items and the popular extras,
/// labelled positive when they are among the user's test targets.
///
/// Rejected: all targets as positives against the top retrieved non-targets as negatives.
/// That rewards a ranker for scoring retrieval's favourites low (the negatives are, by
/// construction, the items with the highest retrieval scores) and reported a high AUC for a
/// ranker that made the re-ranked list worse.
pub fn ranker_quality(
    pipeline: &Pipeline<'_>,
    users: &[TestUser],
    now: i64,
) -> Result<RankerQuality, EvalError> {
    let (mut probabilities, mut labels, mut retrieval) = (Vec::new(), Vec::new(), Vec::new());
    let tower = pipeline.retrieval.tower;
    for chunk in users.chunks(256) {
        let queries: Vec<UserQuery<'_>> = chunk.iter().map(|u| UserQuery::of(u, now)).collect();
        let vectors = tower.users(&queries)?;
        for ((user, query), vector) in chunk.iter().zip(&queries).zip(&vectors) {
            let candidates = pipeline.candidates(vector, &user.exclude, CANDIDATES)?;
            probabilities.extend(pipeline.probabilities(query, vector, &candidates)?);
            retrieval.extend(candidates.iter().map(|&c| tower.dot(vector, c)));
            labels.extend(
                candidates
                    .iter()
                    .map(|i| user.targets.binary_search(i).is_ok()),
            );
        }
    }
    let none = || EvalError::Split("no held-out pairs with both labels for the ranker".into());
    Ok(RankerQuality {
        auc: auc(&probabilities, &labels).ok_or_else(none)?,
        retrieval_auc: auc(&retrieval, &labels).ok_or_else(none)?,
        logloss: logloss(&probabilities, &labels).ok_or_else(none)?,
        pairs: labels.len(),
        positives: labels.iter().filter(|&&l| l).count(),
        pairs_from: format!(
            "each test user's top {CANDIDATES} ANN-retrieved items and up to {} popular unseen \
             items (history items excluded), positive when a test target",
            pipeline.popular_candidates
        ),
    })
}
