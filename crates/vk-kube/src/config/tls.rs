//! The client's TLS settings: the cluster's CA as the only roots (the system store when the
//! configuration names none), an optional client certificate, and `tls-server-name`.

use std::sync::Arc;

use rustls::RootCertStore;
use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::ServerCertVerifier;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, ServerName};

use super::ConfigError;

/// A PEM document and where it comes from (for error messages).
pub(crate) struct Pem {
    pub(crate) bytes: Vec<u8>,
    pub(crate) origin: String,
}

/// What the TLS settings are built from.
#[derive(Default)]
pub(crate) struct TlsInputs {
    pub(crate) ca: Option<Pem>,
    pub(crate) insecure: bool,
    pub(crate) server_name: Option<String>,
    pub(crate) client_cert: Option<(Pem, Pem)>,
}

fn bad(origin: &str, problem: impl Into<String>) -> ConfigError {
    ConfigError::Tls {
        what: origin.to_owned(),
        problem: problem.into(),
    }
}

impl TlsInputs {
    pub(crate) fn build(self) -> Result<rustls::ClientConfig, ConfigError> {
        // The binary installs ring as the process default; this crate never installs one.
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut verifier: Arc<dyn ServerCertVerifier> = match (&self.ca, self.insecure) {
            (Some(ca), true) => {
                return Err(bad(
                    &ca.origin,
                    "a certificate authority together with insecure-skip-tls-verify is not allowed; remove one of them",
                ));
            }
            (None, true) => vk_http::accept_any_verifier(provider.clone()),
            (Some(ca), false) => {
                let mut roots = RootCertStore::empty();
                for cert in CertificateDer::pem_slice_iter(&ca.bytes) {
                    let cert = cert.map_err(|e| bad(&ca.origin, format!("not PEM: {e}")))?;
                    roots
                        .add(cert)
                        .map_err(|e| bad(&ca.origin, format!("unusable CA certificate: {e}")))?;
                }
                if roots.is_empty() {
                    return Err(bad(&ca.origin, "holds no PEM CERTIFICATE block"));
                }
                WebPkiServerVerifier::builder_with_provider(Arc::new(roots), provider.clone())
                    .build()
                    .map_err(|e| bad(&ca.origin, e.to_string()))?
            }
            (None, false) => vk_http::system_roots_verifier(
                provider.clone(),
                "set certificate-authority or certificate-authority-data in the kubeconfig's cluster",
            ),
        };
        if let Some(name) = self.server_name {
            let fixed = ServerName::try_from(name.clone()).map_err(|_| {
                bad(
                    "tls-server-name",
                    format!("{name:?} is not a DNS name or IP address"),
                )
            })?;
            verifier = vk_http::fixed_name_verifier(verifier, fixed);
        }
        let builder = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| bad("TLS protocol versions", e.to_string()))?
            .dangerous()
            .with_custom_certificate_verifier(verifier);
        match self.client_cert {
            None => Ok(builder.with_no_client_auth()),
            Some((cert, key)) => {
                let chain = CertificateDer::pem_slice_iter(&cert.bytes)
                    .collect::<Result<Vec<_>, _>>()
                    .map_err(|e| bad(&cert.origin, format!("not PEM: {e}")))?;
                if chain.is_empty() {
                    return Err(bad(&cert.origin, "holds no PEM CERTIFICATE block"));
                }
                let key_der = PrivateKeyDer::from_pem_slice(&key.bytes)
                    .map_err(|e| bad(&key.origin, format!("no PEM private key: {e}")))?;
                builder
                    .with_client_auth_cert(chain, key_der)
                    .map_err(|e| bad(&key.origin, format!("unusable client key: {e}")))
            }
        }
    }
}
