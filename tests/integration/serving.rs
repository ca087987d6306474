//! The Rank pipeline served over loopback gRPC with the generated client: filters, parity
//! with the in-process pipeline, feedback, hot swap, refusal of a damaged version, deadlines
//! and load shedding.

use std::collections::HashMap;
use std::time::Duration;

use rankd::rank::{Engine, ItemFilter, RankQuery};
use rankd::server::RANKER_SERVICE;
use rankd::server::proto::admin_client::AdminClient;
use rankd::server::proto::ranker_client::RankerClient;
use rankd::server::proto::{
    EventType, FeedbackEvent, FeedbackRequest, Filter, InfoRequest, RankRequest, ReloadRequest,
};
use tonic::Code;
use tonic::transport::Channel;
use tonic_health::pb::health_check_response::ServingStatus;

use crate::serving_support::{INDEX_NAME, catalogue, publish, wait_for_health};
use crate::support::{TestServer, test_config};

async fn serving(config: rankd::config::Config) -> (TestServer, Channel) {
    let server = TestServer::start(config).await;
    let channel = server.channel().await;
    wait_for_health(channel.clone(), RANKER_SERVICE, ServingStatus::Serving).await;
    (server, channel)
}

fn request(user: &str, recent: &[&str], k: u32) -> RankRequest {
    RankRequest {
        user_id: user.into(),
        recent_item_ids: recent.iter().map(|s| s.to_string()).collect(),
        k,
        num_candidates: 40,
        ..Default::default()
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rank_honours_filters_and_matches_the_in_process_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let version = publish(dir.path());
    let (_server, channel) = serving(test_config(dir.path())).await;
    let mut ranker = RankerClient::new(channel);

    let mut req = request("u1", &["i0", "i6", "i12"], 5);
    req.filter = Some(Filter {
        categories: vec!["shoe".into(), "phone".into()],
        min_price: Some(3.0),
        max_price: Some(120.0),
        exclude_item_ids: vec!["i18".into()],
    });
    req.exclude_seen = true;
    let reply = ranker.rank(req.clone()).await.unwrap().into_inner();
    assert_eq!(reply.items.len(), 5);
    assert_eq!(reply.index_version, version);
    let by_id: HashMap<&str, &rankd::data::Item> =
        catalogue().iter().map(|i| (i.id.as_str(), i)).collect();
    for item in &reply.items {
        let row = by_id[item.item_id.as_str()];
        assert!(
            row.categories[0] == "shoe" || row.categories[0] == "phone",
            "{row:?}"
        );
        let price = row.price.expect("items without a price fail a price bound");
        assert!((3.0..=120.0).contains(&price), "{row:?}");
        assert!(!["i18", "i0", "i6", "i12"].contains(&item.item_id.as_str()));
    }
    let scores: Vec<f32> = reply.items.iter().map(|i| i.score).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    let engine = Engine::open(
        &dir.path().join("index").join(INDEX_NAME).join(&version),
        &candle_core::Device::Cpu,
        false,
    )
    .unwrap();
    let query = RankQuery {
        request_id: String::new(),
        user_id: Some("u1".into()),
        recent_item_ids: vec!["i0".into(), "i6".into(), "i12".into()],
        query_text: None,
        k: 5,
        num_candidates: 40,
        filter: ItemFilter {
            categories: vec!["shoe".into(), "phone".into()],
            min_price: Some(3.0),
            max_price: Some(120.0),
            exclude_item_ids: vec!["i18".into()],
        },
        exclude_seen: true,
        explain: false,
    };
    let local = engine.rank_blocking(&query, &[]).unwrap();
    let served: Vec<(&str, f32)> = reply
        .items
        .iter()
        .map(|i| (i.item_id.as_str(), i.score))
        .collect();
    let in_process: Vec<(&str, f32)> = local
        .items
        .iter()
        .map(|i| (i.item_id.as_str(), i.score))
        .collect();
    assert_eq!(served.len(), in_process.len());
    for ((a, sa), (b, sb)) in served.iter().zip(&in_process) {
        assert_eq!(a, b);
        assert!((sa - sb).abs() < 1e-5, "{sa} vs {sb}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explain_returns_contributions_and_stage_timings() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let (_server, channel) = serving(test_config(dir.path())).await;
    let mut req = request("u2", &["i1"], 3);
    req.explain = true;
    let reply = RankerClient::new(channel)
        .rank(req)
        .await
        .unwrap()
        .into_inner();
    assert!(!reply.request_id.is_empty());
    for item in &reply.items {
        let groups: Vec<&str> = item
            .contributions
            .iter()
            .map(|c| c.group.as_str())
            .collect();
        assert!(groups.contains(&"retrieval_score"), "{groups:?}");
    }
    let stages: Vec<&str> = reply.timings.iter().map(|t| t.stage.as_str()).collect();
    for stage in ["embed_user", "retrieve", "features", "score", "select"] {
        assert!(stages.contains(&stage), "{stage} missing from {stages:?}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn feedback_changes_the_next_rank_for_that_user() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let (_server, channel) = serving(test_config(dir.path())).await;
    let mut ranker = RankerClient::new(channel);
    let mut req = request("alice", &["i3"], 5);
    req.exclude_seen = true;
    let before = ranker.rank(req.clone()).await.unwrap().into_inner();
    let clicked = before.items[0].item_id.clone();

    let stored = ranker
        .feedback(FeedbackRequest {
            events: vec![FeedbackEvent {
                user_id: "alice".into(),
                item_id: clicked.clone(),
                r#type: EventType::Purchase as i32,
                request_id: before.request_id.clone(),
                position: 0,
                timestamp_ms: 0,
            }],
        })
        .await
        .unwrap()
        .into_inner()
        .stored;
    assert_eq!(stored, 1);

    let after = ranker.rank(req.clone()).await.unwrap().into_inner();
    let ids: Vec<&str> = after.items.iter().map(|i| i.item_id.as_str()).collect();
    assert!(
        !ids.contains(&clicked.as_str()),
        "{clicked} was purchased and must be excluded as seen: {ids:?}"
    );
    // Another user with the same request is not affected by alice's history.
    let mut bob = req;
    bob.user_id = "bob".into();
    let bob_ids: Vec<String> = ranker
        .rank(bob)
        .await
        .unwrap()
        .into_inner()
        .items
        .into_iter()
        .map(|i| i.item_id)
        .collect();
    assert_eq!(bob_ids[0], clicked);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn health_turns_serving_when_a_version_is_published() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("index")).unwrap();
    let server = TestServer::start(test_config(dir.path())).await;
    let channel = server.channel().await;
    let status = RankerClient::new(channel.clone())
        .rank(request("u", &[], 3))
        .await
        .unwrap_err();
    assert_eq!(status.code(), Code::Unavailable);
    publish(dir.path());
    wait_for_health(channel.clone(), RANKER_SERVICE, ServingStatus::Serving).await;
    let reply = RankerClient::new(channel)
        .rank(request("u", &[], 3))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.items.len(), 3, "cold start ranks popular items");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reload_under_load_fails_no_request() {
    let dir = tempfile::tempdir().unwrap();
    let first = publish(dir.path());
    let mut config = test_config(dir.path());
    config.server.watch_interval_ms = 0; // only Admin.Reload swaps here
    let (_server, channel) = serving(config).await;
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let clients: Vec<_> = (0..4)
        .map(|c| {
            let channel = channel.clone();
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut ranker = RankerClient::new(channel);
                let mut versions = Vec::new();
                while !stop.load(std::sync::atomic::Ordering::Relaxed) {
                    let reply = ranker
                        .rank(request(&format!("load{c}"), &["i2", "i8"], 5))
                        .await
                        .expect("no request may fail during a reload");
                    versions.push(reply.into_inner().index_version);
                }
                versions
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let second = tokio::task::spawn_blocking({
        let dir = dir.path().to_path_buf();
        move || publish(&dir)
    })
    .await
    .unwrap();
    let reply = AdminClient::new(channel.clone())
        .reload(ReloadRequest::default())
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.previous_version, first);
    assert_eq!(reply.index.unwrap().version, second);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    let mut seen = Vec::new();
    for client in clients {
        seen.extend(client.await.unwrap());
    }
    assert!(
        seen.contains(&first) && seen.contains(&second),
        "both versions served"
    );
    let now = RankerClient::new(channel)
        .rank(request("after", &["i2"], 5))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(now.index_version, second);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_damaged_version_is_refused_and_the_old_one_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let good = publish(dir.path());
    let mut config = test_config(dir.path());
    config.server.watch_interval_ms = 50;
    let (_server, channel) = serving(config).await;
    let bad = publish(dir.path());
    // The watcher may already be loading `bad`; damage it and ask again explicitly.
    let vectors = dir
        .path()
        .join("index")
        .join(INDEX_NAME)
        .join(&bad)
        .join("vectors.bin");
    let mut bytes = std::fs::read(&vectors).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 0xff;
    std::fs::write(&vectors, &bytes).unwrap();
    let mut admin = AdminClient::new(channel.clone());
    let mut reload = admin
        .reload(ReloadRequest {
            version: bad.clone(),
        })
        .await;
    if reload.is_ok() {
        // The watcher swapped `bad` in before the damage: go back, then retry the damaged one.
        admin
            .reload(ReloadRequest {
                version: good.clone(),
            })
            .await
            .unwrap();
        reload = admin
            .reload(ReloadRequest {
                version: bad.clone(),
            })
            .await;
    }
    let status = reload.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition, "{status:?}");
    assert!(
        status.message().contains("vectors.bin"),
        "{}",
        status.message()
    );
    let info = admin.info(InfoRequest {}).await.unwrap().into_inner();
    assert_eq!(info.index.unwrap().version, good);
    assert!(
        info.last_reload_error.contains(&bad),
        "{}",
        info.last_reload_error
    );
    let reply = RankerClient::new(channel)
        .rank(request("u", &["i1"], 3))
        .await
        .unwrap()
        .into_inner();
    assert_eq!(reply.index_version, good);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_passed_deadline_answers_deadline_exceeded() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let (_server, channel) = serving(test_config(dir.path())).await;
    // A deadline inside the server's safety margin: the server answers at once. The client's
    // own timer races that answer; on a loaded machine it can win (CANCELLED), so a few tries
    // are allowed, and any outcome but these two fails.
    let mut server_answered = false;
    for _ in 0..5 {
        let mut req = tonic::Request::new(request("u", &["i1"], 3));
        req.set_timeout(Duration::from_millis(5));
        let status = RankerClient::new(channel.clone())
            .rank(req)
            .await
            .unwrap_err();
        match status.code() {
            Code::DeadlineExceeded => {
                server_answered = true;
                break;
            }
            Code::Cancelled => continue,
            other => panic!("unexpected {other:?}: {status:?}"),
        }
    }
    assert!(
        server_answered,
        "the server never answered DEADLINE_EXCEEDED"
    );
    let mut req = tonic::Request::new(request("u", &["i1"], 3));
    req.set_timeout(Duration::from_secs(10));
    RankerClient::new(channel).rank(req).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn overload_sheds_with_resource_exhausted_and_recovers() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let mut config = test_config(dir.path());
    config.batcher.queue_capacity = 1;
    config.batcher.max_wait_us = 0;
    let (_server, channel) = serving(config).await;
    let mut shed = 0;
    for _round in 0..20 {
        let burst: Vec<_> = (0..48)
            .map(|i| {
                let mut ranker = RankerClient::new(channel.clone());
                tokio::spawn(
                    async move { ranker.rank(request(&format!("b{i}"), &["i4"], 5)).await },
                )
            })
            .collect();
        for call in burst {
            match call.await.unwrap() {
                Ok(_) => {}
                Err(status) if status.code() == Code::ResourceExhausted => shed += 1,
                Err(status) => panic!("unexpected {status:?}"),
            }
        }
        if shed > 0 {
            break;
        }
    }
    assert!(shed > 0, "a queue of one never shed under bursts of 48");
    RankerClient::new(channel)
        .rank(request("after", &["i4"], 5))
        .await
        .expect("serves again once the burst is over");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn popular_items_retrieval_missed_join_within_the_budget_and_the_filter() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let (_server, channel) = serving(test_config(dir.path())).await;
    // k = num_candidates: every candidate comes back with its retrieval rank.
    let mut req = request("u2", &["i1", "i7"], 30);
    req.num_candidates = 30;
    req.explain = true;
    req.exclude_seen = true;
    req.filter = Some(Filter {
        min_price: Some(3.0),
        ..Default::default()
    });
    let reply = RankerClient::new(channel)
        .rank(req)
        .await
        .unwrap()
        .into_inner();
    let by_id: HashMap<&str, &rankd::data::Item> =
        catalogue().iter().map(|i| (i.id.as_str(), i)).collect();
    let mut seen = std::collections::HashSet::new();
    // A third of the budget (10) goes to popular items, appended after the 20 ANN hits.
    let mut popular = 0;
    for item in &reply.items {
        assert!(seen.insert(item.item_id.clone()), "{} twice", item.item_id);
        let row = by_id[item.item_id.as_str()];
        assert!(
            row.price.is_some_and(|p| p >= 3.0),
            "{row:?} rank {}",
            item.retrieval_rank
        );
        assert!(!["i1", "i7"].contains(&item.item_id.as_str()));
        assert!(item.retrieval_rank < 30);
        if item.retrieval_rank >= 20 {
            popular += 1;
        }
    }
    assert!(reply.items.len() <= 30);
    assert!(
        (1..=10).contains(&popular),
        "{popular} popular candidates joined, {} in all",
        reply.items.len()
    );
}
