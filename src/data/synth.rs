//! A seeded synthetic catalogue and behaviour log, for scale (millions of items) and for
//! tests that need a signal without real data.
//!
//! Generative story, chosen so every feature the models see carries signal:
//! - categories are `[department, leaf]`; each leaf has a size (Zipf) and a base price;
//! - each item: a leaf (by size), a brand from the few that sell in that leaf, a price
//!   (base × brand tier × noise), a popularity (log-normal) and a template title
//!   `"{Brand} {adjective} {leaf noun} {model}"`;
//! - each user: 1–3 favourite leaves with weights, two favourite brands in them, a preferred
//!   price tier, and an activity level (log-normal) that sets their share of events;
//! - each event: stay in the previous leaf (sessions), else a favourite leaf, else explore;
//!   then the best of four popularity-drawn candidates under the user's brand and price
//!   taste. Times advance by exponential gaps inside `[start, start + days)`.
//!
//! Items are written as they are drawn and only compact columns are kept (leaf, brand, price,
//! cumulative popularity per leaf: ~30 bytes an item), so 10M items fit in a few hundred MB.
//! The catalogue and the behaviour use separate ChaCha streams: changing `--events` or
//! `--users` leaves the catalogue byte-identical.

use std::path::Path;

use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rand_distr::{Distribution, Exp, LogNormal};

use super::generic::CsvSink;
use super::names::{ADJECTIVES, brand_name, leaf_name};
use super::{DataError, Dataset, EventKind, INTERACTIONS_FILE, ITEMS_FILE, Interaction, Item};

/// Brands selling in each leaf; small, so brand identity says something about the leaf.
const BRANDS_PER_LEAF: usize = 12;

/// What to generate; every field has a default except the sizes.
#[derive(Debug, Clone, PartialEq)]
pub struct SynthConfig {
    pub items: usize,
    pub users: usize,
    pub events: usize,
    pub seed: u64,
    /// Leaf categories; at most 64 distinct nouns, more get a series suffix.
    pub categories: usize,
    pub brands: usize,
    /// First timestamp (Unix seconds) and the span of the log.
    pub start: i64,
    pub days: u32,
}

impl SynthConfig {
    pub fn new(items: usize, users: usize, events: usize, seed: u64) -> Self {
        Self {
            items,
            users,
            events,
            seed,
            categories: 64,
            brands: 800,
            start: 1_700_000_000,
            days: 90,
        }
    }

    fn validate(&self) -> Result<(), DataError> {
        let bad = |m: &str| Err(DataError::SynthConfig(m.to_string()));
        if self.items == 0 || self.users == 0 {
            return bad("items and users must be at least 1");
        }
        if self.categories == 0 || self.categories > self.items {
            return bad("categories must be between 1 and the number of items");
        }
        if self.brands == 0 {
            return bad("brands must be at least 1");
        }
        if self.days == 0 {
            return bad("days must be at least 1");
        }
        Ok(())
    }
}

/// Counts of what was generated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SynthSummary {
    pub items: usize,
    pub users: usize,
    pub events: usize,
}

/// The compact catalogue kept while generating behaviour.
struct Catalogue {
    brand: Vec<u32>,
    log_price: Vec<f32>,
    /// Items of each leaf and their cumulative popularity, for O(log n) popularity draws.
    leaf_items: Vec<Vec<u32>>,
    leaf_cum_pop: Vec<Vec<f64>>,
    leaf_cum_size: Vec<f64>,
}

/// Index of the first cumulative weight above `x` (inverse-CDF draw).
fn draw(cum: &[f64], rng: &mut ChaCha8Rng) -> usize {
    let total = cum.last().copied().unwrap_or(0.0);
    let x = rng.random::<f64>() * total;
    cum.partition_point(|&c| c <= x)
        .min(cum.len().saturating_sub(1))
}

fn cumulative(weights: impl Iterator<Item = f64>) -> Vec<f64> {
    let mut acc = 0.0;
    weights
        .map(|w| {
            acc += w;
            acc
        })
        .collect()
}

fn leaf_brand(leaf: usize, k: usize, brands: usize) -> usize {
    (leaf * BRANDS_PER_LEAF + k * 7) % brands
}

