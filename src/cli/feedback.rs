//! `rankd feedback`: tools over the durable feedback log.
//!
//! - `export`: the log as `interactions.csv` (generic format) for the next training run. User
//!   ids are the keyed pseudonyms the log holds; raw ids were never stored. Events past
//!   `feedback.retention_days` are left out even if a sweep has not deleted them yet.
//! - `forget`: erases one user's events and history (right to erasure). A running server owns
//!   the log, so with `--target` the server does it (`Admin.ForgetUser`); without, the log is
//!   rewritten here, which the log's lock refuses while a server runs.

use std::io::BufRead;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};

use rankd::client::ClientOptions;
use rankd::config::Config;
use rankd::data::{Interaction, write_interactions};
use rankd::feedback::{FeedbackError, SegmentLog, cutoff_ms, now_ms};
use rankd::server::proto::ForgetUserRequest;
use rankd::server::proto::admin_client::AdminClient;

use super::client_args::ClientTlsArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write every stored event as interactions.csv.
    Export(ExportArgs),
    /// Erase a user's events from the log and their history; prints how many were removed.
    Forget(ForgetArgs),
}

/// Where the log is: the server's config, or a data dir.
#[derive(Debug, ClapArgs)]
struct LogArgs {
    /// The server's config file; its `[feedback]` section locates the log and its key.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Overrides `feedback.data_dir`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

impl LogArgs {
    fn load(self) -> anyhow::Result<Config> {
        Ok(Config::load(self.config.as_deref())?.with_overrides(|c| {
            if let Some(dir) = self.data_dir {
                c.feedback.data_dir = dir;
            }
        })?)
    }
}

#[derive(Debug, ClapArgs)]
struct ExportArgs {
    /// Output file (generic interactions format).
    #[arg(long)]
    out: PathBuf,
    #[command(flatten)]
    log: LogArgs,
}

#[derive(Debug, ClapArgs)]
struct ForgetArgs {
    /// The user's raw id, as sent to Rank and Feedback; `-` reads it from the first line of
    /// stdin, which keeps it out of shell history and the process list.
    #[arg(long)]
    user: String,
    /// A running server (host:port) to ask through `Admin.ForgetUser`. Without it, the log
    /// under --config / --data-dir is changed directly (refused while a server holds it).
    #[arg(long)]
    target: Option<String>,
    /// TLS for --target; the token (admin role) comes from RANKD_TOKEN.
    #[command(flatten)]
    tls: ClientTlsArgs,
    #[command(flatten)]
    log: LogArgs,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Export(args) => export(args),
        Command::Forget(args) => forget(args),
    }
}

fn export(args: ExportArgs) -> anyhow::Result<()> {
    let config = args.log.load()?;
    let cutoff = cutoff_ms(config.feedback.retention_days, now_ms());
    let records = SegmentLog::read_all(&config.feedback.log_dir())?;
    let interactions: Vec<Interaction> = records
        .into_iter()
        .filter(|r| cutoff.is_none_or(|cutoff| r.timestamp_ms >= cutoff))
        .map(|r| Interaction {
            user_id: r.user.to_hex(),
            item_id: r.item_id,
            timestamp: r.timestamp_ms.div_euclid(1000),
            event: r.event,
            value: None,
        })
        .collect();
    write_interactions(&args.out, &interactions)?;
    eprintln!(
        "exported {} events to {}",
        interactions.len(),
        args.out.display()
    );
    Ok(())
}

fn forget(args: ForgetArgs) -> anyhow::Result<()> {
    let user = match args.user.as_str() {
        "-" => {
            let mut line = String::new();
            std::io::stdin()
                .lock()
                .read_line(&mut line)
                .context("reading the user id from stdin")?;
            line.trim_end_matches(['\r', '\n']).to_string()
        }
        _ => args.user,
    };
    anyhow::ensure!(!user.is_empty(), "--user: the user id is empty");
    let removed = match args.target {
        Some(target) => forget_on_server(args.tls.options(&target), user)?,
        None => forget_offline(args.log, &user)?,
    };
    println!("removed {removed} feedback events");
    Ok(())
}

fn forget_on_server(server: ClientOptions, user_id: String) -> anyhow::Result<u64> {
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async {
        let channel = server.connect().await?;
        let reply = AdminClient::with_interceptor(channel, server.bearer()?)
            .forget_user(ForgetUserRequest { user_id })
            .await
            .map_err(|status| {
                anyhow::anyhow!(
                    "{} refused ForgetUser ({:?}): {}",
                    server.target,
                    status.code(),
                    status.message()
                )
            })?;
        Ok(reply.into_inner().removed_events)
    })
}

fn forget_offline(log: LogArgs, user_id: &str) -> anyhow::Result<u64> {
    let config = log.load()?;
    let (store, _) = config
        .feedback
        .open_existing_store()
        .map_err(|err| match err {
            FeedbackError::Locked { .. } => anyhow::anyhow!(
                "{err}\nA running server owns the log: ask it with --target HOST:PORT instead."
            ),
            other => other.into(),
        })?;
    let removed = store.forget(&store.user_key(user_id))?;
    Ok(removed as u64)
}
