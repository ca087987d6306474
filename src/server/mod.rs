//! The gRPC server: tonic services over the engine, plus health and reflection, behind TLS,
//! token auth and admission limits.
//!
//! ```text
//!  TcpListener ─► TLS (rustls) ─► per-connection limit ─► auth ─► in-flight limit ─┐
//!  ┌───────────────────────────────────────────────────────────────────────────────┘
//!  └► router ─┬─ rankd.v1.Ranker  (ranker.rs) ─► validate ─► rank::Engine
//!             │        Feedback ─► convert ─► feedback::FeedbackStore
//!             ├─ rankd.v1.Admin   (admin.rs)  ─► state.rs reload
//!             │        ForgetUser ─► feedback::FeedbackStore::forget
//!             ├─ grpc.health.v1   (tonic-health; NOT_SERVING until loaded; no token)
//!             └─ grpc.reflection  (tonic-reflection; v1 and v1alpha; any valid token)
//!  health listener (optional, plaintext) ─► grpc.health.v1 only, for kubelet probes
//!  state.rs: Arc<Engine> swapped atomically; watcher polls CURRENT ─► reload ─► swap
//!  shutdown future ─► health NOT_SERVING ─► drain delay ─► stop accepting, finish in-flight
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `mod.rs` | [`serve`]: wires listeners, security, services and the shutdown sequence |
//! | `proto.rs` | generated `rankd.v1` types, clients and servers |
//! | `ranker.rs` | `Rank` and `Feedback` handlers |
//! | `admin.rs` | `Info`, `Reload` and `ForgetUser` handlers |
//! | `retention.rs` | the hourly feedback retention sweep |
//! | `state.rs` | shared state: the served engine, reload and the `CURRENT` watcher |
//! | `validate.rs` | protobuf request → validated engine query, naming the bad field |
//! | `convert.rs` | engine results → replies; feedback requests → events |
//! | `deadline.rs` | client deadlines (`grpc-timeout`) → `DEADLINE_EXCEEDED` |
//! | `status.rs` | the one mapping from errors to `tonic::Status` codes |
//! | `metrics.rs` | Prometheus metrics and the `/metrics` HTTP endpoint |
//! | `tls.rs` | `[tls]`: server identity and client CA from PEM files |
//! | `tokens.rs` | `[auth]`: bearer tokens, roles, constant-time lookup |
//! | `admission.rs` | tower layers: token/role check and the global in-flight limit |

pub mod metrics;
pub mod proto;

mod admin;
mod admission;
mod convert;
mod deadline;
mod ranker;
mod retention;
mod state;
mod status;
mod tls;
mod tokens;
mod validate;

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::{info, warn};

use crate::config::Config;
use crate::rank::{BatcherConfig, BatcherHandle, ModelScorer};
use admin::AdminService;
use admission::{Admission, Auth, InFlight};
use metrics::Metrics;
use proto::admin_server::AdminServer;
use proto::ranker_server::RankerServer;
use ranker::RankerService;
use state::State;

pub use tls::{TlsConfig, TlsError, read_certificates, read_private_key};
pub use tokens::{AuthConfig, MIN_TOKEN_LEN, Role, TOKENS_ENV, TokenError, TokenTable};
pub use validate::FieldError;

