//! `rankd index build | search-bench | info | synth`: the index for humans and benchmarks,
//! from plain vector files (`rankd build-index` is the catalogue job that embeds with the
//! models first).
//!
//! `search-bench` prints one JSON line per `ef` with recall@k, QPS and p50/p99 latency for
//! the mapped search and, when the version was built with `--reference-dump`, for hnsw_rs's
//! own in-memory search of the same graph; then one line with memory and one summary line
//! with QPS at the target recall for both and their ratio.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args as ClapArgs, Subcommand};
use rankd::data::{ReadOptions, read_items};
use rankd_index::exact::{ground_truth, recall_at};
use rankd_index::format::{DATA_FILES, HEADER_FILE, ROW_ALIGN_FLOATS};
use rankd_index::vectors::{Matrix, read_ids, read_vectors, write_npy};
use rankd_index::{
    BuildParams, Filter, IndexBuilder, Item, MappedIndex, Metric, Provenance, PublishOptions,
    Reference,
};
use serde_json::json;

#[derive(Debug, ClapArgs)]
pub struct Args {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Build an index from a vector file and publish it as a new version of ROOT/NAME.
    Build(BuildArgs),
    /// Recall, QPS and latency per ef: mapped search against hnsw_rs's search.
    SearchBench(BenchArgs),
    /// Print a version's manifest and verify its checksums and structure.
    Info(InfoArgs),
    /// Write seeded clustered vectors (base and queries) as .npy, for scale benchmarks.
    Synth(SynthArgs),
}

#[derive(Debug, ClapArgs)]
struct BuildArgs {
    /// Item vectors: .npy, .fvecs or *-idx3-ubyte[.gz].
    #[arg(long)]
    vectors: PathBuf,
    /// Generic items.csv, one row per vector in the same order (ids, categories, prices).
    /// Without it ids are row numbers, category 0, price 0. Category ids are the rank of the
    /// first category name among the sorted distinct names, from 1 (0: none).
    #[arg(long)]
    items: Option<PathBuf>,
    /// Distance: l2 or cosine.
    #[arg(long, default_value = "l2")]
    metric: Metric,
    /// Index root; the version goes to ROOT/NAME/<version>.
    #[arg(long)]
    out: PathBuf,
    #[arg(long)]
    name: String,
    /// HNSW links per node on upper levels (level 0 keeps twice as many).
    #[arg(long, default_value_t = 16)]
    m: usize,
    #[arg(long, default_value_t = 200)]
    ef_construction: usize,
    /// Build threads (0: all cores).
    #[arg(long, default_value_t = 0)]
    threads: usize,
    /// Index only the first N vectors.
    #[arg(long)]
    limit: Option<usize>,
    /// Also write hnsw_rs's own dump, so search-bench can compare against it.
    #[arg(long)]
    reference_dump: bool,
}

#[derive(Debug, ClapArgs)]
struct BenchArgs {
    /// ROOT/NAME (its CURRENT version) or a version directory.
    #[arg(long)]
    index: PathBuf,
    /// Query vectors: .npy, .fvecs or *-idx3-ubyte[.gz].
    #[arg(long)]
    queries: PathBuf,
    /// Exact neighbour ids (.npy or .ivecs); computed by brute force when absent.
    #[arg(long)]
    ground_truth: Option<PathBuf>,
    #[arg(long, default_value_t = 10)]
    k: usize,
    #[arg(long, value_delimiter = ',', default_value = "10,20,40,80,160,320")]
    ef: Vec<usize>,
    /// Search threads (1: one thread, queries one after another).
    #[arg(long, default_value_t = 1)]
    threads: usize,
    /// Use only the first N queries.
    #[arg(long)]
    limit: Option<usize>,
    /// Recall at which the summary compares QPS.
    #[arg(long, default_value_t = 0.95)]
    target_recall: f64,
}

#[derive(Debug, ClapArgs)]
struct InfoArgs {
    /// ROOT/NAME (its CURRENT version) or a version directory.
    index: PathBuf,
    /// Only print the manifest; skip reading every byte.
    #[arg(long)]
    no_verify: bool,
}

