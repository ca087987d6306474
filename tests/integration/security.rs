//! TLS, mTLS, bearer tokens and roles, and admission limits, over loopback with the generated
//! client (through `rankd::client`, as the command-line tools connect).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use rankd::client::ClientOptions;
use rankd::config::Config;
use rankd::server::proto::admin_client::AdminClient;
use rankd::server::proto::ranker_client::RankerClient;
use rankd::server::proto::{EventType, FeedbackEvent, FeedbackRequest, InfoRequest, RankRequest};
use rankd::server::{ADMIN_SERVICE, RANKER_SERVICE};
use tonic::transport::Channel;
use tonic::{Code, Request};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use crate::security_support::{ADMIN_TOKEN, FEEDBACK_TOKEN, RANK_TOKEN, pki, tokens_file};
use crate::serving_support::{publish, wait_for_health};
use crate::support::{TestServer, test_config};

fn rank_request(user: &str) -> RankRequest {
    RankRequest {
        user_id: user.into(),
        recent_item_ids: vec!["i4".into()],
        k: 5,
        num_candidates: 40,
        ..Default::default()
    }
}

fn options(server: &TestServer, token: Option<&str>) -> ClientOptions {
    ClientOptions {
        target: server.addr.to_string(),
        token: token.map(str::to_string),
        ..ClientOptions::default()
    }
}

async fn ranker(
    options: &ClientOptions,
) -> RankerClient<
    tonic::service::interceptor::InterceptedService<Channel, rankd::client::BearerToken>,
> {
    let channel = options.connect().await.unwrap();
    RankerClient::with_interceptor(channel, options.bearer().unwrap())
}

