//! The one interface every evaluated method implements, and the loop that scores it.

use std::time::Instant;

use serde::{Deserialize, Serialize};

use super::EvalError;
use super::metrics::{LIST_LEN, MeanMetrics, Metrics};
use super::split::{HistoryEvent, ItemIdx, TestUser};

/// What a method is told about one user at evaluation time.
#[derive(Debug, Clone, Copy)]
pub struct UserQuery<'a> {
    /// Events before the user's cut (training period, or their own first events for a
    /// user first seen after it), oldest first.
    pub history: &'a [HistoryEvent],
    /// Sorted items that must not be returned (the items of `history`).
    pub exclude: &'a [ItemIdx],
    /// The split time: "now" for recency features.
    pub now: i64,
}

impl<'a> UserQuery<'a> {
    pub fn of(user: &'a TestUser, now: i64) -> Self {
        Self {
            history: &user.history,
            exclude: &user.exclude,
            now,
        }
    }
}

/// A method under evaluation: popularity, ItemKNN, the two-tower model, the full pipeline.
///
/// Batch-first, because the model-based methods run one user-tower pass per batch; methods
/// that rank one user at a time map over the slice.
pub trait Recommender {
    fn name(&self) -> &str;

    /// For each user, the `k` best catalogue rows, best first, none of them in its `exclude`.
    fn recommend_batch(
        &self,
        users: &[UserQuery<'_>],
        k: usize,
    ) -> Result<Vec<Vec<ItemIdx>>, EvalError>;

    /// One user's list.
    fn recommend(&self, user: &UserQuery<'_>, k: usize) -> Result<Vec<ItemIdx>, EvalError> {
        let mut lists = self.recommend_batch(std::slice::from_ref(user), k)?;
        lists.pop().ok_or_else(|| EvalError::Method {
            method: self.name().to_string(),
            message: "returned no list for a user".into(),
        })
    }
}

/// One method's row of the report.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct MethodResult {
    pub name: String,
    pub metrics: Metrics,
    pub users: usize,
    /// Wall time to produce all lists (not training).
    pub seconds: f64,
}

/// Users handed to [`Recommender::recommend_batch`] at once.
const USER_BATCH: usize = 256;

/// Scores `method` on `users` with lists of [`LIST_LEN`] items.
pub fn evaluate(
    method: &dyn Recommender,
    users: &[TestUser],
    now: i64,
) -> Result<MethodResult, EvalError> {
    let started = Instant::now();
    let mut mean = MeanMetrics::default();
    for chunk in users.chunks(USER_BATCH) {
        let queries: Vec<UserQuery<'_>> = chunk.iter().map(|u| UserQuery::of(u, now)).collect();
        let lists = method.recommend_batch(&queries, LIST_LEN)?;
        for (user, list) in chunk.iter().zip(&lists) {
            if let Some(bad) = list.iter().find(|i| user.exclude.binary_search(i).is_ok()) {
                return Err(EvalError::Method {
                    method: method.name().to_string(),
                    message: format!("returned excluded (training) item row {bad}"),
                });
            }
            mean.add(&Metrics::of_user(list, &user.targets));
        }
    }
    Ok(MethodResult {
        name: method.name().to_string(),
        metrics: mean.mean(),
        users: mean.users(),
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// The `k` highest-scoring rows not in the sorted `exclude`, best first; ties go to the lower
/// row so results are deterministic. O(n + k log k): a partial selection, not a full sort.
pub fn top_k(scores: &[f32], exclude: &[ItemIdx], k: usize) -> Vec<ItemIdx> {
    let mut rows: Vec<ItemIdx> = (0..scores.len() as ItemIdx)
        .filter(|i| exclude.binary_search(i).is_err())
        .collect();
    let better = |a: &ItemIdx, b: &ItemIdx| {
        scores[*b as usize]
            .total_cmp(&scores[*a as usize])
            .then(a.cmp(b))
    };
    if rows.len() > k && k > 0 {
        rows.select_nth_unstable_by(k - 1, better);
    }
    rows.truncate(k);
    rows.sort_by(better);
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn top_k_skips_excluded_and_breaks_ties_by_row() {
        let scores = [0.5, 0.9, 0.9, 0.1, 0.7];
        assert_eq!(top_k(&scores, &[], 3), vec![1, 2, 4]);
        assert_eq!(top_k(&scores, &[1], 3), vec![2, 4, 0]);
        assert_eq!(top_k(&scores, &[0, 1, 2, 3, 4], 3), Vec::<ItemIdx>::new());
        assert_eq!(top_k(&scores, &[], 10).len(), 5);
        assert!(top_k(&scores, &[], 0).is_empty());
    }

    struct Fixed(Vec<ItemIdx>);

    impl Recommender for Fixed {
        fn name(&self) -> &str {
            "fixed"
        }
        fn recommend_batch(
            &self,
            users: &[UserQuery<'_>],
            k: usize,
        ) -> Result<Vec<Vec<ItemIdx>>, EvalError> {
            Ok(users
                .iter()
                .map(|_| self.0.iter().copied().take(k).collect())
                .collect())
        }
    }

    #[test]
    fn evaluate_averages_users_and_rejects_excluded_items() {
        let user = |exclude: Vec<ItemIdx>, targets: Vec<ItemIdx>| TestUser {
            user: 0,
            history: vec![],
            exclude,
            targets,
        };
        let users = [user(vec![], vec![1]), user(vec![], vec![3])];
        let result = evaluate(&Fixed(vec![1, 2, 3]), &users, 0).unwrap();
        assert_eq!(result.users, 2);
        assert!((result.metrics.mrr - (1.0 + 1.0 / 3.0) / 2.0).abs() < 1e-12);
        let err = evaluate(&Fixed(vec![1, 2]), &[user(vec![2], vec![1])], 0).unwrap_err();
        assert!(err.to_string().contains("excluded"), "{err}");
    }
}
