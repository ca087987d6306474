//! Candidate generation besides the ANN search: the most popular items the user has not seen,
//! mixed into the retrieved candidates before the ranker orders them.
//!
//! The towers are trained with the log-Q correction, which removes popularity from the
//! retrieval score on purpose, so on logs where popularity predicts well (ml-latest-small, where
//! the popularity baseline out-recalls the towers) the retrieved top-200 misses items a user
//! is likely to pick. The ranker sees popularity as a feature and can promote them, but only if
//! they are among its candidates. Ranker training mines its negatives from the same mixed set,
//! so it learns to order popular items it would otherwise never meet.
//!
//! Rejected: dropping the log-Q correction (weight 0) to put popularity back into retrieval;
//! measured far worse on ml-latest-small (see `TowerTrainConfig::log_q_weight`).

/// Popular items mixed into the candidates by default: the first this many unseen items of the
/// popularity ranking, less those retrieval already found.
pub const POPULAR_CANDIDATES: usize = 100;

/// Rows ordered by `counts`, most first; ties go to the lower row. Row 0 (the unknown item in
/// vocabulary order) is kept only if `skip_first` is false.
pub fn popularity_ranking(counts: &[u32], skip_first: bool) -> Vec<u32> {
    let start = u32::from(skip_first);
    let mut rows: Vec<u32> = (start..counts.len() as u32).collect();
    rows.sort_by(|&a, &b| counts[b as usize].cmp(&counts[a as usize]).then(a.cmp(&b)));
    rows
}

/// The candidates to add to `retrieved`: of the first `n` items of `ranking` that are not
/// `excluded`, those not already in `retrieved`, in ranking order.
pub fn popular_extras(
    retrieved: &[u32],
    ranking: &[u32],
    n: usize,
    excluded: impl Fn(u32) -> bool,
) -> Vec<u32> {
    ranking
        .iter()
        .copied()
        .filter(|&r| !excluded(r))
        .take(n)
        .filter(|r| !retrieved.contains(r))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranking_is_by_count_then_row_and_can_skip_the_unknown_row() {
        let counts = [9, 1, 5, 5, 0];
        assert_eq!(popularity_ranking(&counts, false), vec![0, 2, 3, 1, 4]);
        assert_eq!(popularity_ranking(&counts, true), vec![2, 3, 1, 4]);
    }

    #[test]
    fn extras_skip_excluded_items_before_counting_and_retrieved_ones_after() {
        let ranking = [7, 3, 5, 1, 9];
        // 3 is excluded, so the first three unseen are 7, 5, 1; 5 was already retrieved.
        let extras = popular_extras(&[5, 8], &ranking, 3, |r| r == 3);
        assert_eq!(extras, vec![7, 1]);
        assert!(popular_extras(&[], &ranking, 0, |_| false).is_empty());
    }
}
