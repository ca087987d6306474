//! A validated ranking request in the engine's own terms (no protobuf types).

/// What a caller asks `Rank` for, after validation: every bound already checked. Its `Debug`
/// withholds the raw user id, so a stray `{:?}` in a log line cannot leak it.
#[derive(Clone, PartialEq)]
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

impl std::fmt::Debug for RankQuery {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RankQuery")
            .field("request_id", &self.request_id)
            .field(
                "user_id",
                &self.user_id.as_ref().map(|_| "<raw id withheld>"),
            )
            .field("recent_item_ids", &self.recent_item_ids)
            .field("query_text", &self.query_text)
            .field("k", &self.k)
            .field("num_candidates", &self.num_candidates)
            .field("filter", &self.filter)
            .field("exclude_seen", &self.exclude_seen)
            .field("explain", &self.explain)
            .finish()
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_output_withholds_the_raw_user_id() {
        let query = RankQuery {
            request_id: "r1".into(),
            user_id: Some("user-RAW-4242".into()),
            recent_item_ids: vec!["i1".into()],
            query_text: None,
            k: 5,
            num_candidates: 50,
            filter: ItemFilter::default(),
            exclude_seen: true,
            explain: false,
        };
        let shown = format!("{query:?}");
        assert!(
            !shown.contains("RAW-4242") && shown.contains("i1"),
            "{shown}"
        );
    }
}
