//! `rankd loadgen`: drives `Rank` on a running server with realistic requests (users'
//! recent items replayed from an interactions file) and reports throughput, latency
//! percentiles and errors by status code, as text and as one JSON line.
//!
//! Closed loop by default (each of `--concurrency` workers sends its next request when the
//! last one answers); with `--rate` the workers pace themselves to that total rate, so
//! latency under a fixed offered load can be measured.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::Context;
use clap::Args as ClapArgs;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde::Serialize;

use rankd::data::{ReadOptions, read_interactions};
use rankd::server::proto::RankRequest;
use rankd::server::proto::ranker_client::RankerClient;

use super::client_args::ClientTlsArgs;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// Server address, e.g. 127.0.0.1:50051.
    #[arg(long)]
    target: String,
    #[command(flatten)]
    tls: ClientTlsArgs,
    /// Concurrent workers (each its own HTTP/2 stream on one shared connection).
    #[arg(long, default_value_t = 8)]
    concurrency: usize,
    /// Seconds to run.
    #[arg(long, default_value_t = 10.0)]
    duration: f64,
    /// Total requests per second to offer; unset: as fast as answers come (closed loop).
    #[arg(long)]
    rate: Option<f64>,
    /// Interactions (generic CSV) whose users' histories become the requests.
    #[arg(long)]
    interactions: PathBuf,
    /// Items per request.
    #[arg(long, default_value_t = 20)]
    k: u32,
    /// Candidates retrieved and reranked per request.
    #[arg(long, default_value_t = 500)]
    candidates: u32,
    /// Recent items sent per request (newest first).
    #[arg(long, default_value_t = 10)]
    history: usize,
    /// Per-request deadline in milliseconds.
    #[arg(long, default_value_t = 1_000)]
    timeout_ms: u64,
    #[arg(long, default_value_t = 7)]
    seed: u64,
}

#[derive(Debug, Serialize)]
struct Report {
    target: String,
    concurrency: usize,
    offered_rate: Option<f64>,
    seconds: f64,
    requests: usize,
    ok: usize,
    qps: f64,
    latency_ms: Percentiles,
    errors: BTreeMap<String, usize>,
}

#[derive(Debug, Serialize)]
struct Percentiles {
    p50: f64,
    p90: f64,
    p99: f64,
    max: f64,
}

fn percentiles(mut micros: Vec<u64>) -> Percentiles {
    micros.sort_unstable();
    let at = |q: f64| {
        if micros.is_empty() {
            return 0.0;
        }
        let i = ((micros.len() as f64 * q).ceil() as usize).clamp(1, micros.len()) - 1;
        micros[i] as f64 / 1000.0
    };
    Percentiles {
        p50: at(0.50),
        p90: at(0.90),
        p99: at(0.99),
        max: at(1.0),
    }
}

/// Users' item sequences, newest first.
fn histories(path: &std::path::Path) -> anyhow::Result<Vec<Vec<String>>> {
    let mut events = read_interactions(
        path,
        ReadOptions {
            skip_bad_rows: true,
        },
    )?
    .records;
    events.sort_by_key(|e| std::cmp::Reverse(e.timestamp));
    let mut by_user: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for event in events {
        by_user
            .entry(event.user_id)
            .or_default()
            .push(event.item_id);
    }
    anyhow::ensure!(
        !by_user.is_empty(),
        "{} has no interactions",
        path.display()
    );
    Ok(by_user.into_values().collect())
}

struct Outcome {
    latencies: Vec<u64>,
    errors: BTreeMap<String, usize>,
}

pub fn run(args: Args) -> anyhow::Result<()> {
    let users = std::sync::Arc::new(histories(&args.interactions)?);
    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    let report = runtime.block_on(async {
        let options = args.tls.options(&args.target);
        let channel = options.connect().await?;
        let bearer = options.bearer()?;
        let duration = Duration::from_secs_f64(args.duration);
        let pace = args
            .rate
            .map(|rate| Duration::from_secs_f64(args.concurrency as f64 / rate));
        let started = Instant::now();
        let workers: Vec<_> = (0..args.concurrency)
            .map(|w| {
                let mut client = RankerClient::with_interceptor(channel.clone(), bearer.clone());
                let users = users.clone();
                let mut rng = StdRng::seed_from_u64(args.seed + w as u64);
                let (k, candidates, history, timeout) = (
                    args.k,
                    args.candidates,
                    args.history,
                    Duration::from_millis(args.timeout_ms),
                );
                tokio::spawn(async move {
                    let mut outcome = Outcome {
                        latencies: Vec::new(),
                        errors: BTreeMap::new(),
                    };
                    let mut next = Instant::now();
                    while started.elapsed() < duration {
                        if let Some(pace) = pace {
                            tokio::time::sleep_until(next.into()).await;
                            next += pace;
                        }
                        let user = rng.random_range(0..users.len());
                        let recent: Vec<String> =
                            users[user].iter().take(history).cloned().collect();
                        let mut request = tonic::Request::new(RankRequest {
                            user_id: format!("loadgen-user-{user}"),
                            recent_item_ids: recent,
                            k,
                            num_candidates: candidates,
                            ..Default::default()
                        });
                        request.set_timeout(timeout);
                        let sent = Instant::now();
                        match client.rank(request).await {
                            Ok(_) => outcome.latencies.push(sent.elapsed().as_micros() as u64),
                            Err(status) => {
                                *outcome
                                    .errors
                                    .entry(format!("{:?}", status.code()))
                                    .or_default() += 1;
                            }
                        }
                    }
                    outcome
                })
            })
            .collect();
        let mut latencies = Vec::new();
        let mut errors = BTreeMap::new();
        for worker in workers {
            let outcome = worker.await?;
            latencies.extend(outcome.latencies);
            for (code, n) in outcome.errors {
                *errors.entry(code).or_default() += n;
            }
        }
        let seconds = started.elapsed().as_secs_f64();
        let ok = latencies.len();
        let requests = ok + errors.values().sum::<usize>();
        anyhow::Ok(Report {
            target: args.target.clone(),
            concurrency: args.concurrency,
            offered_rate: args.rate,
            seconds,
            requests,
            ok,
            qps: ok as f64 / seconds,
            latency_ms: percentiles(latencies),
            errors,
        })
    })?;
    println!(
        "{} requests in {:.1} s at concurrency {}: {:.1} QPS ok; latency ms p50 {:.2} p90 {:.2} p99 {:.2} max {:.2}; errors {:?}",
        report.requests,
        report.seconds,
        report.concurrency,
        report.qps,
        report.latency_ms.p50,
        report.latency_ms.p90,
        report.latency_ms.p99,
        report.latency_ms.max,
        report.errors
    );
    println!("{}", serde_json::to_string(&report)?);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_pick_nearest_rank() {
        let p = percentiles((1..=100).map(|ms| ms * 1000).collect());
        assert_eq!((p.p50, p.p90, p.p99, p.max), (50.0, 90.0, 99.0, 100.0));
        let empty = percentiles(Vec::new());
        assert_eq!(empty.max, 0.0);
    }
}
