//! What is measured: single-query search latency of the memory-mapped index on a cached
//! 100k x 64 clustered fixture (see `support/index_fixture.rs`), one thread.
//!
//! - `index_search/mapped/{ef}`: `MappedIndex::search`, k = 10, no filter, ef sweep.
//! - `index_search/hnsw_rs/{ef}`: hnsw_rs's own search of the same graph (reloaded from the
//!   dump written with the fixture), same queries; the ratio of the two is the point.
//! - `index_filtered/{1pct,30pct}`: k = 10, ef = 64 with a category filter keeping 1 % (exact
//!   scan chosen) or 30 % (filtered graph search) of the items.
//!
//! Recall is not measured here (see `rankd index search-bench`); queries cycle through 1,000
//! held-out rows from the same clusters.
//!
//! Run: `cargo bench --bench index_search` (add `-- mapped` for one group).

use std::hint::black_box;

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use rankd_index::{Filter, Reference};

#[path = "support/index_fixture.rs"]
mod index_fixture;

use index_fixture::{DIM, fixture};

const EFS: [usize; 5] = [10, 20, 40, 80, 160];

fn search(c: &mut Criterion) {
    let f = fixture();
    let queries: Vec<&[f32]> = f.queries.chunks_exact(DIM).collect();
    let filter = Filter::new();
    let mut group = c.benchmark_group("index_search");
    for ef in EFS {
        let mut next = queries.iter().cycle();
        group.bench_with_input(BenchmarkId::new("mapped", ef), &ef, |b, &ef| {
            b.iter(|| {
                f.index
                    .search(black_box(next.next().unwrap()), 10, ef, &filter)
                    .unwrap()
                    .len()
            })
        });
    }
    let version_dir = f.index.dir().to_path_buf();
    if let Some(io) = Reference::io_for(&version_dir) {
        let reference = Reference::load(&io, f.index.metric()).expect("reload the hnsw_rs dump");
        for ef in EFS {
            let mut next = queries.iter().cycle();
            group.bench_with_input(BenchmarkId::new("hnsw_rs", ef), &ef, |b, &ef| {
                b.iter(|| {
                    reference
                        .search(black_box(next.next().unwrap()), 10, ef)
                        .len()
                })
            });
        }
    }
    group.finish();

    let mut group = c.benchmark_group("index_filtered");
    for (name, filter) in [
        ("1pct", Filter::new().categories([3])),
        ("30pct", Filter::new().categories(0..30)),
    ] {
        let mut next = queries.iter().cycle();
        group.bench_function(name, |b| {
            b.iter(|| {
                f.index
                    .search(black_box(next.next().unwrap()), 10, 64, &filter)
                    .unwrap()
                    .len()
            })
        });
    }
    group.finish();
}

criterion_group!(benches, search);
criterion_main!(benches);
