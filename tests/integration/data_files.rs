//! `rankd data` end to end: synthetic generation, and the readers' errors and
//! `--skip-bad-rows` as a user meets them on the command line.

use std::process::Command;

fn rankd(args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_rankd"))
        .args(args)
        .output()
        .expect("rankd runs")
}

#[test]
fn synth_writes_a_readable_seeded_data_set() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().to_str().unwrap();
    let args = [
        "data", "synth", "--items", "500", "--users", "40", "--events", "1500", "--seed", "9",
        "--out", out,
    ];
    let run = rankd(&args);
    assert!(
        run.status.success(),
        "{}",
        String::from_utf8_lossy(&run.stderr)
    );
    let data = rankd::data::Dataset::load_dir(dir.path(), Default::default()).unwrap();
    assert_eq!(data.items.len(), 500);
    assert_eq!(data.interactions.len(), 1500);
    assert!(
        data.items
            .iter()
            .all(|i| i.categories.len() == 2 && i.brand.is_some())
    );
    let expected =
        rankd::data::synthesize(&rankd::data::SynthConfig::new(500, 40, 1500, 9)).unwrap();
    assert_eq!(data, expected);
}

#[test]
fn check_names_the_bad_cell_and_skip_bad_rows_counts() {
    let dir = tempfile::tempdir().unwrap();
    let items = dir.path().join("items.csv");
    let events = dir.path().join("interactions.csv");
    std::fs::write(
        &items,
        "item_id,title,categories,brand,price,colour\na,A,x|y,b,1.5,red\nb,B,,,,\n",
    )
    .unwrap();
    std::fs::write(
        &events,
        "user_id,item_id,timestamp,event,value\nu,a,10,view,\nu,b,11,hover,\nu,a,12,purchase,1\n",
    )
    .unwrap();
    let (i, e) = (items.to_str().unwrap(), events.to_str().unwrap());
    let strict = rankd(&["data", "check", "--items", i, "--interactions", e]);
    assert!(!strict.status.success());
    let stderr = String::from_utf8_lossy(&strict.stderr);
    assert!(
        stderr.contains(&format!("{e}:3: column `event`: `hover` is not one of")),
        "{stderr}"
    );
    let lenient = rankd(&[
        "data",
        "check",
        "--items",
        i,
        "--interactions",
        e,
        "--skip-bad-rows",
    ]);
    assert!(
        lenient.status.success(),
        "{}",
        String::from_utf8_lossy(&lenient.stderr)
    );
    let stdout = String::from_utf8_lossy(&lenient.stdout);
    assert!(
        stdout.contains("2 items, 2 interactions, 1 bad rows skipped"),
        "{stdout}"
    );
    // The unknown `colour` column is a warning, not an error.
    assert!(String::from_utf8_lossy(&lenient.stderr).contains("colour"));
}

#[test]
fn fetch_refuses_an_unknown_data_set() {
    let run = rankd(&["data", "fetch", "ml-1m"]);
    assert!(!run.status.success());
    assert!(String::from_utf8_lossy(&run.stderr).contains("unknown dataset `ml-1m`"));
}