#[derive(Debug, ClapArgs)]
struct SynthArgs {
    #[arg(long, default_value_t = 1_000_000)]
    n: usize,
    #[arg(long, default_value_t = 64)]
    dim: usize,
    #[arg(long, default_value_t = 1_000)]
    clusters: usize,
    /// Standard deviation of the cluster centres; in-cluster spread is about 1 per dimension,
    /// so near 1 clusters overlap and at 4 they are islands.
    #[arg(long, default_value_t = 4.0)]
    centre_spread: f32,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    /// Query rows drawn from the same clusters.
    #[arg(long, default_value_t = 10_000)]
    queries: usize,
    /// Base vectors output (.npy).
    #[arg(long)]
    out: PathBuf,
    /// Query vectors output (.npy).
    #[arg(long)]
    queries_out: PathBuf,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    match args.command {
        Command::Build(args) => build(args),
        Command::SearchBench(args) => search_bench(args),
        Command::Info(args) => info(args),
        Command::Synth(args) => synth(args),
    }
}

/// A version directory as given, or the CURRENT version of a ROOT/NAME directory.
fn resolve(path: &Path) -> anyhow::Result<PathBuf> {
    if path.join(HEADER_FILE).exists() {
        return Ok(path.to_path_buf());
    }
    let version = rankd_index::publish::current_version(path)?;
    Ok(path.join(version))
}

/// (id, category, price) per row, from a generic items.csv or made up from row numbers.
fn attributes(items: Option<&Path>, rows: usize) -> anyhow::Result<Vec<(String, u32, f32)>> {
    let Some(path) = items else {
        return Ok((0..rows).map(|i| (i.to_string(), 0, 0.0)).collect());
    };
    let items = read_items(path, ReadOptions::default())?.records;
    if items.len() < rows {
        bail!(
            "{} has {} items for {rows} vectors",
            path.display(),
            items.len()
        );
    }
    let mut names: Vec<&str> = items
        .iter()
        .filter_map(|i| i.categories.first().map(String::as_str))
        .collect();
    names.sort_unstable();
    names.dedup();
    let category = |item: &rankd::data::Item| match item.categories.first() {
        Some(name) => names
            .binary_search(&name.as_str())
            .map_or(0, |i| i as u32 + 1),
        None => 0,
    };
    Ok(items
        .iter()
        .take(rows)
        .map(|i| (i.id.clone(), category(i), i.price.unwrap_or(f32::INFINITY)))
        .collect())
}

fn build(args: BuildArgs) -> anyhow::Result<()> {
    let mut vectors = read_vectors(&args.vectors)?;
    if let Some(limit) = args.limit {
        vectors.truncate(limit);
    }
    let attributes = attributes(args.items.as_deref(), vectors.rows)?;
    let params = BuildParams {
        m: args.m,
        ef_construction: args.ef_construction,
        threads: args.threads,
    };
    let mut builder = IndexBuilder::new(vectors.dim, args.metric, params)?;
    for (i, (id, category, price)) in attributes.iter().enumerate() {
        let (category, price) = (*category, *price);
        let vector = vectors.row(i);
        builder.add(Item {
            id,
            vector,
            category,
            price,
        })?;
    }
    let started = Instant::now();
    let built = builder.build()?;
    let build_s = started.elapsed().as_secs_f64();
    let options = PublishOptions {
        provenance: Provenance {
            vectors: args.vectors.display().to_string(),
            model: None,
            producer: format!("rankd {} index build", env!("CARGO_PKG_VERSION")),
        },
        reference_dump: args.reference_dump,
        attachments: Vec::new(),
    };
    let started = Instant::now();
    let published = built.publish(&args.out, &args.name, &options)?;
    let line = json!({
        "version": published.version,
        "dir": published.dir,
        "count": built.len(),
        "dim": built.dim(),
        "metric": built.metric(),
        "m": params.m,
        "ef_construction": params.ef_construction,
        "threads": rayon_threads(params.threads),
        "build_s": build_s,
        "publish_s": started.elapsed().as_secs_f64(),
    });
    println!("{line}");
    Ok(())
}

fn rayon_threads(requested: usize) -> usize {
    if requested == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        requested
    }
}

fn info(args: InfoArgs) -> anyhow::Result<()> {
    let dir = resolve(&args.index)?;
    let index = MappedIndex::open(&dir)?;
    println!("{}", serde_json::to_string_pretty(index.manifest())?);
    if !args.no_verify {
        let started = Instant::now();
        index.verify()?;
        eprintln!(
            "verified {} ({} bytes: checksums and structure) in {:.0} ms",
            dir.display(),
            index.file_bytes(),
            started.elapsed().as_secs_f64() * 1e3
        );
    }
    Ok(())
}

