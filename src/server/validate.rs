//! Turns protobuf requests into the engine's validated types. Every rule names the field it
//! checks, so a caller reading `INVALID_ARGUMENT` knows what to fix.

use crate::config::LimitsConfig;
use crate::rank::{ItemFilter, RankQuery};

use super::proto;

/// A request field that breaks a rule; becomes `INVALID_ARGUMENT`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{field}: {problem}")]
pub struct FieldError {
    pub field: String,
    pub problem: String,
}

fn field_error(field: impl Into<String>, problem: impl Into<String>) -> FieldError {
    FieldError {
        field: field.into(),
        problem: problem.into(),
    }
}

fn check_len(field: &str, value: &str, max: u32) -> Result<(), FieldError> {
    if value.len() > max as usize {
        return Err(field_error(
            field,
            format!("is {} bytes, the limit is {max}", value.len()),
        ));
    }
    Ok(())
}

/// Non-empty ids within the byte limit.
fn check_ids(
    field: &str,
    ids: &[String],
    max_count: u32,
    max_bytes: u32,
) -> Result<(), FieldError> {
    if ids.len() > max_count as usize {
        return Err(field_error(
            field,
            format!("has {} entries, the limit is {max_count}", ids.len()),
        ));
    }
    for (i, id) in ids.iter().enumerate() {
        let entry = format!("{field}[{i}]");
        if id.is_empty() {
            return Err(field_error(entry, "is empty"));
        }
        check_len(&entry, id, max_bytes)?;
    }
    Ok(())
}

fn check_price(field: &str, price: Option<f32>) -> Result<Option<f32>, FieldError> {
    match price {
        Some(p) if !p.is_finite() => Err(field_error(field, "must be a finite number")),
        Some(p) if p < 0.0 => Err(field_error(field, format!("is {p}, must be >= 0"))),
        other => Ok(other),
    }
}

fn non_empty(value: String) -> Option<String> {
    (!value.is_empty()).then_some(value)
}

pub fn rank_request(
    req: proto::RankRequest,
    limits: &LimitsConfig,
) -> Result<RankQuery, FieldError> {
    check_len("request_id", &req.request_id, 128)?;
    check_len("user_id", &req.user_id, limits.max_id_bytes)?;
    check_ids(
        "recent_item_ids",
        &req.recent_item_ids,
        limits.max_recent_items,
        limits.max_id_bytes,
    )?;
    check_len("query", &req.query, limits.max_query_bytes)?;
    let k = match req.k {
        0 => limits.default_k,
        k if k > limits.max_k => {
            return Err(field_error(
                "k",
                format!("is {k}, the limit is {}", limits.max_k),
            ));
        }
        k => k,
    };
    let num_candidates = match req.num_candidates {
        0 => limits.default_candidates.max(k),
        n if n > limits.max_candidates => {
            return Err(field_error(
                "num_candidates",
                format!("is {n}, the limit is {}", limits.max_candidates),
            ));
        }
        n if n < k => {
            return Err(field_error(
                "num_candidates",
                format!("is {n}, must be at least k ({k})"),
            ));
        }
        n => n,
    };
    if !req.model_variant.is_empty() {
        // One model per index version for now: naming another must not silently get this one.
        return Err(field_error(
            "model_variant",
            format!(
                "`{}` is not served; this server has only the default model (leave it empty)",
                req.model_variant
            ),
        ));
    }
    let filter = req.filter.unwrap_or_default();
    check_ids(
        "filter.categories",
        &filter.categories,
        limits.max_exclude_ids,
        limits.max_id_bytes,
    )?;
    check_ids(
        "filter.exclude_item_ids",
        &filter.exclude_item_ids,
        limits.max_exclude_ids,
        limits.max_id_bytes,
    )?;
    let min_price = check_price("filter.min_price", filter.min_price)?;
    let max_price = check_price("filter.max_price", filter.max_price)?;
    if let (Some(lo), Some(hi)) = (min_price, max_price)
        && lo > hi
    {
        return Err(field_error(
            "filter.min_price",
            format!("is {lo}, greater than filter.max_price ({hi})"),
        ));
    }
    Ok(RankQuery {
        request_id: req.request_id,
        user_id: non_empty(req.user_id),
        recent_item_ids: req.recent_item_ids,
        query_text: non_empty(req.query),
        k: k as usize,
        num_candidates: num_candidates as usize,
        filter: ItemFilter {
            categories: filter.categories,
            min_price,
            max_price,
            exclude_item_ids: filter.exclude_item_ids,
        },
        exclude_seen: req.exclude_seen,
        explain: req.explain,
    })
}

