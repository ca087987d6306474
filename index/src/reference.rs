//! hnsw_rs's own in-memory graph and search, kept as the reference the mapped search is
//! measured against (recall within a point, and QPS in `rankd index search-bench`).
//!
//! Serving never uses this: hnsw_rs reloads a dump onto the heap at 3-4 KB per point.

use std::path::Path;

use hnsw_rs::prelude::{AnnT, Hnsw, HnswIo};

use crate::distance::{DistanceFn, HnswDistance};
use crate::error::{IndexError, Result};
use crate::format::Metric;

/// Basename of the optional hnsw_rs dump inside a version directory
/// (`reference.hnsw.graph`, `reference.hnsw.data`).
pub const REFERENCE_BASENAME: &str = "reference";

/// An hnsw_rs graph with the search entry point rankd uses for comparisons.
pub struct Reference<'a> {
    pub(crate) hnsw: Hnsw<'a, f32, HnswDistance>,
    metric: Metric,
}

impl std::fmt::Debug for Reference<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reference")
            .field("points", &self.hnsw.get_nb_point())
            .field("metric", &self.metric)
            .finish()
    }
}

impl<'a> Reference<'a> {
    pub(crate) fn new(hnsw: Hnsw<'a, f32, HnswDistance>, metric: Metric) -> Self {
        Self { hnsw, metric }
    }

    /// Reloads a dump written by [`Reference::dump`]. The returned graph borrows `io`
    /// (hnsw_rs's API ties them), so callers keep the `HnswIo` alive in their own scope.
    pub fn load(io: &'a HnswIo, metric: Metric) -> Result<Self> {
        let hnsw = io
            .load_hnsw_with_dist(HnswDistance(DistanceFn::new(metric)))
            .map_err(|e| IndexError::Hnsw(format!("reloading the reference dump: {e}")))?;
        Ok(Self { hnsw, metric })
    }

    /// Opens the dump in a version directory, if the index was built with one.
    pub fn io_for(version_dir: &Path) -> Option<HnswIo> {
        version_dir
            .join(format!("{REFERENCE_BASENAME}.hnsw.graph"))
            .exists()
            .then(|| HnswIo::new(version_dir, REFERENCE_BASENAME))
    }

    /// Writes hnsw_rs's own dump (`reference.hnsw.{graph,data}`) into `dir`.
    pub fn dump(&self, dir: &Path) -> Result<()> {
        self.hnsw
            .file_dump(dir, REFERENCE_BASENAME)
            .map_err(|e| IndexError::Hnsw(format!("dumping into {}: {e}", dir.display())))?;
        Ok(())
    }

    /// hnsw_rs's search: `(slot, distance)` pairs, closest first. Cosine queries are
    /// normalised here as in the mapped search.
    pub fn search(&self, query: &[f32], k: usize, ef: usize) -> Vec<(u32, f32)> {
        let query = crate::search::prepare_query(self.metric, query);
        self.hnsw
            .search(&query, k, ef.max(k))
            .into_iter()
            .map(|n| (n.d_id as u32, n.distance))
            .collect()
    }
}
