//! What no client can break: random requests never panic the server or get anything but
//! an answer or a named refusal; batched scores equal one-at-a-time scores; metrics count it.

use std::sync::OnceLock;

use proptest::prelude::*;
use rankd::server::RANKER_SERVICE;
use rankd::server::proto::ranker_client::RankerClient;
use rankd::server::proto::{Filter, RankRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::serving_support::{publish, wait_for_health};
use crate::support::{TestServer, test_config};

struct Shared {
    runtime: tokio::runtime::Runtime,
    channel: Channel,
    _server: TestServer,
    _dir: tempfile::TempDir,
}

/// One server for every generated case: starting one per case would dominate the run.
fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        publish(dir.path());
        let (server, channel) = runtime.block_on(async {
            let server = TestServer::start(test_config(dir.path())).await;
            let channel = server.channel().await;
            wait_for_health(channel.clone(), RANKER_SERVICE, ServingStatus::Serving).await;
            (server, channel)
        });
        Shared {
            runtime,
            channel,
            _server: server,
            _dir: dir,
        }
    })
}

fn any_id() -> impl Strategy<Value = String> {
    prop_oneof![
        Just(String::new()),
        "i[0-9]{1,3}",
        "[a-z]{1,8}",
        "\\PC{0,40}",
        Just("x".repeat(300)),
    ]
}

fn any_price() -> impl Strategy<Value = Option<f32>> {
    prop_oneof![
        Just(None),
        Just(Some(f32::NAN)),
        Just(Some(f32::INFINITY)),
        Just(Some(-1.0)),
        (0.0f32..200.0).prop_map(Some),
    ]
}

fn any_request() -> impl Strategy<Value = RankRequest> {
    (
        any_id(),
        prop::collection::vec(any_id(), 0..8),
        prop_oneof![Just(String::new()), "\\PC{0,64}", Just("q".repeat(600))],
        prop_oneof![Just(0u32), 1u32..50, Just(5_000u32), Just(u32::MAX)],
        prop_oneof![Just(0u32), 1u32..100, Just(6_000u32)],
        prop::collection::vec(any_id(), 0..3),
        any_price(),
        any_price(),
        prop::collection::vec(any_id(), 0..4),
        any::<(bool, bool)>(),
    )
        .prop_map(
            |(user, recent, query, k, candidates, cats, lo, hi, exclude, (seen, explain))| {
                RankRequest {
                    request_id: String::new(),
                    user_id: user,
                    recent_item_ids: recent,
                    query,
                    k,
                    num_candidates: candidates,
                    filter: Some(Filter {
                        categories: cats,
                        min_price: lo,
                        max_price: hi,
                        exclude_item_ids: exclude,
                    }),
                    exclude_seen: seen,
                    explain,
                    model_variant: String::new(),
                }
            },
        )
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 96, ..ProptestConfig::default() })]

    #[test]
    fn random_requests_get_an_answer_or_a_named_refusal(req in any_request()) {
        let shared = shared();
        let k = req.k;
        let result = shared
            .runtime
            .block_on(RankerClient::new(shared.channel.clone()).rank(req));
        match result {
            Ok(reply) => {
                let reply = reply.into_inner();
                prop_assert!(k == 0 || reply.items.len() <= k as usize);
            }
            Err(status) => {
                prop_assert_eq!(status.code(), Code::InvalidArgument, "{:?}", status);
                prop_assert!(status.message().contains(':'), "no field named: {}", status.message());
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_requests_batched_together_score_as_when_sent_alone() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let mut config = test_config(dir.path());
    config.batcher.max_wait_us = 20_000; // long enough that concurrent requests share a pass
    let server = TestServer::start(config).await;
    let channel = server.channel().await;
    wait_for_health(channel.clone(), RANKER_SERVICE, ServingStatus::Serving).await;
    let requests: Vec<RankRequest> = (0..8)
        .map(|u| RankRequest {
            user_id: format!("batch-{u}"),
            recent_item_ids: vec![format!("i{}", u * 7), format!("i{}", u * 3 + 1)],
            k: 10,
            num_candidates: 30,
            ..Default::default()
        })
        .collect();
    let mut alone = Vec::new();
    for req in &requests {
        alone.push(
            RankerClient::new(channel.clone())
                .rank(req.clone())
                .await
                .unwrap()
                .into_inner(),
        );
    }
    let together: Vec<_> = requests
        .iter()
        .map(|req| {
            let mut client = RankerClient::new(channel.clone());
            let req = req.clone();
            tokio::spawn(async move { client.rank(req).await.unwrap().into_inner() })
        })
        .collect();
    for (single, task) in alone.iter().zip(together) {
        let batched = task.await.unwrap();
        let ids = |r: &rankd::server::proto::RankResponse| -> Vec<String> {
            r.items.iter().map(|i| i.item_id.clone()).collect()
        };
        assert_eq!(ids(single), ids(&batched));
        for (a, b) in single.items.iter().zip(&batched.items) {
            assert!(
                (a.score - b.score).abs() < 1e-5,
                "{} vs {}",
                a.score,
                b.score
            );
        }
    }
}

async fn scrape(addr: std::net::SocketAddr) -> String {
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream
        .write_all(b"GET /metrics HTTP/1.1\r\nHost: rankd\r\nConnection: close\r\n\r\n")
        .await
        .unwrap();
    let mut body = String::new();
    stream.read_to_string(&mut body).await.unwrap();
    body
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_count_requests_stages_batches_and_feedback() {
    let dir = tempfile::tempdir().unwrap();
    let version = publish(dir.path());
    let server = TestServer::start_with_metrics(test_config(dir.path())).await;
    let channel = server.channel().await;
    wait_for_health(channel.clone(), RANKER_SERVICE, ServingStatus::Serving).await;
    let mut ranker = RankerClient::new(channel);
    for _ in 0..3 {
        ranker
            .rank(RankRequest {
                recent_item_ids: vec!["i1".into()],
                k: 5,
                ..Default::default()
            })
            .await
            .unwrap();
    }
    let bad = ranker
        .rank(RankRequest {
            k: 9_999,
            ..Default::default()
        })
        .await;
    assert!(bad.is_err());
    let text = scrape(server.metrics_addr.unwrap()).await;
    assert!(text.starts_with("HTTP/1.1 200"), "{text}");
    assert!(
        text.contains(r#"rankd_rpc_requests_total{code="OK",rpc="Rank"} 3"#),
        "{text}"
    );
    assert!(text.contains(r#"rankd_rpc_requests_total{code="INVALID_ARGUMENT",rpc="Rank"} 1"#));
    assert!(text.contains(r#"rankd_rank_stage_seconds_count{stage="retrieve"} 3"#));
    assert!(text.contains("rankd_batch_candidates_count 3"));
    assert!(text.contains(&format!(
        r#"rankd_index_info{{name="catalog",version="{version}"}} 1"#
    )));
    assert!(text.contains("rankd_batch_queue_depth"));
}
