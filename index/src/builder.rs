//! The write path, first half: collect items, build the graph with hnsw_rs `parallel_insert`,
//! and freeze it into flat per-level arrays ([`BuiltIndex`]). [`crate::publish`] writes those.
//!
//! hnsw_rs builds well (parallel, its own neighbour selection) but its graph is a web of
//! `Arc`s and locks; freezing copies it once into offsets + neighbour arrays, the form the
//! mapped reader searches in place.

use hnsw_rs::prelude::Hnsw;

use crate::distance::{DistanceFn, HnswDistance, normalize};
use crate::error::{IndexError, Result};
use crate::format::{MAX_LEVELS, Metric};
use crate::reference::Reference;

/// Graph construction parameters.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct BuildParams {
    /// Neighbours kept per node on upper levels; level 0 keeps `2 * m` (hnsw_rs's rule).
    pub m: usize,
    /// Beam width while inserting.
    pub ef_construction: usize,
    /// Build threads; 0 uses every core.
    pub threads: usize,
}

impl Default for BuildParams {
    fn default() -> Self {
        Self {
            m: 16,
            ef_construction: 200,
            threads: 0,
        }
    }
}

/// One item to index: its vector and the attributes filters look at.
#[derive(Debug, Clone, Copy)]
pub struct Item<'a> {
    /// External id, unique within the index (what the caller knows the item by).
    pub id: &'a str,
    pub vector: &'a [f32],
    pub category: u32,
    pub price: f32,
}

/// Collects items, then builds. Slots are assigned in the order items are added.
#[derive(Debug)]
pub struct IndexBuilder {
    dim: usize,
    metric: Metric,
    params: BuildParams,
    vectors: Vec<f32>,
    ids: Vec<String>,
    categories: Vec<u32>,
    prices: Vec<f32>,
}

/// One frozen graph level: `neighbours[offsets[i]..offsets[i + 1]]` are the neighbours of
/// `nodes[i]` (of slot `i` on level 0, where `nodes` is empty).
#[derive(Debug, Clone, Default)]
pub(crate) struct FrozenLevel {
    pub nodes: Vec<u32>,
    pub offsets: Vec<u64>,
    pub neighbours: Vec<u32>,
}

/// A built index in memory: the frozen layout plus hnsw_rs's graph as the reference.
#[derive(Debug)]
pub struct BuiltIndex {
    pub(crate) dim: usize,
    pub(crate) metric: Metric,
    pub(crate) params: BuildParams,
    /// Row-major, `dim` floats per item (normalised for cosine).
    pub(crate) vectors: Vec<f32>,
    pub(crate) ids: Vec<String>,
    pub(crate) categories: Vec<u32>,
    pub(crate) prices: Vec<f32>,
    pub(crate) levels: Vec<FrozenLevel>,
    pub(crate) entry_point: u32,
    reference: Reference<'static>,
}

impl IndexBuilder {
    pub fn new(dim: usize, metric: Metric, params: BuildParams) -> Result<Self> {
        if dim == 0 || dim > u32::MAX as usize / 8 {
            return Err(IndexError::InvalidArgument(format!("dimension {dim}")));
        }
        // hnsw_rs refuses (by exiting the process) more than 256 links on a level, and level 0
        // holds 2 * m.
        if !(2..=128).contains(&params.m) {
            return Err(IndexError::InvalidArgument(format!(
                "m = {}, expected 2..=128",
                params.m
            )));
        }
        if params.ef_construction == 0 {
            return Err(IndexError::InvalidArgument("ef_construction = 0".into()));
        }
        Ok(Self {
            dim,
            metric,
            params,
            vectors: Vec::new(),
            ids: Vec::new(),
            categories: Vec::new(),
            prices: Vec::new(),
        })
    }

    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds one item and returns its slot.
    pub fn add(&mut self, item: Item<'_>) -> Result<u32> {
        let index = self.ids.len();
        let bad = |what: String| IndexError::InvalidItem { index, what };
        if index >= u32::MAX as usize {
            return Err(bad("more than u32::MAX items".into()));
        }
        if item.vector.len() != self.dim {
            return Err(bad(format!(
                "vector has {} values, the index has dimension {}",
                item.vector.len(),
                self.dim
            )));
        }
        if let Some(pos) = item.vector.iter().position(|x| !x.is_finite()) {
            return Err(bad(format!("vector value {pos} is not finite")));
        }
        if item.price.is_nan() {
            return Err(bad("price is NaN".into()));
        }
        let start = self.vectors.len();
        self.vectors.extend_from_slice(item.vector);
        if self.metric == Metric::Cosine {
            normalize(&mut self.vectors[start..]);
        }
        self.ids.push(item.id.to_owned());
        self.categories.push(item.category);
        self.prices.push(item.price);
        Ok(index as u32)
    }

