//! rankd: a ranking engine for e-commerce search and recommendation.
//!
//! Backend services call `Rank` (gRPC) with a user's context and get the top-k items back:
//!
//! ```text
//!  client ─TLS─► server/ (auth, limits, validate) ─► rank/ pipeline ──────────────► reply
//!                                                     │ user/query tower   (model/)
//!                                                     │ HNSW candidates    (rankd-index, mmap)
//!                                                     │ features ─► batcher ─► DCN ranker
//!                                                     │ select top-k, seen removed
//!  Feedback ─► feedback/ (pseudonymise, durable log) ─┴─► per-user history for the next Rank
//!
//!  offline: data/ ─► train/ ─► models ─► rank::build_index ─► published index version
//!           eval/ (temporal split, baselines, metrics) ; feedback export ─► next training
//! ```
//!
//! | module | what it holds |
//! |---|---|
//! | [`config`] | the one typed config tree: defaults → TOML → `RANKD_*` env → flags |
//! | [`server`] | tonic services, TLS, tokens, admission limits, health, metrics, hot swap |
//! | [`client`] | connecting as a client (TLS, mTLS, bearer token) for the CLI and tests |
//! | [`rank`] | the Rank pipeline, the batcher actor, the index-builder job; no transport |
//! | [`model`] | candle models: text encoder, two towers, DCN-v2 ranker, device choice |
//! | [`train`] | two-tower and ranker training |
//! | [`eval`] | offline evaluation against popularity and ItemKNN baselines |
//! | [`feedback`] | the durable feedback log, pseudonyms, per-user history |
//! | [`data`] | item / interaction formats, MovieLens adapters, fetcher, synthetic data |
//! | [`logging`] | tracing setup (text or JSON) |
//! | [`testdata`] | where tests find real data sets, and the skip-or-fail rule |
//!
//! The index itself (on-disk format, builder, memory-mapped reader) is the `rankd-index`
//! crate in `index/`, with no candle and no tonic.

pub mod client;
pub mod config;
pub mod data;
pub mod eval;
pub mod feedback;
pub mod logging;
pub mod model;
pub mod rank;
pub mod server;
pub mod testdata;
pub mod train;
