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

impl EventKind {
    /// Every kind, in the order of increasing commitment.
    pub const ALL: [Self; 5] = [
        Self::View,
        Self::Click,
        Self::Cart,
        Self::Purchase,
        Self::Rating,
    ];

    /// The name used in `interactions.csv`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::View => "view",
            Self::Click => "click",
            Self::Cart => "cart",
            Self::Purchase => "purchase",
            Self::Rating => "rating",
        }
    }
}

impl std::fmt::Display for EventKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for EventKind {
    type Err = String;

    /// Case-insensitive, as exported logs disagree on case.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|k| k.as_str().eq_ignore_ascii_case(s))
            .ok_or_else(|| format!("`{s}` is not one of view, click, cart, purchase, rating"))
    }
}
