//! Shared fixtures of the model tests: the devices to run on, a seeded synthetic shop whose
//! users have latent tastes, and a quick training config.

use candle_core::Device;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rankd::data::{EventKind, Interaction, Item};
use rankd::train::{RankerTrainConfig, TowerTrainConfig, TrainConfig};

/// The CPU, and the GPU when built with `cuda` and one is present.
pub fn devices() -> Vec<Device> {
    let mut devices = vec![Device::Cpu];
    if cfg!(feature = "cuda")
        && let Ok(gpu) = Device::new_cuda(0)
    {
        devices.push(gpu);
    }
    devices
}

const CATEGORIES: [&str; 6] = ["shoe", "shirt", "phone", "case", "movie", "drama"];
const COLOURS: [&str; 4] = ["red", "blue", "leather", "cotton"];

/// `n_items` items over six categories and `n_users` users who each like two categories and
/// interact mostly (85 %) within them, in time order.
pub fn synthetic_shop(
    seed: u64,
    n_items: usize,
    n_users: usize,
    per_user: usize,
) -> (Vec<Item>, Vec<Interaction>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let items: Vec<Item> = (0..n_items)
        .map(|i| {
            let cat = CATEGORIES[i % CATEGORIES.len()];
            Item {
                id: format!("i{i}"),
                title: format!(
                    "{} {cat} {i}",
                    COLOURS[(i / CATEGORIES.len()) % COLOURS.len()]
                ),
                categories: vec![cat.to_owned()],
                brand: (i % 3 == 0).then(|| format!("brand{}", i % 5)),
                price: (i % 4 != 0).then_some((i % 50) as f32 * 3.0),
            }
        })
        .collect();
    let mut interactions = Vec::new();
    for u in 0..n_users {
        let likes = [
            rng.random_range(0..CATEGORIES.len()),
            rng.random_range(0..CATEGORIES.len()),
        ];
        for t in 0..per_user {
            let cat = if rng.random::<f32>() < 0.85 {
                likes[rng.random_range(0..2)]
            } else {
                rng.random_range(0..CATEGORIES.len())
            };
            let per_cat = n_items / CATEGORIES.len();
            let item = cat + CATEGORIES.len() * rng.random_range(0..per_cat);
            interactions.push(Interaction {
                user_id: format!("u{u}"),
                item_id: format!("i{item}"),
                timestamp: 1_000_000 + (t * n_users + u) as i64 * 60,
                event: EventKind::Click,
                value: None,
            });
        }
    }
    (items, interactions)
}

/// Small and fast: a few seconds on two cores with the tiny encoder.
pub fn quick_config(seed: u64) -> TrainConfig {
    TrainConfig {
        seed,
        dim: 16,
        hidden: 32,
        holdout: 0.2,
        covisit_neighbours: 20,
        towers: TowerTrainConfig {
            epochs: 3,
            batch_size: 64,
            learning_rate: 5e-3,
            ..TowerTrainConfig::default()
        },
        ranker: RankerTrainConfig {
            epochs: 3,
            batch_size: 128,
            retrieval_k: 10,
            negatives: 3,
            ..RankerTrainConfig::default()
        },
        progress: false,
    }
}
