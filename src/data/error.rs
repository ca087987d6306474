//! [`DataError`]: every way reading, converting, fetching or generating data can fail.

use std::path::PathBuf;

/// Errors of the data layer. Row errors name the file, the 1-based line and the column so a
/// user can open the file at the bad cell; nothing in this layer panics on bad input.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// Reading the file failed part-way (not a property of one row).
    #[error("{path}: read failed: {source}")]
    Read {
        path: PathBuf,
        #[source]
        source: csv::Error,
    },
    /// A malformed record the CSV parser itself rejected (e.g. an unterminated quote).
    #[error("{path}:{line}: malformed CSV record: {source}")]
    Csv {
        path: PathBuf,
        line: u64,
        #[source]
        source: csv::Error,
    },
    #[error("{path}: header has no `{column}` column (found: {found})")]
    MissingColumn {
        path: PathBuf,
        column: String,
        found: String,
    },
    /// One cell is missing or does not parse.
    #[error("{path}:{line}: column `{column}`: {message}")]
    BadCell {
        path: PathBuf,
        line: u64,
        column: String,
        message: String,
    },
    #[error("{path}:{line}: item id `{id}` already appeared on line {first_line}")]
    DuplicateItem {
        path: PathBuf,
        line: u64,
        id: String,
        first_line: u64,
    },
    /// A record that cannot be written without corrupting the format.
    #[error("{path}: cannot write {what}: {message}")]
    Unwritable {
        path: PathBuf,
        what: String,
        message: String,
    },
    #[error("unknown dataset `{0}` (known: movielens-100k, ml-latest-small, minilm)")]
    UnknownDataset(String),
    #[error("`{command}` failed: {message}")]
    Command { command: String, message: String },
    #[error("{archive}: {message}")]
    Archive { archive: PathBuf, message: String },
    #[error("invalid synthetic-data config: {0}")]
    SynthConfig(String),
}

impl DataError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    /// Whether `--skip-bad-rows` may skip the row this error came from (the file as a whole
    /// is still readable).
    pub fn is_row_error(&self) -> bool {
        matches!(
            self,
            Self::Csv { .. } | Self::BadCell { .. } | Self::DuplicateItem { .. }
        )
    }
}
