//! Training: deterministic for a seed, learns the synthetic users' tastes, refuses data it
//! cannot train on.

use std::collections::HashMap;

use rankd::model::{ModelError, TextEncoder, UserContext, files};
use rankd::train::{TrainedModels, train};

use super::model_support::{devices, quick_config, synthetic_shop};

fn train_tiny(device: &candle_core::Device, seed: u64) -> TrainedModels {
    let (items, interactions) = synthetic_shop(3, 60, 40, 12);
    let encoder = TextEncoder::tiny(1, device).unwrap();
    train(&items, &interactions, encoder, &quick_config(seed)).unwrap()
}

fn saved_bytes(trained: &TrainedModels) -> (Vec<u8>, Vec<u8>) {
    let dir = tempfile::tempdir().unwrap();
    trained.save(dir.path()).unwrap();
    let read = |name: &str| std::fs::read(dir.path().join(name)).unwrap();
    (read(files::TOWERS), read(files::RANKER))
}

#[test]
fn training_twice_with_one_seed_gives_identical_weights() {
    for device in devices() {
        let a = train_tiny(&device, 11);
        let b = train_tiny(&device, 11);
        assert_eq!(saved_bytes(&a), saved_bytes(&b), "on {device:?}");
        let losses = |t: &TrainedModels| {
            t.report
                .tower_epochs
                .iter()
                .map(|e| e.mean_loss)
                .collect::<Vec<_>>()
        };
        assert_eq!(losses(&a), losses(&b));
        let c = train_tiny(&device, 12);
        assert_ne!(
            saved_bytes(&a).0,
            saved_bytes(&c).0,
            "another seed must give other weights"
        );
    }
}

#[test]
fn training_lowers_both_losses_and_writes_a_report() {
    let trained = train_tiny(&candle_core::Device::Cpu, 5);
    let report = &trained.report;
    let (first, last) = (&report.tower_epochs[0], report.tower_epochs.last().unwrap());
    assert!(
        last.mean_loss < first.mean_loss,
        "tower loss {} -> {}",
        first.mean_loss,
        last.mean_loss
    );
    let (first, last) = (
        &report.ranker_epochs[0],
        report.ranker_epochs.last().unwrap(),
    );
    assert!(
        last.mean_loss < first.mean_loss,
        "ranker loss {} -> {}",
        first.mean_loss,
        last.mean_loss
    );
    assert_eq!(
        (report.items, report.users, report.interactions),
        (60, 40, 480)
    );
    assert!(report.ranker_positives > 0 && report.ranker_pairs == report.ranker_positives * 4);
    let dir = tempfile::tempdir().unwrap();
    trained.save(dir.path()).unwrap();
    let json: serde_json::Value =
        serde_json::from_slice(&std::fs::read(dir.path().join(files::REPORT)).unwrap()).unwrap();
    assert_eq!(
        json["tower_examples"].as_u64(),
        Some(report.tower_examples as u64)
    );
}

/// The synthetic users mostly stay in two categories; the towers must retrieve from them far
/// more often than the 1/3 a random top-10 would.
#[test]
fn trained_towers_retrieve_the_users_favourite_categories() {
    let (items, interactions) = synthetic_shop(3, 60, 60, 24);
    let encoder = TextEncoder::tiny(1, &candle_core::Device::Cpu).unwrap();
    let mut config = quick_config(5);
    config.towers.epochs = 10;
    let models = train(&items, &interactions, encoder, &config)
        .unwrap()
        .models;
    let vectors = models.embed_items(&items).unwrap();
    let index: HashMap<&str, usize> = items
        .iter()
        .enumerate()
        .map(|(i, it)| (it.id.as_str(), i))
        .collect();
    let mut by_user: HashMap<&str, Vec<usize>> = HashMap::new();
    for event in &interactions {
        by_user
            .entry(event.user_id.as_str())
            .or_default()
            .push(index[event.item_id.as_str()]);
    }
    let (mut hits, mut total) = (0usize, 0usize);
    for history in by_user.values() {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for &i in history {
            *counts.entry(items[i].categories[0].as_str()).or_default() += 1;
        }
        let mut favourite: Vec<(&str, usize)> = counts.into_iter().collect();
        favourite.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let top2: Vec<&str> = favourite.iter().take(2).map(|f| f.0).collect();
        let recent = history.iter().rev().map(|&i| vectors[i].clone()).collect();
        let user = &models
            .embed_users(&[UserContext {
                recent,
                query: None,
            }])
            .unwrap()[0];
        let mut scored: Vec<(f32, usize)> = vectors
            .iter()
            .enumerate()
            .map(|(i, v)| (v.iter().zip(user).map(|(a, b)| a * b).sum(), i))
            .collect();
        scored.sort_by(|a, b| b.0.total_cmp(&a.0));
        hits += scored
            .iter()
            .take(10)
            .filter(|(_, i)| top2.contains(&items[*i].categories[0].as_str()))
            .count();
        total += 10;
    }
    let share = hits as f32 / total as f32;
    assert!(
        share > 0.6,
        "only {share:.2} of top-10 items in the favourite categories"
    );
}

#[test]
fn training_without_usable_interactions_is_an_invalid_input_error() {
    let (items, mut interactions) = synthetic_shop(3, 12, 2, 3);
    for event in &mut interactions {
        event.item_id = format!("not-in-catalogue-{}", event.item_id);
    }
    let encoder = TextEncoder::tiny(1, &candle_core::Device::Cpu).unwrap();
    let err = train(&items, &interactions, encoder, &quick_config(1)).unwrap_err();
    assert!(
        matches!(err, ModelError::InvalidInput(ref m) if m.contains("tower training examples")),
        "{err}"
    );
}
