//! Starts `rankd::server::serve` on 127.0.0.1:0 and connects real tonic clients to it.

use std::net::SocketAddr;

use rankd::config::Config;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;
use tonic::transport::Channel;

pub struct TestServer {
    pub addr: SocketAddr,
    /// The `/metrics` endpoint, when started with one.
    pub metrics_addr: Option<SocketAddr>,
    /// The plaintext health-only endpoint, when started with one.
    pub health_addr: Option<SocketAddr>,
    shutdown: Option<oneshot::Sender<()>>,
    task: JoinHandle<Result<(), rankd::server::ServerError>>,
}

impl TestServer {
    pub async fn start(config: Config) -> TestServer {
        Self::start_inner(config, false, false).await
    }

    pub async fn start_with_metrics(config: Config) -> TestServer {
        Self::start_inner(config, true, false).await
    }

    pub async fn start_with_health_port(config: Config) -> TestServer {
        Self::start_inner(config, false, true).await
    }

    async fn start_inner(config: Config, with_metrics: bool, with_health: bool) -> TestServer {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let metrics = optional_listener(with_metrics).await;
        let metrics_addr = metrics.as_ref().map(|l| l.local_addr().unwrap());
        let health = optional_listener(with_health).await;
        let health_addr = health.as_ref().map(|l| l.local_addr().unwrap());
        let (tx, rx) = oneshot::channel::<()>();
        let shutdown = async move {
            // A dropped sender also means "stop": a failing test never leaks a server.
            let _ = rx.await;
        };
        let listeners = rankd::server::Listeners {
            grpc: listener,
            metrics,
            health,
        };
        let task = tokio::spawn(rankd::server::serve(listeners, config, shutdown));
        TestServer {
            addr,
            metrics_addr,
            health_addr,
            shutdown: Some(tx),
            task,
        }
    }

    pub async fn channel(&self) -> Channel {
        Channel::from_shared(format!("http://{}", self.addr))
            .unwrap()
            .connect()
            .await
            .unwrap()
    }

    /// Sends the shutdown signal (what SIGTERM does in `rankd serve`).
    pub fn begin_shutdown(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            tx.send(()).unwrap();
        }
    }

    /// Waits for the server to drain and return.
    pub async fn join(self) -> Result<(), rankd::server::ServerError> {
        self.task.await.unwrap()
    }
}

async fn optional_listener(wanted: bool) -> Option<tokio::net::TcpListener> {
    match wanted {
        true => Some(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap()),
        false => None,
    }
}

/// A config for tests: index root and data under `dir`, CPU, short drain so shutdown tests
/// stay fast; plaintext and no tokens (the security tests set their own).
pub fn test_config(dir: &std::path::Path) -> Config {
    let mut config = Config::default();
    config.server.index_dir = dir.join("index");
    config.server.metrics_listen = None;
    config.server.watch_interval_ms = 100;
    config.feedback.data_dir = dir.join("data");
    config.model.device = "cpu".to_string();
    config.server.drain_delay_ms = 300;
    config.server.drain_timeout_ms = 3_000;
    config.tls.plaintext = true;
    config.auth.disabled = true;
    config
}
