//! The ranking pipeline in pure types: retrieve → features → score → select. No transport
//! here: the server layer converts protobuf messages into these types and back.

mod batcher;
mod query;

pub use batcher::{
    BatchError, BatchScorer, BatcherConfig, BatcherHandle, BatcherStats, PassObserver,
};
pub use query::{ItemFilter, RankQuery};
