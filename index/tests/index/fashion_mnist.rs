//! Recall on real vectors: Fashion-MNIST (784-d pixels, Euclidean, as in ann-benchmarks).
//! A 10k-image subset keeps the test to seconds; the full-size figures come from
//! `rankd index search-bench`.

use std::path::PathBuf;

use rankd_index::exact::{ground_truth, recall_at};
use rankd_index::vectors::read_vectors;
use rankd_index::{BuildParams, Filter, MappedIndex, Metric};

use crate::common::{build, publish, require};

const BASE: usize = 10_000;
const QUERIES: usize = 200;
const K: usize = 10;

fn data_dir() -> PathBuf {
    std::env::var_os("RANKD_FASHION_MNIST_DIR").map_or_else(
        || PathBuf::from("/usr/share/datasets/fashion-mnist"),
        PathBuf::from,
    )
}

#[test]
fn fashion_mnist_recall_and_agreement_with_hnsw_rs() {
    let how = "apt-get install dataset-fashion-mnist, or set RANKD_FASHION_MNIST_DIR";
    let Some(train) = require(&data_dir().join("train-images-idx3-ubyte.gz"), how) else {
        return;
    };
    let Some(test) = require(&data_dir().join("t10k-images-idx3-ubyte.gz"), how) else {
        return;
    };
    let mut base = read_vectors(&train).unwrap();
    let mut queries = read_vectors(&test).unwrap();
    assert_eq!((base.rows, base.dim, queries.rows), (60_000, 784, 10_000));
    base.truncate(BASE);
    queries.truncate(QUERIES);
    let dim = base.dim;

    let params = BuildParams {
        m: 16,
        ef_construction: 100,
        threads: 0,
    };
    let built = build(&base.data, dim, Metric::L2, params);
    let root = tempfile::tempdir().unwrap();
    publish(&built, root.path(), "fashion");
    let index = MappedIndex::open_current(root.path(), "fashion").unwrap();
    let truth = ground_truth(&base.data, &queries.data, dim, K, Metric::L2);

    let mut best = 0.0f64;
    for ef in [20, 40, 80] {
        let mut mapped = Vec::new();
        let mut reference = Vec::new();
        for q in queries.data.chunks_exact(dim) {
            let hits = index.search(q, K, ef, &Filter::new()).unwrap();
            mapped.push(hits.iter().map(|h| h.slot).collect());
            reference.push(
                built
                    .reference()
                    .search(q, K, ef)
                    .iter()
                    .map(|h| h.0)
                    .collect(),
            );
        }
        let (m, r) = (
            recall_at(&mapped, &truth, K),
            recall_at(&reference, &truth, K),
        );
        eprintln!("fashion-mnist {BASE}: ef {ef}: recall@{K} mapped {m:.4}, hnsw_rs {r:.4}");
        assert!(
            (m - r).abs() <= 0.01,
            "ef {ef}: mapped {m} vs hnsw_rs {r} differ by > 1 point"
        );
        best = best.max(m);
    }
    assert!(best >= 0.95, "recall@{K} stays below 0.95 (best {best})");
}
