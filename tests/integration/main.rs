//! rankd's integration tests, compiled into one binary (faster to link than one per file).
//!
//! Modules:
//! - `support`: starting a real server on a loopback port for tests
//! - `server_lifecycle`: health, reflection, UNAVAILABLE before load, graceful drain
//! - `cli_config`: `rankd serve` refuses bad configuration with a message naming it

mod cli_config;
mod server_lifecycle;
mod support;
