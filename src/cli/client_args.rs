//! The connection flags every client subcommand shares. The bearer token is read from
//! `RANKD_TOKEN`, never from a flag (see `rankd::client`).

use std::path::PathBuf;

use clap::Args as ClapArgs;

use rankd::client::ClientOptions;

#[derive(Debug, Clone, ClapArgs)]
pub struct ClientArgs {
    /// Server address, e.g. 127.0.0.1:50051.
    #[arg(long)]
    pub target: String,
    /// PEM CA that signed the server's certificate: connect with TLS (plaintext without it).
    #[arg(long)]
    pub ca_file: Option<PathBuf>,
    /// PEM client certificate, for servers that require mTLS (with --key-file).
    #[arg(long, requires = "key_file", requires = "ca_file")]
    pub cert_file: Option<PathBuf>,
    /// PEM private key of --cert-file.
    #[arg(long, requires = "cert_file")]
    pub key_file: Option<PathBuf>,
    /// Name the server's certificate must carry, when it is not the target's host.
    #[arg(long, requires = "ca_file")]
    pub tls_domain: Option<String>,
}

impl ClientArgs {
    pub fn options(&self) -> ClientOptions {
        ClientOptions {
            ca_file: self.ca_file.clone(),
            identity: self.cert_file.clone().zip(self.key_file.clone()),
            domain: self.tls_domain.clone(),
            ..ClientOptions::new(&self.target)
        }
    }
}
