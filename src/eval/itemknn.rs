//! Baseline (b): item-based k-nearest neighbours over co-occurrence with cosine similarity,
//! its neighbourhood size tuned on a validation split carved from the training period.
//!
//! sim(i, j) = |U(i) ∩ U(j)| / sqrt(|U(i)| · |U(j)|) over the sets of training users (the
//! ranker's co-visitation table, [`CoVisitation`]); a user's score for j is the sum of sim(i, j) over their history items i that have j among their
//! `k` nearest neighbours. Lists are topped up from popularity when fewer than `K` items
//! score (users with short, niche histories), so every method ranks `K` items.

use super::EvalError;
use super::metrics::Metrics;
use super::popularity::Popularity;
use super::recommender::{Recommender, UserQuery, evaluate};
use super::split::{Event, ItemIdx, TestUser};
use crate::model::CoVisitation;

/// Neighbourhood sizes tried when tuning.
pub const K_GRID: [usize; 6] = [10, 20, 50, 100, 200, 400];

/// Neighbour lists truncated to the largest `k` of interest.
#[derive(Debug, Clone)]
pub struct ItemKnn {
    /// Per item: (neighbour, similarity), most similar first.
    table: CoVisitation,
    k: usize,
    popularity: Popularity,
    name: String,
}

impl ItemKnn {
    /// Builds neighbour lists of up to `max_k` items from the training events.
    pub fn fit(train: &[Event], n_items: usize, max_k: usize) -> Self {
        let pairs: Vec<(u32, ItemIdx)> = train.iter().map(|e| (e.user, e.item)).collect();
        Self {
            table: CoVisitation::fit(&pairs, n_items, max_k),
            k: max_k,
            popularity: Popularity::fit(train, n_items),
            name: format!("itemknn (k={max_k})"),
        }
    }

    /// The same model using only the `k` nearest neighbours of each item.
    pub fn with_k(mut self, k: usize) -> Self {
        self.k = k;
        self.name = format!("itemknn (k={k})");
        self
    }

    pub fn k(&self) -> usize {
        self.k
    }
}

impl Recommender for ItemKnn {
    fn name(&self) -> &str {
        &self.name
    }

    fn recommend_batch(
        &self,
        users: &[UserQuery<'_>],
        k: usize,
    ) -> Result<Vec<Vec<ItemIdx>>, EvalError> {
        Ok(users.iter().map(|u| self.list(u, k)).collect())
    }
}

impl ItemKnn {
    fn list(&self, user: &UserQuery<'_>, k: usize) -> Vec<ItemIdx> {
        let mut scores: Vec<(ItemIdx, f32)> = Vec::new();
        let mut acc = std::collections::HashMap::<ItemIdx, f32>::new();
        for &i in user.exclude {
            for (j, sim) in self.table.neighbours(i).take(self.k) {
                *acc.entry(j).or_default() += sim;
            }
        }
        scores.extend(
            acc.into_iter()
                .filter(|(j, _)| user.exclude.binary_search(j).is_err()),
        );
        scores.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        let mut list: Vec<ItemIdx> = scores.into_iter().take(k).map(|(j, _)| j).collect();
        if list.len() < k {
            let mut taken = list.clone();
            taken.extend_from_slice(user.exclude);
            taken.sort_unstable();
            list.extend(self.popularity.top(&taken, k - list.len()));
        }
        list
    }
}

/// One point of the tuning curve.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TuningPoint {
    pub k: usize,
    pub metrics: Metrics,
}

/// Fits on `fit_events`, scores each `k` of [`K_GRID`] on the validation users and returns the
/// curve and the `k` with the best NDCG@10 (ties: the smaller `k`).
pub fn tune_k(
    fit_events: &[Event],
    validation: &[TestUser],
    now: i64,
    n_items: usize,
) -> Result<(Vec<TuningPoint>, usize), EvalError> {
    let max_k = K_GRID[K_GRID.len() - 1];
    let mut model = ItemKnn::fit(fit_events, n_items, max_k);
    let mut curve = Vec::new();
    for k in K_GRID {
        model = model.with_k(k);
        let result = evaluate(&model, validation, now)?;
        curve.push(TuningPoint {
            k,
            metrics: result.metrics,
        });
    }
    let best = curve
        .iter()
        .fold(None::<TuningPoint>, |best, p| match best {
            Some(b) if b.metrics.ndcg_10 >= p.metrics.ndcg_10 => Some(b),
            _ => Some(*p),
        })
        .map_or(K_GRID[0], |p| p.k);
    Ok((curve, best))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn e(user: u32, item: ItemIdx) -> Event {
        Event {
            user,
            item,
            timestamp: 0,
        }
    }

    #[test]
    fn users_get_the_summed_neighbours_then_popular_items() {
        // U(0) = {0, 1}, U(1) = {0, 1, 2}, U(2) = {2}: sim(0,1) = 2/sqrt(2·2) = 1,
        // sim(0,2) = 1/sqrt(2·2) = 0.5.
        let train = [e(0, 0), e(0, 1), e(1, 0), e(1, 1), e(1, 2), e(2, 2)];
        let knn = ItemKnn::fit(&train, 4, 10);
        let user = UserQuery {
            history: &[],
            exclude: &[0],
            now: 0,
        };
        // Scores: 1 → 1.0, 2 → 0.5; then popularity tops up with item 3 (nobody's).
        assert_eq!(knn.recommend(&user, 3).unwrap(), vec![1, 2, 3]);
        let knn = knn.with_k(1);
        assert_eq!(knn.recommend(&user, 1).unwrap(), vec![1]);
    }
}