fn make_catalogue(
    config: &SynthConfig,
    on_item: &mut dyn FnMut(Item) -> Result<(), DataError>,
) -> Result<Catalogue, DataError> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let leaves = config.categories;
    let size_cum = cumulative((0..leaves).map(|l| 1.0 / (l as f64 + 2.0)));
    let base_price: Vec<f32> = (0..leaves).map(|_| rng.random_range(5.0..200.0)).collect();
    let tier = LogNormal::new(0.0, 0.5).map_err(|e| DataError::SynthConfig(e.to_string()))?;
    let brand_tier: Vec<f32> = (0..config.brands)
        .map(|_| tier.sample(&mut rng) as f32)
        .collect();
    let noise = LogNormal::new(0.0, 0.25).map_err(|e| DataError::SynthConfig(e.to_string()))?;
    let popularity = LogNormal::new(0.0, 1.2).map_err(|e| DataError::SynthConfig(e.to_string()))?;
    let names: Vec<(String, String)> = (0..leaves).map(leaf_name).collect();
    let mut cat = Catalogue {
        brand: Vec::with_capacity(config.items),
        log_price: Vec::with_capacity(config.items),
        leaf_items: vec![Vec::new(); leaves],
        leaf_cum_pop: vec![Vec::new(); leaves],
        leaf_cum_size: size_cum.clone(),
    };
    for i in 0..config.items {
        // The first `leaves` items seed one per leaf so no leaf is empty.
        let leaf = if i < leaves {
            i
        } else {
            draw(&size_cum, &mut rng)
        };
        let brand = leaf_brand(leaf, rng.random_range(0..BRANDS_PER_LEAF), config.brands);
        let price = (base_price[leaf] * brand_tier[brand] * noise.sample(&mut rng) as f32 * 100.0)
            .round()
            / 100.0;
        let pop = popularity.sample(&mut rng);
        let (dept, noun) = &names[leaf];
        let brand_label = brand_name(brand);
        let title = format!(
            "{brand_label} {} {noun} {}{}",
            ADJECTIVES[rng.random_range(0..ADJECTIVES.len())],
            (b'A' + rng.random_range(0..26u8)) as char,
            rng.random_range(1..1000u32)
        );
        cat.brand.push(brand as u32);
        cat.log_price.push(price.max(0.01).ln());
        cat.leaf_items[leaf].push(i as u32);
        let prev = cat.leaf_cum_pop[leaf].last().copied().unwrap_or(0.0);
        cat.leaf_cum_pop[leaf].push(prev + pop);
        on_item(Item {
            id: format!("i{i}"),
            title,
            categories: vec![dept.clone(), noun.clone()],
            brand: Some(brand_label),
            price: Some(price),
        })?;
    }
    Ok(cat)
}

/// One user's hidden taste.
struct Taste {
    leaves: Vec<usize>,
    leaf_cum: Vec<f64>,
    brands: [u32; 2],
    log_price: f32,
}

fn make_taste(cat: &Catalogue, config: &SynthConfig, rng: &mut ChaCha8Rng) -> Taste {
    let n = rng.random_range(1..=3usize);
    let leaves: Vec<usize> = (0..n).map(|_| draw(&cat.leaf_cum_size, rng)).collect();
    let leaf_cum = cumulative((0..n).map(|k| 1.0 / (k as f64 + 1.0)));
    let brands = [0, 1].map(|_| {
        let leaf = leaves[rng.random_range(0..n)];
        leaf_brand(leaf, rng.random_range(0..BRANDS_PER_LEAF), config.brands) as u32
    });
    // A price tier relative to the favourite leaf's typical item.
    let leaf = leaves[0];
    let typical = cat.leaf_items[leaf][rng.random_range(0..cat.leaf_items[leaf].len())];
    let log_price = cat.log_price[typical as usize] + rng.random_range(-0.5..0.5);
    Taste {
        leaves,
        leaf_cum,
        brands,
        log_price,
    }
}

fn pick_item(cat: &Catalogue, leaf: usize, taste: &Taste, rng: &mut ChaCha8Rng) -> u32 {
    let mut best = (f32::NEG_INFINITY, 0u32);
    for _ in 0..4 {
        let item = cat.leaf_items[leaf][draw(&cat.leaf_cum_pop[leaf], rng)];
        let brand_bonus = if taste.brands.contains(&cat.brand[item as usize]) {
            1.5
        } else {
            0.0
        };
        let price_penalty = (cat.log_price[item as usize] - taste.log_price).abs();
        let score = brand_bonus - price_penalty + rng.random::<f32>() * 0.5;
        if score > best.0 {
            best = (score, item);
        }
    }
    best.1
}

fn event_kind(rng: &mut ChaCha8Rng) -> (EventKind, Option<f32>) {
    match rng.random_range(0..100u32) {
        0..70 => (EventKind::View, None),
        70..88 => (EventKind::Click, None),
        88..96 => (EventKind::Cart, None),
        _ => (EventKind::Purchase, Some(1.0)),
    }
}