async fn health_status(channel: Channel, service: &str) -> Result<i32, tonic::Status> {
    let reply = HealthClient::new(channel)
        .check(HealthCheckRequest {
            service: service.into(),
        })
        .await?;
    Ok(reply.into_inner().status)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rank_over_tls_with_a_token() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let mut config = test_config(dir.path());
    config.tls = pki.server_tls();
    config.auth.disabled = false;
    config.auth.tokens_file = Some(tokens_file(dir.path()));
    let server = TestServer::start(config).await;
    let mut tls = options(&server, Some(RANK_TOKEN));
    tls.ca_file = Some(pki.ca.clone());
    tls.domain = Some("localhost".into());

    let channel = tls.connect().await.unwrap();
    wait_for_health(channel.clone(), RANKER_SERVICE, ServingStatus::Serving).await;
    let reply = ranker(&tls)
        .await
        .rank(rank_request("tls-user"))
        .await
        .expect("Rank over TLS with the rank token")
        .into_inner();
    assert_eq!(reply.items.len(), 5);

    let plaintext = options(&server, Some(RANK_TOKEN));
    let refused = match plaintext.connect().await {
        Ok(channel) => RankerClient::new(channel)
            .rank(rank_request("clear"))
            .await
            .map(|_| ()),
        Err(err) => Err(tonic::Status::unavailable(err.to_string())),
    };
    assert!(
        refused.is_err(),
        "a plaintext client got an answer from a TLS server"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mtls_refuses_a_client_without_a_certificate() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.tls = pki.server_tls();
    config.tls.client_ca_file = Some(pki.ca.clone());
    let server = TestServer::start(config).await;
    let mut without = options(&server, None);
    without.ca_file = Some(pki.ca.clone());
    without.domain = Some("localhost".into());

    // TLS 1.3 finishes the client's side of the handshake before the server checks the
    // client's certificate, so the refusal may surface at connect or at the first call.
    let refused = match without.connect().await {
        Ok(channel) => health_status(channel, "").await.map(|_| ()),
        Err(err) => Err(tonic::Status::unavailable(err.to_string())),
    };
    assert!(
        refused.is_err(),
        "a client without a certificate was served"
    );

    let mut with = without.clone();
    with.identity = Some((pki.client_cert.clone(), pki.client_key.clone()));
    let channel = with.connect().await.unwrap();
    assert_eq!(
        health_status(channel, ADMIN_SERVICE).await.unwrap(),
        ServingStatus::Serving as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_and_roles_decide_each_call() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.auth.disabled = false;
    config.auth.tokens_file = Some(tokens_file(dir.path()));
    let server = TestServer::start(config).await;
    let code = |result: Result<(), tonic::Status>| result.err().map(|s| s.code());

    // No index is published: an authorised Rank gets past auth and answers UNAVAILABLE.
    for (token, expected) in [
        (None, Some(Code::Unauthenticated)),
        (Some("not-a-known-token-00000"), Some(Code::Unauthenticated)),
        (Some(FEEDBACK_TOKEN), Some(Code::PermissionDenied)),
        (Some(RANK_TOKEN), Some(Code::Unavailable)),
    ] {
        let result = ranker(&options(&server, token))
            .await
            .rank(rank_request("u1"))
            .await
            .map(|_| ());
        assert_eq!(code(result), expected, "Rank with {token:?}");
    }

    let feedback = FeedbackRequest {
        events: vec![FeedbackEvent {
            user_id: "u1".into(),
            item_id: "i4".into(),
            r#type: EventType::Click as i32,
            ..Default::default()
        }],
    };
    for (token, expected) in [
        (RANK_TOKEN, Some(Code::PermissionDenied)),
        (FEEDBACK_TOKEN, None),
    ] {
        let result = ranker(&options(&server, Some(token)))
            .await
            .feedback(feedback.clone())
            .await
            .map(|_| ());
        assert_eq!(code(result), expected, "Feedback with {token}");
    }

    for (token, expected) in [
        (RANK_TOKEN, Some(Code::PermissionDenied)),
        (ADMIN_TOKEN, None),
    ] {
        let options = options(&server, Some(token));
        let channel = options.connect().await.unwrap();
        let result = AdminClient::with_interceptor(channel, options.bearer().unwrap())
            .info(InfoRequest {})
            .await
            .map(|_| ());
        assert_eq!(code(result), expected, "Admin.Info with {token}");
    }

    let mut bad_scheme = Request::new(rank_request("u1"));
    bad_scheme.metadata_mut().insert(
        "authorization",
        format!("Basic {RANK_TOKEN}").parse().unwrap(),
    );
    let status = RankerClient::new(server.channel().await)
        .rank(bad_scheme)
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert!(status.message().contains("Bearer"), "{status:?}");

    // Probes need no token.
    assert_eq!(
        health_status(server.channel().await, ADMIN_SERVICE)
            .await
            .unwrap(),
        ServingStatus::Serving as i32
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_health_port_answers_probes_in_plaintext_and_nothing_else() {
    let pki = pki();
    let dir = tempfile::tempdir().unwrap();
    let mut config = test_config(dir.path());
    config.tls = pki.server_tls();
    let server = TestServer::start_with_health_port(config).await;
    let health = ClientOptions {
        target: server.health_addr.unwrap().to_string(),
        ..ClientOptions::default()
    };
    let channel = health.connect().await.unwrap();
    assert_eq!(
        health_status(channel.clone(), RANKER_SERVICE)
            .await
            .unwrap(),
        ServingStatus::NotServing as i32,
        "no index yet"
    );
    let status = RankerClient::new(channel)
        .rank(rank_request("u1"))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unimplemented);
}

/// Runs `workers` callers looping Rank on one connection until `stop`; counts outcomes.
fn flood(
    channel: Channel,
    workers: usize,
    stop: Arc<AtomicBool>,
) -> (
    Arc<AtomicUsize>,
    Arc<AtomicUsize>,
    Vec<tokio::task::JoinHandle<()>>,
) {
    let (served, shed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let tasks = (0..workers)
        .map(|i| {
            let (mut client, stop) = (RankerClient::new(channel.clone()), stop.clone());
            let (served, shed) = (served.clone(), shed.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    match client.rank(rank_request(&format!("flood{i}"))).await {
                        Ok(_) => served.fetch_add(1, Ordering::Relaxed),
                        Err(s) if s.code() == Code::ResourceExhausted => {
                            shed.fetch_add(1, Ordering::Relaxed)
                        }
                        Err(s) => panic!("flood call failed unexpectedly: {s:?}"),
                    };
                }
            })
        })
        .collect();
    (served, shed, tasks)
}

/// A plaintext server without auth, serving a published version, with `adjust` applied.
async fn serving(dir: &std::path::Path, adjust: impl FnOnce(&mut Config)) -> TestServer {
    publish(dir);
    let mut config = test_config(dir);
    adjust(&mut config);
    let server = TestServer::start(config).await;
    wait_for_health(
        server.channel().await,
        RANKER_SERVICE,
        ServingStatus::Serving,
    )
    .await;
    server
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_from_one_client_does_not_starve_another() {
    let dir = tempfile::tempdir().unwrap();
    let server = serving(dir.path(), |config| {
        config.limits.max_concurrent_per_connection = 4;
        // A short inference queue: without the per-connection limit the flood alone would
        // fill it and the quiet client's calls would be shed.
        config.batcher.queue_capacity = 8;
    })
    .await;

    let stop = Arc::new(AtomicBool::new(false));
    let (flood_served, flood_shed, tasks) = flood(server.channel().await, 64, stop.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;
    let mut other = RankerClient::new(server.channel().await);
    for i in 0..20 {
        let mut request = Request::new(rank_request(&format!("quiet{i}")));
        request.set_timeout(Duration::from_secs(2));
        let reply = other.rank(request).await;
        assert!(
            reply.is_ok(),
            "call {i} of the quiet client failed: {reply:?}"
        );
    }
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    assert!(
        flood_shed.load(Ordering::Relaxed) > 0,
        "the flood was never limited"
    );
    assert!(
        flood_served.load(Ordering::Relaxed) > 0,
        "the flood was never served"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_in_flight_limit_sheds_calls_but_not_health_checks() {
    let dir = tempfile::tempdir().unwrap();
    let server = serving(dir.path(), |config| config.limits.max_in_flight = 2).await;

    let stop = Arc::new(AtomicBool::new(false));
    let mut floods = Vec::new();
    for _ in 0..2 {
        floods.push(flood(server.channel().await, 16, stop.clone()));
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    for _ in 0..10 {
        assert_eq!(
            health_status(server.channel().await, RANKER_SERVICE)
                .await
                .unwrap(),
            ServingStatus::Serving as i32
        );
    }
    stop.store(true, Ordering::Relaxed);
    let mut shed = 0;
    for (_, flood_shed, tasks) in floods {
        for task in tasks {
            task.await.unwrap();
        }
        shed += flood_shed.load(Ordering::Relaxed);
    }
    assert!(shed > 0, "32 callers never met an in-flight limit of 2");
    let status = RankerClient::new(server.channel().await)
        .rank(rank_request("after"))
        .await;
    assert!(status.is_ok(), "serves again after the flood: {status:?}");
}
