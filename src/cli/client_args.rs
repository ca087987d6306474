//! The TLS flags every client subcommand shares (each has its own `--target`). The bearer
//! token is read from `RANKD_TOKEN`, never from a flag (see `rankd::client`).

use std::path::PathBuf;

use clap::Args as ClapArgs;

use rankd::client::ClientOptions;

#[derive(Debug, Clone, ClapArgs)]
pub struct ClientTlsArgs {
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

impl ClientTlsArgs {
    /// Options for `target` (`host:port`), with the token from `RANKD_TOKEN`.
    pub fn options(&self, target: &str) -> ClientOptions {
        ClientOptions {
            ca_file: self.ca_file.clone(),
            identity: self.cert_file.clone().zip(self.key_file.clone()),
            domain: self.tls_domain.clone(),
            ..ClientOptions::new(target)
        }
    }
}
