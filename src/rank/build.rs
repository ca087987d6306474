//! The index-builder job: item vectors from the trained models, computed in batches on the
//! models' device, then an HNSW index published as a new version that carries the models and
//! the catalogue it was built from (so serving swaps all three together).

use std::path::{Path, PathBuf};
use std::time::Instant;

use rankd_index::{
    Attachment, BuildParams, IndexBuilder, Metric, Provenance, PublishOptions, Published,
};

use super::RankError;
use super::engine::{ITEMS_FILE, MODELS_DIR};
use crate::data::{ReadOptions, read_items};
use crate::model::Models;

/// Items per embedding call: large enough to keep the device busy, small enough for
/// progress that moves.
const EMBED_CHUNK: usize = 2048;

#[derive(Debug, Clone)]
pub struct BuildIndexJob {
    pub models_dir: PathBuf,
    pub items: PathBuf,
    pub root: PathBuf,
    pub name: String,
    pub params: BuildParams,
    pub read: ReadOptions,
}

#[derive(Debug, Clone)]
pub struct BuildSummary {
    pub published: Published,
    pub items: usize,
    pub skipped_rows: usize,
    pub embed_secs: f64,
    pub build_secs: f64,
}

impl BuildIndexJob {
    /// Runs the job with `models` already loaded from `models_dir` on their device;
    /// `progress(done, total)` is called after each embedded chunk.
    pub fn run(
        &self,
        models: &Models,
        mut progress: impl FnMut(usize, usize),
    ) -> Result<BuildSummary, RankError> {
        let loaded = read_items(&self.items, self.read)?;
        let items = loaded.records;
        if items.is_empty() {
            return Err(RankError::Inconsistent {
                dir: self.items.clone(),
                problem: "the catalogue has no items".into(),
            });
        }
        let started = Instant::now();
        let mut vectors = Vec::with_capacity(items.len());
        for chunk in items.chunks(EMBED_CHUNK) {
            vectors.extend(models.embed_items(chunk)?);
            progress(vectors.len(), items.len());
        }
        let embed_secs = started.elapsed().as_secs_f64();

        let started = Instant::now();
        let mut builder = IndexBuilder::new(models.dim(), Metric::Cosine, self.params)?;
        for (item, vector) in items.iter().zip(&vectors) {
            // The filter category is the item's first (most general) category as a vocabulary
            // row of the models, 0 when it has none or one the models never saw; a missing
            // price is +inf, so a price ceiling excludes items whose price nobody knows.
            let category = models
                .vocab()
                .category_rows_of(item)
                .first()
                .copied()
                .unwrap_or(0);
            builder.add(rankd_index::Item {
                id: &item.id,
                vector,
                category,
                price: item.price.unwrap_or(f32::INFINITY),
            })?;
        }
        let built = builder.build()?;
        let options = PublishOptions {
            provenance: Provenance {
                vectors: format!("item tower over {}", self.items.display()),
                model: Some(format!("{} ({}/)", models.config().name, MODELS_DIR)),
                producer: format!("rankd {}", env!("CARGO_PKG_VERSION")),
            },
            reference_dump: false,
            attachments: vec![
                Attachment {
                    name: MODELS_DIR.into(),
                    source: self.models_dir.clone(),
                },
                Attachment {
                    name: ITEMS_FILE.into(),
                    source: self.items.clone(),
                },
            ],
        };
        let published = built.publish(&self.root, &self.name, &options)?;
        Ok(BuildSummary {
            published,
            items: items.len(),
            skipped_rows: loaded.skipped,
            embed_secs,
            build_secs: started.elapsed().as_secs_f64(),
        })
    }
}

/// Convenience for tests and the demo: load the models on `device` and run the job.
pub fn build_index(
    job: &BuildIndexJob,
    device: &candle_core::Device,
) -> Result<BuildSummary, RankError> {
    let models = Models::load(Path::new(&job.models_dir), device)?;
    job.run(&models, |_, _| {})
}
