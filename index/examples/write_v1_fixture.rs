//! Writes the tiny format-v1 index committed under `index/tests/fixtures/format-v1/`, which
//! `tests/index/fixture_v1.rs` opens to prove old versions stay readable. Run it only when
//! deliberately adding a fixture for a new format version (then point it at a new folder):
//!
//! ```text
//! cargo run -p rankd-index --example write_v1_fixture -- index/tests/fixtures/format-v1
//! ```

use std::path::PathBuf;

use rankd_index::synth::clustered;
use rankd_index::{BuildParams, IndexBuilder, Item, Metric, Provenance, PublishOptions};

fn main() -> Result<(), rankd_index::IndexError> {
    let root = std::env::args_os().nth(1).map_or_else(
        || PathBuf::from("index/tests/fixtures/format-v1"),
        PathBuf::from,
    );
    let dim = 8;
    let vectors = clustered(64, dim, 4, 2024);
    let params = BuildParams {
        m: 4,
        ef_construction: 32,
        threads: 1,
    };
    let mut builder = IndexBuilder::new(dim, Metric::L2, params)?;
    for (i, vector) in vectors.chunks_exact(dim).enumerate() {
        let id = format!("fx-{i:02}");
        builder.add(Item {
            id: &id,
            vector,
            category: i as u32 % 4,
            price: i as f32 * 1.5,
        })?;
    }
    let options = PublishOptions {
        provenance: Provenance {
            vectors: "synth::clustered(64, 8, 4, seed 2024)".into(),
            model: None,
            producer: "rankd-index example write_v1_fixture".into(),
        },
        reference_dump: false,
        attachments: Vec::new(),
    };
    let published = builder.build()?.publish(&root, "tiny", &options)?;
    println!("{}", published.dir.display());
    Ok(())
}
