//! Ranking metrics over one user's list, averaged over users, and the ranker's AUC and log
//! loss over labelled pairs.
//!
//! Conventions (the common ones in the recsys literature; stated because papers differ):
//! - relevance is binary: an item is relevant when it is one of the user's test targets;
//! - Recall@K = hits in the top K / number of targets (not / min(K, targets));
//! - NDCG@K = DCG@K / IDCG@K with gain 1/log2(rank + 1), the ideal list holding
//!   min(K, targets) relevant items;
//! - HR@K = 1 when any target is in the top K;
//! - MRR = 1 / rank of the first target in the evaluated list (its length is [`LIST_LEN`]), 0
//!   when none is in it.

use serde::{Deserialize, Serialize};

use super::ItemIdx;

/// How many items each method ranks per user: the largest cut-off used.
pub const LIST_LEN: usize = 100;

/// Hits of `ranked[..k]` in the sorted `targets`.
fn hits(ranked: &[ItemIdx], targets: &[ItemIdx], k: usize) -> usize {
    ranked
        .iter()
        .take(k)
        .filter(|i| targets.binary_search(i).is_ok())
        .count()
}

pub fn recall_at(ranked: &[ItemIdx], targets: &[ItemIdx], k: usize) -> f64 {
    if targets.is_empty() {
        return 0.0;
    }
    hits(ranked, targets, k) as f64 / targets.len() as f64
}

pub fn hit_rate_at(ranked: &[ItemIdx], targets: &[ItemIdx], k: usize) -> f64 {
    f64::from(u8::from(hits(ranked, targets, k) > 0))
}

pub fn ndcg_at(ranked: &[ItemIdx], targets: &[ItemIdx], k: usize) -> f64 {
    let gain = |rank: usize| 1.0 / ((rank + 2) as f64).log2();
    let dcg: f64 = ranked
        .iter()
        .take(k)
        .enumerate()
        .filter(|(_, i)| targets.binary_search(i).is_ok())
        .map(|(rank, _)| gain(rank))
        .sum();
    let ideal: f64 = (0..k.min(targets.len())).map(gain).sum();
    if ideal == 0.0 { 0.0 } else { dcg / ideal }
}

pub fn reciprocal_rank(ranked: &[ItemIdx], targets: &[ItemIdx]) -> f64 {
    ranked
        .iter()
        .position(|i| targets.binary_search(i).is_ok())
        .map_or(0.0, |rank| 1.0 / (rank + 1) as f64)
}

/// The reported ranking metrics (means over test users).
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct Metrics {
    pub recall_10: f64,
    pub recall_50: f64,
    pub recall_100: f64,
    pub ndcg_10: f64,
    pub hr_10: f64,
    pub mrr: f64,
}

impl Metrics {
    /// Names and values in report order.
    pub fn named(&self) -> [(&'static str, f64); 6] {
        [
            ("Recall@10", self.recall_10),
            ("Recall@50", self.recall_50),
            ("Recall@100", self.recall_100),
            ("NDCG@10", self.ndcg_10),
            ("HR@10", self.hr_10),
            ("MRR", self.mrr),
        ]
    }

    /// One user's metrics; `targets` sorted.
    pub fn of_user(ranked: &[ItemIdx], targets: &[ItemIdx]) -> Self {
        Self {
            recall_10: recall_at(ranked, targets, 10),
            recall_50: recall_at(ranked, targets, 50),
            recall_100: recall_at(ranked, targets, 100),
            ndcg_10: ndcg_at(ranked, targets, 10),
            hr_10: hit_rate_at(ranked, targets, 10),
            mrr: reciprocal_rank(ranked, targets),
        }
    }
}

/// Running mean of per-user [`Metrics`].
#[derive(Debug, Clone, Copy, Default)]
pub struct MeanMetrics {
    sum: Metrics,
    users: usize,
}

impl MeanMetrics {
    pub fn add(&mut self, m: &Metrics) {
        self.sum.recall_10 += m.recall_10;
        self.sum.recall_50 += m.recall_50;
        self.sum.recall_100 += m.recall_100;
        self.sum.ndcg_10 += m.ndcg_10;
        self.sum.hr_10 += m.hr_10;
        self.sum.mrr += m.mrr;
        self.users += 1;
    }

    pub fn users(&self) -> usize {
        self.users
    }

