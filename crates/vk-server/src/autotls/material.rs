//! Generating, loading and inspecting the CA and leaf certificates (spec §5.4.3).

use std::fmt;
use std::time::{Duration, SystemTime};

use rcgen::{
    BasicConstraints, CertificateParams, DistinguishedName, DnType, ExtendedKeyUsagePurpose, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, SanType, SerialNumber,
};
use ring::rand::{SecureRandom as _, SystemRandom};
use rustls::pki_types::CertificateDer;

use super::cert_info::CertInfo;
use super::keys::{key_pair_from_pem, sec1_pem};
use super::{AutoTlsError, AutoTlsHosts, SanHost};
use crate::cert::{PairError, parse_pem_pair};

const CA_COMMON_NAME: &str = "Agent Inject CA";
const LEAF_COMMON_NAME: &str = "Agent Inject Service";
const MAX_BACKDATE: Duration = Duration::from_secs(60);

/// How long generated certificates are valid. The defaults are upstream's; tests shorten them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Lifetimes {
    /// CA validity (default 10 × 365 days).
    pub ca: Duration,
    /// Serving (leaf) certificate validity (default 24 hours).
    pub leaf: Duration,
}

/// The injector's own CA: certificate and private key, both PEM.
#[derive(Clone)]
pub struct CaMaterial {
    pub cert_pem: String,
    /// PEM private key (SEC1 when generated here; PKCS#8 accepted when loaded).
    pub key_pem: String,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    info: CertInfo,
}

/// A serving certificate and its private key, both PEM.
#[derive(Clone)]
pub struct LeafMaterial {
    pub cert_pem: String,
    /// PEM private key; SEC1 `EC PRIVATE KEY` when generated here.
    pub key_pem: String,
    pub not_before: SystemTime,
    pub not_after: SystemTime,
    /// Lowercase hex of the certificate's Authority Key Identifier, i.e. the Subject Key
    /// Identifier of the CA that issued it (compare with [`CaMaterial::key_id`]); empty when the
    /// certificate carries none.
    pub issuer_fingerprint: String,
    info: CertInfo,
}

// === Lifetimes ===

impl Default for Lifetimes {
    fn default() -> Self {
        Self {
            ca: Duration::from_secs(10 * 365 * 24 * 3600),
            leaf: Duration::from_secs(24 * 3600),
        }
    }
}

/// How far before "now" a certificate starts being valid, to tolerate clock skew between the
/// injector and the API server: upstream's one minute, but at most a tenth of the lifetime so
/// that shortened test lifetimes keep their proportions.
fn backdate(lifetime: Duration) -> Duration {
    MAX_BACKDATE.min(lifetime / 10)
}

// === CaMaterial ===

impl CaMaterial {
    /// Generate a new CA valid from shortly before `now` for `lifetimes.ca`.
    pub fn generate(now: SystemTime, lifetimes: &Lifetimes) -> Result<Self, AutoTlsError> {
        let what = "CA certificate";
        let key = KeyPair::generate().map_err(|source| AutoTlsError::Generate { what, source })?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name(CA_COMMON_NAME);
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.serial_number = Some(random_serial()?);
        set_validity(
            &mut params,
            now - backdate(lifetimes.ca),
            now + lifetimes.ca,
        );
        let cert = params
            .self_signed(&key)
            .map_err(|source| AutoTlsError::Generate { what, source })?;
        Self::from_pem(&cert.pem(), &sec1_pem(&key, "CA")?)
    }

    /// Load a CA from PEM (e.g. the shared Secret). The certificate must be a CA and the key
    /// (SEC1 or PKCS#8) must belong to it.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, AutoTlsError> {
        let what = "CA";
        let info = CertInfo::from_pem(cert_pem, what)?;
        if !info.is_ca {
            return Err(AutoTlsError::NotCa { what });
        }
        let key = key_pair_from_pem(key_pem, what)?;
        if key.public_key_raw() != info.public_key.as_slice() {
            return Err(AutoTlsError::KeyMismatch { what });
        }
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            not_before: info.not_before,
            not_after: info.not_after,
            info,
        })
    }

    /// Issue a serving certificate for `hosts`, valid from shortly before `now` for
    /// `lifetimes.leaf` but never beyond this CA's own expiry.
    pub fn issue_leaf(
        &self,
        hosts: &AutoTlsHosts,
        now: SystemTime,
        lifetimes: &Lifetimes,
    ) -> Result<LeafMaterial, AutoTlsError> {
        if now >= self.not_after {
            return Err(AutoTlsError::CaExpired {
                not_after: self.info.not_after_text.clone(),
            });
        }
        let what = "serving certificate";
        let generate = |source| AutoTlsError::Generate { what, source };
        let ca_key = key_pair_from_pem(&self.key_pem, "CA")?;
        let issuer = Issuer::from_ca_cert_der(&CertificateDer::from(self.der()), ca_key)
            .map_err(generate)?;
        let key = KeyPair::generate().map_err(generate)?;
        let mut params = CertificateParams::default();
        params.distinguished_name = common_name(LEAF_COMMON_NAME);
        params.is_ca = IsCa::ExplicitNoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::ServerAuth];
        params.use_authority_key_identifier_extension = true;
        params.serial_number = Some(random_serial()?);
        params.subject_alt_names = hosts
            .hosts()
            .iter()
            .map(|host| match host {
                SanHost::Ip(ip) => Ok(SanType::IpAddress(*ip)),
                SanHost::Dns(name) => name.as_str().try_into().map(SanType::DnsName),
            })
            .collect::<Result<_, _>>()
            .map_err(generate)?;
        let not_after = (now + lifetimes.leaf).min(self.not_after);
        set_validity(&mut params, now - backdate(lifetimes.leaf), not_after);
        let cert = params.signed_by(&key, &issuer).map_err(generate)?;
        LeafMaterial::from_pem(&cert.pem(), &sec1_pem(&key, "serving")?)
    }

    /// The certificate in DER.
    pub fn der(&self) -> &[u8] {
        &self.info.der
    }

    /// Lowercase hex of the Subject Key Identifier (empty when the certificate has none).
    pub fn key_id(&self) -> String {
        hex(self.info.subject_key_id.as_deref().unwrap_or_default())
    }

    pub(crate) fn info(&self) -> &CertInfo {
        &self.info
    }
}