fn make_behaviour(
    cat: &Catalogue,
    config: &SynthConfig,
    on_event: &mut dyn FnMut(Interaction) -> Result<(), DataError>,
) -> Result<(), DataError> {
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed ^ 0x5eed_beef_u64);
    let activity = LogNormal::new(0.0, 1.0).map_err(|e| DataError::SynthConfig(e.to_string()))?;
    let act_cum = cumulative((0..config.users).map(|_| activity.sample(&mut rng)));
    let mut counts = vec![0u32; config.users];
    for _ in 0..config.events {
        counts[draw(&act_cum, &mut rng)] += 1;
    }
    let span = i64::from(config.days) * 86_400;
    for (user, &count) in counts.iter().enumerate() {
        if count == 0 {
            continue;
        }
        let taste = make_taste(cat, config, &mut rng);
        let gap = Exp::new(f64::from(count) / (span as f64 * 0.8))
            .map_err(|e| DataError::SynthConfig(e.to_string()))?;
        let mut t = config.start + rng.random_range(0..span / 5);
        let mut leaf = taste.leaves[0];
        for _ in 0..count {
            let r = rng.random::<f32>();
            if r >= 0.6 {
                leaf = if r < 0.94 {
                    taste.leaves[draw(&taste.leaf_cum, &mut rng)]
                } else {
                    draw(&cat.leaf_cum_size, &mut rng)
                };
            }
            let item = pick_item(cat, leaf, &taste, &mut rng);
            let (event, value) = event_kind(&mut rng);
            on_event(Interaction {
                user_id: format!("u{user}"),
                item_id: format!("i{item}"),
                timestamp: t.min(config.start + span - 1),
                event,
                value,
            })?;
            t += gap.sample(&mut rng).ceil() as i64;
        }
    }
    Ok(())
}

/// Generates the data set in memory (tests, small runs).
pub fn synthesize(config: &SynthConfig) -> Result<Dataset, DataError> {
    config.validate()?;
    let mut data = Dataset::default();
    let cat = make_catalogue(config, &mut |item| {
        data.items.push(item);
        Ok(())
    })?;
    make_behaviour(&cat, config, &mut |event| {
        data.interactions.push(event);
        Ok(())
    })?;
    Ok(data)
}

/// Generates straight into `dir/items.csv` and `dir/interactions.csv`, holding only the
/// compact catalogue in memory.
pub fn synthesize_to_dir(config: &SynthConfig, dir: &Path) -> Result<SynthSummary, DataError> {
    config.validate()?;
    let mut items = CsvSink::items(&dir.join(ITEMS_FILE))?;
    let cat = make_catalogue(config, &mut |item| items.write_item(&item))?;
    items.finish()?;
    let mut events = CsvSink::interactions(&dir.join(INTERACTIONS_FILE))?;
    make_behaviour(&cat, config, &mut |event| events.write_interaction(&event))?;
    let written = events.finish()?;
    Ok(SynthSummary {
        items: config.items,
        users: config.users,
        events: written as usize,
    })
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;

    #[test]
    fn same_seed_same_data_and_catalogue_independent_of_events() {
        let a = synthesize(&SynthConfig::new(500, 50, 2000, 7)).unwrap();
        let b = synthesize(&SynthConfig::new(500, 50, 2000, 7)).unwrap();
        assert_eq!(a, b);
        let c = synthesize(&SynthConfig::new(500, 80, 100, 7)).unwrap();
        assert_eq!(a.items, c.items);
        let d = synthesize(&SynthConfig::new(500, 50, 2000, 8)).unwrap();
        assert_ne!(a.items, d.items);
        assert_eq!(a.interactions.len(), 2000);
    }

    #[test]
    fn users_concentrate_on_few_categories() {
        let data = synthesize(&SynthConfig::new(2000, 100, 10_000, 1)).unwrap();
        let leaf: HashMap<&str, &str> = data
            .items
            .iter()
            .map(|i| (i.id.as_str(), i.categories[1].as_str()))
            .collect();
        let mut per_user: HashMap<&str, HashMap<&str, usize>> = HashMap::new();
        for e in &data.interactions {
            *per_user
                .entry(&e.user_id)
                .or_default()
                .entry(leaf[e.item_id.as_str()])
                .or_default() += 1;
        }
        // Share of a user's events in their top 3 leaves, averaged over active users; with
        // 64 leaves and no taste this would be far below one half.
        let (mut share, mut n) = (0.0, 0.0);
        for counts in per_user.values() {
            let total: usize = counts.values().sum();
            if total < 20 {
                continue;
            }
            let mut c: Vec<usize> = counts.values().copied().collect();
            c.sort_unstable_by(|a, b| b.cmp(a));
            share += c.iter().take(3).sum::<usize>() as f64 / total as f64;
            n += 1.0;
        }
        assert!(n > 10.0);
        assert!(share / n > 0.8, "top-3 leaf share {}", share / n);
    }

    #[test]
    fn writes_the_generic_format_and_rejects_bad_configs() {
        let dir = tempfile::tempdir().unwrap();
        let summary = synthesize_to_dir(&SynthConfig::new(100, 10, 300, 3), dir.path()).unwrap();
        assert_eq!(summary.events, 300);
        let back = Dataset::load_dir(dir.path(), Default::default()).unwrap();
        assert_eq!(
            back,
            synthesize(&SynthConfig::new(100, 10, 300, 3)).unwrap()
        );
        assert!(matches!(
            synthesize(&SynthConfig::new(10, 0, 5, 1)),
            Err(DataError::SynthConfig(_))
        ));
    }
}
