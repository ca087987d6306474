//! The ranker behind the dynamic batcher. Each job carries the models it must be scored with,
//! so a pass that straddles a hot swap scores every request with its own version.

use std::sync::Arc;

use super::{BatchInput, BatchScorer};
use crate::model::{ModelError, Models, RankerRows};

/// One request's candidates: its input rows (shared with the request's `Prepared`, not
/// copied) and the models of the version that prepared them.
#[derive(Debug)]
pub struct ScoreInput {
    pub models: Arc<Models>,
    pub rows: Arc<RankerRows>,
}

impl BatchInput for ScoreInput {
    fn candidates(&self) -> usize {
        self.rows.len()
    }
}

/// Scores runs of jobs that share a models instance: in one forward pass per run on a GPU,
/// one pass per job on the CPU.
///
/// On the CPU the ranker is compute-bound near the matmul peak from a few hundred rows, and
/// larger passes lose to cache misses (`cargo bench --bench models -- ranker`, 2-core EPYC,
/// one thread: 405k candidates/s at 256 rows, 337k at 1024, 243k at 4096), so joining
/// requests' rows would only add a copy and slow the pass down.
#[derive(Debug, Default, Clone)]
pub struct ModelScorer;

impl BatchScorer for ModelScorer {
    type Input = ScoreInput;
    type Error = ModelError;

    fn score(&mut self, jobs: &[ScoreInput]) -> Result<Vec<f32>, ModelError> {
        let mut scores = Vec::with_capacity(jobs.iter().map(|j| j.rows.len()).sum());
        let mut start = 0;
        while start < jobs.len() {
            let models = &jobs[start].models;
            let end = jobs[start..]
                .iter()
                .position(|j| !Arc::ptr_eq(&j.models, models))
                .map_or(jobs.len(), |n| start + n);
            let run = &jobs[start..end];
            if run.len() == 1 || models.device().is_cpu() {
                for job in run {
                    scores.extend(models.score_rows(&job.rows)?);
                }
            } else {
                let total = run.iter().map(|j| j.rows.len()).sum();
                let mut rows = RankerRows::with_capacity(models.dim(), total);
                for job in run {
                    rows.extend_from(&job.rows)?;
                }
                scores.extend(models.score_rows(&rows)?);
            }
            start = end;
        }
        Ok(scores)
    }
}
