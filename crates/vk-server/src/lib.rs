//! Generic HTTPS serving for the project's services: TLS settings from Go-style flag values,
//! a certificate/key pair reloaded from disk without a restart or installed in memory,
//! self-generated serving certificates and their CA ([`autotls`]), binding, serving an axum
//! router over HTTP/1.1 and HTTP/2, and a graceful drain on SIGTERM/SIGINT.
//!
//! Owns: everything between a TCP socket and an axum `Router`. Must never: know about admission
//! reviews, pods or Vault; install a global crypto provider (the binary does that once).

pub mod autotls;
mod cert;
mod limits;
mod serve;
mod signal;
mod tls;

pub use cert::{CertError, CertFiles, CertWatcher, ReloadingCert};
pub use limits::{
    H2_MAX_CONCURRENT_STREAMS, H2_MAX_HEADER_LIST_SIZE, HEADER_READ_TIMEOUT, IDLE_TIMEOUT,
    IdleTimeout, MAX_CONNECTIONS, ServeLimits,
};
pub use serve::{Bound, ServeError, bind};
pub use signal::{ShutdownSignal, ShutdownSignals};
pub use tls::{
    TlsConfigError, TlsMinVersion, TlsSettings, parse_cipher_suites, supported_cipher_names,
};
