//! `rankd feedback`: tools over the durable feedback log.
//!
//! - `export`: the log as `interactions.csv` (generic format) for the next training run. User
//!   ids are the keyed pseudonyms the log holds; raw ids were never stored.

use std::path::PathBuf;

use clap::{Args as ClapArgs, Subcommand};

use rankd::config::Config;
use rankd::data::{Interaction, write_interactions};
use rankd::feedback::SegmentLog;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Write every stored event as interactions.csv.
    Export(ExportArgs),
}

#[derive(Debug, ClapArgs)]
struct ExportArgs {
    /// Output file (generic interactions format).
    #[arg(long)]
    out: PathBuf,
    /// The server's config file; its `feedback.data_dir` locates the log.
    #[arg(long)]
    config: Option<PathBuf>,
    /// Overrides `feedback.data_dir`.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Export(args) => export(args),
    }
}

fn export(args: ExportArgs) -> anyhow::Result<()> {
    let config = Config::load(args.config.as_deref())?.with_overrides(|c| {
        if let Some(dir) = args.data_dir {
            c.feedback.data_dir = dir;
        }
    })?;
    let records = SegmentLog::read_all(&config.feedback.log_dir())?;
    let interactions: Vec<Interaction> = records
        .into_iter()
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
