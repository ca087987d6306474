//! rankd's integration tests, compiled into one binary (faster to link than one per file).
//!
//! Modules:
//! - `support`: starting a real server on a loopback port for tests
//! - `server_lifecycle`: health, reflection, UNAVAILABLE before load, graceful drain
//! - `cli_config`: `rankd serve` refuses bad configuration with a message naming it
//! - `model_support`: model test fixtures (devices, a seeded synthetic shop, a quick config)
//! - `model_cli`: `rankd train` end to end with the tiny encoder; bad rows name the file
//! - `model_encoder`: text encoder padding/masking, save/load, MiniLM reference values
//! - `model_towers`: inference API shapes, batched == single, save/load, explanations
//! - `model_training`: deterministic training, learning the synthetic tastes, bad input
//! - `serving_support`: tiny models trained once, versions published per test
//! - `feedback_crash`: SIGKILL during feedback writes loses no acknowledged event
//! - `process_support`: a real `rankd serve` process with a trace log, and the `rankd` CLI
//! - `privacy`: no raw user id in the logs, metrics or files of a run
//! - `privacy_forget`: erasure through the server and offline, refused beside a server
//! - `recommend_cli`: `rankd recommend` writes k unseen items per user as JSON lines
//! - `serving_limits`: random requests never panic; batched == alone; metrics
//! - `serving`: Rank/Feedback/Admin over loopback: filters, parity, feedback, hot swap, limits
//! - `data_files`: `rankd data synth|check`: seeded output, bad-row errors, --skip-bad-rows
//! - `data_movielens`: the real MovieLens conversions (skip without `rankd data fetch`)
//! - `eval_report`: `rankd eval` with all five methods; baselines on MovieLens-100k
//! - `security_support`: test certificates (CA, server, client) and a tokens file
//! - `security`: TLS, mTLS, tokens and roles, the health port, flood and in-flight limits

mod cli_config;
mod data_files;
mod data_movielens;
mod eval_report;
mod feedback_crash;
mod model_cli;
mod model_encoder;
mod model_support;
mod model_towers;
mod model_training;
mod privacy;
mod privacy_forget;
mod process_support;
mod recommend_cli;
mod security;
mod security_support;
mod server_lifecycle;
mod serving;
mod serving_limits;
mod serving_support;
mod support;
