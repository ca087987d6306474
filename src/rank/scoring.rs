//! The ranker behind the dynamic batcher. Each input carries the models it must be scored
//! with, so a pass that straddles a hot swap scores every request with its own version.

use std::sync::Arc;

use super::BatchScorer;
use crate::model::{ModelError, Models, RankerFeatures};

#[derive(Debug)]
pub struct ScoreInput {
    pub models: Arc<Models>,
    pub features: RankerFeatures,
}

/// Scores runs of inputs that share a models instance in one forward pass each.
#[derive(Debug, Default)]
pub struct ModelScorer;

impl BatchScorer for ModelScorer {
    type Input = ScoreInput;
    type Error = ModelError;

    fn score(&mut self, inputs: &[ScoreInput]) -> Result<Vec<f32>, ModelError> {
        let mut scores = Vec::with_capacity(inputs.len());
        let mut start = 0;
        while start < inputs.len() {
            let models = &inputs[start].models;
            let end = inputs[start..]
                .iter()
                .position(|i| !Arc::ptr_eq(&i.models, models))
                .map_or(inputs.len(), |n| start + n);
            let features: Vec<RankerFeatures> = inputs[start..end]
                .iter()
                .map(|i| i.features.clone())
                .collect();
            scores.extend(models.score(&features)?);
            start = end;
        }
        Ok(scores)
    }
}
