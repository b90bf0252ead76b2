//! Errors of the Vault client, with the retry classification the agent needs (§6.6).

use std::path::PathBuf;

/// Boxed lower-level error (transport failures of the HTTP client).
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// How the agent's retry logic should treat an error.
///
/// * [`ErrorClass::Transient`]: what the Vault API client itself retries (connection errors,
///   timeouts, HTTP 5xx except 501, 429, 412). The agent's auth loop and token renewal also
///   treat these as "try again later".
/// * [`ErrorClass::Request`]: a definite answer that a plain retry of the same request will
///   usually not change (4xx, `no secret exists at …`, a malformed response, a rejected TLS
///   certificate). Spec §6.6: the template watcher still retries these up to
///   `vault.retry.num_retries` times, so only the client-level retry skips them.
/// * [`ErrorClass::Fatal`]: local configuration errors (bad address, unreadable PEM, TLS set-up);
///   retrying cannot help.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ErrorClass {
    /// Retry the same request after a short backoff.
    Transient,
    /// Permanent for this request; retried only by the template watcher's retry budget.
    Request,
    /// Never retried.
    Fatal,
}

/// Everything that can go wrong talking to Vault.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VaultError {
    /// The configured address is not a URL.
    #[error("invalid Vault address {address:?}")]
    InvalidAddress {
        /// The address as configured.
        address: String,
        /// Why it is not usable.
        #[source]
        source: BoxError,
    },
    /// A request path cannot be used (empty, or would escape `/v1/`).
    #[error("invalid request path {path:?}: {reason}")]
    InvalidPath {
        /// The path as given.
        path: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// A PEM file named in the configuration could not be read.
    #[error("reading {what} from {}", path.display())]
    ReadPem {
        /// `ca_cert`, `client_cert` or `client_key`.
        what: &'static str,
        /// The file.
        path: PathBuf,
        /// The I/O error.
        #[source]
        source: std::io::Error,
    },
    /// PEM data could not be parsed.
    #[error("parsing {what} PEM from {origin}")]
    ParsePem {
        /// `ca_cert`, `client_cert` or `client_key`.
        what: &'static str,
        /// The file path, or `inline PEM`.
        origin: String,
        /// The parse error.
        #[source]
        source: std::io::Error,
    },
    /// PEM data held no item of the expected kind.
    #[error("no {what} found in {origin}")]
    EmptyPem {
        /// `CA certificate`, `client certificate` or `private key`.
        what: &'static str,
        /// The file path, or `inline PEM`.
        origin: String,
    },
    /// `client_cert` and `client_key` must be given together.
    #[error("client_cert and client_key must both be set (only {given} is)")]
    IncompleteClientCert {
        /// The one that is set.
        given: &'static str,
    },
    /// No rustls crypto provider is installed for the process.
    #[error(
        "no rustls crypto provider is installed (the binary must call \
         rustls::crypto::ring::default_provider().install_default() first)"
    )]
    NoCryptoProvider,
    /// `tls_server_name` is not a valid DNS name or IP address.
    #[error("invalid tls_server_name {name:?}")]
    InvalidServerName {
        /// The configured name.
        name: String,
        /// Why it is invalid.
        #[source]
        source: rustls::pki_types::InvalidDnsNameError,
    },
    /// rustls refused the TLS configuration (CA certificate, client certificate or key).
    #[error("building the TLS client configuration ({what})")]
    Tls {
        /// Which part was refused.
        what: &'static str,
        /// The rustls error.
        #[source]
        source: rustls::Error,
    },
    /// The HTTP client could not be built.
    #[error("building the HTTP client")]
    HttpClient {
        /// Why.
        #[source]
        source: vk_http::HttpError,
    },
    /// The request never got an HTTP answer (connection refused, TLS failure, timeout, …).
    #[error("{method} {path}: request to Vault failed")]
    Transport {
        /// HTTP method.
        method: &'static str,
        /// API path below `/v1/`.
        path: String,
        /// `true` when the server's certificate was rejected (not retried by the client).
        certificate_rejected: bool,
        /// The underlying error.
        #[source]
        source: BoxError,
    },
    /// Vault answered with an error status.
    #[error(
        "{method} {path}: Vault returned HTTP {status}{}",
        format_errors(errors)
    )]
    Api {
        /// HTTP method.
        method: &'static str,
        /// API path below `/v1/`.
        path: String,
        /// HTTP status code.
        status: u16,
        /// Vault's `errors` array (empty when the body had none).
        errors: Vec<String>,
    },
    /// The response body was not the JSON Vault sends.
    #[error("{method} {path}: malformed response from Vault")]
    Decode {
        /// HTTP method.
        method: &'static str,
        /// API path below `/v1/`.
        path: String,
        /// The parse error.
        #[source]
        source: serde_json::Error,
    },
    /// A read returned nothing (404 without data) or the latest KV v2 version is deleted.
    /// The wording follows the agent's (`vault.read(<path>): no secret exists at <path>`).
    #[error("no secret exists at {path}")]
    NoSecret {
        /// The (shimmed) path that was read.
        path: String,
    },
    /// A login response had no `auth` block.
    #[error("{method} login at {path}: authentication returned nil auth info")]
    NilAuthInfo {
        /// Auth method type.
        method: &'static str,
        /// Login path.
        path: String,
    },
    /// A login response had an empty `auth.client_token`.
    #[error("{method} login at {path}: authentication returned empty client token")]
    EmptyClientToken {
        /// Auth method type.
        method: &'static str,
        /// Login path.
        path: String,
    },
    /// A login failed.
    #[error("{method} login at {path} failed")]
    Login {
        /// Auth method type (`kubernetes`, `jwt`, `approle`, `cert`).
        method: &'static str,
        /// Login path (`auth/<mount>/login`).
        path: String,
        /// Why.
        #[source]
        source: Box<VaultError>,
    },
}

