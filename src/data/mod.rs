//! Data: the generic `items.csv` / `interactions.csv` format, dataset adapters and the
//! synthetic catalogue generator.

mod types;

pub use types::{EventKind, Interaction, Item};
