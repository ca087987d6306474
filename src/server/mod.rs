//! The gRPC server: tonic services over the engine, plus health and reflection.
//!
//! ```text
//!  TcpListener ─► tonic Server ─┬─ rankd.v1.Ranker  (ranker.rs)  ─► validate.rs ─► engine
//!                               ├─ rankd.v1.Admin   (admin.rs)
//!                               ├─ grpc.health.v1   (tonic-health; NOT_SERVING until loaded)
//!                               └─ grpc.reflection  (tonic-reflection; v1 and v1alpha)
//!  shutdown future ─► health NOT_SERVING ─► drain delay ─► stop accepting, finish in-flight
//! ```
//!
//! | file | responsibility |
//! |---|---|
//! | `mod.rs` | [`serve`]: wires services, health, reflection and the shutdown sequence |
//! | `proto.rs` | generated `rankd.v1` types, clients and servers |
//! | `ranker.rs` | `Rank` and `Feedback` handlers |
//! | `admin.rs` | `Info` and `Reload` handlers |
//! | `validate.rs` | protobuf request → validated engine query, naming the bad field |
//! | `status.rs` | the one mapping from errors to `tonic::Status` codes |
//! | `metrics.rs` | Prometheus metrics and the `/metrics` HTTP endpoint |

pub mod metrics;
pub mod proto;

mod admin;
mod ranker;
mod status;
mod validate;

use std::future::Future;
use std::sync::Arc;

use tokio::net::TcpListener;
use tokio::sync::Notify;
use tokio_stream::wrappers::TcpListenerStream;
use tonic::Status;
use tonic::transport::Server;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::{info, warn};

use crate::config::{LimitsConfig, ServerConfig};
use admin::AdminService;
use proto::admin_server::AdminServer;
use proto::ranker_server::RankerServer;
use ranker::RankerService;

pub use validate::FieldError;

/// Service names as health checks and reflection know them.
pub const RANKER_SERVICE: &str = "rankd.v1.Ranker";
pub const ADMIN_SERVICE: &str = "rankd.v1.Admin";

#[derive(Debug, thiserror::Error)]
pub enum ServerError {
    #[error("gRPC reflection setup failed: {0}")]
    Reflection(#[from] tonic_reflection::server::Error),
    #[error("gRPC transport failed: {0}")]
    Transport(#[from] tonic::transport::Error),
}

/// What every handler shares.
#[derive(Debug)]
struct State {
    limits: LimitsConfig,
    server: ServerConfig,
}

impl State {
    /// The answer while no index is loaded: the real state of the server, not an error in the
    /// request, so `UNAVAILABLE` (clients retry elsewhere or later).
    fn not_loaded(&self) -> Status {
        Status::unavailable(format!(
            "no index is loaded yet (index dir: {}); health reports NOT_SERVING for {RANKER_SERVICE} until one is",
            self.server.index_dir.display()
        ))
    }
}

/// Serves gRPC on an already-bound `listener` until `shutdown` completes, then reports
/// NOT_SERVING, keeps accepting for `drain_delay` so balancers notice, stops accepting and
/// waits up to `drain_timeout` for in-flight calls. Returns once drained.
pub async fn serve(
    listener: TcpListener,
    server: ServerConfig,
    limits: LimitsConfig,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> Result<(), ServerError> {
    let (health, health_service) = tonic_health::server::health_reporter();
    health
        .set_service_status(RANKER_SERVICE, ServingStatus::NotServing)
        .await;
    health
        .set_service_status(ADMIN_SERVICE, ServingStatus::Serving)
        .await;

    let reflection = server.reflection.then(|| {
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

    let max_message = limits.max_message_bytes as usize;
    let drain_delay = server.drain_delay();
    let drain_timeout = server.drain_timeout();
    let state = Arc::new(State { limits, server });
    let ranker =
        RankerServer::new(RankerService::new(state.clone())).max_decoding_message_size(max_message);
    let admin = AdminServer::new(AdminService::new(state)).max_decoding_message_size(max_message);

    let draining = Arc::new(Notify::new());
    let signal = drain_on(shutdown, health, drain_delay, draining.clone());
    let local = listener.local_addr().ok();
    info!(addr = ?local, "rankd gRPC server listening");
    let serving = Server::builder()
        .add_service(health_service)
        .add_service(ranker)
        .add_service(admin)
        .add_optional_service(reflection_v1)
        .add_optional_service(reflection_v1alpha)
        .serve_with_incoming_shutdown(TcpListenerStream::new(listener), signal);

    // Graceful shutdown waits for every open call, and a health Watch stream never ends on
    // its own: bound the wait so an orchestrator's SIGTERM always ends the process.
    let drain_deadline = async {
        draining.notified().await;
        tokio::time::sleep(drain_timeout.saturating_sub(drain_delay)).await;
    };
    tokio::select! {
        result = serving => result?,
        () = drain_deadline => warn!(?drain_timeout, "drain timed out; closing open calls"),
    }
    info!("rankd gRPC server stopped");
    Ok(())
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
