//! The ranker's input matrix, written in place: one contiguous row-major `f32` buffer with a
//! row per candidate, `[h(u) | m(i) | h(u)⊙m(i) | scalars]` (the layout [`FeatureGroup`]
//! names), and what the ranker reads about each catalogue item, looked up once per index
//! version.
//!
//! Rejected: a struct per candidate (`RankerFeatures`) copied into a tensor afterwards. At 500
//! candidates a request that was two vector clones per candidate plus a second copy of the
//! whole matrix, and the per-candidate vocabulary lookups hashed item ids and category names;
//! together they cost more than the retrieval that found the candidates.
//!
//! [`FeatureGroup`]: super::FeatureGroup

use super::covisit::HistoryAffinity;
use super::error::{ModelError, Result};
use super::stats::{ItemStats, category_affinity};
use super::vocab::{ItemVocab, MAX_CATEGORIES};
use crate::data::Item;

/// Scalar columns at the end of a row.
pub const SCALAR_COLUMNS: usize = 5;

/// The scalar columns of a row, in layout order.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RowScalars {
    pub retrieval_score: f32,
    pub popularity: f32,
    pub recency: f32,
    pub category_affinity: f32,
    pub co_visitation: f32,
}

impl RowScalars {
    fn columns(self) -> [f32; SCALAR_COLUMNS] {
        [
            self.retrieval_score,
            self.popularity,
            self.recency,
            self.category_affinity,
            self.co_visitation,
        ]
    }
}

/// Ranker input rows for tower width `dim`; `3 * dim + SCALAR_COLUMNS` values each.
#[derive(Debug, Clone, PartialEq)]
pub struct RankerRows {
    dim: usize,
    data: Vec<f32>,
}

impl RankerRows {
    /// Empty rows for tower width `dim`, with room for `rows` of them.
    pub fn with_capacity(dim: usize, rows: usize) -> Self {
        Self {
            dim,
            data: Vec::with_capacity(rows * Self::width_for(dim)),
        }
    }

    fn width_for(dim: usize) -> usize {
        3 * dim + SCALAR_COLUMNS
    }

    /// Values per row.
    pub fn width(&self) -> usize {
        Self::width_for(self.dim)
    }

    /// Tower width the rows were written for.
    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn len(&self) -> usize {
        self.data.len() / self.width()
    }

    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// All rows, row-major.
    pub fn as_slice(&self) -> &[f32] {
        &self.data
    }

    pub fn into_vec(self) -> Vec<f32> {
        self.data
    }

    pub fn row(&self, i: usize) -> &[f32] {
        let width = self.width();
        &self.data[i * width..(i + 1) * width]
    }

    /// Appends one row; `user` and `item` must both have `dim` values.
    pub fn push(&mut self, user: &[f32], item: &[f32], scalars: RowScalars) -> Result<()> {
        if user.len() != self.dim || item.len() != self.dim {
            return Err(ModelError::InvalidInput(format!(
                "ranker row #{}: user/item vectors have {}/{} values, the model expects {}",
                self.len(),
                user.len(),
                item.len(),
                self.dim
            )));
        }
        self.data.extend_from_slice(user);
        self.data.extend_from_slice(item);
        self.data.extend(user.iter().zip(item).map(|(u, v)| u * v));
        self.data.extend(scalars.columns());
        Ok(())
    }

    /// Appends every row of `other` (same `dim`).
    pub fn extend_from(&mut self, other: &RankerRows) -> Result<()> {
        if other.dim != self.dim {
            return Err(ModelError::InvalidInput(format!(
                "ranker rows for {}-d towers cannot join rows for {}-d towers",
                other.dim, self.dim
            )));
        }
        self.data.extend_from_slice(&other.data);
        Ok(())
    }

    /// The user columns when every row holds the same ones (one request's rows), else `None`.
    pub fn common_user(&self) -> Option<&[f32]> {
        if self.is_empty() {
            return None;
        }
        let user = &self.row(0)[..self.dim];
        self.data
            .chunks_exact(self.width())
            .all(|row| &row[..self.dim] == user)
            .then_some(user)
    }

    /// The rows at `positions`, in that order.
    pub fn select(&self, positions: &[usize]) -> RankerRows {
        let mut out = RankerRows::with_capacity(self.dim, positions.len());
        for &i in positions {
            out.data.extend_from_slice(self.row(i));
        }
        out
    }
}

/// Per catalogue item, by position in the catalogue it was built from: vocabulary row,
/// popularity, recency and category rows. Built once when an index version is opened, so a
/// request reads arrays instead of hashing ids and category names per candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemTable {
    /// Vocabulary row (what the co-visitation table is keyed by).
    rows: Vec<u32>,
    popularity: Vec<f32>,
    recency: Vec<f32>,
    /// Category rows, the first `category_counts[i]` of each array used.
    categories: Vec<[u32; MAX_CATEGORIES]>,
    category_counts: Vec<u8>,
}

