//! Filters applied during search, and the choice between filtered graph search and an exact
//! scan over the matching items.
//!
//! Graph search with a filter walks through non-matching nodes (they still route) and only
//! keeps matching ones, so to collect `ef` results it visits about `1/s` times more nodes,
//! where `s` is the filter's selectivity; at a few percent it degenerates into a slow,
//! inexact scan. An exact scan costs one distance per matching item. [`Filter::plan`] compares
//! the two costs with the selectivity estimated from the category postings and the stored
//! price quantiles, the way Lucene and Milvus pick between HNSW and brute force per query.

use crate::format::PRICE_QUANTILES;
use crate::mapped::{ItemRef, View};

/// Which items a search may return. The default lets everything through.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Allowed category ids, sorted and deduplicated; `None` allows every category.
    categories: Option<Vec<u32>>,
    /// Inclusive price range.
    price: Option<(f32, f32)>,
    /// Excluded slots, sorted and deduplicated.
    excluded: Vec<u32>,
}

/// How a search is carried out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Strategy {
    /// Let [`Filter::plan`] choose by estimated selectivity.
    Auto,
    /// Beam search on the graph, skipping non-matching items in the results.
    Graph,
    /// Distance to every matching item; exact.
    Exact,
}

impl Filter {
    /// A filter that lets every item through.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only items whose category is one of `categories`.
    pub fn categories(mut self, categories: impl IntoIterator<Item = u32>) -> Self {
        let mut list: Vec<u32> = categories.into_iter().collect();
        list.sort_unstable();
        list.dedup();
        self.categories = Some(list);
        self
    }

    /// Only items with `min <= price <= max`.
    pub fn price_range(mut self, min: f32, max: f32) -> Self {
        self.price = Some((min, max));
        self
    }

    /// Never return these slots (e.g. items the user has already seen; resolve external ids
    /// with [`crate::MappedIndex::slot_of`]).
    pub fn exclude_slots(mut self, slots: impl IntoIterator<Item = u32>) -> Self {
        self.excluded.extend(slots);
        self.excluded.sort_unstable();
        self.excluded.dedup();
        self
    }

    /// True when the filter lets every item through.
    pub fn is_unrestricted(&self) -> bool {
        self.categories.is_none() && self.price.is_none() && self.excluded.is_empty()
    }

    /// Whether an item with these attributes passes.
    pub fn accepts(&self, item: &ItemRef<'_>) -> bool {
        self.accepts_values(item.slot, item.category, item.price)
    }

    #[inline]
    fn accepts_values(&self, slot: u32, category: u32, price: f32) -> bool {
        if let Some(categories) = &self.categories
            && categories.binary_search(&category).is_err()
        {
            return false;
        }
        if let Some((min, max)) = self.price
            && !(min <= price && price <= max)
        {
            return false;
        }
        self.excluded.binary_search(&slot).is_err()
    }

    /// Whether `slot` passes; a slot without attributes (corrupt file) never does.
    #[inline]
    pub(crate) fn matches(&self, view: &View<'_>, slot: u32) -> bool {
        let s = slot as usize;
        match (view.categories.get(s), view.prices.get(s)) {
            (Some(&category), Some(&price)) => self.accepts_values(slot, category, price),
            _ => false,
        }
    }

    /// Allowed categories with their slot lists (from the category postings).
    pub(crate) fn category_postings<'a>(&self, view: &View<'a>) -> Option<Vec<&'a [u32]>> {
        let categories = self.categories.as_ref()?;
        let lists = categories
            .iter()
            .filter_map(|c| {
                let i = view.category_values.binary_search(c).ok()?;
                let start = *view.category_offsets.get(i)? as usize;
                let end = *view.category_offsets.get(i + 1)? as usize;
                view.category_slots.get(start..end)
            })
            .collect();
        Some(lists)
    }

    /// Estimated fraction of items that pass, in `[0, 1]`: exact for categories, from the
    /// stored quantiles for price, times the share not excluded (independence assumed).
    pub(crate) fn estimate_selectivity(&self, view: &View<'_>) -> f64 {
        let n = view.categories.len().max(1) as f64;
        let category = match self.category_postings(view) {
            Some(lists) => lists.iter().map(|l| l.len()).sum::<usize>() as f64 / n,
            None => 1.0,
        };
        let price = match self.price {
            Some((min, max)) => {
                let q = view.price_quantiles;
                let lo = q.partition_point(|&x| x < min);
                let hi = q.partition_point(|&x| x <= max);
                hi.saturating_sub(lo) as f64 / PRICE_QUANTILES as f64
            }
            None => 1.0,
        };
        let kept = 1.0 - self.excluded.len() as f64 / n;
        (category * price * kept).clamp(0.0, 1.0)
    }

    /// Graph or exact scan. Graph search needs about `ef * m0 / s` distance evaluations
    /// (`ef` results, `m0` neighbours each, `1/s` nodes visited per match), an exact scan
    /// `s * n`; the cheaper one wins.
    pub(crate) fn plan(&self, view: &View<'_>, ef: usize, m0: usize) -> Strategy {
        if self.is_unrestricted() {
            return Strategy::Graph;
        }
        let s = self.estimate_selectivity(view);
        let n = view.categories.len() as f64;
        let exact_cost = s * n;
        let graph_cost = ef as f64 * m0 as f64 / s.max(1e-9);
        if exact_cost <= graph_cost {
            Strategy::Exact
        } else {
            Strategy::Graph
        }
    }
}