    /// Builds the graph with hnsw_rs `parallel_insert` and freezes it.
    pub fn build(self) -> Result<BuiltIndex> {
        let n = self.ids.len();
        if n == 0 {
            return Err(IndexError::InvalidArgument("no items to index".into()));
        }
        self.check_unique_ids()?;
        let dist = HnswDistance(DistanceFn::new(self.metric));
        let hnsw: Hnsw<'static, f32, HnswDistance> = Hnsw::new(
            self.params.m,
            n,
            MAX_LEVELS,
            self.params.ef_construction,
            dist,
        );
        let rows: Vec<(&[f32], usize)> = self.vectors.chunks_exact(self.dim).zip(0..).collect();
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(self.params.threads)
            .build()
            .map_err(|e| IndexError::Hnsw(format!("build thread pool: {e}")))?;
        pool.install(|| hnsw.parallel_insert_slice(&rows));
        drop(rows);
        let mut hnsw = hnsw;
        hnsw.set_searching_mode(true);
        let (levels, entry_point) = freeze(&hnsw, n)?;
        Ok(BuiltIndex {
            dim: self.dim,
            metric: self.metric,
            params: self.params,
            vectors: self.vectors,
            ids: self.ids,
            categories: self.categories,
            prices: self.prices,
            levels,
            entry_point,
            reference: Reference::new(hnsw, self.metric),
        })
    }

    fn check_unique_ids(&self) -> Result<()> {
        let mut order: Vec<u32> = (0..self.ids.len() as u32).collect();
        order.sort_unstable_by(|&a, &b| self.ids[a as usize].cmp(&self.ids[b as usize]));
        for pair in order.windows(2) {
            if self.ids[pair[0] as usize] == self.ids[pair[1] as usize] {
                return Err(IndexError::InvalidItem {
                    index: pair[0].max(pair[1]) as usize,
                    what: format!("duplicate id {:?}", self.ids[pair[0] as usize]),
                });
            }
        }
        Ok(())
    }
}

/// Copies hnsw_rs's graph into flat per-level arrays. Returns the levels and an entry point
/// on the top level (hnsw_rs keeps its own entry point private; any top-level node works
/// because the top level is tiny and connected).
fn freeze(hnsw: &Hnsw<'_, f32, HnswDistance>, n: usize) -> Result<(Vec<FrozenLevel>, u32)> {
    let mut adjacency: Vec<Vec<Vec<u32>>> = vec![Vec::new(); n];
    for point in hnsw.get_point_indexation() {
        let slot = point.get_origin_id();
        let lists = point.get_neighborhood_id();
        let level = point.get_point_id().0 as usize;
        let mut per_level = Vec::with_capacity(level + 1);
        for (layer, neighbours) in lists.into_iter().take(level + 1).enumerate() {
            // hnsw_rs links points inserted while the entry point was still a level-0 point
            // to it on upper layers; the frozen format only keeps edges within a level.
            let on_layer = neighbours
                .into_iter()
                .filter(|nb| nb.p_id.0 as usize >= layer);
            per_level.push(on_layer.map(|nb| nb.d_id as u32).collect());
        }
        per_level.resize(level + 1, Vec::new());
        let entry = adjacency
            .get_mut(slot)
            .ok_or_else(|| IndexError::Hnsw(format!("point with unknown id {slot}")))?;
        *entry = per_level;
    }
    if let Some(missing) = adjacency.iter().position(Vec::is_empty) {
        return Err(IndexError::Hnsw(format!(
            "item {missing} missing from the graph"
        )));
    }
    let top = adjacency.iter().map(|a| a.len() - 1).max().unwrap_or(0);
    let mut levels = Vec::with_capacity(top + 1);
    for level in 0..=top {
        let mut frozen = FrozenLevel::default();
        frozen.offsets.push(0);
        for (slot, lists) in adjacency.iter().enumerate() {
            if let Some(list) = lists.get(level) {
                if level > 0 {
                    frozen.nodes.push(slot as u32);
                }
                frozen.neighbours.extend_from_slice(list);
                frozen.offsets.push(frozen.neighbours.len() as u64);
            }
        }
        levels.push(frozen);
    }
    let entry_point = if top == 0 { 0 } else { levels[top].nodes[0] };
    Ok((levels, entry_point))
}

impl BuiltIndex {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    pub fn dim(&self) -> usize {
        self.dim
    }

    pub fn metric(&self) -> Metric {
        self.metric
    }

    pub fn params(&self) -> BuildParams {
        self.params
    }

    /// hnsw_rs's own graph and search, for comparisons.
    pub fn reference(&self) -> &Reference<'static> {
        &self.reference
    }

    /// Max neighbours per node on level 0.
    pub(crate) fn m0(&self) -> usize {
        2 * self.params.m
    }
}
