//! Exact nearest neighbours by brute force, and recall against them: the ground truth for
//! tests and `rankd index search-bench`. Parallel over queries with rayon.

use rayon::prelude::*;

use crate::distance::{DistanceFn, normalize};
use crate::format::Metric;

/// For each query (row-major, `dim` each), the slots of the `k` closest base rows, closest
/// first. Cosine normalises both sides, as the index does.
pub fn ground_truth(
    base: &[f32],
    queries: &[f32],
    dim: usize,
    k: usize,
    metric: Metric,
) -> Vec<Vec<u32>> {
    let distance = DistanceFn::new(metric);
    let prepare = |rows: &[f32]| -> Vec<f32> {
        let mut rows = rows.to_vec();
        if metric == Metric::Cosine {
            rows.chunks_exact_mut(dim).for_each(normalize);
        }
        rows
    };
    let (base, queries) = (prepare(base), prepare(queries));
    queries
        .par_chunks_exact(dim)
        .map(|q| {
            // Top k kept sorted while scanning: k is small and insertions are rare, and it
            // never holds a distance per base row (10k queries x 1M rows would not fit).
            let mut best: Vec<(f32, u32)> = Vec::with_capacity(k + 1);
            for (row, slot) in base.chunks_exact(dim).zip(0u32..) {
                let d = distance.eval(q, row);
                if best.len() < k || best.last().is_some_and(|w| d < w.0) {
                    let at = best.partition_point(|b| b.0 <= d);
                    best.insert(at, (d, slot));
                    best.truncate(k);
                }
            }
            best.into_iter().map(|(_, slot)| slot).collect()
        })
        .collect()
}

/// Mean fraction of the true `k` nearest found among the first `k` results.
pub fn recall_at(found: &[Vec<u32>], truth: &[Vec<u32>], k: usize) -> f64 {
    if found.is_empty() {
        return 0.0;
    }
    let total: usize = found
        .iter()
        .zip(truth)
        .map(|(f, t)| {
            let t = &t[..k.min(t.len())];
            f.iter().take(k).filter(|slot| t.contains(slot)).count()
        })
        .sum();
    total as f64 / (found.len() * k) as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ground_truth_orders_by_distance_and_recall_counts_overlap() {
        let base = [0.0, 0.0, 1.0, 0.0, 5.0, 0.0, 2.0, 0.0];
        let truth = ground_truth(&base, &[1.9, 0.0], 2, 3, Metric::L2);
        assert_eq!(truth, vec![vec![3, 1, 0]]);
        assert_eq!(recall_at(&[vec![3, 2, 0]], &truth, 3), 2.0 / 3.0);
        assert_eq!(recall_at(&[vec![0, 1, 3]], &truth, 3), 1.0);
    }
}
