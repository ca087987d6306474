//! What every handler shares: the engine being served (swapped atomically on reload), the
//! feedback store, the batcher, metrics and health.

use std::path::PathBuf;
use std::sync::Arc;

use arc_swap::ArcSwapOption;
use candle_core::Device;
use parking_lot::Mutex;
use tonic_health::ServingStatus;
use tonic_health::server::HealthReporter;
use tracing::{info, warn};

use super::RANKER_SERVICE;
use super::metrics::Metrics;
use crate::config::{LimitsConfig, ServerConfig};
use crate::feedback::FeedbackStore;
use crate::rank::{BatcherHandle, Engine, RankError, ScoreInput};

#[derive(Debug)]
pub struct State {
    pub limits: LimitsConfig,
    pub server: ServerConfig,
    /// The version being served. Requests take a snapshot (`load_full`) at their start and
    /// finish on it, whatever reloads happen meanwhile.
    engine: ArcSwapOption<Engine>,
    pub feedback: FeedbackStore,
    pub batcher: BatcherHandle<ScoreInput>,
    pub metrics: Arc<Metrics>,
    pub health: HealthReporter,
    pub device: Device,
    last_reload_error: Mutex<String>,
    /// One reload at a time: the watcher and `Admin.Reload` must not race.
    reload_lock: tokio::sync::Mutex<()>,
    /// Pipeline CPU work (prepare, finish) running at once: one per core. More would only
    /// time-slice the cores among requests, so all of them finish late; queueing them instead
    /// lets each run to completion. Measured with `rankd loadgen` at concurrency 8 (100k
    /// items, 500 candidates, 2 cores): p99 22.8 → 18.1 ms, 756 → 850 QPS.
    pub cpu_slots: tokio::sync::Semaphore,
}

/// Why a reload was refused. The old version keeps serving.
#[derive(Debug, thiserror::Error)]
pub enum ReloadError {
    #[error("cannot resolve the version to load: {0}")]
    Resolve(rankd_index::IndexError),
    #[error("version {dir} refused: {source}")]
    Refused { dir: PathBuf, source: RankError },
}

/// What a successful reload swapped.
#[derive(Debug)]
pub struct Swapped {
    pub engine: Arc<Engine>,
    pub previous: Option<String>,
}

impl State {
    pub fn new(
        limits: LimitsConfig,
        server: ServerConfig,
        feedback: FeedbackStore,
        batcher: BatcherHandle<ScoreInput>,
        metrics: Arc<Metrics>,
        health: HealthReporter,
        device: Device,
    ) -> State {
        State {
            limits,
            server,
            engine: ArcSwapOption::empty(),
            feedback,
            batcher,
            metrics,
            health,
            device,
            last_reload_error: Mutex::new(String::new()),
            reload_lock: tokio::sync::Mutex::new(()),
            cpu_slots: tokio::sync::Semaphore::new(
                std::thread::available_parallelism().map_or(1, |n| n.get()),
            ),
        }
    }

    pub fn engine(&self) -> Option<Arc<Engine>> {
        self.engine.load_full()
    }

    pub fn last_reload_error(&self) -> String {
        self.last_reload_error.lock().clone()
    }

    fn name_dir(&self) -> PathBuf {
        self.server.index_dir.join(&self.server.index_name)
    }

    /// The version `CURRENT` names now.
    pub fn current_version(&self) -> Result<String, rankd_index::IndexError> {
        rankd_index::publish::current_version(&self.name_dir())
    }

    /// Opens and checks `version` (or the one `CURRENT` names) off the request path, then
    /// swaps it in. On failure the old version keeps serving and the error is kept for
    /// `Admin.Info`.
    pub async fn reload(self: &Arc<Self>, version: Option<String>) -> Result<Swapped, ReloadError> {
        let _one_at_a_time = self.reload_lock.lock().await;
        let version = match version {
            Some(v) => v,
            None => self
                .current_version()
                .map_err(|e| self.refuse(ReloadError::Resolve(e)))?,
        };
        let dir = self.name_dir().join(&version);
        let device = self.device.clone();
        let open_dir = dir.clone();
        let opened = tokio::task::spawn_blocking(move || Engine::open(&open_dir, &device, true))
            .await
            .unwrap_or_else(|join| {
                Err(RankError::Inconsistent {
                    dir: dir.clone(),
                    problem: format!("loading panicked: {join}"),
                })
            });
        let engine = match opened {
            Ok(engine) => Arc::new(engine),
            Err(source) => return Err(self.refuse(ReloadError::Refused { dir, source })),
        };
        let previous = self
            .engine
            .swap(Some(engine.clone()))
            .map(|old| old.version().to_string());
        self.last_reload_error.lock().clear();
        self.metrics
            .set_index_version(engine.name(), engine.version());
        self.health
            .set_service_status(RANKER_SERVICE, ServingStatus::Serving)
            .await;
        info!(
            index = engine.name(),
            version = engine.version(),
            model = engine.model_version(),
            items = engine.index().len(),
            ?previous,
            "index version loaded"
        );
        Ok(Swapped { engine, previous })
    }

    fn refuse(&self, err: ReloadError) -> ReloadError {
        warn!(error = %err, "reload refused; the previous version keeps serving");
        *self.last_reload_error.lock() = err.to_string();
        err
    }

    /// Polls `CURRENT` and reloads when it names a version other than the one served (and
    /// other than one already refused, so a bad version is not retried in a loop).
    pub async fn watch(self: Arc<Self>) {
        let interval = std::time::Duration::from_millis(self.server.watch_interval_ms);
        if interval.is_zero() {
            return;
        }
        let mut refused: Option<String> = None;
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            ticker.tick().await;
            let Ok(current) = self.current_version() else {
                continue;
            };
            let served = self.engine().map(|e| e.version().to_string());
            if served.as_deref() == Some(current.as_str()) || refused.as_deref() == Some(&current) {
                continue;
            }
            refused = match self.reload(Some(current.clone())).await {
                Ok(_) => None,
                Err(_) => Some(current),
            };
        }
    }
}