impl ItemTable {
    pub fn new(items: &[Item], vocab: &ItemVocab, stats: &ItemStats) -> Self {
        let n = items.len();
        let mut table = Self {
            rows: Vec::with_capacity(n),
            popularity: Vec::with_capacity(n),
            recency: Vec::with_capacity(n),
            categories: Vec::with_capacity(n),
            category_counts: Vec::with_capacity(n),
        };
        for item in items {
            let row = vocab.item_row(&item.id);
            table.rows.push(row);
            table.popularity.push(stats.popularity(row));
            table.recency.push(stats.recency(row));
            let rows = vocab.category_rows_of(item);
            let mut fixed = [0; MAX_CATEGORIES];
            fixed[..rows.len()].copy_from_slice(&rows);
            table.categories.push(fixed);
            table.category_counts.push(rows.len() as u8);
        }
        table
    }

    pub fn len(&self) -> usize {
        self.popularity.len()
    }

    pub fn is_empty(&self) -> bool {
        self.popularity.is_empty()
    }

    /// Category rows of the item at `position`.
    pub fn categories(&self, position: usize) -> &[u32] {
        &self.categories[position][..usize::from(self.category_counts[position])]
    }

    /// Vocabulary row of the item at `position`.
    pub fn row(&self, position: usize) -> u32 {
        self.rows[position]
    }

    /// The scalar columns of a candidate: `history` holds the category rows of the user's
    /// recent items and `near` their co-visitation sums (both from the recent items cut to
    /// the towers' history length).
    pub fn scalars(
        &self,
        position: usize,
        history: &[&[u32]],
        near: &HistoryAffinity,
        retrieval_score: f32,
    ) -> RowScalars {
        RowScalars {
            retrieval_score,
            popularity: self.popularity[position],
            recency: self.recency[position],
            category_affinity: category_affinity(history, self.categories(position)),
            co_visitation: near.feature(self.rows[position]),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::CoVisitation;

    fn scalars(x: f32) -> RowScalars {
        RowScalars {
            retrieval_score: x,
            popularity: 0.25,
            recency: 0.125,
            category_affinity: 1.0,
            co_visitation: 2.0,
        }
    }

    #[test]
    fn rows_hold_vectors_their_product_and_scalars_in_group_order() {
        let mut rows = RankerRows::with_capacity(2, 2);
        rows.push(&[1.0, 2.0], &[3.0, 4.0], scalars(0.5)).unwrap();
        rows.push(&[0.0, 1.0], &[2.0, 2.0], scalars(0.0)).unwrap();
        assert_eq!((rows.len(), rows.width()), (2, 11));
        assert_eq!(
            rows.row(0),
            [1.0, 2.0, 3.0, 4.0, 3.0, 8.0, 0.5, 0.25, 0.125, 1.0, 2.0]
        );
        assert_eq!(rows.select(&[1, 0]).row(1), rows.row(0));
        assert_eq!(rows.common_user(), None);
        assert_eq!(rows.select(&[1, 1]).common_user(), Some(&[0.0, 1.0][..]));
    }

    #[test]
    fn a_vector_of_the_wrong_width_is_refused_and_leaves_the_rows_alone() {
        let mut rows = RankerRows::with_capacity(2, 1);
        assert!(matches!(
            rows.push(&[1.0, 2.0], &[3.0], scalars(0.0)),
            Err(ModelError::InvalidInput(_))
        ));
        assert!(rows.is_empty());
        let other = RankerRows::with_capacity(3, 0);
        assert!(rows.extend_from(&other).is_err());
    }

    #[test]
    fn item_table_matches_the_vocabulary_statistics_and_co_visitation_lookups() {
        let item = |id: &str, cats: &[&str]| Item {
            id: id.into(),
            title: String::new(),
            categories: cats.iter().map(|c| c.to_string()).collect(),
            brand: None,
            price: None,
        };
        let items = [item("a", &["x", "y"]), item("b", &["y"]), item("c", &[])];
        let vocab = ItemVocab::from_items(&items);
        let stats = ItemStats {
            as_of: 0,
            window_secs: 1,
            counts: vec![0, 4, 2, 1],
            popularity: vec![0.0, 1.0, 0.5, 0.25],
            recency: vec![0.0, 0.1, 0.2, 0.3],
        };
        let table = ItemTable::new(&items, &vocab, &stats);
        assert_eq!(table.len(), 3);
        // Users 0 and 1 both touched a and b: sim(a, b) = 1; c was touched by no one.
        let covisit = CoVisitation::fit(&[(0, 1), (0, 2), (1, 1), (1, 2)], 4, 10);
        let near = covisit.affinity(&[table.row(1)]);
        for (i, it) in items.iter().enumerate() {
            let row = vocab.item_row(&it.id);
            assert_eq!(table.row(i), row);
            assert_eq!(table.categories(i), vocab.category_rows_of(it));
            let history = [table.categories(1)];
            let s = table.scalars(i, &history, &near, 0.5);
            assert_eq!(s.co_visitation, near.feature(row));
            assert_eq!(s.popularity, stats.popularity(row));
            assert_eq!(s.recency, stats.recency(row));
            assert_eq!(
                s.category_affinity,
                category_affinity(&history, &vocab.category_rows_of(it))
            );
        }
        let co = |i| table.scalars(i, &[], &near, 0.0).co_visitation;
        assert_eq!((co(0), co(2)), (1f32.ln_1p(), 0.0));
    }
}
