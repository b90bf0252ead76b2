//! TLS parameters: `-tls-min-version` and `-tls-cipher-suites` (Go names) → a rustls `ServerConfig`.

use std::sync::Arc;

use rustls::crypto::ring as provider;
use rustls::server::ResolvesServerCert;
use rustls::{ServerConfig, SupportedCipherSuite};

/// Protocol floor selected by `-tls-min-version`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMinVersion {
    Tls10,
    Tls11,
    Tls12,
    Tls13,
}

/// Validated TLS parameters.
#[derive(Debug, Clone)]
pub struct TlsSettings {
    pub min_version: TlsMinVersion,
    /// TLS 1.2 suites to offer; `None` means the provider's defaults. TLS 1.3 suites are always
    /// offered, as in Go where the list only restricts TLS 1.0–1.2.
    pub tls12_suites: Option<Vec<SupportedCipherSuite>>,
}

/// A TLS flag value that cannot be used. Messages reproduce upstream's where upstream has one.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum TlsConfigError {
    #[error("invalid or unsupported TLS version \"{0}\"")]
    InvalidVersion(String),
    #[error("failed to parse TLS cipher suites list \"{list}\": unsupported cipher \"{item}\"")]
    UnknownCipher { list: String, item: String },
    #[error(
        "cipher suite \"{item}\" is not available in this implementation (no RC4, 3DES, CBC or RSA key \
         exchange suites); remove it from -tls-cipher-suites; supported: {supported}"
    )]
    UnavailableCipher { item: String, supported: String },
    #[error("building the TLS server configuration")]
    Build(#[source] rustls::Error),
}

/// How a Go cipher-suite name maps onto rustls.
enum Suite {
    Tls12(SupportedCipherSuite),
    /// TLS 1.3 suites are accepted but, as in Go, do not restrict anything.
    Tls13,
    /// Known to Go but not implemented by rustls.
    Unavailable,
}

// Every name Go's tlsutil accepts (spec §5.5.1), with its rustls counterpart.
fn lookup(name: &str) -> Option<Suite> {
    use provider::cipher_suite as cs;
    let suite = match name {
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256" => {
            Suite::Tls12(cs::TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256)
        }
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256" => {
            Suite::Tls12(cs::TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256)
        }
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384" => {
            Suite::Tls12(cs::TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384)
        }
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384" => {
            Suite::Tls12(cs::TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384)
        }
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305" | "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256" => {
            Suite::Tls12(cs::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256)
        }
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305"
        | "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256" => {
            Suite::Tls12(cs::TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256)
        }
        "TLS_AES_128_GCM_SHA256" | "TLS_AES_256_GCM_SHA384" | "TLS_CHACHA20_POLY1305_SHA256" => {
            Suite::Tls13
        }
        "TLS_RSA_WITH_RC4_128_SHA"
        | "TLS_RSA_WITH_3DES_EDE_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_RSA_WITH_AES_256_CBC_SHA"
        | "TLS_RSA_WITH_AES_128_CBC_SHA256"
        | "TLS_RSA_WITH_AES_128_GCM_SHA256"
        | "TLS_RSA_WITH_AES_256_GCM_SHA384"
        | "TLS_ECDHE_ECDSA_WITH_RC4_128_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_256_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_RC4_128_SHA"
        | "TLS_ECDHE_RSA_WITH_3DES_EDE_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA"
        | "TLS_ECDHE_RSA_WITH_AES_256_CBC_SHA"
        | "TLS_ECDHE_ECDSA_WITH_AES_128_CBC_SHA256"
        | "TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA256" => Suite::Unavailable,
        _ => return None,
    };
    Some(suite)
}

/// The Go names this implementation can honour, for error messages and documentation.
pub fn supported_cipher_names() -> &'static [&'static str] {
    &[
        "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
        "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305",
        "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
        "TLS_AES_128_GCM_SHA256",
        "TLS_AES_256_GCM_SHA384",
        "TLS_CHACHA20_POLY1305_SHA256",
    ]
}

/// Parse a `-tls-cipher-suites` value: comma-separated, items trimmed, empty list → defaults.
/// Returns the TLS 1.2 suites to offer (`None` for the defaults).
pub fn parse_cipher_suites(
    list: &str,
) -> Result<Option<Vec<SupportedCipherSuite>>, TlsConfigError> {
    if list.is_empty() {
        return Ok(None);
    }
    let mut suites = Vec::new();
    for raw in list.split(',') {
        let item = raw.trim();
        match lookup(item) {
            None => {
                return Err(TlsConfigError::UnknownCipher {
                    list: list.to_owned(),
                    item: item.to_owned(),
                });
            }
            Some(Suite::Unavailable) => {
                return Err(TlsConfigError::UnavailableCipher {
                    item: item.to_owned(),
                    supported: supported_cipher_names().join(", "),
                });
            }
            Some(Suite::Tls13) => {}
            Some(Suite::Tls12(suite)) => {
                if !suites.contains(&suite) {
                    suites.push(suite);
                }
            }
        }
    }
    Ok(Some(suites))
}

// === TlsMinVersion ===

impl TlsMinVersion {
    /// Parse `tls10`, `tls11`, `tls12` or `tls13` (exact spelling, as upstream).
    pub fn parse(raw: &str) -> Result<Self, TlsConfigError> {
        match raw {
            "tls10" => Ok(Self::Tls10),
            "tls11" => Ok(Self::Tls11),
            "tls12" => Ok(Self::Tls12),
            "tls13" => Ok(Self::Tls13),
            _ => Err(TlsConfigError::InvalidVersion(raw.to_owned())),
        }
    }

    /// rustls implements TLS 1.2 and 1.3 only, so a 1.0/1.1 floor is served as 1.2.
    pub fn is_raised_to_tls12(self) -> bool {
        matches!(self, Self::Tls10 | Self::Tls11)
    }
}

// === TlsSettings ===

impl TlsSettings {
    /// Build the server configuration around `resolver`, offering h2 and http/1.1 via ALPN.
    pub fn server_config(
        &self,
        resolver: Arc<dyn ResolvesServerCert>,
    ) -> Result<ServerConfig, TlsConfigError> {
        let base = provider::default_provider();
        let tls13: Vec<_> = base
            .cipher_suites
            .iter()
            .copied()
            .filter(|s| s.version() == &rustls::version::TLS13)
            .collect();
        let tls12: Vec<_> = match &self.tls12_suites {
            Some(chosen) => chosen.clone(),
            None => base
                .cipher_suites
                .iter()
                .copied()
                .filter(|s| s.version() == &rustls::version::TLS12)
                .collect(),
        };
        // Go ignores the suite list for TLS 1.3; a list that names no TLS 1.2 suite therefore
        // leaves only TLS 1.3 usable.
        let versions: &[&'static rustls::SupportedProtocolVersion] =
            if self.min_version == TlsMinVersion::Tls13 || tls12.is_empty() {
                &[&rustls::version::TLS13]
            } else {
                &[&rustls::version::TLS13, &rustls::version::TLS12]
            };
        let provider = rustls::crypto::CryptoProvider {
            cipher_suites: [tls13, tls12].concat(),
            ..base
        };
        let mut config = ServerConfig::builder_with_provider(Arc::new(provider))
            .with_protocol_versions(versions)
            .map_err(TlsConfigError::Build)?
            .with_no_client_auth()
            .with_cert_resolver(resolver);
        config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
        Ok(config)
    }
}

#[cfg(test)]
mod tests;
