//! A throw-away certificate authority and leaf certificates for `127.0.0.1`/`localhost`.

use std::path::{Path, PathBuf};

use anyhow::{Context, Result};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DistinguishedName, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair, KeyUsagePurpose,
};
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};

/// A self-signed CA (ECDSA P-256) that can issue any number of leaf certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
    common_name: String,
}

impl std::fmt::Debug for TestCa {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TestCa")
            .field("common_name", &self.common_name)
            .finish_non_exhaustive()
    }
}

/// A leaf certificate and its private key, PEM encoded.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// The certificate (PEM, one block).
    pub cert_pem: String,
    /// The PKCS#8 private key (PEM).
    pub key_pem: String,
}

/// Paths of the files written by [`TestCa::write_tls_dir`].
#[derive(Debug, Clone)]
pub struct TlsFiles {
    /// `ca.pem`: the CA certificate.
    pub ca: PathBuf,
    /// `tls.crt`: the leaf certificate.
    pub cert: PathBuf,
    /// `tls.key`: the leaf private key.
    pub key: PathBuf,
}

impl TestCa {
    /// Generates a new CA named `vk-test-ca`.
    pub fn new() -> Result<Self> {
        Self::named("vk-test-ca")
    }

    /// Generates a new CA with the given common name.
    pub fn named(common_name: &str) -> Result<Self> {
        let mut params = CertificateParams::default();
        let mut dn = DistinguishedName::new();
        dn.push(DnType::CommonName, common_name);
        params.distinguished_name = dn;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let key = KeyPair::generate().context("generating the CA key")?;
        let issuer = CertifiedIssuer::self_signed(params, key).context("self-signing the CA")?;
        Ok(Self {
            issuer,
            common_name: common_name.to_string(),
        })
    }

    /// The CA certificate (PEM).
    pub fn ca_pem(&self) -> String {
        self.issuer.pem()
    }

    /// A server leaf for `127.0.0.1` and `localhost`.
    pub fn leaf(&self) -> Result<Leaf> {
        self.issue_leaf(&["127.0.0.1", "localhost"])
    }

    /// A server leaf for the given names (IP addresses become IP SANs, the rest DNS SANs).
    /// Each call makes a fresh key, so two leaves from one CA differ (for reload tests).
    pub fn issue_leaf(&self, names: &[&str]) -> Result<Leaf> {
        let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
        let mut params = CertificateParams::new(names.clone())
            .with_context(|| format!("certificate parameters for {names:?}"))?;
        let mut dn = DistinguishedName::new();
        dn.push(
            DnType::CommonName,
            names.first().map(String::as_str).unwrap_or("localhost"),
        );
        params.distinguished_name = dn;
        params.is_ca = IsCa::NoCa;
        params.key_usages = vec![
            KeyUsagePurpose::DigitalSignature,
            KeyUsagePurpose::KeyEncipherment,
        ];
        params.extended_key_usages = vec![
            ExtendedKeyUsagePurpose::ServerAuth,
            ExtendedKeyUsagePurpose::ClientAuth,
        ];
        let key = KeyPair::generate().context("generating a leaf key")?;
        let cert = params
            .signed_by(&key, &self.issuer)
            .context("signing a leaf certificate")?;
        Ok(Leaf {
            cert_pem: cert.pem(),
            key_pem: key.serialize_pem(),
        })
    }

    /// Writes `ca.pem`, `tls.crt` and `tls.key` into `dir` (created if missing).
    pub fn write_tls_dir(&self, dir: &Path, leaf: &Leaf) -> Result<TlsFiles> {
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let files = TlsFiles {
            ca: dir.join("ca.pem"),
            cert: dir.join("tls.crt"),
            key: dir.join("tls.key"),
        };
        write(&files.ca, &self.ca_pem())?;
        write(&files.cert, &leaf.cert_pem)?;
        write(&files.key, &leaf.key_pem)?;
        Ok(files)
    }
}

fn write(path: &Path, text: &str) -> Result<()> {
    std::fs::write(path, text).with_context(|| format!("writing {}", path.display()))
}

/// A rustls server configuration (HTTP/1.1 only) from a leaf.
pub fn server_config(leaf: &Leaf) -> Result<rustls::ServerConfig> {
    let certs = CertificateDer::pem_slice_iter(leaf.cert_pem.as_bytes())
        .collect::<std::result::Result<Vec<_>, _>>()
        .context("parsing the leaf certificate PEM")?;
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes())
        .context("parsing the leaf key PEM (it needs one private key)")?;
    let mut config = rustls::ServerConfig::builder_with_provider(
        rustls::crypto::ring::default_provider().into(),
    )
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .context("building the TLS server configuration")?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

/// A rustls client configuration trusting exactly the CA certificates in `ca_pem`.
pub fn client_config(ca_pem: &str) -> Result<rustls::ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        let cert = cert.context("parsing CA PEM")?;
        roots
            .add(cert)
            .context("adding a CA certificate to the trust store")?;
    }
    anyhow::ensure!(
        !roots.is_empty(),
        "no CA certificate found in the given PEM"
    );
    let mut config = rustls::ClientConfig::builder_with_provider(
        rustls::crypto::ring::default_provider().into(),
    )
    .with_safe_default_protocol_versions()
    .context("TLS protocol versions")?
    .with_root_certificates(roots)
    .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(config)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn leaves_from_one_ca_differ_and_are_written() {
        let ca = TestCa::new().unwrap();
        let a = ca.leaf().unwrap();
        let b = ca.leaf().unwrap();
        assert_ne!(a.cert_pem, b.cert_pem);
        assert_ne!(a.key_pem, b.key_pem);
        let dir = tempfile::tempdir().unwrap();
        let files = ca.write_tls_dir(dir.path(), &a).unwrap();
        assert!(
            std::fs::read_to_string(files.ca)
                .unwrap()
                .starts_with("-----BEGIN CERTIFICATE")
        );
        assert!(
            std::fs::read_to_string(files.key)
                .unwrap()
                .contains("PRIVATE KEY")
        );
        server_config(&a).unwrap();
        client_config(&ca.ca_pem()).unwrap();
    }
}
