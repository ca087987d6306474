//! What is measured: `MappedIndex::open` of the cached 100k x 64 fixture (see
//! `support/index_fixture.rs`): read and check the header and manifest, check every file size, map
//! four files. It must not grow with the item count; `rankd index search-bench` reports the
//! same figure at 1M items.
//!
//! - `index_open/open`: open and drop.
//! - `index_open/open_first_search`: open, one search at ef 40, drop (the first query pays the
//!   page faults of the pages it touches).
//!
//! Run: `cargo bench --bench index_open`.

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use rankd_index::{Filter, MappedIndex};

#[path = "support/index_fixture.rs"]
mod index_fixture;

use index_fixture::{DIM, fixture};

fn open(c: &mut Criterion) {
    let f = fixture();
    let dir = f.index.dir().to_path_buf();
    let query = f.queries[..DIM].to_vec();
    let mut group = c.benchmark_group("index_open");
    group.bench_function("open", |b| {
        b.iter(|| MappedIndex::open(black_box(&dir)).unwrap().len())
    });
    group.bench_function("open_first_search", |b| {
        b.iter(|| {
            let index = MappedIndex::open(black_box(&dir)).unwrap();
            index.search(&query, 10, 40, &Filter::new()).unwrap().len()
        })
    });
    group.finish();
}

criterion_group!(benches, open);
criterion_main!(benches);
