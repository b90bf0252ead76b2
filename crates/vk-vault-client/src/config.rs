//! Connection settings (the agent's `vault { }` block, spec §1.3) and the TLS set-up.

use std::fmt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use crate::error::VaultError;

/// Where PEM data comes from: a file (read when the client is built) or the bytes themselves.
#[derive(Clone, PartialEq, Eq)]
pub enum PemSource {
    /// A file path.
    Path(PathBuf),
    /// PEM text.
    Pem(Vec<u8>),
}

impl fmt::Debug for PemSource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            PemSource::Path(p) => f.debug_tuple("Path").field(p).finish(),
            // Could be a private key: never print the bytes.
            PemSource::Pem(b) => write!(f, "Pem(<{} bytes>)", b.len()),
        }
    }
}

impl PemSource {
    fn origin(&self) -> String {
        match self {
            PemSource::Path(p) => p.display().to_string(),
            PemSource::Pem(_) => "inline PEM".to_string(),
        }
    }

    fn load(&self, what: &'static str) -> Result<Vec<u8>, VaultError> {
        match self {
            PemSource::Path(p) => read_file(what, p),
            PemSource::Pem(b) => Ok(b.clone()),
        }
    }
}

fn read_file(what: &'static str, path: &Path) -> Result<Vec<u8>, VaultError> {
    std::fs::read(path).map_err(|source| VaultError::ReadPem {
        what,
        path: path.to_path_buf(),
        source,
    })
}

/// Settings for [`crate::VaultClient`].
#[derive(Debug, Clone)]
pub struct ClientConfig {
    /// `https://host:port` or `http://host:port` (a trailing `/` is ignored).
    pub address: String,
    /// CA certificate(s) to trust instead of the system roots.
    pub ca_cert: Option<PemSource>,
    /// A directory of CA certificate files (every file is read), added to `ca_cert`.
    pub ca_path: Option<PathBuf>,
    /// Client certificate chain presented in TLS (needed by the `cert` auth method).
    pub client_cert: Option<PemSource>,
    /// Private key of `client_cert`.
    pub client_key: Option<PemSource>,
    /// Name the server certificate is verified against instead of the address' host.
    pub tls_server_name: Option<String>,
    /// Accept any server certificate.
    pub tls_skip_verify: bool,
    /// Sent as `X-Vault-Namespace` on every request when set.
    pub namespace: Option<String>,
    /// Per-request timeout (Vault's `VAULT_CLIENT_TIMEOUT`, default 60 s).
    pub timeout: Duration,
    /// Client-level retries of transient failures for non-login calls (`VAULT_MAX_RETRIES`,
    /// default 2). Logins are never retried here: the auth loop owns that.
    pub max_retries: u32,
    /// Pause before a client-level retry (Vault uses 1 s – 1.5 s).
    pub retry_wait: Duration,
    /// `User-Agent` header.
    pub user_agent: String,
    /// At most this many requests in flight at a time (the agent's
    /// `template_config.max_connections_per_host`); 0 means 16.
    pub max_in_flight: usize,
    /// Told about every request sent to Vault (status class, duration); `None`: nothing is.
    pub observer: Option<crate::RequestObserver>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            address: "https://127.0.0.1:8200".to_string(),
            ca_cert: None,
            ca_path: None,
            client_cert: None,
            client_key: None,
            tls_server_name: None,
            tls_skip_verify: false,
            namespace: None,
            timeout: Duration::from_secs(60),
            max_retries: 2,
            retry_wait: Duration::from_millis(1000),
            user_agent: concat!("vault-k8s-agent/", env!("CARGO_PKG_VERSION")).to_string(),
            max_in_flight: 0,
            observer: None,
        }
    }
}

impl ClientConfig {
    /// Defaults with the given address.
    pub fn new(address: impl Into<String>) -> Self {
        Self {
            address: address.into(),
            ..Self::default()
        }
    }
}

/// Builds the rustls client configuration from the settings. Uses the process-wide default
/// crypto provider (the binary installs ring); fails with [`VaultError::NoCryptoProvider`]
/// if there is none.
pub(crate) fn tls_config(cfg: &ClientConfig) -> Result<rustls::ClientConfig, VaultError> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .ok_or(VaultError::NoCryptoProvider)?;
    let builder = rustls::ClientConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .map_err(|source| VaultError::Tls {
            what: "protocol versions",
            source,
        })?;

    let builder = if cfg.tls_skip_verify {
        builder
            .dangerous()
            .with_custom_certificate_verifier(vk_http::accept_any_verifier(provider))
    } else {
        let verifier: Arc<dyn ServerCertVerifier> = match explicit_roots(cfg)? {
            Some(roots) => webpki_verifier(roots, provider)?,
            // Reading and parsing the system trust store costs milliseconds and memory; an
            // agent talking plain HTTP (the common in-cluster set-up) never needs it.
            None => vk_http::system_roots_verifier(
                provider,
                "set ca_cert or ca_path in the vault block",
            ),
        };
        let verifier = match &cfg.tls_server_name {
            Some(name) if !name.is_empty() => {
                let server_name = ServerName::try_from(name.clone()).map_err(|source| {
                    VaultError::InvalidServerName {
                        name: name.clone(),
                        source,
                    }
                })?;
                vk_http::fixed_name_verifier(verifier, server_name)
            }
            _ => verifier,
        };
        builder
            .dangerous()
            .with_custom_certificate_verifier(verifier)
    };

    let config = match (&cfg.client_cert, &cfg.client_key) {
        (Some(cert), Some(key)) => {
            let chain = parse_certs(cert.load("client_cert")?, "client_cert", &cert.origin())?;
            let key = parse_key(key.load("client_key")?, &key.origin())?;
            builder
                .with_client_auth_cert(chain, key)
                .map_err(|source| VaultError::Tls {
                    what: "client certificate and key",
                    source,
                })?
        }
        (None, None) => builder.with_no_client_auth(),
        (Some(_), None) => {
            return Err(VaultError::IncompleteClientCert {
                given: "client_cert",
            });
        }
        (None, Some(_)) => {
            return Err(VaultError::IncompleteClientCert {
                given: "client_key",
            });
        }
    };
    // The ALPN list is set by vk-http (HTTP/1.1).
    Ok(config)
}

