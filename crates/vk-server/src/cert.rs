//! The serving certificate slot. File mode: loaded from a PEM cert/key pair and swapped in place
//! when the files change, so rotation (cert-manager, a re-mounted Secret) needs no restart.
//! Auto-TLS mode: starts empty and is filled by [`ReloadingCert::install`]; until then every
//! handshake fails, so nothing is served without a certificate.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use rustls::crypto::ring as provider;
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::{ClientHello, ResolvesServerCert};
use rustls::sign::CertifiedKey;
use rustls::{Error as RustlsError, InconsistentKeys};
use tokio::sync::watch;

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
    #[error("parsing the {kind} PEM to install")]
    InstallPem {
        kind: &'static str,
        #[source]
        source: io::Error,
    },
    #[error("no CERTIFICATE block in the certificate PEM to install")]
    InstallNoCertificate,
    #[error("no private key block (PKCS#8, PKCS#1 or SEC1) in the key PEM to install")]
    InstallNoKey,
    #[error("the private key to install does not belong to the certificate to install")]
    InstallKeyMismatch,
    #[error("the key to install cannot be used with the certificate to install")]
    InstallUnusable(#[source] rustls::Error),
}

/// Why an in-memory certificate/key pair is unusable (mapped onto [`CertError`] by callers).
#[derive(Debug)]
pub(crate) enum PairError {
    Pem {
        kind: &'static str,
        source: io::Error,
    },
    NoCertificate,
    NoKey,
    KeyMismatch,
    Unusable(rustls::Error),
}

/// A rustls certificate resolver whose certificate can be replaced while serving. It may start
/// empty ([`ReloadingCert::empty`]); handshakes fail until a certificate is installed.
#[derive(Debug)]
pub struct ReloadingCert {
    current: RwLock<Option<Arc<CertifiedKey>>>,
    loaded: watch::Sender<bool>,
    /// How many certificates were put in the slot (the one loaded at start included).
    installed: std::sync::atomic::AtomicU64,
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
            current: RwLock::new(Some(Arc::new(key))),
            loaded: watch::Sender::new(true),
            installed: std::sync::atomic::AtomicU64::new(1),
        }
    }

    /// A slot without a certificate: handshakes fail until [`ReloadingCert::install`] succeeds.
    pub fn empty() -> Self {
        Self {
            current: RwLock::new(None),
            loaded: watch::Sender::new(false),
            installed: std::sync::atomic::AtomicU64::new(0),
        }
    }

    /// The certificate new handshakes get, if one is loaded.
    pub fn current(&self) -> Option<Arc<CertifiedKey>> {
        // A poisoned lock still holds a complete value (the swap is a single assignment).
        self.current
            .read()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }

    /// Validate a PEM certificate (chain) and its private key (PKCS#8, PKCS#1 or SEC1) and serve
    /// them from the next handshake on. A bad pair is rejected and the current one stays.
    pub fn install(
        &self,
        cert_pem: impl AsRef<[u8]>,
        key_pem: impl AsRef<[u8]>,
    ) -> Result<(), CertError> {
        let key = parse_pem_pair(cert_pem.as_ref(), key_pem.as_ref()).map_err(|err| match err {
            PairError::Pem { kind, source } => CertError::InstallPem { kind, source },
            PairError::NoCertificate => CertError::InstallNoCertificate,
            PairError::NoKey => CertError::InstallNoKey,
            PairError::KeyMismatch => CertError::InstallKeyMismatch,
            PairError::Unusable(source) => CertError::InstallUnusable(source),
        })?;
        self.replace(key);
        Ok(())
    }

    /// Whether a certificate is loaded (always true in file mode).
    pub fn is_loaded(&self) -> bool {
        *self.loaded.borrow()
    }

    /// Follows [`ReloadingCert::is_loaded`]; it only ever changes from false to true.
    pub fn loaded(&self) -> watch::Receiver<bool> {
        self.loaded.subscribe()
    }

    /// How many times the certificate was replaced after the first one was loaded.
    pub fn reloads(&self) -> u64 {
        self.installed
            .load(std::sync::atomic::Ordering::Relaxed)
            .saturating_sub(1)
    }

    /// When the served leaf certificate expires, in seconds since the Unix epoch (`None`
    /// while no certificate is loaded).
    pub fn not_after_unix(&self) -> Option<i64> {
        let key = self.current()?;
        let leaf = key.cert.first()?;
        let (_, cert) = x509_parser::parse_x509_certificate(leaf.as_ref()).ok()?;
        Some(cert.validity().not_after.timestamp())
    }

    fn replace(&self, key: CertifiedKey) {
        self.installed
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        *self.current.write().unwrap_or_else(|p| p.into_inner()) = Some(Arc::new(key));
        self.loaded
            .send_if_modified(|loaded| !std::mem::replace(loaded, true));
    }
}

impl ResolvesServerCert for ReloadingCert {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.current()
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
    parse_pem_pair(cert_pem, key_pem).map_err(|err| match err {
        PairError::Pem { kind, source } => CertError::Pem {
            kind,
            path: if kind == "key" {
                files.key.clone()
            } else {
                files.cert.clone()
            },
            source,
        },
        PairError::NoCertificate => CertError::NoCertificate(files.cert.clone()),
        PairError::NoKey => CertError::NoKey(files.key.clone()),
        PairError::KeyMismatch => CertError::Unusable {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source: RustlsError::InconsistentKeys(InconsistentKeys::KeyMismatch),
        },
        PairError::Unusable(source) => CertError::Unusable {
            cert: files.cert.clone(),
            key: files.key.clone(),
            source,
        },
    })
}

/// Parse a PEM certificate chain and private key into what rustls serves.
pub(crate) fn parse_pem_pair(cert_pem: &[u8], key_pem: &[u8]) -> Result<CertifiedKey, PairError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| PairError::Pem {
            kind: "certificate",
            source: std::io::Error::other(e),
        })?;
    if chain.is_empty() {
        return Err(PairError::NoCertificate);
    }
    let key = match PrivateKeyDer::from_pem_slice(key_pem) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => return Err(PairError::NoKey),
        Err(e) => {
            return Err(PairError::Pem {
                kind: "key",
                source: std::io::Error::other(e),
            });
        }
    };
    // from_der also checks that the key belongs to the leaf certificate, which catches a
    // half-finished rotation (new cert, old key) before it reaches a handshake.
    CertifiedKey::from_der(chain, key, &provider::default_provider()).map_err(|err| match err {
        RustlsError::InconsistentKeys(InconsistentKeys::KeyMismatch) => PairError::KeyMismatch,
        other => PairError::Unusable(other),
    })
}

#[cfg(test)]
mod tests;
