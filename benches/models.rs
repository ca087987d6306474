//! What is measured: model inference throughput on this machine's CPU (or the GPU with
//! `--features cuda` when one is present).
//!
//! - `text_encoder/{1,32,256}`: MiniLM (all-MiniLM-L6-v2) embedding synthetic product titles,
//!   items/s at batch 1, 32, 256 (tokenising, padding, forward, pooling). Needs the weights
//!   (`rankd data fetch minilm`); skipped with a message without them.
//! - `item_tower/{1,32,256}`: the item tower on precomputed 384-d text embeddings, items/s.
//! - `ranker/{1..4096}`: the DCN-v2 ranker's forward pass on packed feature rows,
//!   candidates/s.
//! - `covisit/affinity`: what the co-visitation column costs a request — summing the
//!   100-neighbour lists of 20 recent items, then reading 500 candidates' values — requests/s.
//! - A summary printed at the end: ranker GFLOP/s per batch against the measured matmul peak
//!   (a 1024³ f32 matmul through the same candle/gemm path), medians of repeated runs.
//!
//! Weights are random from a fixed seed (throughput does not depend on their values); the
//! allocator is mimalloc, as in the `rankd` binary.
//!
//! Run: `cargo bench --bench models` (add `-- ranker` for one group; `--features cuda` on a
//! GPU machine; `--no-default-features` for the build without gemm's AVX-512 kernels).

use std::time::{Duration, Instant};

use candle_core::{DType, Device, Tensor};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rankd::data::Item;
use rankd::model::{
    CoVisitation, ItemTower, ItemVocab, MINILM_HINT, Ranker, RankerConfig, SeededVars, TextEncoder,
    TowerConfig, minilm_dir,
};

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const ENCODER_BATCHES: [usize; 3] = [1, 32, 256];
const RANKER_BATCHES: [usize; 7] = [1, 4, 16, 64, 256, 1024, 4096];
const WORDS: [&str; 24] = [
    "red",
    "blue",
    "leather",
    "cotton",
    "running",
    "shoes",
    "shirt",
    "wireless",
    "headphones",
    "phone",
    "case",
    "for",
    "women",
    "men",
    "kids",
    "organic",
    "coffee",
    "beans",
    "stainless",
    "steel",
    "water",
    "bottle",
    "with",
    "lid",
];

fn device() -> Device {
    // As in the `rankd` binary: candle's spinning CPU pool off (see `configure_cpu_threads`).
    rankd::model::configure_cpu_threads();
    if cfg!(feature = "cuda") {
        Device::new_cuda(0).unwrap_or(Device::Cpu)
    } else {
        Device::Cpu
    }
}

fn sync(device: &Device) {
    device.synchronize().expect("device synchronize");
}

/// Seeded product-like items: 6–14 words of title, a category, a brand, a price.
fn items(n: usize) -> Vec<Item> {
    let mut rng = ChaCha8Rng::seed_from_u64(7);
    (0..n)
        .map(|i| {
            let words = rng.random_range(6..=14);
            let title: Vec<&str> = (0..words)
                .map(|_| WORDS[rng.random_range(0..WORDS.len())])
                .collect();
            Item {
                id: format!("i{i}"),
                title: title.join(" "),
                categories: vec![format!("c{}", i % 50), format!("c{}", 50 + i % 7)],
                brand: Some(format!("b{}", i % 200)),
                price: Some(rng.random_range(1.0..500.0)),
            }
        })
        .collect()
}

fn bench_encoder(c: &mut Criterion) {
    let Some(dir) = rankd::testdata::require(minilm_dir().join("model.safetensors"), MINILM_HINT)
    else {
        return;
    };
    let device = device();
    let encoder =
        TextEncoder::load(dir.parent().expect("minilm dir"), &device).expect("load MiniLM");
    let catalogue = items(256);
    let texts: Vec<String> = catalogue.iter().map(rankd::model::item_text).collect();
    let mut group = c.benchmark_group("text_encoder");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(8));
    for batch in ENCODER_BATCHES {
        let refs: Vec<&str> = texts[..batch].iter().map(String::as_str).collect();
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &refs, |b, refs| {
            b.iter(|| {
                let out = encoder.embed(refs, batch).expect("embed");
                sync(&device);
                out
            })
        });
    }
    group.finish();
}

fn bench_item_tower(c: &mut Criterion) {
    let device = device();
    let catalogue = items(256);
    let vocab = ItemVocab::from_items(&catalogue);
    let config = TowerConfig::new(&vocab, 384);
    let vars = SeededVars::new(1, &device);
    let tower = ItemTower::new(&config, vars.builder().pp("item")).expect("tower");
    let text = Tensor::randn(0f32, 1.0, (256, 384), &device).expect("text");
    let mut group = c.benchmark_group("item_tower");
    for batch in ENCODER_BATCHES {
        let refs: Vec<&Item> = catalogue[..batch].iter().collect();
        let text = text.narrow(0, 0, batch).expect("narrow");
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter(|| {
                let inputs = vocab.encode(&refs, &[], &device).expect("encode");
                let out = tower.forward(&text, &inputs).expect("forward");
                sync(&device);
                out
            })
        });
    }
    group.finish();
}

