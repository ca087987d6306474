//! A real `rankd serve` process on loopback ports, for tests about what a run leaves behind
//! (logs, files) and about what another process may do beside it.

use std::fs::OpenOptions;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tonic::transport::{Channel, Endpoint};

pub const RANKD: &str = env!("CARGO_BIN_EXE_rankd");

fn free_port() -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.local_addr().unwrap()
}

pub struct ServeProcess {
    pub addr: SocketAddr,
    pub metrics_addr: SocketAddr,
    child: Child,
}

impl ServeProcess {
    /// Starts `rankd serve` over `<dir>/index` with its feedback log under `<dir>/data`,
    /// logging everything (`RUST_LOG=trace`) to `log`, appended across restarts.
    pub fn start(dir: &Path, log: &Path) -> ServeProcess {
        let (addr, metrics_addr) = (free_port(), free_port());
        let log = OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .unwrap();
        let child = Command::new(RANKD)
            .args(["serve", "--listen", &addr.to_string()])
            .args(["--metrics-listen", &metrics_addr.to_string()])
            .args(["--index-dir", dir.join("index").to_str().unwrap()])
            .env("RANKD_FEEDBACK__DATA_DIR", dir.join("data"))
            .env("RANKD_MODEL__DEVICE", "cpu")
            .env("RANKD_SERVER__DRAIN_DELAY_MS", "0")
            .env("RUST_LOG", "trace")
            .env("RANKD_TLS__PLAINTEXT", "true")
            .env("RANKD_AUTH__DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()
            .unwrap();
        ServeProcess {
            addr,
            metrics_addr,
            child,
        }
    }

    pub async fn channel(&self) -> Channel {
        for _ in 0..400 {
            if let Ok(channel) = Endpoint::from_shared(format!("http://{}", self.addr))
                .unwrap()
                .connect()
                .await
            {
                return channel;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("rankd serve never listened on {}", self.addr);
    }

    /// The `/metrics` text.
    pub async fn scrape(&self) -> String {
        let mut stream = tokio::net::TcpStream::connect(self.metrics_addr)
            .await
            .unwrap();
        stream
            .write_all(b"GET /metrics HTTP/1.1\r\nHost: rankd\r\nConnection: close\r\n\r\n")
            .await
            .unwrap();
        let mut text = String::new();
        stream.read_to_string(&mut text).await.unwrap();
        text
    }

    /// SIGTERM, as an orchestrator stops it, then waits for the graceful exit.
    pub fn stop(mut self) {
        let pid = self.child.id().to_string();
        let sent = Command::new("kill").args(["-TERM", &pid]).status().unwrap();
        assert!(sent.success());
        let status = self.child.wait().unwrap();
        assert!(status.success(), "rankd serve exited with {status}");
    }
}

impl Drop for ServeProcess {
    /// A failing test never leaves a server behind (no-op after `stop`).
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

/// Runs `rankd` with `args` and returns what it did.
pub fn rankd(args: &[&str]) -> Output {
    Command::new(RANKD).args(args).output().unwrap()
}

/// Runs `rankd` with `args`, `stdin` as its input.
/// `rankd feedback export` of the log under `data_dir` into `out`; returns the CSV text.
pub fn export_feedback(data_dir: &Path, out: &Path) -> String {
    let exported = rankd(&[
        "feedback",
        "export",
        "--out",
        out.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ]);
    assert!(exported.status.success(), "{exported:?}");
    std::fs::read_to_string(out).unwrap()
}

pub fn rankd_with_stdin(args: &[&str], stdin: &str) -> Output {
    use std::io::Write;
    let mut child = Command::new(RANKD)
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut input = child.stdin.take().unwrap();
    input.write_all(stdin.as_bytes()).unwrap();
    drop(input);
    child.wait_with_output().unwrap()
}

/// Every file under `dir`, recursively.
pub fn files_under(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            files.extend(files_under(&path));
        } else {
            files.push(path);
        }
    }
    files
}
