//! Offline evaluation: a global-timeline split, full-catalogue ranking metrics, tuned
//! baselines, and a report (JSON, markdown, PNG).
//!
//! ```text
//!  Dataset ─► Prepared: Catalog + EventLog ─► split at T ─► train │ test users (history, targets)
//!                                         └─► train split at T_v ─► validation (ItemKNN's k)
//!  methods: Popularity, ItemKnn, + any Recommender (two-tower exact / ANN, + ranker)
//!     └─► evaluate: top-100 per test user, training items excluded ─► Metrics ─► EvalReport
//!                                                            report.json, report.md, report.png
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `split.rs` | [`Catalog`], interning, [`split_at`] / [`quantile_time`]: the no-leak split |
//! | `prepare.rs` | [`Prepared`]: test and validation splits and their counts |
//! | `metrics.rs` | Recall@K, NDCG@K, HR@K, MRR, AUC, logloss |
//! | `recommender.rs` | the [`Recommender`] trait, [`evaluate`], [`top_k`] |
//! | `popularity.rs` | baseline (a) |
//! | `itemknn.rs` | baseline (b) and its validation tuning |
//! | `neural.rs` | (c) two-tower exact, (d) two-tower via the ANN index, (e) retrieval + ranker |
//! | `run.rs` | one run: baselines, further methods, the report |
//! | `report.rs` | [`EvalReport`]: JSON and markdown |
//! | `plot.rs` | the PNG bar chart (plotters, embedded font) |
//! | `error.rs` | [`EvalError`] |

mod error;
mod itemknn;
mod metrics;
mod neural;
mod plot;
mod popularity;
mod prepare;
mod recommender;
mod report;
mod run;
mod split;

pub use error::EvalError;
pub use itemknn::{ItemKnn, K_GRID, TuningPoint, tune_k};
pub use metrics::{
    LIST_LEN, MeanMetrics, Metrics, auc, hit_rate_at, logloss, ndcg_at, recall_at, reciprocal_rank,
};
pub use neural::{AnnRetrieval, CANDIDATES, ExactRetrieval, Pipeline, TwoTower, ranker_quality};
pub use popularity::Popularity;
pub use prepare::Prepared;
pub use recommender::{MethodResult, Recommender, UserQuery, evaluate, top_k};
pub use report::{Counts, EvalReport, KnnTuning, RankerQuality, SplitInfo, utc};
pub use run::{RunOutcome, build_report, run_baselines, run_methods};
pub use split::{
    Catalog, Event, EventLog, HistoryEvent, ItemIdx, Split, TestUser, quantile_time, split_at,
};