fn synth(args: SynthArgs) -> anyhow::Result<()> {
    let mut data = rankd_index::synth::clustered_with(
        args.n + args.queries,
        args.dim,
        args.clusters,
        args.centre_spread,
        args.seed,
    );
    let queries = data.split_off(args.n * args.dim);
    let base = Matrix {
        rows: args.n,
        dim: args.dim,
        data,
    };
    write_npy(&args.out, &base)?;
    let queries = Matrix {
        rows: args.queries,
        dim: args.dim,
        data: queries,
    };
    write_npy(&args.queries_out, &queries)?;
    Ok(())
}

/// Recall, throughput and latency of one searcher at one ef.
#[derive(Debug, Clone, Copy)]
struct Measured {
    recall: f64,
    qps: f64,
    p50_us: f64,
    p99_us: f64,
}

impl Measured {
    fn json(&self) -> serde_json::Value {
        json!({"recall": self.recall, "qps": self.qps, "p50_us": self.p50_us, "p99_us": self.p99_us})
    }
}

/// Runs `search` over every query on `threads` threads; each call returns the found slots.
fn measure(
    queries: &Matrix<f32>,
    truth: &[Vec<u32>],
    k: usize,
    threads: usize,
    search: impl Fn(&[f32]) -> anyhow::Result<Vec<u32>> + Sync,
) -> anyhow::Result<Measured> {
    let threads = threads.max(1);
    // Thread t takes queries t, t + threads, ...; one thread is the plain loop.
    let run_share = |t: usize| -> anyhow::Result<Vec<(usize, Vec<u32>, Duration)>> {
        (t..queries.rows)
            .step_by(threads)
            .map(|i| {
                let started = Instant::now();
                let found = search(queries.row(i))?;
                Ok((i, found, started.elapsed()))
            })
            .collect()
    };
    let started = Instant::now();
    let shares: Vec<anyhow::Result<Vec<_>>> = std::thread::scope(|scope| {
        let handles: Vec<_> = (0..threads)
            .map(|t| scope.spawn(move || run_share(t)))
            .collect();
        handles
            .into_iter()
            .map(|h| {
                h.join()
                    .unwrap_or_else(|_| Err(anyhow::anyhow!("a search thread panicked")))
            })
            .collect()
    });
    let wall = started.elapsed().as_secs_f64();
    let mut results = Vec::with_capacity(queries.rows);
    for share in shares {
        results.extend(share?);
    }
    results.sort_unstable_by_key(|r| r.0);
    let (found, mut latencies): (Vec<Vec<u32>>, Vec<Duration>) =
        results.into_iter().map(|(_, f, d)| (f, d)).unzip();
    latencies.sort_unstable();
    let percentile = |p: f64| {
        let i = ((latencies.len() - 1) as f64 * p).round() as usize;
        latencies[i].as_secs_f64() * 1e6
    };
    Ok(Measured {
        recall: recall_at(&found, truth, k),
        qps: queries.rows as f64 / wall,
        p50_us: percentile(0.5),
        p99_us: percentile(0.99),
    })
}

/// QPS where recall first reaches `target`, interpolated linearly between the two ef values
/// around it; `None` when no ef reaches it.
fn qps_at_recall(points: &[Measured], target: f64) -> Option<f64> {
    let i = points.iter().position(|m| m.recall >= target)?;
    if i == 0 {
        return Some(points[0].qps);
    }
    let (lo, hi) = (points[i - 1], points[i]);
    let t = (target - lo.recall) / (hi.recall - lo.recall);
    Some(lo.qps + t * (hi.qps - lo.qps))
}

/// Resident memory of this process from /proc/self/status, in KiB.
fn memory() -> serde_json::Value {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> Option<u64> {
        let line = status.lines().find(|l| l.starts_with(name))?;
        line.split_whitespace().nth(1)?.parse().ok()
    };
    json!({"rss_kib": field("VmRSS:"), "anon_kib": field("RssAnon:"), "file_kib": field("RssFile:")})
}

