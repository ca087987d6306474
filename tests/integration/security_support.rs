//! Test certificates (a CA, a server certificate for localhost / 127.0.0.1 and a client
//! certificate) and token files, written to a temporary folder.

use std::path::PathBuf;

use rankd::server::TlsConfig;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};

pub const RANK_TOKEN: &str = "rank-token-7f3a9c1e5b2d4f60";
pub const FEEDBACK_TOKEN: &str = "feedback-token-1c2d3e4f5a6b7c8d";
pub const ADMIN_TOKEN: &str = "admin-token-9e8d7c6b5a4f3e2d";

pub struct Pki {
    /// Holds the files; they go when the test ends.
    _dir: tempfile::TempDir,
    pub ca: PathBuf,
    pub server_cert: PathBuf,
    pub server_key: PathBuf,
    pub client_cert: PathBuf,
    pub client_key: PathBuf,
}

impl Pki {
    /// `[tls]` with the server's certificate and key (no client CA).
    pub fn server_tls(&self) -> TlsConfig {
        TlsConfig {
            cert_file: Some(self.server_cert.clone()),
            key_file: Some(self.server_key.clone()),
            ..TlsConfig::default()
        }
    }
}

pub fn pki() -> Pki {
    let dir = tempfile::tempdir().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let write = |name: &str, pem: String| {
        let path = dir.path().join(name);
        std::fs::write(&path, pem).unwrap();
        path
    };
    let leaf = |names: Vec<String>, cert: &str, key: &str| {
        let key_pair = KeyPair::generate().unwrap();
        let params = CertificateParams::new(names).unwrap();
        let signed = params.signed_by(&key_pair, &ca).unwrap();
        (
            write(cert, signed.pem()),
            write(key, key_pair.serialize_pem()),
        )
    };
    let (server_cert, server_key) = leaf(
        vec!["localhost".into(), "127.0.0.1".into()],
        "server.pem",
        "server.key",
    );
    let (client_cert, client_key) = leaf(vec!["shop-backend".into()], "client.pem", "client.key");
    let ca = write("ca.pem", ca.pem());
    Pki {
        _dir: dir,
        ca,
        server_cert,
        server_key,
        client_cert,
        client_key,
    }
}

/// A tokens file with one token per role (and a comment, as operators write them).
pub fn tokens_file(dir: &std::path::Path) -> PathBuf {
    let path = dir.join("tokens");
    std::fs::write(
        &path,
        format!(
            "# role  token\nrank {RANK_TOKEN}\nfeedback {FEEDBACK_TOKEN}\nadmin {ADMIN_TOKEN}\n"
        ),
    )
    .unwrap();
    path
}
