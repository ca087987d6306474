//! A `rankd serve` process killed (SIGKILL) while clients send feedback loses no event it
//! acknowledged: after the kill, a restart replays the log and `rankd feedback export` holds
//! every acknowledged event.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use rankd::server::proto::ranker_client::RankerClient;
use rankd::server::proto::{EventType, FeedbackEvent, FeedbackRequest};
use tonic::transport::{Channel, Endpoint};

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

fn start_server(dir: &Path, addr: SocketAddr) -> Child {
    Command::new(env!("CARGO_BIN_EXE_rankd"))
        .args(["serve", "--listen", &addr.to_string()])
        .args(["--index-dir", dir.join("index").to_str().unwrap()])
        .env("RANKD_FEEDBACK__DATA_DIR", dir.join("data"))
        .env("RANKD_SERVER__METRICS_LISTEN", free_port().to_string())
        .env("RANKD_MODEL__DEVICE", "cpu")
        .env("RANKD_TLS__PLAINTEXT", "true")
        .env("RANKD_AUTH__DISABLED", "true")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap()
}

async fn connect(addr: SocketAddr) -> Channel {
    for _ in 0..200 {
        if let Ok(channel) = Endpoint::from_shared(format!("http://{addr}"))
            .unwrap()
            .connect()
            .await
        {
            return channel;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("rankd serve never listened on {addr}");
}

fn batch(client: usize, n: usize) -> FeedbackRequest {
    FeedbackRequest {
        events: (0..10)
            .map(|i| FeedbackEvent {
                user_id: format!("crash-user-{client}"),
                item_id: format!("c{client}-b{n}-e{i}"),
                r#type: EventType::Click as i32,
                ..Default::default()
            })
            .collect(),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigkill_during_feedback_loses_no_acknowledged_event() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir_all(dir.path().join("index")).unwrap();
    let addr = free_port();
    let mut server = start_server(dir.path(), addr);
    let channel = connect(addr).await;

    let acked = Arc::new(Mutex::new(HashSet::new()));
    let writers: Vec<_> = (0..4)
        .map(|client| {
            let mut ranker = RankerClient::new(channel.clone());
            let acked = acked.clone();
            tokio::spawn(async move {
                for n in 0.. {
                    let request = batch(client, n);
                    let ids: Vec<String> =
                        request.events.iter().map(|e| e.item_id.clone()).collect();
                    match ranker.feedback(request).await {
                        Ok(reply) => {
                            assert_eq!(reply.into_inner().stored, 10);
                            acked.lock().extend(ids);
                        }
                        Err(_) => return,
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(700)).await;
    server.kill().unwrap();
    server.wait().unwrap();
    for writer in writers {
        writer.await.unwrap();
    }
    let acked = acked.lock().clone();
    assert!(
        acked.len() >= 40,
        "too few events were acknowledged: {}",
        acked.len()
    );

    // Restart: the log replays (repairing an unfinished last write) and the server works.
    let addr = free_port();
    let mut server = start_server(dir.path(), addr);
    let mut ranker = RankerClient::new(connect(addr).await);
    ranker.feedback(batch(9, 0)).await.unwrap();
    server.kill().unwrap();
    server.wait().unwrap();

    let out = dir.path().join("export.csv");
    let status = Command::new(env!("CARGO_BIN_EXE_rankd"))
        .args(["feedback", "export", "--out", out.to_str().unwrap()])
        .args(["--data-dir", dir.path().join("data").to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    let exported: HashSet<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .skip(1)
        .map(|line| line.split(',').nth(1).unwrap().to_string())
        .collect();
    let lost: Vec<&String> = acked.iter().filter(|id| !exported.contains(*id)).collect();
    assert!(
        lost.is_empty(),
        "{} acknowledged events lost, e.g. {:?}",
        lost.len(),
        &lost[..lost.len().min(3)]
    );
    assert!(
        exported.contains("c9-b0-e0"),
        "the restarted server stores again"
    );
    let text = std::fs::read_to_string(&out).unwrap();
    assert!(
        !text.contains("crash-user-"),
        "raw user ids must not be exported"
    );
}