/// Service names as health checks and reflection know them.
pub const RANKER_SERVICE: &str = "rankd.v1.Ranker";
pub const ADMIN_SERVICE: &str = "rankd.v1.Admin";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error(transparent)]
    Config(#[from] crate::config::ConfigError),
    #[error(transparent)]
    Feedback(#[from] crate::feedback::FeedbackError),
    #[error(transparent)]
    Model(#[from] crate::model::ModelError),
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error(transparent)]
    Tokens(#[from] TokenError),
    #[error("gRPC reflection setup failed: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("metrics endpoint failed: {0}")]
    Metrics(std::io::Error),
}

/// The sockets [`serve`] answers on, bound by the caller (tests bind port 0).
#[derive(Debug)]
pub struct Listeners {
    /// gRPC: every service, behind TLS and auth as configured.
    pub grpc: TcpListener,
    /// Prometheus `/metrics` over plain HTTP.
    pub metrics: Option<TcpListener>,
    /// grpc.health.v1 only, plaintext, no token: for probes that cannot speak TLS.
    pub health: Option<TcpListener>,
}

/// Serves gRPC on already-bound listeners until `shutdown` completes; then reports
/// NOT_SERVING, keeps accepting for `drain_delay` so balancers notice, stops accepting and
/// waits up to `drain_timeout` for in-flight calls. Returns once drained.
///
/// At start it checks the security settings (TLS files, tokens: refused unless configured or
/// explicitly switched off), opens the feedback log (replaying it), starts the batcher on the
/// configured device and loads the version `CURRENT` names, if any; until a version loads,
/// Ranker health is NOT_SERVING and `Rank` answers UNAVAILABLE.
pub async fn serve(
    listeners: Listeners,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let tls = config.tls.server_config()?;
    let tokens = config
        .auth
        .token_table(std::env::var(TOKENS_ENV).ok().as_deref())?;
    if tls.is_none() {
        warn!(
            "tls.plaintext = true: gRPC without TLS; tokens and user ids cross the network in clear"
        );
    }
    if tokens.is_none() {
        warn!("auth.disabled = true: any caller may Rank, send Feedback and use Admin");
    }
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(RANKER_SERVICE, ServingStatus::NotServing)
        .await;
    health
        .set_service_status(ADMIN_SERVICE, ServingStatus::Serving)
        .await;
    let reflection = config.server.reflection.then(|| {
        let builder = || {
            tonic_reflection::server::Builder::configure()
                .register_encoded_file_descriptor_set(proto::FILE_DESCRIPTOR_SET)
                .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
        };
        (builder().build_v1(), builder().build_v1alpha())
    });
    let (reflection_v1, reflection_v1alpha) = match reflection {
        Some((v1, v1alpha)) => (Some(v1?), Some(v1alpha?)),
        None => (None, None),
    };

    let device = crate::model::select_device(config.model.device_preference()?)?;
    let (feedback, replay) = config.feedback.open_store()?;
    info!(
        records = replay.records,
        segments = replay.segments,
        repaired = replay.truncated_tail.is_some(),
        "feedback log replayed"
    );
    let metrics = Metrics::new();
    let batch_metrics = metrics.clone();
    let batcher_config = BatcherConfig {
        workers: config.batcher.workers_for(device.is_cpu()),
        ..config.batcher.clone()
    };
    info!(workers = batcher_config.workers, "inference workers");
    let batcher = BatcherHandle::spawn(
        ModelScorer,
        &batcher_config,
        Arc::new(move |candidates, _jobs, elapsed| {
            batch_metrics.observe_batch(candidates, elapsed)
        }),
    );

    let limits = config.limits.clone();
    let max_connection_age = config.server.max_connection_age_ms;
    let drain_delay = config.server.drain_delay();
    let drain_timeout = config.server.drain_timeout();
    let state = Arc::new(State::new(
        config.limits,
        config.server,
        feedback,
        batcher,
        metrics.clone(),
        health.clone(),
        device,
    ));
    if state.current_version().is_ok() {
        // A refused version is logged and shown in Admin.Info; the server still starts.
        let _ = state.reload(None).await;
    } else {
        warn!(
            root = %state.server.index_dir.display(),
            name = %state.server.index_name,
            "no published index version yet; Ranker is NOT_SERVING until one appears"
        );
    }
    let watcher = tokio::spawn(state.clone().watch());
    let sweeper = tokio::spawn(retention::sweep_feedback(state.clone()));

    let max_message = limits.max_message_bytes as usize;
    let ranker =
        RankerServer::new(RankerService::new(state.clone())).max_decoding_message_size(max_message);
    let admin =
        AdminServer::new(AdminService::new(state.clone())).max_decoding_message_size(max_message);

    let draining = Arc::new(Notify::new());
    let (stop, stopped) = tokio::sync::watch::channel(false);
    let until_stopped = move || {
        let mut stopped = stopped.clone();
        async move {
            // An error means the sender is gone, which also means stop.
            let _ = stopped.wait_for(|stop| *stop).await;
        }
    };
    let signal = drain_on(shutdown, health, drain_delay, draining.clone());
    let metrics_task = listeners.metrics.map(|listener| {
        info!(addr = ?listener.local_addr().ok(), "metrics endpoint listening");
        tokio::spawn(metrics::serve_metrics(
            listener,
            metrics.clone(),
            until_stopped(),
        ))
    });
    let health_task = listeners.health.map(|listener| {
        info!(addr = ?listener.local_addr().ok(), "plaintext health endpoint listening");
        tokio::spawn(
            Server::builder()
                .add_service(health_service.clone())
                .serve_with_incoming_shutdown(incoming(listener), until_stopped()),
        )
    });
    info!(
        addr = ?listeners.grpc.local_addr().ok(),
        tls = tls.is_some(),
        mutual_tls = config.tls.mutual(),
        auth = tokens.is_some(),
        "rankd gRPC server listening"
    );
    let mut builder = Server::builder()
        // Past the per-connection limit, tonic answers RESOURCE_EXHAUSTED at once (load shed)
        // rather than queueing: a client flooding its own connection cannot hold the rest.
        .concurrency_limit_per_connection(limits.max_concurrent_per_connection as usize)
        .load_shed(true)
        .timeout(limits.request_timeout());
    if max_connection_age > 0 {
        builder = builder.max_connection_age(Duration::from_millis(max_connection_age));
    }
    if let Some(tls) = tls {
        builder = builder.tls_config(tls)?;
    }
    let serving = builder
        .layer(Admission(Auth::new(tokens, metrics.rejected.clone())))
        .layer(Admission(InFlight::new(
            limits.max_in_flight as usize,
            metrics.rejected.clone(),
        )))
        .add_service(health_service)
        .add_service(ranker)
        .add_service(admin)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming(listeners.grpc), signal);

    // Graceful shutdown waits for every open call, and a health Watch stream never ends on
    // its own: bound the wait so an orchestrator's SIGTERM always ends the process.
    let drain_deadline = async {
        draining.notified().await;
        tokio::time::sleep(drain_timeout.saturating_sub(drain_delay)).await;
    };
    let served = tokio::select! {
        result = serving => result.map_err(ServerError::from),
        () = drain_deadline => {
            warn!(?drain_timeout, "drain timed out; closing open calls");
            Ok(())
        }
    };
    watcher.abort();
    sweeper.abort();
    // Only now: probes keep seeing NOT_SERVING (not a refused connection) through the drain.
    let _ = stop.send(true);
    if let Some(task) = metrics_task {
        match task.await {
            Ok(result) => result.map_err(ServerError::Metrics)?,
            Err(join) => warn!(%join, "metrics endpoint task failed"),
        }
    }
    if let Some(task) = health_task {
        match task.await {
            Ok(result) => result?,
            Err(join) => warn!(%join, "health endpoint task failed"),
        }
    }
    served?;
    info!("rankd gRPC server stopped");
    Ok(())
}

/// Accepted connections with TCP_NODELAY: without it, Nagle's algorithm and the peer's
/// delayed ACK hold small gRPC frames back ~40 ms on every request.
fn incoming(listener: TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener).with_nodelay(Some(true))
}

/// The shutdown sequence as one future for tonic: it completes when tonic should stop
/// accepting connections.
async fn drain_on(
    shutdown: impl Future<Output = ()>,
    health: HealthReporter,
    drain_delay: std::time::Duration,
    draining: Arc<Notify>,
) {
    shutdown.await;
    info!(
        ?drain_delay,
        "shutdown requested: reporting NOT_SERVING and draining"
    );
    for service in ["", RANKER_SERVICE, ADMIN_SERVICE] {
        health
            .set_service_status(service, ServingStatus::NotServing)
            .await;
    }
    tokio::time::sleep(drain_delay).await;
    draining.notify_one();
}
