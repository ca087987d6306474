//! The item vocabulary: external item ids, category and brand names mapped to embedding rows,
//! and prices mapped to log-scale buckets. Row 0 of every table means "unknown / none", so a
//! new item (cold start), a new category or a missing brand still has a row to look up.

use std::collections::HashMap;
use std::path::Path;

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use super::error::{ModelError, Result};
use crate::data::Item;

/// How many of an item's categories the tower reads (most general first).
pub const MAX_CATEGORIES: usize = 4;
/// Price buckets: 0 for none, then half-octaves of `1 + price`, capped.
pub const PRICE_BUCKETS: usize = 32;

/// Names known at training time. Lists are stored without the reserved row 0.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct ItemVocab {
    items: Vec<String>,
    categories: Vec<String>,
    brands: Vec<String>,
    #[serde(skip)]
    lookup: Lookup,
}

#[derive(Debug, Clone, Default)]
struct Lookup {
    items: HashMap<String, u32>,
    categories: HashMap<String, u32>,
    brands: HashMap<String, u32>,
}

fn index_of(names: &[String]) -> HashMap<String, u32> {
    names
        .iter()
        .enumerate()
        .map(|(i, name)| (name.clone(), i as u32 + 1))
        .collect()
}

/// The categorical inputs of a batch of items, ready for the item tower.
#[derive(Debug, Clone)]
pub struct ItemInputs {
    /// `(n,)` item-id rows.
    pub ids: Tensor,
    /// `(n, MAX_CATEGORIES)` category rows, 0 for padding.
    pub categories: Tensor,
    /// `(n, MAX_CATEGORIES)` weights: `1/k` for an item's `k` categories, 0 for padding.
    pub category_weights: Tensor,
    /// `(n,)` brand rows.
    pub brands: Tensor,
    /// `(n,)` price buckets.
    pub prices: Tensor,
}

impl ItemVocab {
    /// Builds the vocabulary from a catalogue, in catalogue order (so it is deterministic).
    pub fn from_items(items: &[Item]) -> Self {
        let mut vocab = Self::default();
        let mut seen_cat = std::collections::HashSet::new();
        let mut seen_brand = std::collections::HashSet::new();
        let mut seen_item = std::collections::HashSet::new();
        for item in items {
            if seen_item.insert(item.id.as_str()) {
                vocab.items.push(item.id.clone());
            }
            for category in &item.categories {
                if seen_cat.insert(category.as_str()) {
                    vocab.categories.push(category.clone());
                }
            }
            if let Some(brand) = &item.brand
                && seen_brand.insert(brand.as_str())
            {
                vocab.brands.push(brand.clone());
            }
        }
        vocab.reindex();
        vocab
    }

    fn reindex(&mut self) {
        self.lookup = Lookup {
            items: index_of(&self.items),
            categories: index_of(&self.categories),
            brands: index_of(&self.brands),
        };
    }

    /// Rows in the item-id table, including the unknown row.
    pub fn item_rows(&self) -> usize {
        self.items.len() + 1
    }

    /// Rows in the category table, including the none row.
    pub fn category_rows(&self) -> usize {
        self.categories.len() + 1
    }

    /// Rows in the brand table, including the none row.
    pub fn brand_rows(&self) -> usize {
        self.brands.len() + 1
    }

    /// The row of an item id; 0 when the id was not in the training catalogue.
    pub fn item_row(&self, id: &str) -> u32 {
        self.lookup.items.get(id).copied().unwrap_or(0)
    }

    /// Category rows of an item (at most [`MAX_CATEGORIES`], unknown names dropped).
    pub fn category_rows_of(&self, item: &Item) -> Vec<u32> {
        item.categories
            .iter()
            .filter_map(|c| self.lookup.categories.get(c).copied())
            .take(MAX_CATEGORIES)
            .collect()
    }

    /// The brand row of an item; 0 for none or unknown.
    pub fn brand_row(&self, item: &Item) -> u32 {
        item.brand
            .as_ref()
            .and_then(|b| self.lookup.brands.get(b).copied())
            .unwrap_or(0)
    }

    /// Tensors of the categorical inputs of `items`, with item ids replaced by the unknown
    /// row where `drop_id` says so (training's id dropout teaches the tower cold start).
    pub fn encode(&self, items: &[&Item], drop_id: &[bool], device: &Device) -> Result<ItemInputs> {
        let n = items.len();
        let mut ids = Vec::with_capacity(n);
        let mut cats = Vec::with_capacity(n * MAX_CATEGORIES);
        let mut weights = Vec::with_capacity(n * MAX_CATEGORIES);
        let mut brands = Vec::with_capacity(n);
        let mut prices = Vec::with_capacity(n);
        for (i, item) in items.iter().enumerate() {
            let dropped = drop_id.get(i).copied().unwrap_or(false);
            ids.push(if dropped { 0 } else { self.item_row(&item.id) });
            let rows = self.category_rows_of(item);
            let w = if rows.is_empty() {
                0.0
            } else {
                1.0 / rows.len() as f32
            };
            for slot in 0..MAX_CATEGORIES {
                cats.push(rows.get(slot).copied().unwrap_or(0));
                weights.push(if slot < rows.len() { w } else { 0.0 });
            }
            brands.push(self.brand_row(item));
            prices.push(price_bucket(item.price));
        }
        Ok(ItemInputs {
            ids: Tensor::from_vec(ids, n, device)?,
            categories: Tensor::from_vec(cats, (n, MAX_CATEGORIES), device)?,
            category_weights: Tensor::from_vec(weights, (n, MAX_CATEGORIES), device)?,
            brands: Tensor::from_vec(brands, n, device)?,
            prices: Tensor::from_vec(prices, n, device)?,
        })
    }

