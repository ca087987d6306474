//! `rankd train`: read the generic CSVs, train the towers and the ranker, write the models
//! directory (safetensors + JSON config + `train_report.json`).

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use rankd::data::{Dataset, ReadOptions};
use rankd::model::{DevicePreference, TextEncoder, minilm_dir, select_device};
use rankd::train::{TrainConfig, train};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// `items.csv` of the generic format.
    #[arg(long)]
    items: PathBuf,
    /// `interactions.csv` of the generic format.
    #[arg(long)]
    interactions: PathBuf,
    /// Models directory to write (created; files in it are replaced).
    #[arg(long)]
    out: PathBuf,
    /// `auto` (CUDA when built with it and present), `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    device: DevicePreference,
    /// Two-tower training epochs.
    #[arg(long)]
    epochs: Option<usize>,
    /// Ranker training epochs.
    #[arg(long)]
    ranker_epochs: Option<usize>,
    /// Width of the shared embedding space.
    #[arg(long)]
    dim: Option<usize>,
    /// Seed of weight init and shuffling: one seed, one result.
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Encoder directory (MiniLM from `rankd data fetch minilm` by default), or `tiny` for a
    /// small random encoder that makes smoke tests fast (its vectors mean nothing).
    #[arg(long)]
    encoder: Option<String>,
    /// Skip and count malformed CSV rows instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
    /// No progress bars (for logs and CI).
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    rankd::model::configure_cpu_threads();
    rankd::logging::init(&rankd::config::Config::default().log);
    let options = ReadOptions {
        skip_bad_rows: args.skip_bad_rows,
    };
    let data = Dataset::load(&args.items, &args.interactions, options)?;
    if data.skipped > 0 {
        eprintln!("skipped {} bad rows", data.skipped);
    }
    let device = select_device(args.device)?;
    let encoder = encoder_for(args.encoder.as_deref(), args.seed, &device)?;
    let mut config = train_config(args.seed, args.quiet, args.epochs, args.ranker_epochs);
    if let Some(dim) = args.dim {
        config.dim = dim;
    }
    eprintln!(
        "training on {} items, {} interactions ({})",
        data.items.len(),
        data.interactions.len(),
        rankd::model::describe_device(&device)
    );
    let trained = train(&data.items, &data.interactions, encoder, &config)?;
    trained
        .save(&args.out)
        .with_context(|| format!("writing models to {}", args.out.display()))?;
    let report = &trained.report;
    eprintln!(
        "wrote {}: towers {} examples in {:.1}s, ranker {} pairs in {:.1}s, total {:.1}s",
        args.out.display(),
        report.tower_examples,
        report.tower_secs,
        report.ranker_pairs,
        report.mining_secs + report.ranker_secs,
        report.total_secs
    );
    Ok(())
}

/// The text encoder a training run asks for (shared with `rankd eval`): `tiny`, a folder, or
/// MiniLM from the data cache.
pub fn encoder_for(
    choice: Option<&str>,
    seed: u64,
    device: &candle_core::Device,
) -> anyhow::Result<TextEncoder> {
    Ok(match choice {
        Some("tiny") => TextEncoder::tiny(seed, device)?,
        Some(dir) => TextEncoder::load(dir.as_ref(), device)?,
        None => TextEncoder::load(&minilm_dir(), device)
            .context("loading MiniLM (run `rankd data fetch minilm`, or pass --encoder tiny)")?,
    })
}

/// Training defaults with the overrides `rankd train` and `rankd eval` share.
pub fn train_config(
    seed: u64,
    quiet: bool,
    epochs: Option<usize>,
    ranker_epochs: Option<usize>,
) -> TrainConfig {
    let mut config = TrainConfig {
        seed,
        progress: !quiet,
        ..TrainConfig::default()
    };
    if let Some(epochs) = epochs {
        config.towers.epochs = epochs;
    }
    if let Some(epochs) = ranker_epochs {
        config.ranker.epochs = epochs;
    }
    config
}
