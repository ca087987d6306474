//! Engine results → protobuf replies, and feedback requests → engine events.

use super::proto;
use super::validate::FieldError;
use crate::config::LimitsConfig;
use crate::data::EventKind;
use crate::feedback::{NewEvent, now_ms};
use crate::rank::Ranked;

pub fn rank_response(request_id: String, ranked: Ranked, explain: bool) -> proto::RankResponse {
    proto::RankResponse {
        request_id,
        items: ranked
            .items
            .into_iter()
            .map(|item| proto::RankedItem {
                item_id: item.item_id,
                score: item.score,
                retrieval_score: item.retrieval_score,
                retrieval_rank: item.retrieval_rank,
                contributions: item
                    .contributions
                    .into_iter()
                    .map(|(group, contribution)| proto::FeatureContribution {
                        group,
                        contribution,
                    })
                    .collect(),
            })
            .collect(),
        index_version: ranked.index_version,
        model_version: ranked.model_version,
        timings: if explain {
            ranked
                .timings
                .into_iter()
                .map(|(stage, elapsed)| proto::StageTiming {
                    stage: stage.to_string(),
                    micros: elapsed.as_micros() as u64,
                })
                .collect()
        } else {
            Vec::new()
        },
        unknown_recent_items: ranked.unknown_recent_items as u32,
    }
}

fn field_error(field: String, problem: impl Into<String>) -> FieldError {
    FieldError {
        field,
        problem: problem.into(),
    }
}

/// How far ahead of the server's clock an event's time may be. Client clocks drift, but an
/// event dated later than this would also outlive `feedback.retention_days`.
const MAX_FUTURE_MS: i64 = 24 * 3600 * 1000;

/// Validates a feedback batch; every problem names `events[i].field`.
pub fn feedback_events(
    req: proto::FeedbackRequest,
    limits: &LimitsConfig,
) -> Result<Vec<NewEvent>, FieldError> {
    if req.events.is_empty() {
        return Err(field_error("events".into(), "is empty"));
    }
    if req.events.len() > limits.max_feedback_events as usize {
        return Err(field_error(
            "events".into(),
            format!(
                "has {} entries, the limit is {}",
                req.events.len(),
                limits.max_feedback_events
            ),
        ));
    }
    let max_id = limits.max_id_bytes as usize;
    req.events
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let field = |name: &str| format!("events[{i}].{name}");
            for (name, value) in [("user_id", &e.user_id), ("item_id", &e.item_id)] {
                if value.is_empty() {
                    return Err(field_error(field(name), "is empty"));
                }
                if value.len() > max_id {
                    return Err(field_error(
                        field(name),
                        format!("is {} bytes, the limit is {max_id}", value.len()),
                    ));
                }
            }
            if e.request_id.len() > 128 {
                return Err(field_error(field("request_id"), "is over 128 bytes"));
            }
            let event = match proto::EventType::try_from(e.r#type) {
                Ok(proto::EventType::View) => EventKind::View,
                Ok(proto::EventType::Click) => EventKind::Click,
                Ok(proto::EventType::Cart) => EventKind::Cart,
                Ok(proto::EventType::Purchase) => EventKind::Purchase,
                Ok(proto::EventType::Unspecified) | Err(_) => {
                    return Err(field_error(
                        field("type"),
                        format!("is {}; expected VIEW, CLICK, CART or PURCHASE", e.r#type),
                    ));
                }
            };
            if e.timestamp_ms < 0 {
                return Err(field_error(field("timestamp_ms"), "is negative"));
            }
            if e.timestamp_ms > now_ms().saturating_add(MAX_FUTURE_MS) {
                return Err(field_error(
                    field("timestamp_ms"),
                    "is more than a day ahead of the server's clock",
                ));
            }
            Ok(NewEvent {
                user_id: e.user_id,
                item_id: e.item_id,
                event,
                timestamp_ms: if e.timestamp_ms == 0 {
                    now_ms()
                } else {
                    e.timestamp_ms
                },
                request_id: e.request_id,
                position: e.position,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn event(user: &str, item: &str, kind: proto::EventType) -> proto::FeedbackEvent {
        proto::FeedbackEvent {
            user_id: user.into(),
            item_id: item.into(),
            r#type: kind as i32,
            ..Default::default()
        }
    }

    fn field_of(events: Vec<proto::FeedbackEvent>) -> String {
        feedback_events(proto::FeedbackRequest { events }, &LimitsConfig::default())
            .unwrap_err()
            .field
    }

    #[test]
    fn valid_events_convert_and_get_a_timestamp() {
        let events = feedback_events(
            proto::FeedbackRequest {
                events: vec![event("u", "i", proto::EventType::Purchase)],
            },
            &LimitsConfig::default(),
        )
        .unwrap();
        assert_eq!(events[0].event, EventKind::Purchase);
        assert!(events[0].timestamp_ms > 1_600_000_000_000);
    }

    #[test]
    fn each_bad_field_is_named_with_its_index() {
        assert_eq!(field_of(vec![]), "events");
        assert_eq!(
            field_of(vec![
                event("u", "i", proto::EventType::Click),
                event("", "i", proto::EventType::Click)
            ]),
            "events[1].user_id"
        );
        assert_eq!(
            field_of(vec![event("u", "", proto::EventType::Click)]),
            "events[0].item_id"
        );
        assert_eq!(
            field_of(vec![event("u", "i", proto::EventType::Unspecified)]),
            "events[0].type"
        );
        let mut bad_type = event("u", "i", proto::EventType::Click);
        bad_type.r#type = 99;
        assert_eq!(field_of(vec![bad_type]), "events[0].type");
        let mut negative = event("u", "i", proto::EventType::Click);
        negative.timestamp_ms = -5;
        assert_eq!(field_of(vec![negative]), "events[0].timestamp_ms");
        let mut future = event("u", "i", proto::EventType::Click);
        future.timestamp_ms = now_ms() + 2 * MAX_FUTURE_MS;
        assert_eq!(field_of(vec![future]), "events[0].timestamp_ms");
    }
}
