//! The CA bundle published as `clientConfig.caBundle`: an ordered set of CA certificates.

use std::time::SystemTime;

use super::cert_info::CertInfo;
use super::{CaMaterial, pem};

/// One certificate of a bundle.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BundleCa {
    info: CertInfo,
}

/// CA certificates in publication order, without duplicates (same DER).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CaBundle {
    cas: Vec<BundleCa>,
}

impl BundleCa {
    pub fn der(&self) -> &[u8] {
        &self.info.der
    }

    pub fn not_after(&self) -> SystemTime {
        self.info.not_after
    }

    /// The certificate as one canonical PEM block.
    pub fn to_pem(&self) -> String {
        pem::encode("CERTIFICATE", &self.info.der)
    }
}

impl CaBundle {
    /// The bundle holding just `ca`.
    pub fn of(ca: &CaMaterial) -> Self {
        Self::default().with_added(ca)
    }

    /// Read a published bundle. Blocks other than CERTIFICATE, text outside blocks, blocks that
    /// do not decode and certificates that do not parse are ignored; duplicates are dropped.
    pub fn parse(bundle: &[u8]) -> Self {
        let mut parsed = Self::default();
        for block in pem::blocks(bundle) {
            if block.label != "CERTIFICATE" {
                continue;
            }
            if let Ok(info) = CertInfo::from_der(block.der, "bundle") {
                parsed.push(info);
            }
        }
        parsed
    }

    /// Upstream's rule when a freshly generated CA replaces the published one (spec §5.4.3,
    /// case 91): the last certificate of the old bundle, then the new CA. Garbage or an empty
    /// old bundle yields the new CA alone.
    pub fn last_old_plus_new(old_bundle: &[u8], new_ca: &CaMaterial) -> Self {
        let mut bundle = Self::default();
        if let Some(last) = Self::parse(old_bundle).cas.pop() {
            bundle.cas.push(last);
        }
        bundle.with_added(new_ca)
    }

    pub fn cas(&self) -> &[BundleCa] {
        &self.cas
    }

    pub fn is_empty(&self) -> bool {
        self.cas.is_empty()
    }

    pub fn contains(&self, ca: &CaMaterial) -> bool {
        self.cas.iter().any(|c| c.info.der == ca.der())
    }

    /// This bundle with `ca` appended (unchanged if it is already present).
    pub fn with_added(mut self, ca: &CaMaterial) -> Self {
        self.push(ca.info().clone());
        self
    }

    /// This bundle without the certificates that have expired at `now`.
    pub fn without_expired(mut self, now: SystemTime) -> Self {
        self.cas.retain(|c| c.info.not_after > now);
        self
    }

    /// The bundle as concatenated canonical PEM blocks; the same set in the same order always
    /// gives the same bytes, so a published bundle can be compared with a freshly built one.
    pub fn to_pem(&self) -> String {
        self.cas.iter().map(BundleCa::to_pem).collect()
    }

    fn push(&mut self, info: CertInfo) {
        if !self.cas.iter().any(|c| c.info.der == info.der) {
            self.cas.push(BundleCa { info });
        }
    }
}

#[cfg(test)]
mod tests;