fn search_bench(args: BenchArgs) -> anyhow::Result<()> {
    let dir = resolve(&args.index)?;
    let mut queries = read_vectors(&args.queries)?;
    if let Some(limit) = args.limit {
        queries.truncate(limit);
    }
    // Ground truth first, through a handle dropped right after, so its buffers are already
    // in the memory measured before the timed open.
    let truth: Vec<Vec<u32>> = {
        let index = MappedIndex::open(&dir)?;
        if queries.dim != index.dim() {
            bail!(
                "{} has dimension {}, the index {}",
                args.queries.display(),
                queries.dim,
                index.dim()
            );
        }
        match &args.ground_truth {
            Some(path) => {
                let ids = read_ids(path)?;
                ids.data
                    .chunks(ids.dim.max(1))
                    .map(<[u32]>::to_vec)
                    .collect()
            }
            None => brute_force(&dir, &index, &queries, args.k)?,
        }
    };
    anyhow::ensure!(
        truth.len() >= queries.rows,
        "ground truth has {} rows for {} queries",
        truth.len(),
        queries.rows
    );

    let before_open = memory();
    let started = Instant::now();
    let index = MappedIndex::open(&dir)?;
    let open_ms = started.elapsed().as_secs_f64() * 1e3;
    let after_open = memory();

    let filter = Filter::new();
    let mapped_search = |ef: usize| {
        let (index, filter, k) = (&index, &filter, args.k);
        move |q: &[f32]| -> anyhow::Result<Vec<u32>> {
            Ok(index
                .search(q, k, ef, filter)?
                .iter()
                .map(|h| h.slot)
                .collect())
        }
    };
    // One untimed pass first: page faults and the per-thread scratch are paid there.
    let warm_ef = args.ef.first().copied().unwrap_or(10);
    measure(
        &queries,
        &truth,
        args.k,
        args.threads,
        mapped_search(warm_ef),
    )?;
    let mut mapped = Vec::new();
    for &ef in &args.ef {
        mapped.push(measure(
            &queries,
            &truth,
            args.k,
            args.threads,
            mapped_search(ef),
        )?);
    }
    let after_queries = memory();

    let io = Reference::io_for(&dir);
    let mut reference = Vec::new();
    let mut reference_load_s = None;
    let mut after_reference = None;
    match &io {
        Some(io) => {
            let started = Instant::now();
            let graph = Reference::load(io, index.metric())?;
            reference_load_s = Some(started.elapsed().as_secs_f64());
            after_reference = Some(memory());
            measure(&queries, &truth, args.k, args.threads, |q| {
                Ok(graph
                    .search(q, args.k, warm_ef)
                    .iter()
                    .map(|h| h.0)
                    .collect())
            })?;
            for &ef in &args.ef {
                reference.push(measure(&queries, &truth, args.k, args.threads, |q| {
                    Ok(graph.search(q, args.k, ef).iter().map(|h| h.0).collect())
                })?);
            }
        }
        None => eprintln!(
            "no hnsw_rs dump in {}: rebuild with --reference-dump to compare",
            dir.display()
        ),
    }

    for (i, &ef) in args.ef.iter().enumerate() {
        let line = json!({
            "ef": ef, "k": args.k, "queries": queries.rows, "threads": args.threads,
            "mapped": mapped[i].json(),
            "hnsw_rs": reference.get(i).map(Measured::json),
        });
        println!("{line}");
    }
    let line = json!({"memory": {
        "file_bytes": index.file_bytes(), "open_ms": open_ms, "count": index.len(),
        "before_open": before_open, "after_open": after_open,
        "after_queries": after_queries, "after_hnsw_rs_load": after_reference,
        "hnsw_rs_load_s": reference_load_s,
    }});
    println!("{line}");
    let (m, r) = (
        qps_at_recall(&mapped, args.target_recall),
        qps_at_recall(&reference, args.target_recall),
    );
    let ratio = m.zip(r).map(|(m, r)| m / r);
    let line = json!({"summary": {"target_recall": args.target_recall, "mapped_qps": m, "hnsw_rs_qps": r, "ratio": ratio}});
    println!("{line}");
    Ok(())
}

/// Exact neighbours of every query against the index's stored vectors. They are read with a
/// plain `read` into a buffer freed afterwards, not through the mapping, so the resident
/// memory reported after the queries is what searching touched.
fn brute_force(
    dir: &Path,
    index: &MappedIndex,
    queries: &Matrix<f32>,
    k: usize,
) -> anyhow::Result<Vec<Vec<u32>>> {
    let path = dir.join(DATA_FILES[0]);
    let bytes = std::fs::read(&path).with_context(|| format!("reading {}", path.display()))?;
    let dim = index.dim();
    let stride = dim.div_ceil(ROW_ALIGN_FLOATS) * ROW_ALIGN_FLOATS;
    let mut base = Vec::with_capacity(index.len() * dim);
    for row in bytes.chunks_exact(stride * 4) {
        let row = &row[..dim * 4];
        base.extend(
            row.chunks_exact(4)
                .map(|b| f32::from_le_bytes([b[0], b[1], b[2], b[3]])),
        );
    }
    drop(bytes);
    let started = Instant::now();
    let truth = ground_truth(&base, &queries.data, dim, k, index.metric());
    eprintln!(
        "ground truth by brute force: {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(truth)
}