impl PartialEq for CaMaterial {
    fn eq(&self, other: &Self) -> bool {
        self.info.der == other.info.der && self.key_pem == other.key_pem
    }
}

impl fmt::Debug for CaMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("CaMaterial")
            .field("key_id", &self.key_id())
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("key_pem", &"[elided]")
            .finish()
    }
}

// === LeafMaterial ===

impl LeafMaterial {
    /// Load a serving certificate (first CERTIFICATE block; any further blocks are the chain)
    /// and its key (SEC1 or PKCS#8), checking that the key belongs to the certificate.
    pub fn from_pem(cert_pem: &str, key_pem: &str) -> Result<Self, AutoTlsError> {
        let what = "serving";
        let info = CertInfo::from_pem(cert_pem, what)?;
        parse_pem_pair(cert_pem.as_bytes(), key_pem.as_bytes()).map_err(|err| match err {
            PairError::NoCertificate => AutoTlsError::NoCertificate { what },
            PairError::NoKey => AutoTlsError::NoKey { what },
            PairError::KeyMismatch => AutoTlsError::KeyMismatch { what },
            PairError::Pem { kind, source } => AutoTlsError::BadKey {
                what,
                reason: format!("{kind} PEM: {source}"),
            },
            PairError::Unusable(source) => AutoTlsError::BadKey {
                what,
                reason: source.to_string(),
            },
        })?;
        Ok(Self {
            cert_pem: cert_pem.to_owned(),
            key_pem: key_pem.to_owned(),
            not_before: info.not_before,
            not_after: info.not_after,
            issuer_fingerprint: hex(info.authority_key_id.as_deref().unwrap_or_default()),
            info,
        })
    }

    /// The subject alternative names (DNS names and IP addresses) the certificate carries.
    pub fn sans(&self) -> &[SanHost] {
        &self.info.sans
    }

    /// Whether `ca` signed this certificate (issuer name and signature both checked).
    pub fn is_issued_by(&self, ca: &CaMaterial) -> bool {
        self.info.is_signed_by(ca.info())
    }

    /// The instant upstream renews at: 90 % of the validity period has passed.
    pub fn renew_at(&self) -> SystemTime {
        let validity = self
            .not_after
            .duration_since(self.not_before)
            .unwrap_or_default();
        self.not_after - validity / 10
    }

    /// The certificate in DER.
    pub fn der(&self) -> &[u8] {
        &self.info.der
    }
}

impl PartialEq for LeafMaterial {
    fn eq(&self, other: &Self) -> bool {
        self.info.der == other.info.der && self.key_pem == other.key_pem
    }
}

impl fmt::Debug for LeafMaterial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LeafMaterial")
            .field("sans", &self.info.sans)
            .field("issuer_fingerprint", &self.issuer_fingerprint)
            .field("not_before", &self.not_before)
            .field("not_after", &self.not_after)
            .field("key_pem", &"[elided]")
            .finish()
    }
}

// === helpers ===

fn common_name(cn: &str) -> DistinguishedName {
    let mut dn = DistinguishedName::new();
    dn.push(DnType::CommonName, cn);
    dn
}

/// A random positive serial below 2^159 (20 bytes, top bit clear), as upstream draws it.
fn random_serial() -> Result<SerialNumber, AutoTlsError> {
    let mut bytes = [0u8; 20];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| AutoTlsError::Generate {
            what: "certificate serial number",
            source: rcgen::Error::RingUnspecified,
        })?;
    bytes[0] &= 0x7f;
    Ok(SerialNumber::from_slice(&bytes))
}

fn set_validity(params: &mut CertificateParams, not_before: SystemTime, not_after: SystemTime) {
    // X.509 times have whole seconds; rcgen drops the fraction.
    let since_epoch = |t: SystemTime| t.duration_since(SystemTime::UNIX_EPOCH).unwrap_or_default();
    params.not_before = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(not_before);
    params.not_after = rcgen::date_time_ymd(1970, 1, 1) + since_epoch(not_after);
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[cfg(test)]
mod tests;