fn format_errors(errors: &[String]) -> String {
    if errors.is_empty() {
        String::new()
    } else {
        format!(": {}", errors.join("; "))
    }
}

impl VaultError {
    /// How retry logic should treat this error (see [`ErrorClass`]).
    pub fn class(&self) -> ErrorClass {
        match self {
            VaultError::Transport {
                certificate_rejected,
                ..
            } => {
                if *certificate_rejected {
                    ErrorClass::Request
                } else {
                    ErrorClass::Transient
                }
            }
            VaultError::Api { status, .. } => {
                if is_transient_status(*status) {
                    ErrorClass::Transient
                } else {
                    ErrorClass::Request
                }
            }
            VaultError::Decode { .. }
            | VaultError::NoSecret { .. }
            | VaultError::NilAuthInfo { .. }
            | VaultError::EmptyClientToken { .. } => ErrorClass::Request,
            VaultError::Login { source, .. } => source.class(),
            VaultError::InvalidAddress { .. }
            | VaultError::InvalidPath { .. }
            | VaultError::ReadPem { .. }
            | VaultError::ParsePem { .. }
            | VaultError::EmptyPem { .. }
            | VaultError::IncompleteClientCert { .. }
            | VaultError::NoCryptoProvider
            | VaultError::InvalidServerName { .. }
            | VaultError::Tls { .. }
            | VaultError::HttpClient { .. } => ErrorClass::Fatal,
        }
    }

    /// `true` for errors the client-level retry repeats (5xx except 501, 429, 412, transport).
    pub fn is_transient(&self) -> bool {
        self.class() == ErrorClass::Transient
    }

    /// `true` unless the error is a local configuration problem. Spec §6.6: the template
    /// watcher retries every fetch error (HTTP errors of any status, `no secret exists`).
    pub fn is_retried_by_watcher(&self) -> bool {
        self.class() != ErrorClass::Fatal
    }

    /// The HTTP status Vault answered with, if it answered.
    pub fn status(&self) -> Option<u16> {
        match self {
            VaultError::Api { status, .. } => Some(*status),
            VaultError::Login { source, .. } => source.status(),
            _ => None,
        }
    }

    /// Vault's `errors` array (empty if there was none).
    pub fn vault_errors(&self) -> &[String] {
        match self {
            VaultError::Api { errors, .. } => errors,
            VaultError::Login { source, .. } => source.vault_errors(),
            _ => &[],
        }
    }

    /// `true` for HTTP 403 (permission denied, revoked or unknown token).
    pub fn is_forbidden(&self) -> bool {
        self.status() == Some(403)
    }

    /// `true` for a 403 whose errors mention an invalid token (Vault re-authenticates on this
    /// during templating, spec §6.6).
    pub fn is_invalid_token(&self) -> bool {
        self.is_forbidden()
            && self
                .vault_errors()
                .iter()
                .any(|e| e.contains("invalid token"))
    }

    /// `true` for [`VaultError::NoSecret`].
    pub fn is_no_secret(&self) -> bool {
        matches!(self, VaultError::NoSecret { .. })
    }
}

/// Statuses the Vault API client retries: 412 (eventual consistency), 429, 5xx except 501.
pub fn is_transient_status(status: u16) -> bool {
    status == 412 || status == 429 || (status >= 500 && status != 501)
}

/// Whether a transport error chain is a rejected server certificate (retrying cannot help).
pub(crate) fn is_certificate_error(err: &(dyn std::error::Error + 'static)) -> bool {
    let mut current: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = current {
        if let Some(tls) = e.downcast_ref::<rustls::Error>() {
            return matches!(
                tls,
                rustls::Error::InvalidCertificate(_) | rustls::Error::NoCertificatesPresented
            );
        }
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && let Some(inner) = io.get_ref()
            && let Some(tls) = inner.downcast_ref::<rustls::Error>()
        {
            return matches!(tls, rustls::Error::InvalidCertificate(_));
        }
        let text = e.to_string();
        if text.contains("invalid peer certificate") {
            return true;
        }
        current = e.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;

    fn api(status: u16) -> VaultError {
        VaultError::Api {
            method: "GET",
            path: "secret/data/x".into(),
            status,
            errors: vec!["permission denied".into()],
        }
    }

    #[test]
    fn classification() {
        for s in [500, 502, 503, 429, 412] {
            assert_eq!(api(s).class(), ErrorClass::Transient, "{s}");
        }
        for s in [400, 401, 403, 404, 405, 501] {
            assert_eq!(api(s).class(), ErrorClass::Request, "{s}");
            assert!(api(s).is_retried_by_watcher());
        }
        let no = VaultError::NoSecret {
            path: "secret/data/nope".into(),
        };
        assert_eq!(no.to_string(), "no secret exists at secret/data/nope");
        assert_eq!(no.class(), ErrorClass::Request);
        assert!(!VaultError::NoCryptoProvider.is_retried_by_watcher());
        let login = VaultError::Login {
            method: "approle",
            path: "auth/approle/login".into(),
            source: Box::new(api(503)),
        };
        assert!(login.is_transient());
        assert_eq!(login.status(), Some(503));
    }

    #[test]
    fn api_message_carries_status_and_errors() {
        let e = VaultError::Api {
            method: "GET",
            path: "auth/token/lookup-self".into(),
            status: 403,
            errors: vec!["permission denied".into(), "invalid token".into()],
        };
        assert_eq!(
            e.to_string(),
            "GET auth/token/lookup-self: Vault returned HTTP 403: permission denied; invalid token"
        );
        assert!(e.is_invalid_token());
    }
}
