//! Raw user ids never reach logs, metrics or disk: a real `rankd serve` run with everything
//! logged (`RUST_LOG=trace`) gets Rank, Feedback, refused requests and an erasure for
//! distinctive raw ids; afterwards no file of the run, the log, the export or the metrics
//! text holds one, while the export does hold the pseudonym (so the search can fail).

use std::path::Path;

use rankd::feedback::Pseudonymizer;
use rankd::server::RANKER_SERVICE;
use rankd::server::proto::admin_client::AdminClient;
use rankd::server::proto::ranker_client::RankerClient;
use rankd::server::proto::{
    EventType, FeedbackEvent, FeedbackRequest, ForgetUserRequest, RankRequest,
};
use tonic_health::pb::health_check_response::ServingStatus;

use crate::process_support::{ServeProcess, export_feedback, files_under};
use crate::serving_support::{publish, wait_for_health};

const RAW: &str = "user-RAW-4242-secret";
const RAW_FORGOTTEN: &str = "user-RAW-7777-forgotten";

fn event(user: &str, item: &str, kind: EventType, request_id: &str) -> FeedbackEvent {
    FeedbackEvent {
        user_id: user.into(),
        item_id: item.into(),
        r#type: kind as i32,
        request_id: request_id.into(),
        position: 0,
        timestamp_ms: 0,
    }
}

fn contains(haystack: &[u8], needle: &str) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle.as_bytes())
}

/// Requests of every kind for the raw ids, the failing ones included (their handling and
/// error paths log too).
async fn exercise(server: &ServeProcess) {
    let channel = server.channel().await;
    wait_for_health(channel.clone(), RANKER_SERVICE, ServingStatus::Serving).await;
    let mut ranker = RankerClient::new(channel.clone());
    let rank = |user: &str| RankRequest {
        user_id: user.into(),
        recent_item_ids: vec!["i3".into()],
        k: 5,
        num_candidates: 40,
        exclude_seen: true,
        explain: true,
        ..Default::default()
    };
    let first = ranker.rank(rank(RAW)).await.unwrap().into_inner();
    let shown = &first.items[0].item_id;
    for user in [RAW, RAW_FORGOTTEN] {
        let stored = ranker
            .feedback(FeedbackRequest {
                events: vec![
                    event(user, shown, EventType::Click, &first.request_id),
                    event(user, shown, EventType::Purchase, &first.request_id),
                ],
            })
            .await
            .unwrap()
            .into_inner()
            .stored;
        assert_eq!(stored, 2);
    }
    // With the user's history this time, then refusals that carry the raw id.
    ranker.rank(rank(RAW)).await.unwrap();
    let mut too_many = rank(RAW);
    too_many.k = 100_000;
    assert!(ranker.rank(too_many).await.is_err());
    let no_item = FeedbackRequest {
        events: vec![event(RAW, "", EventType::Click, "")],
    };
    assert!(ranker.feedback(no_item).await.is_err());

    let removed = AdminClient::new(channel)
        .forget_user(ForgetUserRequest {
            user_id: RAW_FORGOTTEN.into(),
        })
        .await
        .unwrap()
        .into_inner()
        .removed_events;
    assert_eq!(removed, 2);
}

fn pseudonym(data_dir: &Path, raw: &str) -> String {
    let secret = std::fs::read_to_string(data_dir.join("pseudonym.key")).unwrap();
    Pseudonymizer::new(secret.trim().as_bytes())
        .unwrap()
        .key(raw)
        .to_hex()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn raw_user_ids_reach_no_log_metric_or_file_of_a_run() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let log = dir.path().join("rankd.log");
    let server = ServeProcess::start(dir.path(), &log);
    exercise(&server).await;
    let metrics = server.scrape().await;
    assert!(
        metrics.contains("rankd_feedback_events_stored_total 4"),
        "{metrics}"
    );
    server.stop();

    let export = dir.path().join("export.csv");
    let data = dir.path().join("data");
    let export_text = export_feedback(&data, &export);

    // The log really is a trace log of the requests, so finding nothing in it means something.
    let log_text = std::fs::read_to_string(&log).unwrap();
    assert!(log_text.contains("TRACE"), "no trace output in the log");
    assert!(log_text.contains("erased a user's feedback events"));
    assert!(
        export_text.contains(&pseudonym(&data, RAW)),
        "the export holds the pseudonym:\n{export_text}"
    );
    assert!(!export_text.contains(&pseudonym(&data, RAW_FORGOTTEN)));

    // Every file of the run: log, export, feedback log, key, lock, index and models.
    let mut searched = vec![("metrics".to_string(), metrics.into_bytes())];
    for file in files_under(dir.path()) {
        searched.push((file.display().to_string(), std::fs::read(&file).unwrap()));
    }
    assert!(
        searched.len() > 5,
        "{searched:?}",
        searched = searched.len()
    );
    for (name, bytes) in &searched {
        for raw in [RAW, RAW_FORGOTTEN] {
            assert!(!contains(bytes, raw), "raw user id {raw} found in {name}");
        }
    }
}
