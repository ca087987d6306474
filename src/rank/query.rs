//! A validated ranking request in the engine's own terms (no protobuf types).

/// What a caller asks `Rank` for, after validation: every bound already checked.
#[derive(Debug, Clone, PartialEq)]
pub struct RankQuery {
    pub request_id: String,
    /// The caller's raw user id; `None` for anonymous traffic. Never logged or stored raw.
    pub user_id: Option<String>,
    /// Recently interacted item ids, newest first.
    pub recent_item_ids: Vec<String>,
    pub query_text: Option<String>,
    pub k: usize,
    pub num_candidates: usize,
    pub filter: ItemFilter,
    pub exclude_seen: bool,
    pub explain: bool,
}

/// Conditions every returned item satisfies (all of them: AND).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct ItemFilter {
    /// Item must carry one of these categories; empty means any.
    pub categories: Vec<String>,
    /// Inclusive bounds; finite and non-negative.
    pub min_price: Option<f32>,
    pub max_price: Option<f32>,
    pub exclude_item_ids: Vec<String>,
}
