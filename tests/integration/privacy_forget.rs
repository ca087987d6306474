//! Erasure: `Admin.ForgetUser` (through `rankd feedback forget --target`) removes a user's
//! events from the log and their history from the running server; the offline command refuses
//! while a server holds the log and works once it has stopped; a restart brings nothing back.

use std::path::Path;

use rankd::server::RANKER_SERVICE;
use rankd::server::proto::admin_client::AdminClient;
use rankd::server::proto::ranker_client::RankerClient;
use rankd::server::proto::{
    EventType, FeedbackEvent, FeedbackRequest, ForgetUserRequest, RankRequest,
};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::process_support::{ServeProcess, export_feedback, rankd, rankd_with_stdin};
use crate::serving_support::{publish, wait_for_health};

fn alice() -> RankRequest {
    RankRequest {
        user_id: "alice".into(),
        recent_item_ids: vec!["i3".into()],
        k: 5,
        num_candidates: 40,
        exclude_seen: true,
        ..Default::default()
    }
}

async fn ranked(channel: &Channel, request: RankRequest) -> Vec<String> {
    RankerClient::new(channel.clone())
        .rank(request)
        .await
        .unwrap()
        .into_inner()
        .items
        .into_iter()
        .map(|i| i.item_id)
        .collect()
}

fn event(user: &str, item: &str, kind: EventType) -> FeedbackEvent {
    FeedbackEvent {
        user_id: user.into(),
        item_id: item.into(),
        r#type: kind as i32,
        ..Default::default()
    }
}

async fn serving(server: &ServeProcess) -> Channel {
    let channel = server.channel().await;
    wait_for_health(channel.clone(), RANKER_SERVICE, ServingStatus::Serving).await;
    channel
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forget_removes_events_and_history_online_and_offline() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let data = dir.path().join("data");
    let data = data.to_str().unwrap();
    let log = dir.path().join("rankd.log");
    let server = ServeProcess::start(dir.path(), &log);
    let channel = serving(&server).await;

    let before = ranked(&channel, alice()).await;
    let events = vec![
        event("alice", &before[0], EventType::Purchase),
        event("alice", &before[1], EventType::Click),
        event("alice", &before[2], EventType::View),
        event("bob", &before[0], EventType::Purchase),
    ];
    RankerClient::new(channel.clone())
        .feedback(FeedbackRequest { events })
        .await
        .unwrap();
    let seen = ranked(&channel, alice()).await;
    assert!(
        !seen.contains(&before[0]),
        "purchased, so excluded: {seen:?}"
    );

    let refused = AdminClient::new(channel.clone())
        .forget_user(ForgetUserRequest::default())
        .await
        .unwrap_err();
    assert_eq!(refused.code(), Code::InvalidArgument);
    assert!(refused.message().contains("user_id"), "{refused:?}");

    // Offline beside the running server: refused, pointing at the server.
    let offline = rankd(&["feedback", "forget", "--user", "alice", "--data-dir", data]);
    assert!(!offline.status.success());
    let message = String::from_utf8_lossy(&offline.stderr);
    assert!(
        message.contains("in use by another process") && message.contains("--target"),
        "{message}"
    );

    let target = server.addr.to_string();
    let online = rankd(&["feedback", "forget", "--user", "alice", "--target", &target]);
    assert!(online.status.success(), "{online:?}");
    assert_eq!(
        String::from_utf8_lossy(&online.stdout),
        "removed 3 feedback events\n"
    );
    assert_eq!(
        ranked(&channel, alice()).await,
        before,
        "alice's history is gone from the server"
    );
    server.stop();

    // Offline once the server has stopped, the id read from stdin.
    let offline = rankd_with_stdin(
        &["feedback", "forget", "--user", "-", "--data-dir", data],
        "bob\n",
    );
    assert!(offline.status.success(), "{offline:?}");
    assert_eq!(
        String::from_utf8_lossy(&offline.stdout),
        "removed 1 feedback events\n"
    );
    let export = dir.path().join("export.csv");
    let rows = export_feedback(Path::new(data), &export).lines().count();
    assert_eq!(rows, 1, "only the header is left");

    // A restart replays the rewritten log: alice's history does not come back.
    let server = ServeProcess::start(dir.path(), &log);
    let channel = serving(&server).await;
    assert_eq!(ranked(&channel, alice()).await, before);
    server.stop();
}
