//! The ranking pipeline in pure types: retrieve → features → score → select. No transport
//! here: the server layer converts protobuf messages into these types and back.
//!
//! ```text
//!  RankQuery ─► Engine::prepare ─► Prepared{rows} ─► batcher (ModelScorer) ─► scores
//!                 (engine.rs: index + models + catalogue of one version)          │
//!  Ranked ◄──────────────────────── Engine::finish ◄──────────────────────────────┘
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `query.rs` | [`RankQuery`], [`ItemFilter`]: a validated request |
//! | `engine.rs` | [`Engine`]: one loaded index version with its models and catalogue |
//! | `pipeline.rs` | prepare / finish around scoring; [`Engine::rank_blocking`] in process |
//! | `build.rs` | the index-builder job: embed items, build, publish with models + catalogue |
//! | `batcher.rs` | the dynamic batching actor and its bounded queue |
//! | `scoring.rs` | [`ModelScorer`]: the ranker as a batch scorer |
//! | `error.rs` | [`RankError`] |

mod batcher;
mod build;
mod engine;
mod error;
mod pipeline;
mod query;
mod scoring;

pub use batcher::{
    BatchError, BatchInput, BatchScorer, BatcherConfig, BatcherHandle, BatcherStats, PassObserver,
};
pub use build::{BuildIndexJob, BuildSummary, build_index};
pub use engine::{Engine, ITEMS_FILE, MODELS_DIR};
pub use error::RankError;
pub use pipeline::{Prepared, Ranked, RankedItem};
pub use query::{ItemFilter, RankQuery};
pub use scoring::{ModelScorer, ScoreInput};
