//! Prometheus metrics, served as text on their own HTTP port (`GET /metrics`).
//!
//! A separate plain-HTTP listener rather than a gRPC method: scrapers speak HTTP/1.1, and a
//! metrics port can stay reachable from the monitoring network when the gRPC port has TLS and
//! auth in front of it.

use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::{
    Encoder, Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge,
    IntGaugeVec, Opts, Registry, TextEncoder,
};
use tokio::net::TcpListener;
use tonic::Code;

/// Latency buckets from 100 µs to 10 s, in seconds.
const LATENCY_BUCKETS: &[f64] = &[
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5,
    10.0,
];

#[derive(Debug, Clone)]
pub struct Metrics {
    registry: Registry,
    rpc_requests: IntCounterVec,
    rpc_latency: HistogramVec,
    stage_latency: HistogramVec,
    batch_candidates: Histogram,
    batch_seconds: Histogram,
    pub queue_depth: IntGauge,
    pub shed: IntCounter,
    /// Calls refused before reaching a handler, by reason (auth, in-flight limit).
    pub rejected: IntCounterVec,
    index_version: IntGaugeVec,
    pub feedback_events: IntCounter,
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> HistogramOpts {
    HistogramOpts::new(name, help).buckets(buckets)
}

impl Metrics {
    pub fn new() -> Arc<Metrics> {
        let registry = Registry::new();
        let m = Metrics {
            rpc_requests: IntCounterVec::new(
                Opts::new(
                    "rankd_rpc_requests_total",
                    "RPCs answered, by method and status code",
                ),
                &["rpc", "code"],
            )
            .expect("static metric definition"),
            rpc_latency: HistogramVec::new(
                histogram(
                    "rankd_rpc_seconds",
                    "RPC latency in seconds",
                    LATENCY_BUCKETS.to_vec(),
                ),
                &["rpc"],
            )
            .expect("static metric definition"),
            stage_latency: HistogramVec::new(
                histogram(
                    "rankd_rank_stage_seconds",
                    "Time per Rank pipeline stage in seconds",
                    LATENCY_BUCKETS.to_vec(),
                ),
                &["stage"],
            )
            .expect("static metric definition"),
            batch_candidates: Histogram::with_opts(histogram(
                "rankd_batch_candidates",
                "Candidates scored per batched forward pass",
                prometheus::exponential_buckets(1.0, 2.0, 14).expect("static buckets"),
            ))
            .expect("static metric definition"),
            batch_seconds: Histogram::with_opts(histogram(
                "rankd_batch_seconds",
                "Duration of one batched forward pass in seconds",
                LATENCY_BUCKETS.to_vec(),
            ))
            .expect("static metric definition"),
            queue_depth: IntGauge::new(
                "rankd_batch_queue_depth",
                "Requests waiting for the inference worker",
            )
            .expect("static metric definition"),
            shed: IntCounter::new(
                "rankd_shed_total",
                "Requests refused with RESOURCE_EXHAUSTED because the queue was full",
            )
            .expect("static metric definition"),
            rejected: IntCounterVec::new(
                Opts::new(
                    "rankd_rejected_total",
                    "Calls refused before a handler: unauthenticated, permission_denied, \
                     in_flight_limit",
                ),
                &["reason"],
            )
            .expect("static metric definition"),
            index_version: IntGaugeVec::new(
                Opts::new(
                    "rankd_index_info",
                    "The index version being served (value 1)",
                ),
                &["name", "version"],
            )
            .expect("static metric definition"),
            feedback_events: IntCounter::new(
                "rankd_feedback_events_stored_total",
                "Feedback events durably stored",
            )
            .expect("static metric definition"),
            registry,
        };
        let collectors: [Box<dyn prometheus::core::Collector>; 10] = [
            Box::new(m.rpc_requests.clone()),
            Box::new(m.rpc_latency.clone()),
            Box::new(m.stage_latency.clone()),
            Box::new(m.batch_candidates.clone()),
            Box::new(m.batch_seconds.clone()),
            Box::new(m.queue_depth.clone()),
            Box::new(m.shed.clone()),
            Box::new(m.rejected.clone()),
            Box::new(m.index_version.clone()),
            Box::new(m.feedback_events.clone()),
        ];
        for collector in collectors {
            m.registry
                .register(collector)
                .expect("metric names are unique");
        }
        Arc::new(m)
    }

    /// Records one answered RPC.
    pub fn observe_rpc(&self, rpc: &str, code: Code, started: Instant) {
        self.rpc_requests
            .with_label_values(&[rpc, code_name(code)])
            .inc();
        self.rpc_latency
            .with_label_values(&[rpc])
            .observe(started.elapsed().as_secs_f64());
    }

    pub fn observe_stage(&self, stage: &str, elapsed: Duration) {
        self.stage_latency
            .with_label_values(&[stage])
            .observe(elapsed.as_secs_f64());
    }

    pub fn observe_batch(&self, candidates: usize, elapsed: Duration) {
        self.batch_candidates.observe(candidates as f64);
        self.batch_seconds.observe(elapsed.as_secs_f64());
    }

    /// Marks `version` of index `name` as the one served (and no other).
    pub fn set_index_version(&self, name: &str, version: &str) {
        self.index_version.reset();
        self.index_version
            .with_label_values(&[name, version])
            .set(1);
    }

    /// The Prometheus text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = Vec::new();
        TextEncoder::new()
            .encode(&self.registry.gather(), &mut out)
            .expect("encoding to a Vec cannot fail");
        String::from_utf8(out).expect("the text format is UTF-8")
    }
}

fn code_name(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::Unavailable => "UNAVAILABLE",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::Cancelled => "CANCELLED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Unauthenticated => "UNAUTHENTICATED",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::NotFound => "NOT_FOUND",
        Code::Internal => "INTERNAL",
        _ => "OTHER",
    }
}

/// Serves `GET /metrics` on `listener` until `shutdown` completes.
pub async fn serve_metrics(
    listener: TcpListener,
    metrics: Arc<Metrics>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> std::io::Result<()> {
    let app = axum::Router::new().route(
        "/metrics",
        axum::routing::get(move || {
            let metrics = metrics.clone();
            async move {
                (
                    [("content-type", "text/plain; version=0.0.4")],
                    metrics.render(),
                )
            }
        }),
    );
    axum::serve(listener, app)
        .with_graceful_shutdown(shutdown)
        .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rendered_text_has_observed_values() {
        let metrics = Metrics::new();
        metrics.observe_rpc("Rank", Code::Ok, Instant::now());
        metrics.observe_rpc("Rank", Code::InvalidArgument, Instant::now());
        metrics.observe_batch(300, Duration::from_millis(3));
        metrics.set_index_version("catalog", "v000002");
        metrics.feedback_events.inc_by(5);
        let text = metrics.render();
        assert!(
            text.contains(r#"rankd_rpc_requests_total{code="OK",rpc="Rank"} 1"#),
            "{text}"
        );
        assert!(text.contains(r#"code="INVALID_ARGUMENT""#));
        assert!(text.contains("rankd_batch_candidates_count 1"));
        assert!(text.contains(r#"rankd_index_info{name="catalog",version="v000002"} 1"#));
        assert!(text.contains("rankd_feedback_events_stored_total 5"));
    }
}
