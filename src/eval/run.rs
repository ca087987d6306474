//! One evaluation run: baselines fitted on the split, any further methods the caller brings
//! (the trained models), then the report.

use super::EvalError;
use super::itemknn::{ItemKnn, tune_k};
use super::popularity::Popularity;
use super::prepare::Prepared;
use super::recommender::{MethodResult, Recommender, evaluate};
use super::report::{EvalReport, KnnTuning, RankerQuality};

/// The baselines (a) popularity and (b) ItemKNN with `k` tuned on validation and refitted on
/// the whole training period.
pub fn run_baselines(prepared: &Prepared) -> Result<(Vec<MethodResult>, KnnTuning), EvalError> {
    let n_items = prepared.catalog.len();
    let test = &prepared.test;
    let validation = &prepared.validation;
    let popularity = Popularity::fit(&test.train, n_items);
    let mut results = vec![evaluate(&popularity, &test.test_users, test.time)?];
    let chosen_k;
    let curve;
    if validation.test_users.is_empty() {
        // Nothing to tune on (a tiny log): keep the middle of the grid and say so in the curve.
        chosen_k = super::itemknn::K_GRID[2];
        curve = Vec::new();
    } else {
        (curve, chosen_k) = tune_k(
            &validation.train,
            &validation.test_users,
            validation.time,
            n_items,
        )?;
    }
    let knn = ItemKnn::fit(&test.train, n_items, chosen_k);
    results.push(evaluate(&knn, &test.test_users, test.time)?);
    Ok((results, KnnTuning { chosen_k, curve }))
}

/// Evaluates further methods on the test users.
pub fn run_methods(
    prepared: &Prepared,
    methods: &[&dyn Recommender],
) -> Result<Vec<MethodResult>, EvalError> {
    methods
        .iter()
        .map(|m| {
            tracing::info!(method = m.name(), "evaluating");
            evaluate(*m, &prepared.test.test_users, prepared.test.time)
        })
        .collect()
}

/// What the report says beyond the prepared data's own counts.
#[derive(Debug, Clone)]
pub struct RunOutcome {
    pub dataset: String,
    pub seed: u64,
    pub methods: Vec<MethodResult>,
    pub itemknn: KnnTuning,
    pub ranker: Option<RankerQuality>,
    pub notes: Vec<String>,
}

pub fn build_report(prepared: &Prepared, outcome: RunOutcome) -> EvalReport {
    EvalReport {
        dataset: outcome.dataset,
        split: prepared.split_info(),
        counts: prepared.counts(),
        seed: outcome.seed,
        protocol: format!(
            "each method ranks the full catalogue ({} items) minus the user's history items and \
             returns {} items; targets are the distinct items a user touched at or after their \
             cut (T, or later for a user first seen after T) that are not in their history; \
             metrics are means over test users",
            prepared.catalog.len(),
            super::metrics::LIST_LEN
        ),
        itemknn: outcome.itemknn,
        methods: outcome.methods,
        ranker: outcome.ranker,
        notes: outcome.notes,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::{SynthConfig, synthesize};

    #[test]
    fn itemknn_beats_popularity_on_taste_driven_synthetic_data() {
        let data = synthesize(&SynthConfig::new(400, 150, 12_000, 11)).unwrap();
        let prepared = Prepared::new(data, 0.2, 0.5).unwrap();
        let (results, tuning) = run_baselines(&prepared).unwrap();
        assert_eq!(results.len(), 2);
        assert_eq!(tuning.curve.len(), super::super::itemknn::K_GRID.len());
        let (pop, knn) = (&results[0].metrics, &results[1].metrics);
        assert!(knn.recall_50 > pop.recall_50, "{knn:?} vs {pop:?}");
        let dir = tempfile::tempdir().unwrap();
        let report = build_report(
            &prepared,
            RunOutcome {
                dataset: "synthetic".into(),
                seed: 11,
                methods: results,
                itemknn: tuning,
                ranker: None,
                notes: vec![],
            },
        );
        report.write(dir.path()).unwrap();
        let back: EvalReport = serde_json::from_str(
            &std::fs::read_to_string(dir.path().join(super::super::report::JSON_FILE)).unwrap(),
        )
        .unwrap();
        // JSON floats may differ in the last bit; the structure and counts must not.
        assert_eq!(back.counts, report.counts);
        assert_eq!(back.split, report.split);
        let names = |r: &EvalReport| r.methods.iter().map(|m| m.name.clone()).collect::<Vec<_>>();
        assert_eq!(names(&back), names(&report));
        assert!(
            (back.methods[1].metrics.ndcg_10 - report.methods[1].metrics.ndcg_10).abs() < 1e-12
        );
        let png = std::fs::read(dir.path().join(super::super::report::PLOT_FILE)).unwrap();
        assert_eq!(&png[..4], b"\x89PNG");
        let md =
            std::fs::read_to_string(dir.path().join(super::super::report::MARKDOWN_FILE)).unwrap();
        assert!(md.contains("| popularity |"), "{md}");
    }
}
