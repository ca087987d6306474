//! The server's lifecycle as an orchestrator and a client see it, over real loopback gRPC.

use std::time::Duration;

use rankd::server::proto::RankRequest;
use rankd::server::proto::admin_client::AdminClient;
use rankd::server::proto::ranker_client::RankerClient;
use rankd::server::{ADMIN_SERVICE, RANKER_SERVICE};
use tokio_stream::StreamExt;
use tonic::Code;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;
use tonic_reflection::pb::v1::ServerReflectionRequest;
use tonic_reflection::pb::v1::server_reflection_client::ServerReflectionClient;
use tonic_reflection::pb::v1::server_reflection_request::MessageRequest;
use tonic_reflection::pb::v1::server_reflection_response::MessageResponse;

use crate::support::{TestServer, test_config};

async fn health_of(client: &mut HealthClient<tonic::transport::Channel>, service: &str) -> i32 {
    client
        .check(HealthCheckRequest {
            service: service.to_string(),
        })
        .await
        .unwrap()
        .into_inner()
        .status
}

#[tokio::test]
async fn ranker_is_not_serving_before_an_index_is_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path())).await;
    let mut health = HealthClient::new(server.channel().await);
    assert_eq!(
        health_of(&mut health, "").await,
        ServingStatus::Serving as i32
    );
    assert_eq!(
        health_of(&mut health, RANKER_SERVICE).await,
        ServingStatus::NotServing as i32
    );
    assert_eq!(
        health_of(&mut health, ADMIN_SERVICE).await,
        ServingStatus::Serving as i32
    );
    let unknown = health
        .check(HealthCheckRequest {
            service: "no.such.Service".into(),
        })
        .await
        .unwrap_err();
    assert_eq!(unknown.code(), Code::NotFound);
}

#[tokio::test]
async fn reflection_lists_the_public_services() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path())).await;
    let mut client = ServerReflectionClient::new(server.channel().await);
    let request = ServerReflectionRequest {
        host: String::new(),
        message_request: Some(MessageRequest::ListServices(String::new())),
    };
    let mut responses = client
        .server_reflection_info(tokio_stream::once(request))
        .await
        .unwrap()
        .into_inner();
    let response = responses.next().await.unwrap().unwrap();
    let Some(MessageResponse::ListServicesResponse(list)) = response.message_response else {
        panic!(
            "expected a service list, got {:?}",
            response.message_response
        );
    };
    let names: Vec<String> = list.service.into_iter().map(|s| s.name).collect();
    for expected in [RANKER_SERVICE, ADMIN_SERVICE, "grpc.health.v1.Health"] {
        assert!(
            names.iter().any(|n| n == expected),
            "{expected} missing from {names:?}"
        );
    }
}

#[tokio::test]
async fn rank_is_unavailable_until_loaded_but_validates_first() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path())).await;
    let mut ranker = RankerClient::new(server.channel().await);
    let status = ranker
        .rank(RankRequest {
            user_id: "u1".into(),
            k: 10,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    assert!(
        status.message().contains("no index is loaded"),
        "{}",
        status.message()
    );

    let status = ranker
        .rank(RankRequest {
            k: 100_000,
            ..Default::default()
        })
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::InvalidArgument);
    assert!(status.message().starts_with("k:"), "{}", status.message());
}

#[tokio::test]
async fn admin_info_reports_nothing_loaded() {
    let dir = tempfile::tempdir().unwrap();
    let server = TestServer::start(test_config(dir.path())).await;
    let mut admin = AdminClient::new(server.channel().await);
    let info = admin
        .info(rankd::server::proto::InfoRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(info.server_version, env!("CARGO_PKG_VERSION"));
    assert!(info.index.is_none());
}

#[tokio::test]
async fn oversized_message_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.limits.max_message_bytes = 1_024;
    let server = TestServer::start(config).await;
    let mut ranker = RankerClient::new(server.channel().await);
    let status = ranker
        .rank(RankRequest {
            query: "q".repeat(4_096),
            ..Default::default()
        })
        .await
        .unwrap_err();
    // tonic answers an over-long message with OUT_OF_RANGE and names the limit.
    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
    assert!(status.message().contains("1024"), "{}", status.message());
}

#[tokio::test]
async fn shutdown_reports_not_serving_then_drains_cleanly() {
    let dir = tempfile::tempdir().unwrap();
    let mut server = TestServer::start(test_config(dir.path())).await;
    let channel = server.channel().await;
    let mut health = HealthClient::new(channel.clone());
    assert_eq!(
        health_of(&mut health, "").await,
        ServingStatus::Serving as i32
    );

    // A Watch stream stays open across the shutdown: it must see the flip, and must not keep
    // the process from exiting.
    let mut watch = health
        .watch(HealthCheckRequest {
            service: String::new(),
        })
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        watch.next().await.unwrap().unwrap().status,
        ServingStatus::Serving as i32
    );

    server.begin_shutdown();
    let flipped = tokio::time::timeout(Duration::from_secs(2), watch.next())
        .await
        .expect("watch saw no change within 2 s")
        .unwrap()
        .unwrap();
    assert_eq!(flipped.status, ServingStatus::NotServing as i32);

    // During the drain delay the server still answers, and says it is going away.
    assert_eq!(
        health_of(&mut health, RANKER_SERVICE).await,
        ServingStatus::NotServing as i32
    );

    tokio::time::timeout(Duration::from_secs(10), server.join())
        .await
        .expect("server did not stop within its drain timeout")
        .expect("server returned an error");
}
