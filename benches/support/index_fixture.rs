//! The cached index the `index_*` benches measure: seeded clustered vectors, built once and
//! reused from `$RANKD_CACHE_DIR/bench/` (default `~/.cache/rankd/bench/`) while its parameters
//! stay the same, because building it takes longer than the benches themselves.
//!
//! Included with `#[path]` by each bench (a bench is its own crate); it lives in a subfolder
//! so cargo does not take it for a bench target.

use std::path::PathBuf;

use rankd_index::synth::clustered;
use rankd_index::{
    BuildParams, IndexBuilder, Item, MappedIndex, Metric, Provenance, PublishOptions,
};

pub const N: usize = 100_000;
pub const DIM: usize = 64;
pub const CLUSTERS: usize = 100;
pub const SEED: u64 = 7;
pub const QUERIES: usize = 1_000;
/// Categories cycle over slots, so category `c` holds 1 % of the items.
pub const CATEGORIES: u32 = 100;

pub struct Fixture {
    pub index: MappedIndex,
    pub queries: Vec<f32>,
}

/// Where this parameter set is cached: a new name whenever a constant changes.
fn root() -> PathBuf {
    let name = format!(
        "index-{N}x{DIM}-c{CLUSTERS}-s{SEED}-v{}",
        rankd_index::format::FORMAT_VERSION
    );
    rankd::testdata::cache_dir().join("bench").join(name)
}

/// Opens the cached fixture, building and publishing it first when absent or unreadable.
pub fn fixture() -> Fixture {
    let mut data = clustered(N + QUERIES, DIM, CLUSTERS, SEED);
    let queries = data.split_off(N * DIM);
    let root = root();
    let index = match MappedIndex::open_current(&root, "bench") {
        Ok(index) => index,
        Err(_) => {
            eprintln!("building the bench index in {} (once)", root.display());
            let params = BuildParams {
                m: 16,
                ef_construction: 100,
                threads: 0,
            };
            let mut builder = IndexBuilder::new(DIM, Metric::L2, params).expect("bench params");
            for (i, vector) in data.chunks_exact(DIM).enumerate() {
                let id = format!("item-{i}");
                let category = i as u32 % CATEGORIES;
                let price = ((i * 7919) % 1000) as f32;
                builder
                    .add(Item {
                        id: &id,
                        vector,
                        category,
                        price,
                    })
                    .expect("finite vectors");
            }
            let options = PublishOptions {
                provenance: Provenance {
                    vectors: format!("synth::clustered({N}, {DIM}, {CLUSTERS}, seed {SEED})"),
                    model: None,
                    producer: "benches/index_fixture.rs".into(),
                },
                reference_dump: true,
                attachments: Vec::new(),
            };
            let built = builder.build().expect("build");
            built.publish(&root, "bench", &options).expect("publish");
            MappedIndex::open_current(&root, "bench").expect("open what was just published")
        }
    };
    Fixture { index, queries }
}