fn webpki_verifier(
    roots: RootCertStore,
    provider: Arc<CryptoProvider>,
) -> Result<Arc<dyn ServerCertVerifier>, VaultError> {
    let verifier = WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider)
        .build()
        .map_err(|source| VaultError::Tls {
            what: "certificate verifier",
            source: rustls::Error::General(source.to_string()),
        })?;
    Ok(verifier)
}

/// The CAs of `ca_cert` and `ca_path`; `None` when neither is set (the system roots apply).
fn explicit_roots(cfg: &ClientConfig) -> Result<Option<RootCertStore>, VaultError> {
    if cfg.ca_cert.is_none() && cfg.ca_path.is_none() {
        return Ok(None);
    }
    let mut roots = RootCertStore::empty();
    if let Some(ca) = &cfg.ca_cert {
        add_certs(&mut roots, ca.load("ca_cert")?, &ca.origin())?;
    }
    if let Some(dir) = &cfg.ca_path {
        let entries = std::fs::read_dir(dir).map_err(|source| VaultError::ReadPem {
            what: "ca_path",
            path: dir.clone(),
            source,
        })?;
        for entry in entries {
            let entry = entry.map_err(|source| VaultError::ReadPem {
                what: "ca_path",
                path: dir.clone(),
                source,
            })?;
            let path = entry.path();
            if path.is_file() {
                let pem = read_file("ca_path", &path)?;
                add_certs(&mut roots, pem, &path.display().to_string())?;
            }
        }
    }
    Ok(Some(roots))
}

fn add_certs(roots: &mut RootCertStore, pem: Vec<u8>, origin: &str) -> Result<(), VaultError> {
    for cert in parse_certs(pem, "ca_cert", origin)? {
        roots.add(cert).map_err(|source| VaultError::Tls {
            what: "CA certificate",
            source,
        })?;
    }
    Ok(())
}

fn parse_certs(
    pem: Vec<u8>,
    what: &'static str,
    origin: &str,
) -> Result<Vec<CertificateDer<'static>>, VaultError> {
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| VaultError::ParsePem {
            what,
            origin: origin.to_string(),
            source: std::io::Error::other(e),
        })?;
    if certs.is_empty() {
        return Err(VaultError::EmptyPem {
            what: "certificate",
            origin: origin.to_string(),
        });
    }
    Ok(certs)
}

fn parse_key(pem: Vec<u8>, origin: &str) -> Result<PrivateKeyDer<'static>, VaultError> {
    match PrivateKeyDer::from_pem_slice(&pem) {
        Ok(key) => Ok(key),
        Err(pem::Error::NoItemsFound) => Err(VaultError::EmptyPem {
            what: "private key",
            origin: origin.to_string(),
        }),
        Err(e) => Err(VaultError::ParsePem {
            what: "client_key",
            origin: origin.to_string(),
            source: std::io::Error::other(e),
        }),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inline_pem_debug_hides_bytes() {
        let key = PemSource::Pem(b"-----BEGIN PRIVATE KEY-----\nMIIsecret\n".to_vec());
        let shown = format!("{key:?}");
        assert!(!shown.contains("MIIsecret"), "{shown}");
        assert!(shown.contains("bytes"));
    }

    #[test]
    fn client_cert_without_key_is_rejected() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cfg = ClientConfig {
            client_cert: Some(PemSource::Pem(b"x".to_vec())),
            ..ClientConfig::new("https://127.0.0.1:1")
        };
        assert!(matches!(
            tls_config(&cfg),
            Err(VaultError::IncompleteClientCert {
                given: "client_cert"
            })
        ));
    }

    #[test]
    fn missing_ca_file_names_the_file() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let cfg = ClientConfig {
            ca_cert: Some(PemSource::Path("/nonexistent/ca.pem".into())),
            ..ClientConfig::new("https://127.0.0.1:1")
        };
        let err = tls_config(&cfg)
            .err()
            .map(|e| e.to_string())
            .unwrap_or_default();
        assert_eq!(err, "reading ca_cert from /nonexistent/ca.pem");
    }
}
