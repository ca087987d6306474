//! rankd's one typed configuration tree.
//!
//! Sources, later ones winning: built-in defaults → a TOML file (`--config FILE`) →
//! `RANKD_<SECTION>__<KEY>` environment variables (e.g. `RANKD_SERVER__LISTEN=0.0.0.0:50051`)
//! → command-line flags. The merged tree is validated once, at start; each component then
//! receives only its own section. Unknown keys are errors, not silently ignored: a typo in a
//! limit must not leave the default in force unnoticed.
//!
//! Only variables with a `__` section separator are read, so `RANKD_CACHE_DIR` and other
//! tool variables never collide with config keys.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use figment::Figment;
use figment::providers::{Env, Format, Serialized, Toml};
use serde::{Deserialize, Serialize};

use crate::feedback::FeedbackConfig;
use crate::model::DevicePreference;
use crate::rank::BatcherConfig;
use crate::server::{AuthConfig, TlsConfig};

/// Why a configuration was refused. Every message names the file or key at fault.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    #[error("config file {0} does not exist")]
    MissingFile(PathBuf),
    /// A parse or type error from a source; figment's message names the key and the source
    /// (file or environment variable).
    #[error("invalid configuration: {0}")]
    Invalid(Box<figment::Error>),
    #[error("invalid configuration: `{key}` {problem}")]
    Rejected { key: &'static str, problem: String },
}

impl From<figment::Error> for ConfigError {
    fn from(err: figment::Error) -> Self {
        ConfigError::Invalid(Box::new(err))
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    pub server: ServerConfig,
    pub tls: TlsConfig,
    pub auth: AuthConfig,
    pub limits: LimitsConfig,
    pub batcher: BatcherConfig,
    pub feedback: FeedbackConfig,
    pub model: ModelConfig,
    pub log: LogConfig,
}

/// Where models run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// `auto` (CUDA when built with it and present), `cpu` or `cuda`.
    pub device: String,
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            device: "auto".to_string(),
        }
    }
}

impl ModelConfig {
    pub fn device_preference(&self) -> Result<DevicePreference, ConfigError> {
        self.device.parse().map_err(|_| {
            rejected(
                "model.device",
                format!("is `{}`; expected auto, cpu or cuda", self.device),
            )
        })
    }
}

/// Where and how the gRPC server listens, and how it stops.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ServerConfig {
    /// Address the gRPC server binds.
    pub listen: SocketAddr,
    /// Address of the Prometheus `/metrics` HTTP endpoint; unset: no endpoint.
    pub metrics_listen: Option<SocketAddr>,
    /// Address of a plaintext listener serving only grpc.health.v1 (no token), for probes
    /// that cannot speak TLS, such as Kubernetes' native gRPC probes; unset: none.
    pub health_listen: Option<SocketAddr>,
    /// Root folder of published index versions (`<root>/<name>/<version>/`, `CURRENT`).
    pub index_dir: PathBuf,
    /// Which index under the root to serve.
    pub index_name: String,
    /// How often `<root>/<name>/CURRENT` is checked for a new version (0: never; then only
    /// `Admin.Reload` swaps). Polling, not inotify: it also works on network volumes.
    pub watch_interval_ms: u64,
    /// After a shutdown signal, how long health reports NOT_SERVING while requests are still
    /// accepted, so that load balancers stop routing here before connections close.
    pub drain_delay_ms: u64,
    /// Upper bound on waiting for in-flight calls (and open streams such as health Watch)
    /// after the drain delay; past it the process exits anyway.
    pub drain_timeout_ms: u64,
    /// Serve gRPC reflection (grpcurl and other generic clients need it).
    pub reflection: bool,
    /// After this long a connection gets GOAWAY and the client reconnects (0: never), so
    /// clients that balance over DNS (a headless Service) also spread onto replicas added
    /// since they connected. Calls in flight finish first.
    pub max_connection_age_ms: u64,
}

impl Default for ServerConfig {
    fn default() -> Self {
        ServerConfig {
            listen: SocketAddr::from(([127, 0, 0, 1], 50051)),
            metrics_listen: Some(SocketAddr::from(([127, 0, 0, 1], 9090))),
            health_listen: None,
            index_dir: PathBuf::from("data/index"),
            index_name: "catalog".to_string(),
            watch_interval_ms: 2_000,
            drain_delay_ms: 1_000,
            drain_timeout_ms: 10_000,
            reflection: true,
            max_connection_age_ms: 300_000,
        }
    }
}

impl LimitsConfig {
    pub fn request_timeout(&self) -> Duration {
        Duration::from_millis(self.request_timeout_ms)
    }
}

impl ServerConfig {
    pub fn drain_delay(&self) -> Duration {
        Duration::from_millis(self.drain_delay_ms)
    }

