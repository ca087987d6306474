//! The gRPC server: tonic services over the engine, plus health and reflection.
//!
//! ```text
//!  TcpListener ─► tonic Server ─┬─ rankd.v1.Ranker  (ranker.rs) ─► validate ─► rank::Engine
//!                               │        Feedback ─► convert ─► feedback::FeedbackStore
//!                               ├─ rankd.v1.Admin   (admin.rs)  ─► state.rs reload
//!                               │        ForgetUser ─► feedback::FeedbackStore::forget
//!                               ├─ grpc.health.v1   (tonic-health; NOT_SERVING until loaded)
//!                               └─ grpc.reflection  (tonic-reflection; v1 and v1alpha)
//!  state.rs: Arc<Engine> swapped atomically; watcher polls CURRENT ─► reload ─► swap
//!  shutdown future ─► health NOT_SERVING ─► drain delay ─► stop accepting, finish in-flight
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `mod.rs` | [`serve`]: wires services, health, reflection and the shutdown sequence |
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

pub mod metrics;
pub mod proto;

mod admin;
mod convert;
mod deadline;
mod ranker;
mod retention;
mod state;
mod status;
mod validate;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::{info, warn};

use crate::config::Config;
use crate::rank::{BatcherHandle, ModelScorer};
use admin::AdminService;
use metrics::Metrics;
use proto::admin_server::AdminServer;
use proto::ranker_server::RankerServer;
use ranker::RankerService;
use state::State;

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
    #[error("gRPC reflection setup failed: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
    #[error("metrics endpoint failed: {0}")]
    Metrics(std::io::Error),
}

/// Serves gRPC on an already-bound `listener` (and metrics on `metrics_listener`, when
/// given) until `shutdown` completes; then reports NOT_SERVING, keeps accepting for
/// `drain_delay` so balancers notice, stops accepting and waits up to `drain_timeout` for
/// in-flight calls. Returns once drained.
///
/// At start it opens the feedback log (replaying it), starts the batcher on the configured
/// device and loads the version `CURRENT` names, if any; until a version loads, Ranker health
/// is NOT_SERVING and `Rank` answers UNAVAILABLE.
pub async fn serve(
    listener: TcpListener,
    metrics_listener: Option<TcpListener>,
    config: Config,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
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
    let batcher = BatcherHandle::spawn(
        ModelScorer,
        &config.batcher,
        Box::new(move |candidates, _jobs, elapsed| {
            batch_metrics.observe_batch(candidates, elapsed)
        }),
    );

    let max_message = config.limits.max_message_bytes as usize;
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

    let ranker =
        RankerServer::new(RankerService::new(state.clone())).max_decoding_message_size(max_message);
    let admin =
        AdminServer::new(AdminService::new(state.clone())).max_decoding_message_size(max_message);

    let draining = Arc::new(Notify::new());
    let stopped = Arc::new(Notify::new());
    let signal = drain_on(shutdown, health, drain_delay, draining.clone());
    let metrics_task = metrics_listener.map(|listener| {
        info!(addr = ?listener.local_addr().ok(), "metrics endpoint listening");
        let stopped = stopped.clone();
        tokio::spawn(metrics::serve_metrics(listener, metrics, async move {
            stopped.notified().await;
        }))
    });
    info!(addr = ?listener.local_addr().ok(), "rankd gRPC server listening");
    let serving = Server::builder()
        .add_service(health_service)
        .add_service(ranker)
        .add_service(admin)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(incoming(listener), signal);

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
    stopped.notify_one();
    if let Some(task) = metrics_task {
        match task.await {
            Ok(result) => result.map_err(ServerError::Metrics)?,
            Err(join) => warn!(%join, "metrics endpoint task failed"),
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
