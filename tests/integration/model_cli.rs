//! `rankd train` end to end on a small synthetic shop with the tiny encoder: it writes a
//! models directory that loads, and a bad CSV row stops it with the file named.

use std::process::Command;

use candle_core::Device;
use rankd::data::{write_interactions, write_items};
use rankd::model::{Models, files};

use super::model_support::synthetic_shop;

fn train_command(dir: &std::path::Path, out: &std::path::Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rankd"));
    command
        .arg("train")
        .arg("--items")
        .arg(dir.join("items.csv"))
        .arg("--interactions")
        .arg(dir.join("interactions.csv"))
        .arg("--out")
        .arg(out)
        .args([
            "--device",
            "cpu",
            "--encoder",
            "tiny",
            "--epochs",
            "1",
            "--ranker-epochs",
            "1",
        ])
        .args(["--dim", "16", "--quiet"]);
    command
}

#[test]
fn rankd_train_writes_a_models_directory_that_loads() {
    let dir = tempfile::tempdir().unwrap();
    let (items, interactions) = synthetic_shop(8, 36, 20, 10);
    write_items(&dir.path().join("items.csv"), &items).unwrap();
    write_interactions(&dir.path().join("interactions.csv"), &interactions).unwrap();
    let out = dir.path().join("models");
    let run = train_command(dir.path(), &out).output().unwrap();
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    for name in [
        files::CONFIG,
        files::TOWERS,
        files::RANKER,
        files::VOCAB,
        files::STATS,
        files::REPORT,
    ] {
        assert!(out.join(name).is_file(), "{name} missing");
    }
    let models = Models::load(&out, &Device::Cpu).unwrap();
    assert_eq!(models.dim(), 16);
    assert_eq!(models.embed_items(&items[..3]).unwrap().len(), 3);
}

#[test]
fn rankd_train_names_the_file_of_a_bad_row() {
    let dir = tempfile::tempdir().unwrap();
    let (items, _) = synthetic_shop(8, 12, 2, 2);
    write_items(&dir.path().join("items.csv"), &items).unwrap();
    std::fs::write(
        dir.path().join("interactions.csv"),
        "user_id,item_id,timestamp,event,value\nu1,i1,not-a-time,click,\n",
    )
    .unwrap();
    let run = train_command(dir.path(), &dir.path().join("models"))
        .output()
        .unwrap();
    assert!(!run.status.success());
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(stderr.contains("interactions.csv"), "{stderr}");
}
