//! The one error type of the index layer. Every variant that comes from a file names it, so a
//! bad deploy says which file of which version is wrong instead of "invalid data".

use std::path::PathBuf;

/// Everything that can go wrong while building, publishing, opening or searching an index.
#[derive(Debug, thiserror::Error)]
pub enum IndexError {
    /// The operating system refused a read, write, rename, fsync or mapping.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// The file does not start with the rankd index magic: not an index, or overwritten.
    #[error("{}: not a rankd index header (magic {found:02x?})", path.display())]
    BadMagic { path: PathBuf, found: Vec<u8> },
    /// Written by a format this build does not read (newer writer, or an unsupported old one).
    #[error("{}: format version {found}, this build reads version {supported}", path.display())]
    WrongVersion {
        path: PathBuf,
        found: u32,
        supported: u32,
    },
    /// The file is shorter or longer than the header says it must be (truncated copy, or a
    /// file from another version mixed in).
    #[error("{}: size is {found} bytes, the header requires {expected}", path.display())]
    WrongSize {
        path: PathBuf,
        expected: u64,
        found: u64,
    },
    /// The bytes do not match the checksum recorded at publish time.
    #[error("{}: checksum {found:08x} does not match the recorded {expected:08x}", path.display())]
    Checksum {
        path: PathBuf,
        expected: u32,
        found: u32,
    },
    /// A value inside a file is impossible (an offset past the end, a neighbour id out of
    /// range, a header field out of bounds, a manifest that disagrees with the header, ...).
    #[error("{}: corrupt: {what}", path.display())]
    Corrupt { path: PathBuf, what: String },
    /// A vector or ground-truth input file could not be parsed.
    #[error("{}: {what}", path.display())]
    Parse { path: PathBuf, what: String },
    /// An item given to the builder is unusable.
    #[error("item {index}: {what}")]
    InvalidItem { index: usize, what: String },
    /// A query or build parameter is unusable.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// hnsw_rs failed while building, dumping or reloading its own graph.
    #[error("hnsw_rs: {0}")]
    Hnsw(String),
}

impl IndexError {
    pub(crate) fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Self::Io {
            path: path.into(),
            source,
        }
    }

    pub(crate) fn corrupt(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Self::Corrupt {
            path: path.into(),
            what: what.into(),
        }
    }

    pub(crate) fn parse(path: impl Into<PathBuf>, what: impl Into<String>) -> Self {
        Self::Parse {
            path: path.into(),
            what: what.into(),
        }
    }
}

/// Shorthand used throughout the crate.
pub type Result<T, E = IndexError> = std::result::Result<T, E>;
