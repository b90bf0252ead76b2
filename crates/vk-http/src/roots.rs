//! Server certificate verifiers shared by the clients: the system trust store loaded on first
//! use, and "accept any chain" for `tls_skip_verify`. Both always check the handshake
//! signatures with the provider (they do not depend on a trust store).

use std::sync::{Arc, OnceLock};

use rustls::client::WebPkiServerVerifier;
use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{DigitallySignedStruct, RootCertStore, SignatureScheme};

/// A verifier checking chains against the system trust store. Reading and parsing the store
/// costs milliseconds and memory, so it happens at the first TLS handshake (a client that only
/// talks plain HTTP never pays it). `hint` ends the handshake error when the store holds no
/// usable certificate (e.g. "set ca_cert or ca_path in the vault block").
pub fn system_roots_verifier(
    provider: Arc<CryptoProvider>,
    hint: &'static str,
) -> Arc<dyn ServerCertVerifier> {
    Arc::new(ChainVerifier {
        provider,
        chain: Chain::SystemRoots {
            cell: OnceLock::new(),
            hint,
        },
    })
}

/// A verifier accepting any certificate chain (`tls_skip_verify`); handshake signatures are
/// still checked.
pub fn accept_any_verifier(provider: Arc<CryptoProvider>) -> Arc<dyn ServerCertVerifier> {
    Arc::new(ChainVerifier {
        provider,
        chain: Chain::AcceptAny,
    })
}

#[derive(Debug)]
struct ChainVerifier {
    provider: Arc<CryptoProvider>,
    chain: Chain,
}

#[derive(Debug)]
enum Chain {
    AcceptAny,
    SystemRoots {
        cell: OnceLock<Result<Arc<dyn ServerCertVerifier>, String>>,
        hint: &'static str,
    },
}

impl ChainVerifier {
    fn system_roots<'a>(
        &self,
        cell: &'a OnceLock<Result<Arc<dyn ServerCertVerifier>, String>>,
        hint: &'static str,
    ) -> Result<&'a Arc<dyn ServerCertVerifier>, rustls::Error> {
        cell.get_or_init(|| {
            let native = rustls_native_certs::load_native_certs();
            for err in &native.errors {
                tracing::debug!(error = %err, "skipping unreadable system CA certificate");
            }
            let mut roots = RootCertStore::empty();
            let (added, ignored) = roots.add_parsable_certificates(native.certs);
            tracing::debug!(added, ignored, "loaded system CA certificates");
            WebPkiServerVerifier::builder_with_provider(Arc::new(roots), self.provider.clone())
                .build()
                .map(|v| v as Arc<dyn ServerCertVerifier>)
                .map_err(|e| format!("no usable system CA certificates ({e}): {hint}"))
        })
        .as_ref()
        .map_err(|msg| rustls::Error::General(msg.clone()))
    }
}

impl ServerCertVerifier for ChainVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        match &self.chain {
            Chain::AcceptAny => Ok(ServerCertVerified::assertion()),
            Chain::SystemRoots { cell, hint } => self.system_roots(cell, hint)?.verify_server_cert(
                end_entity,
                intermediates,
                server_name,
                ocsp_response,
                now,
            ),
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