    pub fn drain_timeout(&self) -> Duration {
        Duration::from_millis(self.drain_timeout_ms)
    }
}

/// Bounds on what one request may ask for; over a bound is `INVALID_ARGUMENT`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LimitsConfig {
    pub default_k: u32,
    pub max_k: u32,
    pub default_candidates: u32,
    pub max_candidates: u32,
    pub max_recent_items: u32,
    pub max_query_bytes: u32,
    pub max_id_bytes: u32,
    pub max_exclude_ids: u32,
    pub max_feedback_events: u32,
    /// Largest encoded gRPC message accepted, in bytes.
    pub max_message_bytes: u32,
    /// Calls one connection may have in flight; past it that connection's calls are refused
    /// with RESOURCE_EXHAUSTED, so one client flooding its connection cannot take every slot.
    pub max_concurrent_per_connection: u32,
    /// Calls in flight across all connections (health checks not counted); past it calls
    /// are refused at once with RESOURCE_EXHAUSTED.
    pub max_in_flight: u32,
    /// Longest any call may run; a Rank deadline from the client can only shorten it.
    pub request_timeout_ms: u64,
}

impl Default for LimitsConfig {
    fn default() -> Self {
        LimitsConfig {
            default_k: 20,
            max_k: 1_000,
            default_candidates: 500,
            max_candidates: 5_000,
            max_recent_items: 200,
            max_query_bytes: 512,
            max_id_bytes: 256,
            max_exclude_ids: 10_000,
            max_feedback_events: 1_000,
            max_message_bytes: 4 * 1024 * 1024,
            max_concurrent_per_connection: 64,
            max_in_flight: 512,
            request_timeout_ms: 10_000,
        }
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LogConfig {
    pub format: LogFormat,
    /// A `tracing` filter directive, e.g. `info` or `rankd=debug,info`; `RUST_LOG` wins.
    pub filter: String,
}

impl Default for LogConfig {
    fn default() -> Self {
        LogConfig {
            format: LogFormat::Text,
            filter: "info".to_string(),
        }
    }
}

impl Config {
    /// Merges defaults, the optional file and `RANKD_*__*` variables, then validates.
    /// Flags are applied by the caller with [`Config::with_overrides`].
    pub fn load(file: Option<&Path>) -> Result<Config, ConfigError> {
        Self::load_from(file, Env::prefixed("RANKD_"))
    }

    fn load_from(file: Option<&Path>, env: Env) -> Result<Config, ConfigError> {
        let mut figment = Figment::from(Serialized::defaults(Config::default()));
        if let Some(path) = file {
            if !path.is_file() {
                return Err(ConfigError::MissingFile(path.to_path_buf()));
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        let env = env.filter(|key| key.as_str().contains("__")).split("__");
        let config: Config = figment.merge(env).extract()?;
        config.validate()?;
        Ok(config)
    }

    /// Applies command-line overrides (already parsed by clap) and validates again.
    pub fn with_overrides(
        mut self,
        apply: impl FnOnce(&mut Config),
    ) -> Result<Config, ConfigError> {
        apply(&mut self);
        self.validate()?;
        Ok(self)
    }

    pub fn validate(&self) -> Result<(), ConfigError> {
        let l = &self.limits;
        let positive = [
            ("limits.max_k", l.max_k),
            ("limits.max_candidates", l.max_candidates),
            ("limits.max_query_bytes", l.max_query_bytes),
            ("limits.max_id_bytes", l.max_id_bytes),
            ("limits.max_feedback_events", l.max_feedback_events),
            ("limits.max_message_bytes", l.max_message_bytes),
            (
                "limits.max_concurrent_per_connection",
                l.max_concurrent_per_connection,
            ),
            ("limits.max_in_flight", l.max_in_flight),
        ];
        for (key, value) in positive {
            if value == 0 {
                return Err(rejected(key, "must be greater than 0"));
            }
        }
        if l.request_timeout_ms == 0 {
            return Err(rejected(
                "limits.request_timeout_ms",
                "must be greater than 0",
            ));
        }
        if l.default_k == 0 || l.default_k > l.max_k {
            return Err(rejected(
                "limits.default_k",
                format!("must be in 1..={} (limits.max_k)", l.max_k),
            ));
        }
        if l.default_candidates < l.default_k || l.default_candidates > l.max_candidates {
            return Err(rejected(
                "limits.default_candidates",
                format!(
                    "must be in {}..={} (limits.default_k..=limits.max_candidates)",
                    l.default_k, l.max_candidates
                ),
            ));
        }
        self.model.device_preference()?;
        if self.batcher.max_batch_candidates == 0 || self.batcher.queue_capacity == 0 {
            return Err(rejected(
                "batcher.max_batch_candidates",
                "and batcher.queue_capacity must be greater than 0",
            ));
        }
        if self.feedback.history_per_user == 0 || self.feedback.history_max_users == 0 {
            return Err(rejected(
                "feedback.history_per_user",
                "and feedback.history_max_users must be greater than 0",
            ));
        }
        if self.server.drain_timeout_ms < self.server.drain_delay_ms {
            return Err(rejected(
                "server.drain_timeout_ms",
                "must be at least server.drain_delay_ms",
            ));
        }
        if self
            .log
            .filter
            .parse::<tracing_subscriber::EnvFilter>()
            .is_err()
        {
            return Err(rejected(
                "log.filter",
                format!("`{}` is not a valid tracing filter", self.log.filter),
            ));
        }
        Ok(())
    }
}

fn rejected(key: &'static str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Rejected {
        key,
        problem: problem.into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write_toml(body: &str) -> tempfile::NamedTempFile {
        let file = tempfile::Builder::new().suffix(".toml").tempfile().unwrap();
        std::fs::write(file.path(), body).unwrap();
        file
    }

    /// An environment with no variables, so tests don't see the caller's `RANKD_*`.
    fn no_env() -> Env {
        Env::prefixed("RANKD_TEST_UNSET_PREFIX_")
    }

    #[test]
    fn defaults_are_valid() {
        Config::default().validate().unwrap();
    }

    /// The file the container image and the Kubernetes ConfigMap carry: a renamed key here
    /// must fail this test, not a rollout.
    #[test]
    fn the_deployment_config_is_valid_and_secure() {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("deploy/k8s/base/rankd.toml");
        let config = Config::load_from(Some(&path), no_env()).unwrap();
        assert!(!config.tls.plaintext && config.tls.cert_file.is_some());
        assert!(!config.auth.disabled && config.auth.tokens_file.is_some());
        assert!(config.server.health_listen.is_some());
    }

    #[test]
    fn file_values_override_defaults() {
        let file = write_toml("[server]\nlisten = \"0.0.0.0:9000\"\n[limits]\nmax_k = 50\n");
        let config = Config::load_from(Some(file.path()), no_env()).unwrap();
        assert_eq!(config.server.listen, "0.0.0.0:9000".parse().unwrap());
        assert_eq!(config.limits.max_k, 50);
        assert_eq!(config.limits.default_k, 20);
    }

    #[test]
    fn unknown_key_is_named() {
        let file = write_toml("[limits]\nmax_kk = 5\n");
        let err = Config::load_from(Some(file.path()), no_env()).unwrap_err();
        let message = err.to_string();
        assert!(message.contains("max_kk"), "{message}");
    }

    #[test]
    fn unknown_section_is_named() {
        let file = write_toml("[sever]\nlisten = \"127.0.0.1:1\"\n");
        let message = Config::load_from(Some(file.path()), no_env())
            .unwrap_err()
            .to_string();
        assert!(message.contains("sever"), "{message}");
    }

    #[test]
    fn bad_address_names_key_and_file() {
        let file = write_toml("[server]\nlisten = \"localhost-ish\"\n");
        let message = Config::load_from(Some(file.path()), no_env())
            .unwrap_err()
            .to_string();
        assert!(message.contains("listen"), "{message}");
        // figment shows the path relative to the working directory when it can.
        let name = file.path().file_name().unwrap().to_string_lossy();
        assert!(message.contains(name.as_ref()), "{message}");
    }

    #[test]
    fn missing_file_is_named() {
        let err =
            Config::load_from(Some(Path::new("/nonexistent/rankd.toml")), no_env()).unwrap_err();
        assert!(matches!(err, ConfigError::MissingFile(_)));
        assert!(err.to_string().contains("/nonexistent/rankd.toml"));
    }

    #[test]
    fn inconsistent_limits_are_rejected() {
        let file = write_toml("[limits]\ndefault_k = 30\nmax_k = 10\n");
        let message = Config::load_from(Some(file.path()), no_env())
            .unwrap_err()
            .to_string();
        assert!(message.contains("limits.default_k"), "{message}");
    }

    #[test]
    #[allow(clippy::result_large_err)] // figment's Jail API returns its own large error type
    fn env_overrides_file_and_ignores_unsectioned_variables() {
        figment::Jail::expect_with(|jail| {
            jail.create_file("rankd.toml", "[limits]\nmax_k = 50\n")?;
            jail.set_env("RANKD_LIMITS__MAX_K", "70");
            jail.set_env("RANKD_CACHE_DIR", "/somewhere");
            let config = Config::load(Some(Path::new("rankd.toml"))).unwrap();
            assert_eq!(config.limits.max_k, 70);
            Ok(())
        });
    }

    #[test]
    fn overrides_are_validated() {
        let err = Config::default()
            .with_overrides(|c| c.limits.max_k = 0)
            .unwrap_err();
        assert!(err.to_string().contains("limits.max_k"));
    }
}
