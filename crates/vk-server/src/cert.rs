//! The serving certificate: loaded from a PEM cert/key pair and swapped in place when the files
//! change, so rotation (cert-manager, a re-mounted Secret) needs no restart.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::crypto::ring as provider;
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;

/// Where the serving certificate and key live.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CertFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
}

/// A certificate/key pair that cannot be used; each variant names the file to fix.
#[derive(Debug, thiserror::Error)]
pub enum CertError {
    #[error("reading {kind} file {path}")]
    Read {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("parsing PEM in {kind} file {path}")]
    Pem {
        kind: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("no CERTIFICATE block in certificate file {0}")]
    NoCertificate(PathBuf),
    #[error("no private key block (PKCS#8, PKCS#1 or SEC1) in key file {0}")]
    NoKey(PathBuf),
    #[error("key file {key} does not hold a usable key for certificate file {cert}")]
    Unusable {
        cert: PathBuf,
        key: PathBuf,
        #[source]
        source: rustls::Error,
    },
}

/// A rustls certificate resolver whose certificate can be replaced while serving.
#[derive(Debug)]
pub struct ReloadingCert {
    current: RwLock<Arc<CertifiedKey>>,
}

/// Polls the certificate files and swaps the resolver's certificate when their contents change.
#[derive(Debug)]
pub struct CertWatcher {
    files: CertFiles,
    resolver: Arc<ReloadingCert>,
    seen: (Vec<u8>, Vec<u8>),
}

// === ReloadingCert ===

impl ReloadingCert {
    fn new(key: CertifiedKey) -> Self {
        Self {
            current: RwLock::new(Arc::new(key)),
        }
    }

    /// The certificate new handshakes get.
    pub fn current(&self) -> Arc<CertifiedKey> {
        // A poisoned lock still holds a complete Arc (the swap is a single assignment).
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    fn replace(&self, key: CertifiedKey) {
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Arc::new(key);
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(self.current())
    }
}

// === CertWatcher ===

impl CertWatcher {
    /// Load the pair once; a failure here is a start-up error.
    pub fn load(files: CertFiles) -> Result<Self, CertError> {
        let cert_pem = read(&files.cert, "certificate")?;
        let key_pem = read(&files.key, "key")?;
        let key = parse_pair(&files, &cert_pem, &key_pem)?;
        Ok(Self {
            files,
            resolver: Arc::new(ReloadingCert::new(key)),
            seen: (cert_pem, key_pem),
        })
    }

    /// The resolver to put into the TLS configuration.
    pub fn resolver(&self) -> Arc<ReloadingCert> {
        self.resolver.clone()
    }

    /// Check the files once: swap the certificate if their contents changed and parse.
    /// Returns `Ok(true)` after a swap; a bad new pair leaves the old certificate in place.
    pub fn poll_once(&mut self) -> Result<bool, CertError> {
        let cert_pem = read(&self.files.cert, "certificate")?;
        let key_pem = read(&self.files.key, "key")?;
        if self.seen.0 == cert_pem && self.seen.1 == key_pem {
            return Ok(false);
        }
        // Remember the contents even when they are bad, so one broken write is reported once and
        // a later fix (of either file) is picked up.
        self.seen = (cert_pem, key_pem);
        let key = parse_pair(&self.files, &self.seen.0, &self.seen.1)?;
        self.resolver.replace(key);
        Ok(true)
    }

    /// Poll forever every `interval`, logging swaps and errors. Runs until its task is dropped.
    pub async fn run(mut self, interval: Duration) {
        let mut ticker = tokio::time::interval(interval);
        ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_error: Option<String> = None;
        loop {
            ticker.tick().await;
            // File reads are small; blocking the worker for them briefly is cheaper than a
            // blocking-pool round trip every 250 ms.
            match self.poll_once() {
                Ok(true) => {
                    last_error = None;
                    tracing::info!(cert = %self.files.cert.display(), "Reloaded serving certificate");
                }
                Ok(false) => last_error = None,
                Err(err) => {
                    let text = format!("{err:#}");
                    // Missing files (mid-rotation) repeat every poll; log each distinct error once.
                    if last_error.as_deref() != Some(text.as_str()) {
                        tracing::error!(error = %vk_telemetry::ErrorChain(&err), "Keeping the previous serving certificate");
                        last_error = Some(text);
                    }
                }
            }
        }
    }
}

fn read(path: &Path, kind: &'static str) -> Result<Vec<u8>, CertError> {
    std::fs::read(path).map_err(|source| CertError::Read {
        kind,
        path: path.to_owned(),
        source,
    })
}

fn parse_pair(
    files: &CertFiles,
    cert_pem: &[u8],
    key_pem: &[u8],
) -> Result<CertifiedKey, CertError> {
    let chain = rustls_pemfile::certs(&mut &cert_pem[..])
        .collect::<Result<Vec<_>, _>>()
        .map_err(|source| CertError::Pem {
            kind: "certificate",
            path: files.cert.clone(),
            source,
        })?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate(files.cert.clone()));
    }
    let key = rustls_pemfile::private_key(&mut &key_pem[..])
        .map_err(|source| CertError::Pem {
            kind: "key",
            path: files.key.clone(),
            source,
        })?
        .ok_or_else(|| CertError::NoKey(files.key.clone()))?;
    // from_der also checks that the key belongs to the leaf certificate, which catches a
    // half-finished rotation (new cert, old key) before it reaches a handshake.
    CertifiedKey::from_der(chain, key, &provider::default_provider()).map_err(|source| {
        CertError::Unusable {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        }
    })
}

#[cfg(test)]
mod tests;
