//! A served index for tests: tiny models trained once per test binary on the seeded synthetic
//! shop, and per test an index root with a published version carrying them.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;
use std::time::Duration;

use rankd::data::{Item, ReadOptions, write_items};
use rankd::model::TextEncoder;
use rankd::rank::{BuildIndexJob, build_index};
use rankd::train::train;
use rankd_index::BuildParams;
use tonic::transport::Channel;
use tonic_health::pb::HealthCheckRequest;
use tonic_health::pb::health_check_response::ServingStatus;
use tonic_health::pb::health_client::HealthClient;

use super::model_support::{quick_config, synthetic_shop};

pub const INDEX_NAME: &str = "catalog";

struct SharedModels {
    _dir: tempfile::TempDir,
    models: PathBuf,
    items_csv: PathBuf,
    items: Vec<Item>,
}

/// Trained once: training is the slow part, and every serving test can share the result.
fn shared() -> &'static SharedModels {
    static SHARED: OnceLock<SharedModels> = OnceLock::new();
    SHARED.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let (items, interactions) = synthetic_shop(3, 60, 40, 12);
        let encoder = TextEncoder::tiny(1, &candle_core::Device::Cpu).unwrap();
        let trained = train(&items, &interactions, encoder, &quick_config(7)).unwrap();
        let models = dir.path().join("models");
        trained.save(&models).unwrap();
        let items_csv = dir.path().join("items.csv");
        write_items(&items_csv, &items).unwrap();
        SharedModels {
            _dir: dir,
            models,
            items_csv,
            items,
        }
    })
}

/// The synthetic catalogue the fixture indexes.
pub fn catalogue() -> &'static [Item] {
    &shared().items
}

/// Publishes a new version of `<dir>/index/catalog` and returns its version name.
pub fn publish(dir: &Path) -> String {
    let shared = shared();
    let job = BuildIndexJob {
        models_dir: shared.models.clone(),
        items: shared.items_csv.clone(),
        root: dir.join("index"),
        name: INDEX_NAME.into(),
        params: BuildParams {
            m: 8,
            ef_construction: 64,
            threads: 1,
        },
        read: ReadOptions::default(),
    };
    build_index(&job, &candle_core::Device::Cpu)
        .unwrap()
        .published
        .version
}

/// Waits (bounded) until health reports `want` for `service`.
pub async fn wait_for_health(channel: Channel, service: &str, want: ServingStatus) {
    let mut health = HealthClient::new(channel);
    for _ in 0..200 {
        let status = health
            .check(HealthCheckRequest {
                service: service.into(),
            })
            .await
            .unwrap()
            .into_inner()
            .status;
        if status == want as i32 {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("{service} never reported {want:?}");
}
