//! The inference API of trained models: shapes, batched == one at a time, save/load,
//! explanations, bad input.

use candle_core::Device;
use rankd::data::Item;
use rankd::model::{
    FORMAT_VERSION, FeatureGroup, ModelError, Models, ModelsConfig, RankerFeatures, RankerRows,
    TextEncoder, UserContext, files,
};
use rankd::train::train;

use super::model_support::{devices, quick_config, synthetic_shop};

fn trained(device: &Device) -> (Models, Vec<Item>) {
    let (items, interactions) = synthetic_shop(9, 48, 30, 10);
    let encoder = TextEncoder::tiny(2, device).unwrap();
    (
        train(&items, &interactions, encoder, &quick_config(3))
            .unwrap()
            .models,
        items,
    )
}

fn assert_close(a: &[f32], b: &[f32], what: &str) {
    assert_eq!(a.len(), b.len(), "{what}: lengths");
    for (i, (x, y)) in a.iter().zip(b).enumerate() {
        assert!((x - y).abs() < 1e-5, "{what}[{i}]: {x} vs {y}");
    }
}

fn norm(v: &[f32]) -> f32 {
    v.iter().map(|x| x * x).sum::<f32>().sqrt()
}

fn users(vectors: &[Vec<f32>]) -> Vec<UserContext> {
    vec![
        UserContext {
            recent: vectors[..3].to_vec(),
            query: None,
        },
        UserContext {
            recent: vec![],
            query: None,
        },
        UserContext {
            recent: vectors[5..30].to_vec(),
            query: Some("red shoe".into()),
        },
        UserContext {
            recent: vectors[7..8].to_vec(),
            query: Some("blue cotton shirt for kids".into()),
        },
    ]
}

#[test]
fn item_and_user_vectors_are_unit_length_in_the_model_dimension() {
    for device in devices() {
        let (models, items) = trained(&device);
        let vectors = models.embed_items(&items).unwrap();
        assert_eq!(vectors.len(), items.len());
        for v in &vectors {
            assert_eq!(v.len(), 16);
            assert!((norm(v) - 1.0).abs() < 1e-4);
        }
        for u in models.embed_users(&users(&vectors)).unwrap() {
            assert_eq!(u.len(), 16);
            assert!((norm(&u) - 1.0).abs() < 1e-4);
        }
    }
}

#[test]
fn batched_outputs_equal_one_at_a_time_outputs() {
    for device in devices() {
        let (models, items) = trained(&device);
        let batched = models.embed_items(&items).unwrap();
        for (i, item) in items.iter().enumerate().step_by(7) {
            let single = models.embed_items(std::slice::from_ref(item)).unwrap();
            assert_close(&batched[i], &single[0], "item vector");
        }
        let contexts = users(&batched);
        let batched_users = models.embed_users(&contexts).unwrap();
        for (i, context) in contexts.iter().enumerate() {
            let single = models.embed_users(std::slice::from_ref(context)).unwrap();
            assert_close(&batched_users[i], &single[0], "user vector");
        }
        let features: Vec<RankerFeatures> = (0..40)
            .map(|i| {
                let user = &batched_users[i % batched_users.len()];
                let score = user.iter().zip(&batched[i]).map(|(a, b)| a * b).sum();
                models.ranker_features(
                    user,
                    &batched[i],
                    &items[i],
                    &[&items[i + 1], &items[i + 2]],
                    score,
                )
            })
            .collect();
        let scores = models.score(&features).unwrap();
        for (i, f) in features.iter().enumerate() {
            let single = models.score(std::slice::from_ref(f)).unwrap();
            assert_close(&scores[i..=i], &single, "ranker score");
            assert!((0.0..=1.0).contains(&scores[i]));
        }
    }
}

/// Serving writes the ranker's input rows in place from a per-catalogue table; training and
/// evaluation build `RankerFeatures` one by one. Both must give the model the same numbers.
#[test]
fn ranker_rows_written_in_place_equal_per_candidate_features() {
    let (models, items) = trained(&Device::Cpu);
    let vectors = models.embed_items(&items).unwrap();
    let user = &models.embed_users(&users(&vectors)[2..3]).unwrap()[0];
    let table = models.item_table(&items);
    let history: Vec<u32> = vec![4, 9, 1];
    let candidates: Vec<u32> = (0..items.len() as u32).step_by(3).collect();
    let score = |c: u32| 0.01 * c as f32;
    let rows = models
        .ranker_rows(
            &table,
            user,
            &history,
            candidates
                .iter()
                .map(|&c| (vectors[c as usize].as_slice(), c, score(c))),
        )
        .unwrap();
    let history_items: Vec<&Item> = history.iter().map(|&h| &items[h as usize]).collect();
    let features: Vec<RankerFeatures> = candidates
        .iter()
        .map(|&c| {
            let i = c as usize;
            models.ranker_features(user, &vectors[i], &items[i], &history_items, score(c))
        })
        .collect();
    let mut expected = RankerRows::with_capacity(models.dim(), features.len());
    for f in &features {
        expected.push(&f.user, &f.item, f.scalars()).unwrap();
    }
    assert_eq!(rows, expected);
    // One user's rows take the folded pass: the same function, rounded differently.
    assert_close(
        &models.score_rows(&rows).unwrap(),
        &models.score(&features).unwrap(),
        "ranker score",
    );
}

