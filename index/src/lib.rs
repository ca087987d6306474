//! rankd-index: the approximate-nearest-neighbour index, built with hnsw_rs and served from
//! memory-mapped files with filtered search. No candle, no tonic: any job that has vectors can
//! use it.
//!
//! ```text
//!  write path                                      read path
//!  ──────────                                      ─────────
//!  Item{id, vector, category, price}               MappedIndex::open_current(root, name)
//!     │ IndexBuilder::add                             │ read header.bin + manifest.json, check
//!     ▼                                               │ magic/version/sizes, mmap 4 files: O(1)
//!  IndexBuilder::build                                ▼
//!     │ hnsw_rs parallel_insert (rayon)            MappedIndex::search(query, k, ef, &Filter)
//!     │ freeze: per-level offsets + neighbours        │ Filter::plan: selectivity estimate
//!     ▼                                               ├─► graph: greedy descent + ef beam on
//!  BuiltIndex ── reference() ─► hnsw_rs search        │   level 0, SIMD distances, reused
//!     │ publish(root, name)                           │   visited set, filter on results
//!     ▼                                               └─► exact: scan matching items
//!  <root>/<name>/.tmp-*/ ─ fsync, rename ─►           ▼
//!  <root>/<name>/v000001/ ─► CURRENT (atomic)      Vec<Hit{slot, id, distance}>
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `format.rs` | the `#[repr(C)]` header, constants, the byte layout derived from a header |
//! | `builder.rs` | items in, hnsw_rs `parallel_insert`, freezing its graph into flat levels |
//! | `attach.rs` | files a version carries besides the index (models, catalogue) |
//! | `publish.rs` | files into a temp dir, fsync, rename to `<version>`, atomic `CURRENT` |
//! | `manifest.rs` | `manifest.json` (counts, dims, metric, parameters, checksums, provenance) |
//! | `mapped.rs` | open: checks and the one `unsafe` mmap; typed views; item and id lookups |
//! | `search.rs` | graph search and exact scan in place; per-thread scratch |
//! | `filter.rs` | category / price / excluded filters, selectivity estimate, strategy choice |
//! | `verify.rs` | checksums-on-request companion: full structural validation |
//! | `distance.rs` | squared L2 and `1 - dot` kernels with runtime AVX2+FMA dispatch |
//! | `reference.rs` | hnsw_rs's own graph and search, the baseline in tests and benchmarks |
//! | `exact.rs` | brute-force ground truth and recall@k |
//! | `vectors.rs` | `.npy`, `.fvecs`/`.ivecs` and IDX readers; `.npy` writer |
//! | `synth.rs` | seeded clustered vectors for tests, benches and scale figures |
//! | `error.rs` | `IndexError`, every variant naming the file at fault |
//!
//! The serving path never uses hnsw_rs's own reload: it rebuilds its graph on the heap at
//! about 3-4 KB per point. Here the graph is bytes in the page cache and a new version is one
//! more mapping.

mod attach;
pub mod builder;
pub mod distance;
pub mod error;
pub mod exact;
pub mod filter;
pub mod format;
pub mod manifest;
pub mod mapped;
pub mod publish;
pub mod reference;
pub mod search;
pub mod synth;
pub mod vectors;
mod verify;

pub use attach::Attachment;
pub use builder::{BuildParams, BuiltIndex, IndexBuilder, Item};
pub use error::IndexError;
pub use filter::{Filter, Strategy};
pub use format::Metric;
pub use manifest::{Manifest, Provenance};
pub use mapped::{ItemRef, MappedIndex};
pub use publish::{PublishOptions, Published};
pub use reference::Reference;
pub use search::Hit;
