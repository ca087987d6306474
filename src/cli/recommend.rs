//! `rankd recommend`: the full retrieve → rerank pipeline in process for a list of users, one
//! JSON line each (`{"user_id":…,"items":[…]}`), so anyone can evaluate rankd with their own
//! scripts. Each user's history comes from the interactions file (newest first); items they
//! already interacted with are excluded.

use std::collections::HashMap;
use std::io::{BufRead, BufWriter, Write};
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args as ClapArgs;

use rankd::data::{ReadOptions, read_interactions};
use rankd::model::{DevicePreference, select_device};
use rankd::rank::{Engine, ItemFilter, RankQuery};

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// An index: `ROOT/NAME` (its CURRENT version) or a version folder. The version carries
    /// the models it was built with and its catalogue.
    #[arg(long)]
    index: PathBuf,
    /// Interactions (generic CSV): the users' histories.
    #[arg(long)]
    interactions: PathBuf,
    /// One user id per line.
    #[arg(long)]
    users: PathBuf,
    #[arg(long, default_value_t = 20)]
    k: usize,
    /// Candidates retrieved and reranked per user.
    #[arg(long, default_value_t = 200)]
    candidates: usize,
    /// History items per user given to the user tower (newest first).
    #[arg(long, default_value_t = 50)]
    history: usize,
    #[arg(long)]
    out: PathBuf,
    /// `auto`, `cpu` or `cuda`.
    #[arg(long, default_value = "auto")]
    device: DevicePreference,
}

/// `ROOT/NAME` → its CURRENT version folder; a version folder stays as it is.
fn version_dir(index: &Path) -> anyhow::Result<PathBuf> {
    if index.join(rankd_index::publish::CURRENT_FILE).exists() {
        let version = rankd_index::publish::current_version(index)?;
        return Ok(index.join(version));
    }
    Ok(index.to_path_buf())
}

pub fn run(args: Args) -> anyhow::Result<()> {
    rankd::logging::init(&rankd::config::Config::default().log);
    anyhow::ensure!(args.k > 0, "--k must be at least 1");
    let device = select_device(args.device)?;
    let dir = version_dir(&args.index)?;
    let engine = Engine::open(&dir, &device, false)
        .with_context(|| format!("opening index version {}", dir.display()))?;
    let mut events = read_interactions(
        &args.interactions,
        ReadOptions {
            skip_bad_rows: true,
        },
    )?
    .records;
    events.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
    let mut history: HashMap<String, Vec<String>> = HashMap::new();
    for event in events {
        history
            .entry(event.user_id)
            .or_default()
            .push(event.item_id);
    }
    let users = std::fs::File::open(&args.users)
        .with_context(|| format!("reading {}", args.users.display()))?;
    let out = std::fs::File::create(&args.out)
        .with_context(|| format!("creating {}", args.out.display()))?;
    let mut out = BufWriter::new(out);
    let mut written = 0;
    for line in std::io::BufReader::new(users).lines() {
        let user = line.with_context(|| format!("reading {}", args.users.display()))?;
        let user = user.trim();
        if user.is_empty() {
            continue;
        }
        let recent = history.get(user).cloned().unwrap_or_default();
        let query = RankQuery {
            request_id: String::new(),
            user_id: None,
            recent_item_ids: recent.into_iter().take(args.history).collect(),
            query_text: None,
            k: args.k,
            num_candidates: args.candidates.max(args.k),
            filter: ItemFilter::default(),
            exclude_seen: true,
            explain: false,
        };
        let ranked = engine.rank_blocking(&query, &[])?;
        let items: Vec<&str> = ranked.items.iter().map(|i| i.item_id.as_str()).collect();
        serde_json::to_writer(
            &mut out,
            &serde_json::json!({ "user_id": user, "items": items }),
        )?;
        out.write_all(b"\n")?;
        written += 1;
    }
    out.flush()?;
    eprintln!(
        "wrote recommendations for {written} users to {} (index {})",
        args.out.display(),
        engine.version()
    );
    Ok(())
}