#[test]
fn saved_models_load_back_with_the_same_outputs() {
    let (models, items) = trained(&Device::Cpu);
    let dir = tempfile::tempdir().unwrap();
    models.save(dir.path()).unwrap();
    let loaded = Models::load(dir.path(), &Device::Cpu).unwrap();
    assert_eq!(loaded.config(), models.config());
    let (a, b) = (
        models.embed_items(&items).unwrap(),
        loaded.embed_items(&items).unwrap(),
    );
    for (x, y) in a.iter().zip(&b) {
        assert_close(x, y, "reloaded item vector");
    }
    let ctx = users(&a);
    let (a_u, b_u) = (
        models.embed_users(&ctx).unwrap(),
        loaded.embed_users(&ctx).unwrap(),
    );
    for (x, y) in a_u.iter().zip(&b_u) {
        assert_close(x, y, "reloaded user vector");
    }
}

#[test]
fn models_of_another_format_are_refused_naming_the_config() {
    let (models, _) = trained(&Device::Cpu);
    let dir = tempfile::tempdir().unwrap();
    models.save(dir.path()).unwrap();
    assert_eq!(&ModelsConfig::read(dir.path()).unwrap(), models.config());
    let path = dir.path().join(files::CONFIG);
    let mut config: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap();
    config["format_version"] = (FORMAT_VERSION - 1).into();
    std::fs::write(&path, serde_json::to_vec(&config).unwrap()).unwrap();
    for err in [
        ModelsConfig::read(dir.path()).unwrap_err(),
        Models::load(dir.path(), &Device::Cpu).unwrap_err(),
    ] {
        assert!(matches!(err, ModelError::InvalidInput(_)), "{err}");
        let message = err.to_string();
        assert!(message.contains("config.json"), "{message}");
        assert!(
            message.contains(&format!("models format {}", FORMAT_VERSION - 1)),
            "{message}"
        );
    }
    let missing = ModelsConfig::read(&dir.path().join("absent")).unwrap_err();
    assert!(matches!(missing, ModelError::Missing { .. }), "{missing}");
}

#[test]
fn explanations_cover_every_group_and_match_the_score() {
    let (models, items) = trained(&Device::Cpu);
    let vectors = models.embed_items(&items).unwrap();
    let user = &models.embed_users(&users(&vectors)[..1]).unwrap()[0];
    let features: Vec<RankerFeatures> = (0..5)
        .map(|i| models.ranker_features(user, &vectors[i], &items[i], &[&items[0]], 0.3))
        .collect();
    let scores = models.score(&features).unwrap();
    let explanations = models.explain(&features).unwrap();
    assert_eq!(explanations.len(), 5);
    for (e, s) in explanations.iter().zip(&scores) {
        assert!((e.probability - s).abs() < 1e-6);
        let groups: Vec<FeatureGroup> = e.contributions.iter().map(|c| c.0).collect();
        assert_eq!(groups, FeatureGroup::ALL.to_vec());
        assert!(
            e.contributions
                .iter()
                .all(|c| c.1.is_finite() && c.1.abs() <= 1.0)
        );
    }
}

#[test]
fn cold_start_items_get_vectors_and_bad_feature_widths_are_rejected() {
    let (models, items) = trained(&Device::Cpu);
    let new_item = Item {
        id: "never-seen".into(),
        title: "red leather shoe".into(),
        categories: vec!["shoe".into()],
        brand: None,
        price: Some(30.0),
    };
    let v = &models.embed_items(&[new_item]).unwrap()[0];
    assert!((norm(v) - 1.0).abs() < 1e-4);
    let vectors = models.embed_items(&items[..1]).unwrap();
    let mut features = models.ranker_features(&vectors[0], &vectors[0], &items[0], &[], 1.0);
    features.user.pop();
    let err = models.score(&[features]).unwrap_err();
    assert!(
        matches!(err, ModelError::InvalidInput(ref m) if m.contains("15/16")),
        "{err}"
    );
    let short = UserContext {
        recent: vec![vec![0.0; 3]],
        query: None,
    };
    assert!(matches!(
        models.embed_users(&[short]),
        Err(ModelError::InvalidInput(_))
    ));
}
