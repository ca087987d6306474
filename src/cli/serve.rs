//! `rankd serve`: load the config, bind, serve until SIGTERM/SIGINT, drain, exit 0.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use rankd::config::Config;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Address to listen on (overrides `server.listen`).
    #[arg(long)]
    listen: Option<std::net::SocketAddr>,
    /// Root folder of published index versions (overrides `server.index_dir`).
    #[arg(long)]
    index_dir: Option<PathBuf>,
    /// Address of the `/metrics` endpoint (overrides `server.metrics_listen`).
    #[arg(long)]
    metrics_listen: Option<std::net::SocketAddr>,
    /// Address of the plaintext health-only endpoint (overrides `server.health_listen`).
    #[arg(long)]
    health_listen: Option<std::net::SocketAddr>,
    /// TOML config file; `RANKD_<SECTION>__<KEY>` variables override it, flags override both.
    #[arg(long)]
    config: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref())?.with_overrides(|c| {
        if let Some(listen) = args.listen {
            c.server.listen = listen;
        }
        if let Some(addr) = args.metrics_listen {
            c.server.metrics_listen = Some(addr);
        }
        if let Some(addr) = args.health_listen {
            c.server.health_listen = Some(addr);
        }
        if let Some(dir) = args.index_dir {
            c.server.index_dir = dir;
        }
    })?;
    rankd::logging::init(&config.log);
    anyhow::ensure!(
        config.server.index_dir.is_dir(),
        "index dir {} (server.index_dir / --index-dir) does not exist or is not a directory",
        config.server.index_dir.display()
    );
    // Before the runtime's threads exist (it sets an environment variable).
    if rankd::model::configure_cpu_threads_for_serving() {
        tracing::info!("CPU matmuls run on one thread per request (RAYON_NUM_THREADS=1)");
    }
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("binding server.listen = {}", config.server.listen))?;
        let listeners = rankd::server::Listeners {
            grpc: listener,
            metrics: bind_optional("server.metrics_listen", config.server.metrics_listen).await?,
            health: bind_optional("server.health_listen", config.server.health_listen).await?,
        };
        rankd::server::serve(listeners, config, shutdown_signal()).await?;
        Ok(())
    })
}

async fn bind_optional(
    key: &str,
    addr: Option<std::net::SocketAddr>,
) -> anyhow::Result<Option<tokio::net::TcpListener>> {
    let Some(addr) = addr else {
        return Ok(None);
    };
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .with_context(|| format!("binding {key} = {addr}"))?;
    Ok(Some(listener))
}

/// Completes on SIGTERM (what orchestrators send) or SIGINT (Ctrl-C).
async fn shutdown_signal() {
    let ctrl_c = async {
        if let Err(err) = tokio::signal::ctrl_c().await {
            tracing::error!(%err, "cannot listen for Ctrl-C");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(err) => {
                tracing::error!(%err, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = terminate => {},
    }
}
