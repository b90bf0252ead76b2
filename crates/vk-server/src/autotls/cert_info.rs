//! The facts about a certificate that auto-TLS decisions need, read once with x509-parser.

use std::net::IpAddr;
use std::time::{Duration, SystemTime};

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::{GeneralName, ParsedExtension};
use x509_parser::prelude::FromDer as _;

use super::{AutoTlsError, SanHost, pem};

/// A parsed certificate, owning its DER.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CertInfo {
    pub(crate) der: Vec<u8>,
    pub(crate) not_before: SystemTime,
    pub(crate) not_after: SystemTime,
    /// `not_after` as the certificate states it (RFC 2822-like), for messages.
    pub(crate) not_after_text: String,
    pub(crate) is_ca: bool,
    pub(crate) sans: Vec<SanHost>,
    /// The subject public key bits (for EC keys, the uncompressed point).
    pub(crate) public_key: Vec<u8>,
    pub(crate) subject_key_id: Option<Vec<u8>>,
    pub(crate) authority_key_id: Option<Vec<u8>>,
}

impl CertInfo {
    /// The first CERTIFICATE block of `cert_pem`; `what` names the certificate in errors.
    pub(crate) fn from_pem(cert_pem: &str, what: &'static str) -> Result<Self, AutoTlsError> {
        let block = pem::blocks(cert_pem.as_bytes())
            .into_iter()
            .find(|b| b.label == "CERTIFICATE")
            .ok_or(AutoTlsError::NoCertificate { what })?;
        Self::from_der(block.der, what)
    }

    pub(crate) fn from_der(der: Vec<u8>, what: &'static str) -> Result<Self, AutoTlsError> {
        let bad = |reason: String| AutoTlsError::BadCertificate { what, reason };
        let (_, cert) = X509Certificate::from_der(&der).map_err(|e| bad(e.to_string()))?;
        let mut sans = Vec::new();
        let mut subject_key_id = None;
        let mut authority_key_id = None;
        for ext in cert.extensions() {
            match ext.parsed_extension() {
                ParsedExtension::SubjectAlternativeName(names) => {
                    sans.extend(names.general_names.iter().filter_map(san_host));
                }
                ParsedExtension::SubjectKeyIdentifier(id) => subject_key_id = Some(id.0.to_vec()),
                ParsedExtension::AuthorityKeyIdentifier(aki) => {
                    authority_key_id = aki.key_identifier.as_ref().map(|id| id.0.to_vec());
                }
                _ => {}
            }
        }
        let info = Self {
            not_before: instant(cert.validity().not_before.timestamp()),
            not_after: instant(cert.validity().not_after.timestamp()),
            not_after_text: cert.validity().not_after.to_string(),
            is_ca: cert.is_ca(),
            sans,
            public_key: cert.public_key().subject_public_key.data.to_vec(),
            subject_key_id,
            authority_key_id,
            der: Vec::new(),
        };
        Ok(Self { der, ..info })
    }

    /// Whether `issuer` signed this certificate: issuer name equals its subject and the
    /// signature verifies with its key.
    pub(crate) fn is_signed_by(&self, issuer: &CertInfo) -> bool {
        let (Ok((_, cert)), Ok((_, ca))) = (
            X509Certificate::from_der(&self.der),
            X509Certificate::from_der(&issuer.der),
        ) else {
            return false;
        };
        cert.issuer().as_raw() == ca.subject().as_raw()
            && cert.verify_signature(Some(ca.public_key())).is_ok()
    }
}

fn san_host(name: &GeneralName<'_>) -> Option<SanHost> {
    match name {
        GeneralName::DNSName(dns) => Some(SanHost::Dns((*dns).to_owned())),
        GeneralName::IPAddress(bytes) => match bytes.len() {
            4 => <[u8; 4]>::try_from(*bytes)
                .ok()
                .map(|b| SanHost::Ip(IpAddr::from(b))),
            16 => <[u8; 16]>::try_from(*bytes)
                .ok()
                .map(|b| SanHost::Ip(IpAddr::from(b))),
            _ => None,
        },
        _ => None,
    }
}

fn instant(unix_seconds: i64) -> SystemTime {
    match u64::try_from(unix_seconds) {
        Ok(secs) => SystemTime::UNIX_EPOCH + Duration::from_secs(secs),
        Err(_) => SystemTime::UNIX_EPOCH - Duration::from_secs(unix_seconds.unsigned_abs()),
    }
}
