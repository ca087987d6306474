//! `rankd serve` with bad configuration fails at start, exit code non-zero, and says which
//! key or file is wrong.

use std::process::{Command, Output};

fn rankd(args: &[&str], env: &[(&str, &str)]) -> Output {
    let mut command = Command::new(env!("CARGO_BIN_EXE_rankd"));
    command.args(args);
    for (key, value) in env {
        command.env(key, value);
    }
    command.output().unwrap()
}

fn assert_fails_naming(output: &Output, needle: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected failure, stderr: {stderr}"
    );
    assert!(
        stderr.contains(needle),
        "stderr does not name `{needle}`: {stderr}"
    );
}

#[test]
fn unknown_key_in_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("rankd.toml");
    std::fs::write(&file, "[server]\nlisen = \"127.0.0.1:0\"\n").unwrap();
    let output = rankd(&["serve", "--config", file.to_str().unwrap()], &[]);
    assert_fails_naming(&output, "lisen");
}

#[test]
fn bad_address_in_env_is_named() {
    let output = rankd(&["serve"], &[("RANKD_SERVER__LISTEN", "not-an-address")]);
    // figment names the key upper-cased, as the variable spells it, and the `RANKD_` source.
    assert_fails_naming(&output, "SERVER.LISTEN");
    assert_fails_naming(&output, "RANKD_");
}

#[test]
fn bad_address_flag_is_named() {
    let output = rankd(&["serve", "--listen", "999.1.1.1:80"], &[]);
    assert_fails_naming(&output, "--listen");
}

#[test]
fn missing_config_file_is_named() {
    let output = rankd(&["serve", "--config", "/nonexistent/rankd.toml"], &[]);
    assert_fails_naming(&output, "/nonexistent/rankd.toml");
}

#[test]
fn missing_index_dir_is_named() {
    let output = rankd(
        &[
            "serve",
            "--listen",
            "127.0.0.1:0",
            "--index-dir",
            "/nonexistent/index",
        ],
        &[],
    );
    assert_fails_naming(&output, "/nonexistent/index");
}
