//! `rankd eval` end to end: the split and counts in the report, the five methods with a tiny
//! encoder on synthetic data, the ANN path against the exact one, and the baselines on real
//! MovieLens-100k.

use std::process::Command;

use rankd::data::{Dataset, ReadOptions, SynthConfig, synthesize_to_dir};
use rankd::eval::{EvalReport, Prepared, run_baselines};
use rankd::testdata::{cache_dir, require};

fn eval(args: &[&str]) -> EvalReport {
    let run = Command::new(env!("CARGO_BIN_EXE_rankd"))
        .arg("eval")
        .args(args)
        .output()
        .expect("rankd runs");
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let out = args[args.iter().position(|a| *a == "--out").unwrap() + 1];
    let json = std::fs::read_to_string(std::path::Path::new(out).join("report.json")).unwrap();
    serde_json::from_str(&json).unwrap()
}

#[test]
fn eval_reports_all_five_methods_with_split_and_counts() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    synthesize_to_dir(&SynthConfig::new(300, 60, 4000, 3), &data).unwrap();
    let out = dir.path().join("report");
    let (items, events) = (data.join("items.csv"), data.join("interactions.csv"));
    let report = eval(&[
        "--items",
        items.to_str().unwrap(),
        "--interactions",
        events.to_str().unwrap(),
        "--dataset",
        "synthetic",
        "--out",
        out.to_str().unwrap(),
        "--encoder",
        "tiny",
        "--epochs",
        "1",
        "--ranker-epochs",
        "1",
        "--quiet",
        "--device",
        "cpu",
    ]);
    let names: Vec<&str> = report.methods.iter().map(|m| m.name.as_str()).collect();
    assert_eq!(names[0], "popularity");
    assert!(names[1].starts_with("itemknn (k="));
    assert_eq!(
        &names[2..],
        [
            "two-tower exact",
            "two-tower ANN (HNSW)",
            "retrieval + ranker"
        ]
    );
    assert_eq!(report.counts.interactions, 4000);
    assert_eq!(
        report.counts.train_interactions + report.counts.test_interactions,
        4000
    );
    assert!(report.counts.test_users > 0 && report.split.validation_time <= report.split.time);
    let ranker = report.ranker.as_ref().unwrap();
    assert!((0.0..=1.0).contains(&ranker.auc) && ranker.logloss > 0.0);
    // 300 items and ef 400: the HNSW beam covers the catalogue, so (d) must equal (c).
    assert_eq!(report.methods[3].metrics, report.methods[2].metrics);
    for file in ["report.json", "report.md", "report.png"] {
        assert!(out.join(file).is_file(), "{file}");
    }
    assert!(out.join("models").is_dir());
}

#[test]
fn baselines_beat_chance_on_movielens_100k_without_future_leaks() {
    let dir = cache_dir().join("movielens-100k");
    if require(
        dir.join("interactions.csv"),
        "rankd data fetch movielens-100k",
    )
    .is_none()
    {
        return;
    }
    let data = Dataset::load_dir(&dir, ReadOptions::default()).unwrap();
    let prepared = Prepared::new(data, 0.2, 0.5).unwrap();
    assert!(
        prepared
            .test
            .train
            .iter()
            .all(|e| e.timestamp < prepared.test.time)
    );
    let (results, tuning) = run_baselines(&prepared).unwrap();
    // Chance: 50 of ~1,600 unseen movies ≈ 3% recall@50; both baselines do several times that.
    for r in &results {
        assert!(r.metrics.recall_50 > 0.15, "{}: {:?}", r.name, r.metrics);
    }
    assert!(rankd::eval::K_GRID.contains(&tuning.chosen_k));
}
