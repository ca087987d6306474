//! `RankError`: what can go wrong between a validated query and a ranked reply.

use std::path::PathBuf;

use super::BatchError;

#[derive(Debug, thiserror::Error)]
pub enum RankError {
    /// No index version is loaded (yet, or any more).
    #[error("no index is loaded yet")]
    NotLoaded,
    #[error(transparent)]
    Index(#[from] rankd_index::IndexError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Batch(#[from] BatchError),
    /// An index version whose parts disagree (e.g. the catalogue lacks an indexed item).
    #[error("index version {dir} is inconsistent: {problem}")]
    Inconsistent { dir: PathBuf, problem: String },
    /// A worker thread of the pipeline failed (a bug: reported, never a crash).
    #[error("pipeline worker failed: {0}")]
    Worker(String),
    /// The client's deadline passed before the answer was ready.
    #[error("the deadline passed after {0:?}")]
    DeadlineExceeded(std::time::Duration),
}
