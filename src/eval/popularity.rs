//! Baseline (a): most popular first, the same list for everyone.

use super::EvalError;
use super::recommender::{Recommender, UserQuery};
use super::split::{Event, ItemIdx};

/// Items ordered by the number of distinct training users who touched them.
#[derive(Debug, Clone)]
pub struct Popularity {
    ranking: Vec<ItemIdx>,
}

impl Popularity {
    /// Counting distinct users, not events, so one user's repeated views do not make an item
    /// popular. Ties go to the lower row (deterministic).
    pub fn fit(train: &[Event], n_items: usize) -> Self {
        let mut pairs: Vec<(u32, ItemIdx)> = train.iter().map(|e| (e.user, e.item)).collect();
        pairs.sort_unstable();
        pairs.dedup();
        let mut count = vec![0u32; n_items];
        for (_, item) in pairs {
            count[item as usize] += 1;
        }
        let mut ranking: Vec<ItemIdx> = (0..n_items as ItemIdx).collect();
        ranking.sort_by(|a, b| count[*b as usize].cmp(&count[*a as usize]).then(a.cmp(b)));
        Self { ranking }
    }

    /// The first `k` of the ranking not in the sorted `exclude`.
    pub fn top(&self, exclude: &[ItemIdx], k: usize) -> Vec<ItemIdx> {
        self.ranking
            .iter()
            .copied()
            .filter(|i| exclude.binary_search(i).is_err())
            .take(k)
            .collect()
    }
}

impl Recommender for Popularity {
    fn name(&self) -> &str {
        "popularity"
    }

    fn recommend_batch(
        &self,
        users: &[UserQuery<'_>],
        k: usize,
    ) -> Result<Vec<Vec<ItemIdx>>, EvalError> {
        Ok(users.iter().map(|u| self.top(u.exclude, k)).collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_by_distinct_users_and_skips_excluded() {
        let e = |user, item| Event {
            user,
            item,
            timestamp: 0,
        };
        // Item 2: users 0 and 1; item 1: user 0 three times; item 0: nobody.
        let train = [e(0, 2), e(1, 2), e(0, 1), e(0, 1), e(0, 1)];
        let pop = Popularity::fit(&train, 3);
        assert_eq!(pop.top(&[], 3), vec![2, 1, 0]);
        assert_eq!(pop.top(&[2], 2), vec![1, 0]);
    }
}
