//! The generic record types every reader, adapter and generator produces.

use serde::{Deserialize, Serialize};

/// One catalogue item, as read from `items.csv`
/// (`item_id,title,categories,brand,price`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// External item id, unique in the catalogue.
    pub id: String,
    /// Human-readable title; the text the encoder embeds.
    pub title: String,
    /// Category names, most general first; may be empty.
    pub categories: Vec<String>,
    /// Brand name, when known.
    pub brand: Option<String>,
    /// Price in the catalogue's currency units, when known; never negative or NaN.
    pub price: Option<f32>,
}

/// What a user did with an item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EventKind {
    View,
    Click,
    Cart,
    Purchase,
    /// An explicit rating; its value is in [`Interaction::value`].
    Rating,
}

/// One user–item interaction, as read from `interactions.csv`
/// (`user_id,item_id,timestamp,event,value`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Interaction {
    pub user_id: String,
    pub item_id: String,
    /// Seconds since the Unix epoch.
    pub timestamp: i64,
    pub event: EventKind,
    /// Event value (a rating, a quantity); absent when the source has none.
    pub value: Option<f32>,
}
