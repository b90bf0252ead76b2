//! The `pkiCert` destination-file cache (spec §6.5, §5.4): a certificate the template already
//! rendered into its destination is reused until its renewal point, so restarts and
//! re-authentications do not issue new certificates.
//!
//! The timing decision is `vk-lease`'s; this module reads the file, parses X.509 and talks to
//! Vault. Key material is never logged: only paths and outcomes.

use std::path::Path;
use std::time::Duration;

use serde_json::Value;
use vk_lease::{CertValidity, PkiDecision, Threshold, Timestamp};
use vk_vault_client::{VaultClient, VaultError};

use crate::backoff;

/// One `pkiCert` fetch: the destination's certificate when it is still good (no request),
/// otherwise a new one from a write to the issue path. Returns the lookup body the template
/// engine builds the `pkiCert` object from.
pub(crate) async fn fetch(
    client: &VaultClient,
    path: &str,
    data: &Value,
    destination: &str,
    threshold: f64,
) -> Result<String, VaultError> {
    if let Some(text) = read_destination(Path::new(destination)) {
        let decision = vk_lease::pki_decision(
            leaf_validity(&text),
            backoff::now(),
            Threshold::new(threshold).unwrap_or_default(),
        );
        if let PkiDecision::Reuse { .. } = decision {
            tracing::debug!(
                destination,
                "pkiCert: certificate in the destination is still good"
            );
            return Ok(cached_body(&text));
        }
    }
    tracing::info!(
        destination,
        issue_path = path,
        "pkiCert: issuing a new certificate"
    );
    Ok(client.write(path, data).await?.body)
}

/// When the engine looks at a `pkiCert` again: at the renewal point of the certificate in
/// `body` (spec §6.5: the watcher sleeps until then). `None` when the body holds no usable
/// certificate (the caller falls back to its default interval).
pub(crate) fn recheck_after(body: &str, threshold: f64, now: Timestamp) -> Option<Duration> {
    let cert = leaf_validity(&pem_text_of_body(body))?;
    let at = vk_lease::pki_renewal_point(cert, Threshold::new(threshold).unwrap_or_default());
    // A certificate issued already past its renewal point (a lifespan shorter than Vault's
    // NotBefore backdating) must not turn into a busy issue loop.
    Some(at.saturating_since(now).max(MIN_RECHECK))
}

/// The shortest wait between two looks at one `pkiCert`.
const MIN_RECHECK: Duration = Duration::from_secs(1);

/// The destination's text; `None` when it is missing or unreadable (both mean: issue).
fn read_destination(path: &Path) -> Option<String> {
    match std::fs::read(path) {
        Ok(bytes) => String::from_utf8(bytes).ok(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => None,
        Err(e) => {
            tracing::warn!(destination = %path.display(), error = %e, "pkiCert: cannot read the destination; issuing");
            None
        }
    }
}

/// The lookup body for a certificate served from the file: the whole file as one string
/// field, so the engine scans its PEM blocks in file order (§5.4).
fn cached_body(file_text: &str) -> String {
    serde_json::json!({ "data": { "certificate": file_text } }).to_string()
}

/// Every string of the body's `data` (and each string of a list such as `ca_chain`), one per
/// line: the text the engine scans for PEM blocks.
fn pem_text_of_body(body: &str) -> String {
    let Ok(v) = serde_json::from_str::<Value>(body) else {
        return String::new();
    };
    let Some(data) = v.get("data").and_then(Value::as_object) else {
        return String::new();
    };
    let mut out = String::new();
    let mut push = |s: &str| {
        out.push_str(s);
        out.push('\n');
    };
    for value in data.values() {
        match value {
            Value::String(s) => push(s),
            Value::Array(items) => items.iter().filter_map(Value::as_str).for_each(&mut push),
            _ => {}
        }
    }
    out
}

/// Validity of the certificate `pkiCert` exposes as `Cert`: the last certificate without the
/// CA flag among the PEM blocks of `text` (§5.4). `None` when there is none.
pub(crate) fn leaf_validity(text: &str) -> Option<CertValidity> {
    let mut found = None;
    // A malformed block ends the scan: what follows it cannot be located reliably.
    for pem in x509_parser::pem::Pem::iter_from_buffer(text.as_bytes()).map_while(Result::ok) {
        if pem.label != "CERTIFICATE" {
            continue;
        }
        let Ok(cert) = pem.parse_x509() else {
            continue;
        };
        if cert.is_ca() {
            continue;
        }
        let v = cert.validity();
        found = Some(CertValidity {
            not_before: unix(v.not_before.timestamp()),
            not_after: unix(v.not_after.timestamp()),
        });
    }
    found
}

fn unix(secs: i64) -> Timestamp {
    Timestamp::from_secs(u64::try_from(secs).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fixtures made once with `openssl ca`: a self-signed CA (CA:true) valid
    /// 2020-01-01..2040-01-01 and a leaf it signed (no basicConstraints) valid
    /// 2024-01-01..2024-01-02.
    const CA: &str = include_str!("../tests/fixtures/pki_ca.pem");
    const LEAF: &str = include_str!("../tests/fixtures/pki_leaf.pem");

    #[test]
    fn picks_the_last_non_ca_certificate() {
        let both = format!(
            "{LEAF}-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n{CA}"
        );
        let v = leaf_validity(&both).expect("leaf found");
        assert_eq!(v.not_before, Timestamp::from_secs(1_704_067_200));
        assert_eq!(v.not_after, Timestamp::from_secs(1_704_153_600));
        // Only the CA: no `Cert`, so nothing to reuse.
        assert_eq!(leaf_validity(CA), None);
        assert_eq!(leaf_validity("no pem here"), None);
        assert_eq!(leaf_validity(""), None);
    }

    #[test]
    fn body_text_and_recheck() {
        let body = serde_json::json!({
            "data": { "certificate": LEAF, "issuing_ca": CA, "ca_chain": [CA], "expiration": 1 }
        })
        .to_string();
        let text = pem_text_of_body(&body);
        assert_eq!(text.matches("BEGIN CERTIFICATE").count(), 3);
        // 1-day certificate, threshold 0.5 → 12 h after NotBefore.
        let d = recheck_after(&body, 0.5, Timestamp::from_secs(1_704_067_200)).unwrap();
        assert_eq!(d, Duration::from_secs(12 * 3600));
        // Past the renewal point: look again soon, but not in a busy loop.
        let d = recheck_after(&body, 0.5, Timestamp::from_secs(1_704_153_600)).unwrap();
        assert_eq!(d, MIN_RECHECK);
        assert_eq!(recheck_after("{}", 0.9, Timestamp::from_secs(0)), None);
        assert_eq!(
            recheck_after("not json", 0.9, Timestamp::from_secs(0)),
            None
        );
        // The cached body round-trips through the same scan.
        assert_eq!(
            leaf_validity(&pem_text_of_body(&cached_body(&format!("{LEAF}{CA}")))),
            leaf_validity(LEAF)
        );
    }
}
