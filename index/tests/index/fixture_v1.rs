//! The committed format-v1 index (written by `examples/write_v1_fixture.rs`) must keep
//! opening and answering the same way: a format change that breaks it is a decision to bump
//! `FORMAT_VERSION` and keep a reader, not an accident.

use std::path::Path;

use rankd_index::exact::ground_truth;
use rankd_index::{Filter, MappedIndex, Metric, Strategy};

fn open() -> MappedIndex {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/format-v1");
    MappedIndex::open_current(root, "tiny").unwrap()
}

#[test]
fn format_v1_fixture_opens_verifies_and_reads_back() {
    let index = open();
    index.verify().unwrap();
    let m = index.manifest();
    assert_eq!(
        (m.format_version, m.version.as_str(), m.count, m.dim),
        (1, "v000001", 64, 8)
    );
    assert_eq!(index.metric(), Metric::L2);
    let item = index.item(5).unwrap();
    assert_eq!((item.id, item.category, item.price), ("fx-05", 1, 7.5));
    assert_eq!(index.slot_of("fx-63").unwrap(), Some(63));
    let first = index.vector(0).unwrap();
    let expected = [0.239_113_63, 0.769_603_6, -8.864_513, -4.286_450_4];
    assert_eq!(&first[..4], &expected);
}

#[test]
fn format_v1_fixture_searches_exactly_at_full_ef() {
    let index = open();
    let base: Vec<f32> = (0..64)
        .flat_map(|s| index.vector(s).unwrap().to_vec())
        .collect();
    let queries: Vec<f32> = base
        .iter()
        .step_by(3)
        .map(|x| x * 0.9 + 0.1)
        .take(8 * 10)
        .collect();
    let truth = ground_truth(&base, &queries, 8, 5, Metric::L2);
    for (q, want) in queries.chunks_exact(8).zip(&truth) {
        let graph: Vec<u32> = index
            .search(q, 5, 64, &Filter::new())
            .unwrap()
            .iter()
            .map(|h| h.slot)
            .collect();
        assert_eq!(&graph, want);
        let odd = Filter::new().categories([1, 3]);
        for strategy in [Strategy::Graph, Strategy::Exact] {
            for hit in index.search_with(q, 5, 64, &odd, strategy).unwrap() {
                assert_eq!(index.item(hit.slot).unwrap().category % 2, 1);
            }
        }
    }
}
