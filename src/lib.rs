//! rankd: a ranking engine for e-commerce search and recommendation.

pub mod client;
pub mod config;
pub mod data;
pub mod eval;
pub mod feedback;
pub mod logging;
pub mod model;
pub mod rank;
pub mod server;
pub mod testdata;
pub mod train;
