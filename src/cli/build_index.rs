//! `rankd build-index`: the index-builder job. Item vectors are computed with the trained
//! models in batches on the device (text encoder, then item tower), then the index crate
//! builds the HNSW graph and publishes a new version whose manifest names the models.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};

use rankd::data::ReadOptions;
use rankd::model::{DevicePreference, Models, select_device};
use rankd::rank::BuildIndexJob;
use rankd_index::BuildParams;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Models directory written by `rankd train`.
    #[arg(long)]
    models: PathBuf,
    /// `items.csv` of the generic format: the catalogue to index.
    #[arg(long)]
    items: PathBuf,
    /// Index root; the version is published under `ROOT/NAME/`.
    #[arg(long)]
    out: PathBuf,
    /// Index name.
    #[arg(long)]
    name: String,
    /// `auto` (CUDA when built with it and present), `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    device: DevicePreference,
    /// HNSW links per node on upper levels (level 0 keeps twice as many).
    #[arg(long, default_value_t = 16)]
    m: usize,
    /// HNSW beam width while inserting.
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// Skip and count malformed CSV rows instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
    /// No progress bar.
    #[arg(long)]
    quiet: bool,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    rankd::model::configure_cpu_threads();
    rankd::logging::init(&rankd::config::Config::default().log);
    let device = select_device(args.device)?;
    let models = Models::load(&args.models, &device)
        .with_context(|| format!("loading models from {}", args.models.display()))?;
    let job = BuildIndexJob {
        models_dir: args.models.clone(),
        items: args.items.clone(),
        root: args.out.clone(),
        name: args.name.clone(),
        params: BuildParams {
            m: args.m,
            ef_construction: args.ef_construction,
            threads: 0,
        },
        read: ReadOptions {
            skip_bad_rows: args.skip_bad_rows,
        },
    };
    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::no_length()
    };
    bar.set_style(
        ProgressStyle::with_template(
            "embedding items [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
        )?
        .progress_chars("=> "),
    );
    let summary = job.run(&models, |done, total| {
        bar.set_length(total as u64);
        bar.set_position(done as u64);
    })?;
    bar.finish();
    if summary.skipped_rows > 0 {
        eprintln!("skipped {} bad item rows", summary.skipped_rows);
    }
    eprintln!(
        "published {} ({} items; embedded at {:.0} items/s on {}, graph built in {:.1} s) at {}",
        summary.published.version,
        summary.items,
        summary.items as f64 / summary.embed_secs.max(1e-9),
        rankd::model::describe_device(&device),
        summary.build_secs,
        summary.published.dir.display()
    );
    Ok(())
}
