//! `rankd recommend` end to end: a published version, a history file and a user list in,
//! one JSON line per user out, never recommending what the user already has.

use std::collections::HashSet;
use std::process::Command;

use rankd::data::write_interactions;

use crate::model_support::synthetic_shop;
use crate::serving_support::{INDEX_NAME, publish};

#[test]
fn recommend_writes_k_unseen_items_per_user() {
    let dir = tempfile::tempdir().unwrap();
    publish(dir.path());
    let (_, interactions) = synthetic_shop(3, 60, 40, 12);
    let history = dir.path().join("interactions.csv");
    write_interactions(&history, &interactions).unwrap();
    let users = dir.path().join("users.txt");
    std::fs::write(&users, "u1\nu2\n\nnew-user\n").unwrap();
    let out = dir.path().join("recs.jsonl");
    let status = Command::new(env!("CARGO_BIN_EXE_rankd"))
        .args(["recommend", "--device", "cpu", "--k", "5"])
        .arg("--index")
        .arg(dir.path().join("index").join(INDEX_NAME))
        .arg("--interactions")
        .arg(&history)
        .arg("--users")
        .arg(&users)
        .arg("--out")
        .arg(&out)
        .status()
        .unwrap();
    assert!(status.success());
    let lines: Vec<serde_json::Value> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let ids: Vec<&str> = lines
        .iter()
        .map(|l| l["user_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["u1", "u2", "new-user"]);
    for line in &lines {
        let user = line["user_id"].as_str().unwrap();
        let items: Vec<&str> = line["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i.as_str().unwrap())
            .collect();
        assert_eq!(items.len(), 5, "{line}");
        let seen: HashSet<&str> = interactions
            .iter()
            .filter(|e| e.user_id == user)
            .map(|e| e.item_id.as_str())
            .collect();
        assert!(
            items.iter().all(|i| !seen.contains(i)),
            "{user} got a seen item: {items:?}"
        );
    }
}
