//! `rankd demo`: what a newcomer runs first. Starts a server on a loopback port with its own
//! index root, checks its health through a real gRPC client, prints what it sees, and keeps
//! serving until Ctrl-C.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_client::HealthClient;

use rankd::config::Config;
use rankd::server::RANKER_SERVICE;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Address to serve on.
    #[arg(long, default_value = "127.0.0.1:50051")]
    listen: std::net::SocketAddr,
    /// Working folder for the demo's index root.
    #[arg(long, default_value = "data/demo")]
    work_dir: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut config = Config::default();
    config.server.listen = args.listen;
    config.server.index_dir = args.work_dir.join("index");
    config.server.metrics_listen = None;
    config.feedback.data_dir = args.work_dir.join("data");
    rankd::logging::init(&config.log);
    std::fs::create_dir_all(&config.server.index_dir)
        .with_context(|| format!("creating {}", config.server.index_dir.display()))?;
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("binding {}", config.server.listen))?;
        let addr = listener.local_addr()?;
        let server = tokio::spawn(rankd::server::serve(listener, None, config, async {
            tokio::signal::ctrl_c().await.ok();
        }));
        let channel = tonic::transport::Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await?;
        let mut health = HealthClient::new(channel);
        for service in ["", RANKER_SERVICE] {
            let status = health
                .check(HealthCheckRequest {
                    service: service.to_string(),
                })
                .await?
                .into_inner()
                .status();
            let name = if service.is_empty() {
                "server"
            } else {
                service
            };
            println!("health of {name:<16} {}", status.as_str_name());
        }
        println!("serving on {addr}; try: grpcurl -plaintext {addr} list   (Ctrl-C stops)");
        server.await??;
        Ok(())
    })
}
