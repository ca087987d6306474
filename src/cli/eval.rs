//! `rankd eval`: split on a global timeline, evaluate the baselines and (unless
//! `--baselines-only`) the two-tower model exact and through the ANN index and the full
//! retrieve → rerank pipeline, and write report.json, report.md and report.png.

use std::path::PathBuf;

use anyhow::Context;
use clap::Args as ClapArgs;

use rankd::data::{Dataset, Fetchable, ReadOptions};
use rankd::eval::{
    AnnRetrieval, ExactRetrieval, MethodResult, Pipeline, Prepared, RankerQuality, Recommender,
    RunOutcome, TwoTower, build_report, ranker_quality, run_baselines, run_methods,
};
use rankd::model::{DevicePreference, select_device};
use rankd::train::train;
use rankd_index::BuildParams;

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
    /// Share of a user's own events (by time) used as their history when they are first seen
    /// in the test period; the rest are their targets. 0 leaves such users out, as cold.
    #[arg(long, default_value_t = 0.5)]
    new_user_history: f64,
    /// Seed of every random choice (model init, shuffling).
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Skip and count malformed CSV rows instead of stopping at the first.
    #[arg(long)]
    skip_bad_rows: bool,
    /// Evaluate only popularity and ItemKNN (no model training).
    #[arg(long)]
    baselines_only: bool,
    /// Encoder directory (MiniLM from `rankd data fetch minilm` by default), or `tiny` for a
    /// small random encoder (fast smoke runs; its text vectors mean nothing).
    #[arg(long)]
    encoder: Option<String>,
    /// `auto` (CUDA when built with it and present), `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    device: DevicePreference,
    /// Two-tower training epochs (default: `rankd train`'s).
    #[arg(long)]
    epochs: Option<usize>,
    /// Ranker training epochs (default: `rankd train`'s).
    #[arg(long)]
    ranker_epochs: Option<usize>,
    /// Popular unseen items mixed into (e)'s candidates and ranker training's negatives
    /// (default: `rankd train`'s).
    #[arg(long)]
    popular_candidates: Option<usize>,
    /// HNSW search beam width for (d) and (e).
    #[arg(long, default_value_t = 400)]
    ef: usize,
    /// No progress bars.
    #[arg(long)]
    quiet: bool,
}

/// (c)–(e): trains the models on the training period only, builds the index from them, and
/// evaluates the three model-based methods and the ranker's pairs.
fn run_models(
    args: &Args,
    prepared: &Prepared,
) -> anyhow::Result<(Vec<MethodResult>, RankerQuality, Vec<String>)> {
    let device = select_device(args.device)?;
    let encoder = super::train::encoder_for(args.encoder.as_deref(), args.seed, &device)?;
    let mut config =
        super::train::train_config(args.seed, args.quiet, args.epochs, args.ranker_epochs);
    if let Some(n) = args.popular_candidates {
        config.ranker.popular_candidates = n;
    }
    let train_events = prepared.train_interactions();
    let trained = train(&prepared.catalog.items, &train_events, encoder, &config)?;
    let models_dir = args.out.join("models");
    trained.save(&models_dir)?;
    let tower = TwoTower::new(&trained.models, &prepared.catalog)?;
    let index = tower.build_index(&args.out.join("index"), BuildParams::default())?;
    let ann = AnnRetrieval {
        tower: &tower,
        index,
        ef: args.ef,
    };
    let pipeline = Pipeline::new(&ann, config.ranker.popular_candidates);
    let exact = ExactRetrieval(&tower);
    let methods: [&dyn Recommender; 3] = [&exact, &ann, &pipeline];
    let results = run_methods(prepared, &methods)?;
    let ranker = ranker_quality(&pipeline, &prepared.test.test_users, prepared.test.time)?;
    let notes = vec![
        format!(
            "models trained on the {} interactions before T only (seed {}, {} tower epochs, {} \
             ranker epochs, encoder {}, device {}); saved to {}",
            train_events.len(),
            args.seed,
            config.towers.epochs,
            config.ranker.epochs,
            args.encoder.as_deref().unwrap_or("MiniLM"),
            rankd::model::describe_device(&device),
            models_dir.display()
        ),
        format!(
            "(d) and (e) search the published, memory-mapped HNSW index (m {}, ef_construction \
             {}, ef {}); (e) re-ranks the top {} ANN candidates plus those of the {} most \
             popular unseen items (by the models' training-period counts) not among them",
            BuildParams::default().m,
            BuildParams::default().ef_construction,
            args.ef,
            rankd::eval::CANDIDATES,
            config.ranker.popular_candidates
        ),
    ];
    Ok((results, ranker, notes))
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
    let prepared = Prepared::new(data, args.test_fraction, args.new_user_history)?;
    let (mut methods, itemknn) = run_baselines(&prepared)?;
    let mut ranker = None;
    let mut notes = Vec::new();
    if !args.baselines_only {
        let (results, quality, model_notes) = run_models(&args, &prepared)?;
        methods.extend(results);
        ranker = Some(quality);
        notes = model_notes;
    }
    let report = build_report(
        &prepared,
        RunOutcome {
            dataset,
            seed: args.seed,
            methods,
            itemknn,
            ranker,
            notes,
        },
    );
    report.write(&args.out)?;
    println!("{}", report.markdown());
    eprintln!("report written to {}", args.out.display());
    Ok(())
}
