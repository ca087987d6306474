//! `manifest.json`: what a version is, for humans and tools (`rankd index info`, the server's
//! admin Info). The binary header stays the authority; opening cross-checks the two so a
//! manifest copied from another version is caught.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::builder::BuildParams;
use crate::format::Metric;

/// Where the vectors came from, recorded so a served index names the model that made it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Provenance {
    /// What produced the vectors: an input file, or a model run ("item tower of ...").
    pub vectors: String,
    /// The model (weights file or name and version) when a model produced them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The program that built the index (e.g. "rankd 0.1.0").
    pub producer: String,
}

/// Size and crc32 (lowercase hex) of one data file.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    pub bytes: u64,
    pub crc32: String,
}

/// The content of `manifest.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Manifest {
    pub format_version: u32,
    pub name: String,
    pub version: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    pub metric: Metric,
    pub dim: usize,
    pub count: usize,
    pub params: BuildParams,
    /// Max neighbours per node on level 0.
    pub m0: usize,
    /// Nodes on each graph level, level 0 first.
    pub level_nodes: Vec<u64>,
    pub categories: usize,
    pub files: BTreeMap<String, FileEntry>,
    pub provenance: Provenance,
    /// Whether hnsw_rs's own dump (`reference.hnsw.*`) sits beside the files, for
    /// `rankd index search-bench`.
    pub reference_dump: bool,
    /// Files the version carries besides the index (e.g. `models/…`, `items.csv`), by path
    /// relative to the version folder.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub attachments: BTreeMap<String, FileEntry>,
}
