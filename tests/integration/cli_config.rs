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

/// `rankd serve` on an existing empty index root, ports 0, with `env` added.
fn serve_with(env: &[(&str, &str)]) -> Output {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let mut all = vec![
        ("RANKD_SERVER__METRICS_LISTEN", "127.0.0.1:0"),
        ("RANKD_FEEDBACK__DATA_DIR", data.to_str().unwrap()),
    ];
    all.extend_from_slice(env);
    let index = dir.path().to_str().unwrap();
    rankd(
        &["serve", "--listen", "127.0.0.1:0", "--index-dir", index],
        &all,
    )
}

#[test]
fn serving_without_tls_must_be_asked_for() {
    assert_fails_naming(&serve_with(&[]), "tls.plaintext = true");
}

#[test]
fn serving_without_tokens_must_be_asked_for() {
    let output = serve_with(&[("RANKD_TLS__PLAINTEXT", "true")]);
    assert_fails_naming(&output, "auth.disabled = true");
}

#[test]
fn a_bad_token_entry_is_named_without_echoing_the_token() {
    let output = serve_with(&[
        ("RANKD_TLS__PLAINTEXT", "true"),
        (
            "RANKD_TOKENS",
            "rank good-token-0123456789;ranker secret-token-0123456789",
        ),
    ]);
    assert_fails_naming(&output, "RANKD_TOKENS entry 2: unknown role `ranker`");
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(!stderr.contains("secret-token"), "{stderr}");
}

#[test]
fn a_missing_certificate_file_is_named() {
    let output = serve_with(&[
        ("RANKD_TLS__CERT_FILE", "/nonexistent/server.pem"),
        ("RANKD_TLS__KEY_FILE", "/nonexistent/server.key"),
    ]);
    assert_fails_naming(&output, "tls.cert_file /nonexistent/server.pem");
}
