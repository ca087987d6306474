//! The MovieLens conversions on the real files (fetched by `rankd data fetch`): known counts,
//! and the generic files in the cache equal a fresh conversion of the raw files.

use rankd::data::{Dataset, EventKind, Fetchable, ReadOptions, read_ml_latest_small, read_ml100k};
use rankd::testdata::{cache_dir, require};

fn cached(what: Fetchable) -> Option<Dataset> {
    let dir = what.dir(&cache_dir());
    require(
        dir.join("interactions.csv"),
        &format!("rankd data fetch {}", what.name()),
    )?;
    Some(Dataset::load_dir(&dir, ReadOptions::default()).unwrap())
}

fn users(data: &Dataset) -> usize {
    let mut users: Vec<&str> = data
        .interactions
        .iter()
        .map(|e| e.user_id.as_str())
        .collect();
    users.sort_unstable();
    users.dedup();
    users.len()
}

#[test]
fn movielens_100k_has_its_published_counts() {
    let Some(data) = cached(Fetchable::Movielens100k) else {
        return;
    };
    assert_eq!(data.items.len(), 1682);
    assert_eq!(data.interactions.len(), 100_000);
    assert_eq!(users(&data), 943);
    assert!(
        data.interactions
            .iter()
            .all(|e| e.event == EventKind::Rating
                && e.value.is_some_and(|v| (1.0..=5.0).contains(&v)))
    );
    let toy = data.items.iter().find(|i| i.id == "1").unwrap();
    assert_eq!(toy.title, "Toy Story (1995)");
    assert_eq!(toy.categories, vec!["Animation", "Children's", "Comedy"]);
    let raw = cache_dir().join("raw").join("movielens-100k");
    if require(raw.join("ml-100k.item"), "rankd data fetch movielens-100k").is_some() {
        assert_eq!(read_ml100k(&raw, ReadOptions::default()).unwrap(), data);
    }
}

#[test]
fn ml_latest_small_has_its_published_counts() {
    let Some(data) = cached(Fetchable::MlLatestSmall) else {
        return;
    };
    assert_eq!(data.items.len(), 9125);
    assert_eq!(data.interactions.len(), 100_004);
    assert_eq!(users(&data), 671);
    assert!(
        data.interactions
            .iter()
            .all(|e| e.value.is_some_and(|v| (0.5..=5.0).contains(&v)))
    );
    let heat = data.items.iter().find(|i| i.id == "11").unwrap();
    assert_eq!(heat.title, "American President, The (1995)");
    let raw = cache_dir().join("raw").join("ml-latest-small");
    if require(raw.join("movies.csv"), "rankd data fetch ml-latest-small").is_some() {
        assert_eq!(
            read_ml_latest_small(&raw, ReadOptions::default()).unwrap(),
            data
        );
    }
}
