//! Connecting to a rankd server as a client — TLS with the server's CA, an optional client
//! identity for mTLS, and the bearer token — for the command-line tools and the tests.
//!
//! The token comes from the [`TOKEN_ENV`] variable, never from a flag: argv is readable by
//! every local user through `/proc` and ends up in shell history.

use std::path::PathBuf;

use tonic::metadata::{Ascii, MetadataValue};
use tonic::service::Interceptor;
use tonic::transport::{Certificate, Channel, ClientTlsConfig, Endpoint, Identity};
use tonic::{Request, Status};

use crate::server::{TlsError, read_certificates, read_private_key};

/// The variable the tools read their bearer token from.
pub const TOKEN_ENV: &str = "RANKD_TOKEN";

/// How to reach a server.
#[derive(Debug, Clone, Default)]
pub struct ClientOptions {
    /// `host:port`.
    pub target: String,
    /// PEM CA that signed the server's certificate; set: TLS, unset: plaintext.
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate and key, for servers that require mTLS.
    pub identity: Option<(PathBuf, PathBuf)>,
    /// Name the server's certificate must carry, when it differs from the target's host.
    pub domain: Option<String>,
    /// Sent as `authorization: Bearer <token>` on every call.
    pub token: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error(transparent)]
    Tls(#[from] TlsError),
    #[error("{TOKEN_ENV} is not a valid metadata value (visible ASCII only)")]
    Token,
    #[error("connecting to {target}: {source}")]
    Connect {
        target: String,
        source: tonic::transport::Error,
    },
}

impl ClientOptions {
    /// Plaintext options for `target`, with the token from [`TOKEN_ENV`] when set.
    pub fn new(target: impl Into<String>) -> Self {
        ClientOptions {
            target: target.into(),
            token: std::env::var(TOKEN_ENV).ok().filter(|t| !t.is_empty()),
            ..ClientOptions::default()
        }
    }

    /// Opens one HTTP/2 connection (with TLS when a CA is given).
    pub async fn connect(&self) -> Result<Channel, ClientError> {
        let connect_error = |source| ClientError::Connect {
            target: self.target.clone(),
            source,
        };
        let scheme = if self.ca_file.is_some() {
            "https"
        } else {
            "http"
        };
        let mut endpoint =
            Endpoint::from_shared(format!("{scheme}://{}", self.target)).map_err(connect_error)?;
        if let Some(ca_file) = &self.ca_file {
            let ca = read_certificates("--ca-file", ca_file)?;
            let mut tls = ClientTlsConfig::new().ca_certificate(Certificate::from_pem(ca));
            if let Some((cert, key)) = &self.identity {
                tls = tls.identity(Identity::from_pem(
                    read_certificates("--cert-file", cert)?,
                    read_private_key("--key-file", key)?,
                ));
            }
            if let Some(domain) = &self.domain {
                tls = tls.domain_name(domain);
            }
            endpoint = endpoint.tls_config(tls).map_err(connect_error)?;
        }
        endpoint
            .tcp_nodelay(true)
            .connect()
            .await
            .map_err(connect_error)
    }

    /// The interceptor that adds the token to each call (a no-op without one).
    pub fn bearer(&self) -> Result<BearerToken, ClientError> {
        let value = self
            .token
            .as_ref()
            .map(|token| format!("Bearer {token}").parse())
            .transpose()
            .map_err(|_| ClientError::Token)?;
        Ok(BearerToken(value))
    }
}

/// Adds `authorization: Bearer <token>` to every request.
#[derive(Debug, Clone)]
pub struct BearerToken(Option<MetadataValue<Ascii>>);

impl Interceptor for BearerToken {
    fn call(&mut self, mut request: Request<()>) -> Result<Request<()>, Status> {
        if let Some(value) = &self.0 {
            request
                .metadata_mut()
                .insert("authorization", value.clone());
        }
        Ok(request)
    }
}
