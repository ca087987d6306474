//! TLS for the gRPC listener: rustls through tonic, server identity from PEM files and, when a
//! client CA is configured, mandatory client certificates (mTLS).
//!
//! The files are read and parsed here, before tonic sees them, so a wrong path, an empty file
//! or a key in the certificate slot is refused at start with the file named — tonic would only
//! report a generic error at the first handshake or at bind time.

use std::path::{Path, PathBuf};

use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use serde::{Deserialize, Serialize};
use tonic::transport::{Certificate, Identity, ServerTlsConfig};

/// The `[tls]` config section.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct TlsConfig {
    /// PEM certificate chain of the server (leaf first).
    pub cert_file: Option<PathBuf>,
    /// PEM private key of `cert_file` (PKCS#8, PKCS#1 or SEC1).
    pub key_file: Option<PathBuf>,
    /// PEM bundle of CAs whose client certificates are accepted; when set, every client must
    /// present one (mTLS).
    pub client_ca_file: Option<PathBuf>,
    /// Serve without TLS. Must be said explicitly: traffic, tokens and user ids then cross
    /// the network in clear. Meant for loopback demos and tests, or behind a mesh that
    /// terminates TLS for the pod.
    pub plaintext: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(
        "no TLS configured: set tls.cert_file and tls.key_file, or tls.plaintext = true to \
         serve without encryption"
    )]
    NotConfigured,
    #[error("tls.plaintext = true contradicts `{0}`; choose one")]
    Contradiction(&'static str),
    #[error("`{0}` is set without tls.cert_file / tls.key_file")]
    Incomplete(&'static str),
    #[error("{key} {path}: {source}")]
    Read {
        key: &'static str,
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{key} {path}: {problem}")]
    Pem {
        key: &'static str,
        path: PathBuf,
        problem: String,
    },
}

impl TlsConfig {
    /// The tonic TLS setup, or `None` for an explicitly plaintext server.
    pub fn server_config(&self) -> Result<Option<ServerTlsConfig>, TlsError> {
        if self.plaintext {
            for (key, value) in [
                ("tls.cert_file", &self.cert_file),
                ("tls.key_file", &self.key_file),
                ("tls.client_ca_file", &self.client_ca_file),
            ] {
                if value.is_some() {
                    return Err(TlsError::Contradiction(key));
                }
            }
            return Ok(None);
        }
        let (cert_path, key_path) = match (&self.cert_file, &self.key_file) {
            (Some(cert), Some(key)) => (cert, key),
            (None, None) if self.client_ca_file.is_some() => {
                return Err(TlsError::Incomplete("tls.client_ca_file"));
            }
            (None, None) => return Err(TlsError::NotConfigured),
            (Some(_), None) => return Err(TlsError::Incomplete("tls.cert_file")),
            (None, Some(_)) => return Err(TlsError::Incomplete("tls.key_file")),
        };
        let cert = read_certificates("tls.cert_file", cert_path)?;
        let key = read_private_key("tls.key_file", key_path)?;
        let mut config = ServerTlsConfig::new().identity(Identity::from_pem(cert, key));
        if let Some(ca_path) = &self.client_ca_file {
            let ca = read_certificates("tls.client_ca_file", ca_path)?;
            config = config.client_ca_root(Certificate::from_pem(ca));
        }
        Ok(Some(config))
    }

    /// Whether clients must present a certificate.
    pub fn mutual(&self) -> bool {
        !self.plaintext && self.client_ca_file.is_some()
    }
}

/// A PEM file holding at least one certificate; returns its bytes for tonic.
pub fn read_certificates(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = read(key, path)?;
    let mut found = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        cert.map_err(|e| pem_error(key, path, format!("unreadable certificate: {e}")))?;
        found += 1;
    }
    if found == 0 {
        return Err(pem_error(key, path, "holds no PEM certificate".into()));
    }
    Ok(pem)
}

/// A PEM file holding one private key; returns its bytes for tonic.
pub fn read_private_key(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    let pem = read(key, path)?;
    PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| pem_error(key, path, format!("holds no usable private key ({e})")))?;
    Ok(pem)
}

fn read(key: &'static str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|source| TlsError::Read {
        key,
        path: path.to_path_buf(),
        source,
    })
}

fn pem_error(key: &'static str, path: &Path, problem: String) -> TlsError {
    TlsError::Pem {
        key,
        path: path.to_path_buf(),
        problem,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(cert: Option<&Path>, key: Option<&Path>) -> TlsConfig {
        TlsConfig {
            cert_file: cert.map(Path::to_path_buf),
            key_file: key.map(Path::to_path_buf),
            ..TlsConfig::default()
        }
    }

    #[test]
    fn nothing_configured_is_refused_with_the_way_out() {
        let err = TlsConfig::default().server_config().unwrap_err();
        assert!(err.to_string().contains("tls.plaintext = true"), "{err}");
    }

    #[test]
    fn plaintext_with_a_certificate_is_a_contradiction() {
        let mut tls = config(Some(Path::new("c.pem")), None);
        tls.plaintext = true;
        let err = tls.server_config().unwrap_err();
        assert!(err.to_string().contains("tls.cert_file"), "{err}");
        assert!(!tls.mutual());
    }

    #[test]
    fn half_an_identity_names_the_missing_half() {
        let err = config(Some(Path::new("c.pem")), None)
            .server_config()
            .unwrap_err();
        assert!(err.to_string().contains("tls.cert_file"), "{err}");
    }

    #[test]
    fn bad_files_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let not_pem = dir.path().join("cert.pem");
        std::fs::write(&not_pem, "hello").unwrap();
        let missing = dir.path().join("missing.pem");
        let err = config(Some(&not_pem), Some(&missing))
            .server_config()
            .unwrap_err();
        assert!(
            err.to_string().contains("tls.cert_file") && err.to_string().contains("cert.pem"),
            "{err}"
        );
        let err = read_private_key("tls.key_file", &missing).unwrap_err();
        assert!(err.to_string().contains("missing.pem"), "{err}");
        let err = read_private_key("tls.key_file", &not_pem).unwrap_err();
        assert!(err.to_string().contains("no usable private key"), "{err}");
    }
}
