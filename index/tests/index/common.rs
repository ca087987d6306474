//! Shared helpers: seeded synthetic indexes and the real-data skip-or-fail rule.

use std::path::{Path, PathBuf};

use rankd_index::{
    BuildParams, BuiltIndex, IndexBuilder, Item, Metric, Provenance, PublishOptions,
};

/// Categories in synthetic indexes: one category is 1 % of the items.
pub const CATEGORIES: u32 = 100;

/// Attributes of synthetic item `i`: ids sort like slots, categories cycle, prices spread
/// over 0..1000 independently of the category.
pub fn attributes(i: usize) -> (String, u32, f32) {
    (
        format!("item-{i:06}"),
        i as u32 % CATEGORIES,
        ((i * 7919) % 1000) as f32,
    )
}

/// `n` base rows and `queries` query rows from the same seeded clusters (queries drawn from
/// other centres would all be outliers).
pub fn base_and_queries(
    n: usize,
    queries: usize,
    dim: usize,
    clusters: usize,
    seed: u64,
) -> (Vec<f32>, Vec<f32>) {
    let mut base = rankd_index::synth::clustered(n + queries, dim, clusters, seed);
    let queries = base.split_off(n * dim);
    (base, queries)
}

/// Builds an index over `vectors` with the synthetic attributes.
pub fn build(vectors: &[f32], dim: usize, metric: Metric, params: BuildParams) -> BuiltIndex {
    let mut builder = IndexBuilder::new(dim, metric, params).unwrap();
    for (i, vector) in vectors.chunks_exact(dim).enumerate() {
        let (id, category, price) = attributes(i);
        builder
            .add(Item {
                id: &id,
                vector,
                category,
                price,
            })
            .unwrap();
    }
    builder.build().unwrap()
}

/// Small graphs build in well under a second with these.
pub fn small_params() -> BuildParams {
    BuildParams {
        m: 12,
        ef_construction: 64,
        threads: 2,
    }
}

pub fn publish(built: &BuiltIndex, root: &Path, name: &str) -> PathBuf {
    let options = PublishOptions {
        provenance: Provenance {
            vectors: "synthetic clustered vectors (tests)".into(),
            model: None,
            producer: "rankd-index tests".into(),
        },
        reference_dump: false,
        attachments: Vec::new(),
    };
    built.publish(root, name, &options).unwrap().dir
}

/// The real-data rule of the project (`rankd::testdata::require`, which this crate cannot
/// depend on): a missing file fails the test when `RANKD_REQUIRE_DATA=1` (CI installs the
/// data), and otherwise skips it with a message.
pub fn require(path: &Path, how_to_get: &str) -> Option<PathBuf> {
    if path.exists() {
        return Some(path.to_path_buf());
    }
    let message = format!("{} is missing ({how_to_get})", path.display());
    assert!(
        std::env::var("RANKD_REQUIRE_DATA").as_deref() != Ok("1"),
        "RANKD_REQUIRE_DATA=1 but {message}"
    );
    eprintln!("skipping: {message}, see README");
    None
}