    pub fn mean(&self) -> Metrics {
        let n = self.users.max(1) as f64;
        Metrics {
            recall_10: self.sum.recall_10 / n,
            recall_50: self.sum.recall_50 / n,
            recall_100: self.sum.recall_100 / n,
            ndcg_10: self.sum.ndcg_10 / n,
            hr_10: self.sum.hr_10 / n,
            mrr: self.sum.mrr / n,
        }
    }
}

/// Area under the ROC curve: the probability that a random positive scores above a random
/// negative, ties counting one half (Mann–Whitney U with mid-ranks). `None` when one class is
/// absent.
pub fn auc(scores: &[f32], labels: &[bool]) -> Option<f64> {
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 || scores.len() != labels.len() {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut rank_sum = 0.0;
    let mut start = 0;
    while start < order.len() {
        let mut end = start + 1;
        while end < order.len() && scores[order[end]] == scores[order[start]] {
            end += 1;
        }
        // Ranks start..end (1-based start+1..=end) share their mean.
        let mid = (start + 1 + end) as f64 / 2.0;
        rank_sum += mid * order[start..end].iter().filter(|&&i| labels[i]).count() as f64;
        start = end;
    }
    let p = positives as f64;
    Some((rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// Mean binary cross-entropy of probabilities, clamped to [1e-7, 1 − 1e-7] so a confident
/// mistake costs a lot but not infinity.
pub fn logloss(probabilities: &[f32], labels: &[bool]) -> Option<f64> {
    if probabilities.is_empty() || probabilities.len() != labels.len() {
        return None;
    }
    let total: f64 = probabilities
        .iter()
        .zip(labels)
        .map(|(&p, &y)| {
            let p = f64::from(p).clamp(1e-7, 1.0 - 1e-7);
            if y { -p.ln() } else { -(1.0 - p).ln() }
        })
        .sum();
    Some(total / probabilities.len() as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn close(a: f64, b: f64) {
        assert!((a - b).abs() < 1e-9, "{a} != {b}");
    }

    #[test]
    fn list_metrics_match_hand_computed_values() {
        // Targets {3, 7, 9}; the list hits 7 at rank 2 and 3 at rank 4.
        let ranked = [5, 7, 1, 3, 8];
        let targets = [3, 7, 9];
        close(recall_at(&ranked, &targets, 2), 1.0 / 3.0);
        close(recall_at(&ranked, &targets, 5), 2.0 / 3.0);
        close(hit_rate_at(&ranked, &targets, 1), 0.0);
        close(hit_rate_at(&ranked, &targets, 2), 1.0);
        close(reciprocal_rank(&ranked, &targets), 0.5);
        // DCG = 1/log2(3) + 1/log2(5); IDCG (3 relevant, k = 5) = 1 + 1/log2(3) + 1/2.
        let dcg = 1.0 / 3f64.log2() + 1.0 / 5f64.log2();
        let idcg = 1.0 + 1.0 / 3f64.log2() + 0.5;
        close(ndcg_at(&ranked, &targets, 5), dcg / idcg);
        // k = 2: DCG = 1/log2(3), IDCG = 1 + 1/log2(3).
        close(
            ndcg_at(&ranked, &targets, 2),
            (1.0 / 3f64.log2()) / (1.0 + 1.0 / 3f64.log2()),
        );
        close(ndcg_at(&[9, 7, 3], &targets, 10), 1.0);
        close(reciprocal_rank(&[1, 2], &targets), 0.0);
        close(recall_at(&ranked, &[], 10), 0.0);
    }

    #[test]
    fn mean_metrics_average_over_users() {
        let mut mean = MeanMetrics::default();
        mean.add(&Metrics::of_user(&[1, 2], &[1]));
        mean.add(&Metrics::of_user(&[1, 2], &[2]));
        let m = mean.mean();
        close(m.mrr, 0.75);
        close(m.hr_10, 1.0);
        close(m.ndcg_10, (1.0 + 1.0 / 3f64.log2()) / 2.0);
        assert_eq!(mean.users(), 2);
    }

    #[test]
    fn auc_counts_ordered_pairs_with_ties_as_half() {
        // Positives 0.9, 0.4; negatives 0.5, 0.1. Pairs: (0.9>0.5), (0.9>0.1), (0.4<0.5),
        // (0.4>0.1) → 3 of 4.
        close(
            auc(&[0.9, 0.5, 0.4, 0.1], &[true, false, true, false]).unwrap(),
            0.75,
        );
        // A tie between a positive and a negative counts one half: (1 + 0.5) / 2.
        close(auc(&[0.7, 0.7, 0.2], &[true, false, false]).unwrap(), 0.75);
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn logloss_matches_hand_values_and_clamps() {
        let expected = -(0.8f64.ln() + 0.9f64.ln()) / 2.0;
        let got = logloss(&[0.8, 0.1], &[true, false]).unwrap();
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
        let capped = logloss(&[0.0], &[true]).unwrap();
        assert!((capped - (-(1e-7f64).ln())).abs() < 1e-6);
        assert_eq!(logloss(&[], &[]), None);
    }
}
