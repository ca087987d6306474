//! The model layer's one error type.

use std::path::PathBuf;

/// Everything that can go wrong loading, running, saving or training a model.
///
/// Paths are carried so that a message names the file at fault; the layer above wraps this
/// with `#[from]`.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A tensor operation failed (shape mismatch, device error, bad safetensors file).
    #[error("tensor operation failed: {0}")]
    Candle(#[from] candle_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// A JSON file (model config, vocabulary, report) did not parse.
    #[error("{path}: invalid JSON: {source}")]
    Json {
        path: PathBuf,
        source: serde_json::Error,
    },
    /// A file a model needs is absent; `hint` says how to get it.
    #[error("{path} is missing: {hint}")]
    Missing { path: PathBuf, hint: String },
    /// The tokenizer could not be loaded, built or run.
    #[error("tokenizer: {0}")]
    Tokenizer(String),
    /// A caller passed input the model cannot use (wrong vector length, empty training set).
    #[error("invalid input: {0}")]
    InvalidInput(String),
    /// The CUDA device was requested but cannot be used.
    #[error("device: {0}")]
    Device(String),
}

impl ModelError {
    /// Wraps an I/O error with the path it concerns.
    pub fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Self {
        let path = path.into();
        move |source| Self::Io { path, source }
    }

    /// Wraps a JSON error with the path it concerns.
    pub fn json(path: impl Into<PathBuf>) -> impl FnOnce(serde_json::Error) -> Self {
        let path = path.into();
        move |source| Self::Json { path, source }
    }
}

/// Shorthand for this layer's results.
pub type Result<T, E = ModelError> = std::result::Result<T, E>;
