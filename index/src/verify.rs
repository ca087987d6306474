//! Full structural check of a mapped index, run by [`crate::MappedIndex::verify`] after the
//! checksums: catches files that are internally inconsistent even though their checksums
//! match (a writer bug, or a header and data from different builds).

use crate::error::Result;
use crate::format::{GRAPH, IDS, ITEMS};
use crate::mapped::{MappedIndex, View};

/// Offsets start at 0, never decrease and end at `end`.
fn offsets_ok(offsets: &[u64], end: usize) -> bool {
    offsets.first() == Some(&0)
        && offsets.windows(2).all(|w| w[0] <= w[1])
        && offsets.last() == Some(&(end as u64))
}

fn strictly_increasing(values: &[u32]) -> bool {
    values.windows(2).all(|w| w[0] < w[1])
}

pub(crate) fn structure(index: &MappedIndex, view: &View<'_>) -> Result<()> {
    let n = index.len();
    for level in 0..=view.top {
        let l = &view.levels[level];
        let bad = |what: String| index.corrupt(GRAPH, format!("level {level}: {what}"));
        if level > 0 {
            let below = &view.levels[level - 1].nodes;
            if !strictly_increasing(l.nodes) || l.nodes.last().is_some_and(|&s| s as usize >= n) {
                return Err(bad("node list not sorted or out of range".into()));
            }
            if level > 1 && l.nodes.iter().any(|s| below.binary_search(s).is_err()) {
                return Err(bad("node missing from the level below".into()));
            }
        }
        if !offsets_ok(l.offsets, l.neighbours.len()) {
            return Err(bad("offsets not monotone".into()));
        }
        for &nb in l.neighbours {
            let on_level = if level == 0 {
                (nb as usize) < n
            } else {
                l.nodes.binary_search(&nb).is_ok()
            };
            if !on_level {
                return Err(bad(format!("neighbour {nb} is not on this level")));
            }
        }
    }

    let bad_items = |what: &str| index.corrupt(ITEMS, what.to_owned());
    if !strictly_increasing(view.category_values)
        || !offsets_ok(view.category_offsets, view.category_slots.len())
    {
        return Err(bad_items("category postings not sorted"));
    }
    for (i, &category) in view.category_values.iter().enumerate() {
        let range = view.category_offsets[i] as usize..view.category_offsets[i + 1] as usize;
        let slots = &view.category_slots[range];
        if !strictly_increasing(slots)
            || slots
                .iter()
                .any(|&s| view.categories.get(s as usize) != Some(&category))
        {
            return Err(bad_items(
                "category postings disagree with the category column",
            ));
        }
    }
    if view.prices.iter().any(|p| p.is_nan()) || !view.price_quantiles.is_sorted() {
        return Err(bad_items("NaN price or unsorted price quantiles"));
    }

    if !offsets_ok(view.id_offsets, view.id_bytes.len()) {
        return Err(index.corrupt(IDS, "id offsets not monotone"));
    }
    let mut previous: Option<&str> = None;
    for &slot in view.id_order {
        if slot as usize >= n {
            return Err(index.corrupt(IDS, format!("id order names slot {slot}")));
        }
        let id = index.id_of(view, slot)?;
        if previous.is_some_and(|p| p >= id) {
            return Err(index.corrupt(IDS, "ids not unique and sorted"));
        }
        previous = Some(id);
    }
    Ok(())
}