    /// Writes the vocabulary as JSON.
    pub fn save(&self, path: &Path) -> Result<()> {
        let json = serde_json::to_vec(self).map_err(ModelError::json(path))?;
        std::fs::write(path, json).map_err(ModelError::io(path))
    }

    /// Reads a vocabulary written by [`ItemVocab::save`].
    pub fn load(path: &Path) -> Result<Self> {
        let bytes = std::fs::read(path).map_err(ModelError::io(path))?;
        let mut vocab: Self = serde_json::from_slice(&bytes).map_err(ModelError::json(path))?;
        vocab.reindex();
        Ok(vocab)
    }
}

/// The price bucket: 0 for no price, else `1 + floor(2·log2(1 + price))`, capped; half-octave
/// buckets because prices spread over orders of magnitude and relative differences matter.
pub fn price_bucket(price: Option<f32>) -> u32 {
    match price {
        Some(p) if p.is_finite() && p >= 0.0 => {
            let bucket = (2.0 * (1.0 + p).log2()).floor() as u32;
            1 + bucket.min(PRICE_BUCKETS as u32 - 2)
        }
        _ => 0,
    }
}

/// The text an item is embedded from: title, then categories and brand, which carry meaning
/// for cold-start items and for queries ("leather shoes").
pub fn item_text(item: &Item) -> String {
    let mut text = item.title.clone();
    if !item.categories.is_empty() {
        text.push_str(" | ");
        text.push_str(&item.categories.join(", "));
    }
    if let Some(brand) = &item.brand {
        text.push_str(" | ");
        text.push_str(brand);
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(id: &str, cats: &[&str], brand: Option<&str>, price: Option<f32>) -> Item {
        Item {
            id: id.into(),
            title: format!("title {id}"),
            categories: cats.iter().map(|c| (*c).to_owned()).collect(),
            brand: brand.map(str::to_owned),
            price,
        }
    }

    #[test]
    fn unknown_names_map_to_row_zero_and_known_ones_from_one() {
        let vocab = ItemVocab::from_items(&[
            item("a", &["x", "y"], Some("b1"), None),
            item("b", &["y"], None, Some(3.0)),
        ]);
        assert_eq!(
            (
                vocab.item_row("a"),
                vocab.item_row("b"),
                vocab.item_row("zz")
            ),
            (1, 2, 0)
        );
        assert_eq!(vocab.category_rows(), 3);
        assert_eq!(
            vocab.category_rows_of(&item("c", &["y", "new"], None, None)),
            vec![2]
        );
        assert_eq!(vocab.brand_row(&item("c", &[], Some("b1"), None)), 1);
        assert_eq!(vocab.brand_row(&item("c", &[], Some("other"), None)), 0);
    }

    #[test]
    fn price_buckets_are_log_scale_and_capped() {
        assert_eq!(price_bucket(None), 0);
        assert_eq!(price_bucket(Some(f32::NAN)), 0);
        assert_eq!(price_bucket(Some(0.0)), 1);
        assert_eq!(price_bucket(Some(1.0)), 3);
        assert_eq!(price_bucket(Some(3.0)), 5);
        assert_eq!(price_bucket(Some(1e30)), PRICE_BUCKETS as u32 - 1);
    }

    #[test]
    fn encode_pads_categories_and_drops_ids_on_request() {
        let items = [
            item("a", &["x", "y"], Some("b1"), Some(1.0)),
            item("b", &[], None, None),
        ];
        let vocab = ItemVocab::from_items(&items);
        let refs: Vec<&Item> = items.iter().collect();
        let inputs = vocab.encode(&refs, &[false, true], &Device::Cpu).unwrap();
        assert_eq!(inputs.ids.to_vec1::<u32>().unwrap(), vec![1, 0]);
        assert_eq!(
            inputs.categories.to_vec2::<u32>().unwrap()[0],
            vec![1, 2, 0, 0]
        );
        assert_eq!(
            inputs.category_weights.to_vec2::<f32>().unwrap()[0],
            vec![0.5, 0.5, 0.0, 0.0]
        );
        assert_eq!(
            inputs.category_weights.to_vec2::<f32>().unwrap()[1],
            vec![0.0; 4]
        );
        assert_eq!(inputs.brands.to_vec1::<u32>().unwrap(), vec![1, 0]);
    }

    #[test]
    fn vocab_round_trips_through_json() {
        let items = [
            item("a", &["x"], Some("b1"), None),
            item("b", &["z"], None, None),
        ];
        let vocab = ItemVocab::from_items(&items);
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("vocab.json");
        vocab.save(&path).unwrap();
        let loaded = ItemVocab::load(&path).unwrap();
        assert_eq!(loaded.item_row("b"), 2);
        assert_eq!(loaded.category_rows_of(&items[1]), vec![2]);
    }
}
