//! One loaded, immutable index version: the mapped index, the models it was built with and
//! the item catalogue, opened and checked together so a hot swap replaces all three at once.
//!
//! A published version folder holds the index files, `models/` (what `rankd train` wrote)
//! and `items.csv` (the catalogue the vectors were computed from).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use candle_core::Device;
use rankd_index::MappedIndex;
use sha2::{Digest, Sha256};

use super::RankError;
use crate::data::{Item, ReadOptions, read_items};
use crate::model::{ItemTable, Models};

/// Folder of a version holding the models it was built with.
pub const MODELS_DIR: &str = "models";
/// The catalogue file of a version.
pub const ITEMS_FILE: &str = "items.csv";

#[derive(Debug)]
pub struct Engine {
    pub(super) name: String,
    pub(super) version: String,
    pub(super) index: MappedIndex,
    pub(super) models: Arc<Models>,
    /// Catalogue rows by index slot.
    pub(super) items: Vec<Item>,
    /// What the ranker reads about each item besides its vector, by index slot.
    pub(super) item_table: ItemTable,
    /// Category name → the id the index filters on.
    pub(super) category_ids: HashMap<String, u32>,
    /// Slots by descending popularity: candidates for users with no signal at all.
    pub(super) popular: Vec<u32>,
    model_version: String,
}

impl Engine {
    /// Opens `dir` (`<root>/<name>/<version>`), loading the models onto `device`.
    /// `verify` also checks every file's checksum (slower; used off the request path).
    pub fn open(dir: &Path, device: &Device, verify: bool) -> Result<Engine, RankError> {
        let index = MappedIndex::open(dir)?;
        if verify {
            index.verify()?;
        }
        let models_dir = dir.join(MODELS_DIR);
        let models = Models::load(&models_dir, device)?;
        let inconsistent = |problem: String| RankError::Inconsistent {
            dir: dir.to_path_buf(),
            problem,
        };
        if models.dim() != index.dim() {
            return Err(inconsistent(format!(
                "models produce {}-d vectors, the index holds {}-d",
                models.dim(),
                index.dim()
            )));
        }
        let catalogue = read_items(&dir.join(ITEMS_FILE), ReadOptions::default())?.records;
        let mut by_id: HashMap<&str, &Item> = HashMap::with_capacity(catalogue.len());
        for item in &catalogue {
            by_id.insert(&item.id, item);
        }
        let mut items = Vec::with_capacity(index.len());
        for slot in 0..index.len() as u32 {
            let id = index.item(slot)?.id;
            let item = by_id.get(id).ok_or_else(|| {
                inconsistent(format!("indexed item `{id}` is not in {ITEMS_FILE}"))
            })?;
            items.push((*item).clone());
        }
        let mut category_ids = HashMap::new();
        for item in &items {
            let rows = models.vocab().category_rows_of(item);
            for (name, row) in item.categories.iter().zip(rows) {
                category_ids.entry(name.clone()).or_insert(row);
            }
        }
        let mut popular: Vec<u32> = (0..items.len() as u32).collect();
        let popularity: Vec<f32> = items
            .iter()
            .map(|item| models.stats().popularity(models.vocab().item_row(&item.id)))
            .collect();
        popular.sort_by(|&a, &b| {
            popularity[b as usize]
                .total_cmp(&popularity[a as usize])
                .then(a.cmp(&b))
        });
        let item_table = models.item_table(&items);
        let model_version = hash_folder(&models_dir)?;
        let (name, version) = name_and_version(dir);
        Ok(Engine {
            name,
            version,
            index,
            models: Arc::new(models),
            items,
            item_table,
            category_ids,
            popular,
            model_version,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn version(&self) -> &str {
        &self.version
    }

    pub fn model_version(&self) -> &str {
        &self.model_version
    }

    pub fn index(&self) -> &MappedIndex {
        &self.index
    }

    pub fn models(&self) -> &Arc<Models> {
        &self.models
    }
}

fn name_and_version(dir: &Path) -> (String, String) {
    let part = |p: Option<&Path>| {
        p.and_then(Path::file_name)
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default()
    };
    (part(dir.parent()), part(Some(dir)))
}

/// A short content hash of every file in the models folder: the model version clients see.
fn hash_folder(dir: &Path) -> Result<String, RankError> {
    let io = |path: PathBuf, source| crate::model::ModelError::Io { path, source };
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map_err(|e| io(dir.to_path_buf(), e))?
        .filter_map(|entry| entry.ok().map(|e| e.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    let mut hasher = Sha256::new();
    for path in files {
        let bytes = std::fs::read(&path).map_err(|e| io(path.clone(), e))?;
        hasher.update(path.file_name().unwrap_or_default().as_encoded_bytes());
        hasher.update(&bytes);
    }
    Ok(hex::encode(&hasher.finalize()[..6]))
}
