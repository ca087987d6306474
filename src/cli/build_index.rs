//! `rankd build-index`: the index-builder job. Item vectors are computed with the trained
//! models in batches on the device (text encoder, then item tower), then the index crate
//! builds the HNSW graph and publishes a new version whose manifest names the models.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;
use indicatif::{ProgressBar, ProgressStyle};

use rankd::data::{ReadOptions, read_items};
use rankd::model::{DevicePreference, Models, select_device};
use rankd_index::{BuildParams, IndexBuilder, Metric, Provenance, PublishOptions};

/// Items per embedding call: large enough to keep the device busy, small enough for a
/// progress bar that moves.
const EMBED_CHUNK: usize = 2048;

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
    rankd::logging::init(&rankd::config::Config::default().log);
    let device = select_device(args.device)?;
    let models = Models::load(&args.models, &device)
        .with_context(|| format!("loading models from {}", args.models.display()))?;
    let loaded = read_items(
        &args.items,
        ReadOptions {
            skip_bad_rows: args.skip_bad_rows,
        },
    )?;
    if loaded.skipped > 0 {
        eprintln!("skipped {} bad item rows", loaded.skipped);
    }
    let items = loaded.records;
    anyhow::ensure!(!items.is_empty(), "{} has no items", args.items.display());

    let bar = if args.quiet {
        ProgressBar::hidden()
    } else {
        ProgressBar::new(items.len() as u64)
    };
    bar.set_style(
        ProgressStyle::with_template(
            "embedding items [{bar:30}] {pos}/{len} ({per_sec}, eta {eta})",
        )?
        .progress_chars("=> "),
    );
    let started = std::time::Instant::now();
    let mut vectors = Vec::with_capacity(items.len());
    for chunk in items.chunks(EMBED_CHUNK) {
        vectors.extend(models.embed_items(chunk)?);
        bar.inc(chunk.len() as u64);
    }
    bar.finish();
    let embed_secs = started.elapsed().as_secs_f64();

    let params = BuildParams {
        m: args.m,
        ef_construction: args.ef_construction,
        threads: 0,
    };
    let mut builder = IndexBuilder::new(models.dim(), Metric::Cosine, params)?;
    for (item, vector) in items.iter().zip(&vectors) {
        // The filter category is the item's first (most general) category as a vocabulary
        // row of the models, 0 when it has none or one the models never saw; a missing price
        // is +inf, so a price ceiling excludes items whose price nobody knows.
        let category = models
            .vocab()
            .category_rows_of(item)
            .first()
            .copied()
            .unwrap_or(0);
        builder.add(rankd_index::Item {
            id: &item.id,
            vector,
            category,
            price: item.price.unwrap_or(f32::INFINITY),
        })?;
    }
    let built = builder.build()?;
    let models_dir = args
        .models
        .canonicalize()
        .unwrap_or_else(|_| args.models.clone());
    let options = PublishOptions {
        provenance: Provenance {
            vectors: format!("item tower over {}", args.items.display()),
            model: Some(format!(
                "{} at {}",
                models.config().name,
                models_dir.display()
            )),
            producer: format!("rankd {}", env!("CARGO_PKG_VERSION")),
        },
        reference_dump: false,
    };
    let published = built.publish(&args.out, &args.name, &options)?;
    eprintln!(
        "published {} ({} items, {:.0} items/s embedded on {}) at {}",
        published.version,
        items.len(),
        items.len() as f64 / embed_secs.max(1e-9),
        rankd::model::describe_device(&device),
        published.dir.display()
    );
    Ok(())
}