/// The raw user id of an `Admin.ForgetUser` request: present and within the id limit.
pub fn forget_user(
    req: proto::ForgetUserRequest,
    limits: &LimitsConfig,
) -> Result<String, FieldError> {
    if req.user_id.is_empty() {
        return Err(field_error("user_id", "is empty"));
    }
    check_len("user_id", &req.user_id, limits.max_id_bytes)?;
    Ok(req.user_id)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limits() -> LimitsConfig {
        LimitsConfig::default()
    }

    fn field_of(req: proto::RankRequest) -> String {
        rank_request(req, &limits()).unwrap_err().field
    }

    #[test]
    fn empty_request_gets_defaults() {
        let query = rank_request(proto::RankRequest::default(), &limits()).unwrap();
        assert_eq!(query.k, 20);
        assert_eq!(query.num_candidates, 500);
        assert_eq!(query.user_id, None);
        assert_eq!(query.query_text, None);
    }

    #[test]
    fn k_over_limit_names_k() {
        let req = proto::RankRequest {
            k: 1_001,
            ..Default::default()
        };
        assert_eq!(field_of(req), "k");
    }

    #[test]
    fn candidates_below_k_are_rejected() {
        let req = proto::RankRequest {
            k: 50,
            num_candidates: 10,
            ..Default::default()
        };
        assert_eq!(field_of(req), "num_candidates");
    }

    #[test]
    fn default_candidates_never_below_k() {
        let req = proto::RankRequest {
            k: 900,
            ..Default::default()
        };
        assert_eq!(rank_request(req, &limits()).unwrap().num_candidates, 900);
    }

    #[test]
    fn empty_recent_item_is_named_with_index() {
        let req = proto::RankRequest {
            recent_item_ids: vec!["a".into(), String::new()],
            ..Default::default()
        };
        assert_eq!(field_of(req), "recent_item_ids[1]");
    }

    #[test]
    fn too_many_recent_items_are_rejected() {
        let req = proto::RankRequest {
            recent_item_ids: vec!["a".into(); 201],
            ..Default::default()
        };
        assert_eq!(field_of(req), "recent_item_ids");
    }

    #[test]
    fn long_query_is_rejected() {
        let req = proto::RankRequest {
            query: "x".repeat(513),
            ..Default::default()
        };
        assert_eq!(field_of(req), "query");
    }

    fn with_prices(min: Option<f32>, max: Option<f32>) -> proto::RankRequest {
        proto::RankRequest {
            filter: Some(proto::Filter {
                min_price: min,
                max_price: max,
                ..Default::default()
            }),
            ..Default::default()
        }
    }

    #[test]
    fn nan_negative_and_inverted_prices_are_rejected() {
        assert_eq!(
            field_of(with_prices(Some(f32::NAN), None)),
            "filter.min_price"
        );
        assert_eq!(field_of(with_prices(None, Some(-1.0))), "filter.max_price");
        assert_eq!(
            field_of(with_prices(None, Some(f32::INFINITY))),
            "filter.max_price"
        );
        assert_eq!(
            field_of(with_prices(Some(5.0), Some(1.0))),
            "filter.min_price"
        );
        assert!(rank_request(with_prices(Some(1.0), Some(1.0)), &limits()).is_ok());
    }

    #[test]
    fn unknown_model_variant_is_refused() {
        let req = proto::RankRequest {
            model_variant: "experiment-b".into(),
            ..Default::default()
        };
        assert_eq!(field_of(req), "model_variant");
    }

    #[test]
    fn empty_excluded_id_is_rejected() {
        let req = proto::RankRequest {
            filter: Some(proto::Filter {
                exclude_item_ids: vec![String::new()],
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(field_of(req), "filter.exclude_item_ids[0]");
    }

    #[test]
    fn forget_user_needs_a_user_id_within_the_limit() {
        let forget = |user_id: String| {
            forget_user(proto::ForgetUserRequest { user_id }, &limits()).map_err(|e| e.field)
        };
        assert_eq!(forget(String::new()), Err("user_id".to_string()));
        assert_eq!(forget("u".repeat(257)), Err("user_id".to_string()));
        assert_eq!(forget("u-1".into()), Ok("u-1".to_string()));
    }
}
