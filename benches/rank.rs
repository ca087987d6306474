//! What is measured: the CPU cost of one Rank request in process (`Engine::rank_blocking`, one
//! thread, no gRPC, no batcher) on a published index version, with issue #5's shape: 500
//! candidates reranked, k = 20, 10 recent items.
//!
//! - `rank/blocking`: the whole pipeline, requests/s.
//! - A summary printed at the end: the median of each stage's own timing (`embed_user`,
//!   `retrieve`, `features`, `score`, `select`) over 400 requests, and each stage's share of
//!   their sum. This is the figure to compare before and after a change to one stage.
//! - Then a check, not a speed: the largest difference between the folded one-user ranker
//!   pass serving takes and the plain pass, over 50 requests' candidates, and how many of
//!   those requests keep the same top-k.
//!
//! Histories are coherent like a real user's: the 10 nearest neighbours of a seeded random
//! item (a random set of items would give a user vector between clusters, an unusual query).
//!
//! The index is not built here (that takes many minutes at 100k items): point
//! `RANKD_BENCH_INDEX` at `ROOT/NAME` or a version folder, e.g. one published by
//! `rankd build-index` from `rankd data synth` output as in the README's load test; the bench
//! is skipped with a message without it.
//!
//! Run: `RANKD_BENCH_INDEX=/tmp/lt/index/catalog cargo bench --bench rank`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use candle_core::Device;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use rankd::rank::{Engine, ItemFilter, RankQuery};
use rankd_index::Filter;

#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

const CANDIDATES: usize = 500;
const K: usize = 20;
const HISTORY: usize = 10;
const QUERIES: usize = 400;
const SEED: u64 = 7;

/// The version folder `RANKD_BENCH_INDEX` names (its CURRENT version for `ROOT/NAME`).
fn version_dir() -> Option<PathBuf> {
    let Some(dir) = std::env::var_os("RANKD_BENCH_INDEX").map(PathBuf::from) else {
        eprintln!("skipping: set RANKD_BENCH_INDEX to an index (ROOT/NAME or a version folder)");
        return None;
    };
    let current = dir.join("CURRENT");
    match std::fs::read_to_string(&current) {
        Ok(version) => Some(dir.join(version.trim())),
        Err(_) => Some(dir),
    }
}

fn queries(engine: &Engine) -> Vec<RankQuery> {
    let index = engine.index();
    let mut rng = ChaCha8Rng::seed_from_u64(SEED);
    (0..QUERIES)
        .map(|_| {
            let slot = rng.random_range(0..index.len() as u32);
            let vector = index.vector(slot).expect("vector");
            let recent = index
                .search(vector, HISTORY, 64, &Filter::new())
                .expect("search")
                .iter()
                .map(|hit| hit.id.to_string())
                .collect();
            RankQuery {
                request_id: String::new(),
                user_id: None,
                recent_item_ids: recent,
                query_text: None,
                k: K,
                num_candidates: CANDIDATES,
                filter: ItemFilter::default(),
                exclude_seen: false,
                explain: false,
            }
        })
        .collect()
}

fn open(dir: &Path) -> Engine {
    rankd::model::configure_cpu_threads();
    Engine::open(dir, &Device::Cpu, false).expect("open the index version")
}

fn bench_rank(c: &mut Criterion) {
    let Some(dir) = version_dir() else {
        return;
    };
    let engine = open(&dir);
    let queries = queries(&engine);
    let mut group = c.benchmark_group("rank");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(10))
        .throughput(Throughput::Elements(1));
    let mut next = queries.iter().cycle();
    group.bench_function("blocking", |b| {
        b.iter(|| {
            engine
                .rank_blocking(next.next().expect("cycle"), &[])
                .expect("rank")
        })
    });
    group.finish();
    summary(&engine, &queries);
}

fn summary(engine: &Engine, queries: &[RankQuery]) {
    let mut stages: BTreeMap<&'static str, Vec<Duration>> = BTreeMap::new();
    let mut order = Vec::new();
    for query in queries {
        let ranked = engine.rank_blocking(query, &[]).expect("rank");
        assert_eq!(ranked.items.len(), K);
        for (stage, elapsed) in ranked.timings {
            if !order.contains(&stage) {
                order.push(stage);
            }
            stages.entry(stage).or_default().push(elapsed);
        }
    }
    let medians: Vec<(&str, f64)> = order
        .iter()
        .map(|stage| {
            let times = stages.get_mut(stage).expect("recorded");
            times.sort();
            (*stage, times[times.len() / 2].as_secs_f64() * 1e3)
        })
        .collect();
    let total: f64 = medians.iter().map(|(_, ms)| ms).sum();
    println!(
        "\nper-stage medians over {} requests ({CANDIDATES} candidates, k = {K}):",
        queries.len()
    );
    for (stage, ms) in &medians {
        println!("{stage:>12} {ms:>8.3} ms {:>6.1}%", 100.0 * ms / total);
    }
    println!("{:>12} {total:>8.3} ms", "sum");
    folded_pass_agreement(engine, &queries[..50]);
}

/// How far the folded one-user pass that serving takes is from the plain forward pass (which
/// the ablation explanations use), over every candidate of `queries`, and whether the
/// top-k changes.
fn folded_pass_agreement(engine: &Engine, queries: &[RankQuery]) {
    let models = engine.models();
    let (mut worst, mut same_top_k) = (0f32, 0);
    for query in queries {
        let prepared = engine.prepare(query, &[]).expect("prepare");
        let folded = models.score_rows(prepared.rows()).expect("score");
        let plain: Vec<f32> = models
            .explain_rows(prepared.rows())
            .expect("explain")
            .iter()
            .map(|e| e.probability)
            .collect();
        for (a, b) in folded.iter().zip(&plain) {
            worst = worst.max((a - b).abs());
        }
        let top = |scores: &[f32]| {
            let mut order: Vec<usize> = (0..scores.len()).collect();
            order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
            order.truncate(K);
            order
        };
        same_top_k += usize::from(top(&folded) == top(&plain));
    }
    println!(
        "folded vs plain ranker pass over {} requests: max |Δp| {worst:.2e}, same top-{K} in {same_top_k}",
        queries.len()
    );
}

criterion_group!(benches, bench_rank);
criterion_main!(benches);
