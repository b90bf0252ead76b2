//! What can go wrong with auto-TLS input and material; every message names what to fix.

/// Bad `-tls-auto-hosts`, or certificate material that cannot be generated or used.
#[derive(Debug, thiserror::Error)]
pub enum AutoTlsError {
    #[error(
        "-tls-auto-hosts is empty; list the DNS names and IP addresses the API server uses to \
         reach the injector (e.g. vault-agent-injector-svc,vault-agent-injector-svc.vault.svc)"
    )]
    NoHosts,
    #[error(
        "-tls-auto-hosts {raw:?} has an empty item (number {position}); remove the extra comma"
    )]
    EmptyHost { raw: String, position: usize },
    #[error("-tls-auto-hosts item {item:?} is neither an IP address nor a valid DNS name")]
    InvalidHost { item: String },
    #[error("the CA expired at {not_after}; rotate it before issuing serving certificates")]
    CaExpired { not_after: String },
    #[error("generating the {what}")]
    Generate {
        what: &'static str,
        #[source]
        source: rcgen::Error,
    },
    #[error("no CERTIFICATE block in the {what} certificate PEM")]
    NoCertificate { what: &'static str },
    #[error("the {what} certificate is not valid X.509: {reason}")]
    BadCertificate { what: &'static str, reason: String },
    #[error("the {what} certificate is not a CA certificate (basicConstraints CA:TRUE missing)")]
    NotCa { what: &'static str },
    #[error("no private key block (EC PRIVATE KEY or PRIVATE KEY) in the {what} key PEM")]
    NoKey { what: &'static str },
    #[error("the {what} key PEM holds no usable private key: {reason}")]
    BadKey { what: &'static str, reason: String },
    #[error("the {what} private key does not belong to the {what} certificate")]
    KeyMismatch { what: &'static str },
}