fn ranker(device: &Device) -> (Ranker, RankerConfig) {
    let config = RankerConfig::new(64);
    let vars = SeededVars::new(2, device);
    (
        Ranker::new(&config, vars.builder()).expect("ranker"),
        config,
    )
}

fn bench_ranker(c: &mut Criterion) {
    let device = device();
    let (ranker, config) = ranker(&device);
    let mut group = c.benchmark_group("ranker");
    for batch in RANKER_BATCHES {
        let x = Tensor::randn(0f32, 1.0, (batch, config.input_dim()), &device).expect("x");
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_function(BenchmarkId::from_parameter(batch), |b| {
            b.iter(|| {
                let out = ranker.logits(&x).expect("logits");
                sync(&device);
                out
            })
        });
    }
    group.finish();
    summary(&device, &ranker, &config);
}

/// Median seconds of `reps` timed runs of `f` after two warm-ups.
fn median_secs(reps: usize, mut f: impl FnMut()) -> f64 {
    f();
    f();
    let mut times: Vec<f64> = (0..reps)
        .map(|_| {
            let start = Instant::now();
            f();
            start.elapsed().as_secs_f64()
        })
        .collect();
    times.sort_by(f64::total_cmp);
    times[reps / 2]
}

/// Multiply-adds ×2 of one ranker row: cross layers, deep layers and the head.
fn ranker_flops_per_row(config: &RankerConfig) -> f64 {
    let input = config.input_dim() as f64;
    let cross = config.cross_layers as f64 * 2.0 * input * input;
    let mut deep = 0.0;
    let mut width = input;
    for &out in &config.deep {
        deep += 2.0 * width * out as f64;
        width = out as f64;
    }
    cross + deep + 2.0 * (input + width)
}

fn summary(device: &Device, ranker: &Ranker, config: &RankerConfig) {
    let n = 1024;
    let a = Tensor::randn(0f32, 1.0, (n, n), device).expect("a");
    let b = Tensor::randn(0f32, 1.0, (n, n), device).expect("b");
    let peak_secs = median_secs(9, || {
        a.matmul(&b).expect("matmul");
        sync(device);
    });
    let peak = 2.0 * (n as f64).powi(3) / peak_secs / 1e9;
    println!(
        "\nmatmul peak ({n}³ f32, {device:?}, avx512 feature {}, CANDLE_NUM_THREADS={:?}): \
         {peak:.1} GFLOP/s",
        cfg!(feature = "avx512"),
        std::env::var("CANDLE_NUM_THREADS").ok()
    );
    println!(
        "ranker (input {}, {} cross, deep {:?}):",
        config.input_dim(),
        config.cross_layers,
        config.deep
    );
    println!(
        "{:>6} {:>14} {:>10} {:>8}",
        "batch", "candidates/s", "GFLOP/s", "of peak"
    );
    let per_row = ranker_flops_per_row(config);
    for batch in RANKER_BATCHES {
        let x = Tensor::randn(0f32, 1.0, (batch, config.input_dim()), device).expect("x");
        let reps = if batch >= 1024 { 21 } else { 101 };
        let secs = median_secs(reps, || {
            ranker
                .logits(&x)
                .expect("logits")
                .to_dtype(DType::F32)
                .expect("dtype");
            sync(device);
        });
        let gflops = per_row * batch as f64 / secs / 1e9;
        println!(
            "{batch:>6} {:>14.0} {gflops:>10.2} {:>7.1}%",
            batch as f64 / secs,
            100.0 * gflops / peak
        );
    }
}

/// A table where every item has its full 100 neighbours (2,000 users of 150 random items each
/// over 10,000 items), so the request sums the longest lists it can meet.
fn bench_covisit(c: &mut Criterion) {
    const ITEMS: u32 = 10_000;
    let mut rng = ChaCha8Rng::seed_from_u64(5);
    let pairs: Vec<(u32, u32)> = (0..2_000u32)
        .flat_map(|u| (0..150).map(move |_| u))
        .map(|u| (u, rng.random_range(0..ITEMS)))
        .collect();
    let table = CoVisitation::fit(&pairs, ITEMS as usize, 100);
    let history: Vec<u32> = (0..20).map(|_| rng.random_range(0..ITEMS)).collect();
    let candidates: Vec<u32> = (0..500).map(|_| rng.random_range(0..ITEMS)).collect();
    let mut group = c.benchmark_group("covisit");
    group.throughput(Throughput::Elements(1));
    group.bench_function("affinity", |b| {
        b.iter(|| {
            let near = table.affinity(&history);
            candidates.iter().map(|&c| near.feature(c)).sum::<f32>()
        })
    });
    group.finish();
}

criterion_group!(
    benches,
    bench_encoder,
    bench_item_tower,
    bench_ranker,
    bench_covisit
);
criterion_main!(benches);
