//! Process-wide `tracing` setup: human-readable text or JSON lines, filtered by `RUST_LOG`
//! when set, else by the config's `log.filter`.

use tracing_subscriber::EnvFilter;

use crate::config::{LogConfig, LogFormat};

/// Installs the global subscriber. Later calls (tests that start several servers) keep the
/// first one rather than failing.
pub fn init(config: &LogConfig) {
    let filter =
        EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new(&config.filter));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let installed = match config.format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    // An already-installed subscriber is fine: the first caller's choice stands.
    drop(installed);
}
