//! [`EvalError`]: the evaluation layer's errors, wrapping the layers it drives.

use std::path::PathBuf;

#[derive(Debug, thiserror::Error)]
pub enum EvalError {
    #[error(transparent)]
    Data(#[from] crate::data::DataError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Index(#[from] rankd_index::IndexError),
    /// The data cannot be split as asked (too few interactions, a bad fraction).
    #[error("cannot split: {0}")]
    Split(String),
    /// A method broke the protocol (e.g. recommended a training item).
    #[error("method `{method}`: {message}")]
    Method { method: String, message: String },
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("report: {0}")]
    Report(String),
    #[error("plot: {0}")]
    Plot(String),
}

impl EvalError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }
}
