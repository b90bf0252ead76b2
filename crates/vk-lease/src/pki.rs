//! `pkiCert` reuse/renewal (§6.5, Vault 2.0.x behaviour per §0.3): a certificate already in
//! the destination file is reused until NotBefore + lifespan × `lease_renewal_threshold`.

use crate::time::{Threshold, Timestamp, scale};

/// Validity window of the certificate found in the destination file (Unix time: the caller
/// converts the X.509 NotBefore/NotAfter fields).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CertValidity {
    /// X.509 NotBefore.
    pub not_before: Timestamp,
    /// X.509 NotAfter.
    pub not_after: Timestamp,
}

/// What a `pkiCert` fetch does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PkiDecision {
    /// The file's certificate is still good: make no request, publish it, and check again at
    /// `renew_at` (the watcher sleeps until the renewal point, §6.5).
    Reuse {
        /// The renewal point.
        renew_at: Timestamp,
    },
    /// Missing file / no certificate block / expired / past the renewal point: issue a new
    /// certificate (write to the issue path), then call [`pki_renewal_point`] on it to know
    /// when to look again.
    Issue,
}

/// The renewal point (§6.5, Vault): `NotBefore + (NotAfter − NotBefore) × threshold`.
///
/// Upstream intends a ±3 % jitter but computes it with integer division, so it is always 0;
/// there is deliberately no jitter parameter. A negative threshold counts as 0 and an
/// inverted window (NotAfter before NotBefore) as a zero lifespan.
pub fn pki_renewal_point(cert: CertValidity, threshold: Threshold) -> Timestamp {
    let lifespan = cert.not_after.saturating_since(cert.not_before);
    cert.not_before
        .saturating_add(scale(lifespan, threshold.get()))
}

/// Decides whether the certificate read from the destination (`None` when the file is missing
/// or holds no certificate block) can be reused at `now_unix` (§6.5).
pub fn pki_decision(
    cert: Option<CertValidity>,
    now_unix: Timestamp,
    threshold: Threshold,
) -> PkiDecision {
    let Some(cert) = cert else {
        return PkiDecision::Issue;
    };
    if now_unix > cert.not_after {
        return PkiDecision::Issue;
    }
    let renew_at = pki_renewal_point(cert, threshold);
    if renew_at > now_unix {
        PkiDecision::Reuse { renew_at }
    } else {
        PkiDecision::Issue
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn at(n: u64) -> Timestamp {
        Timestamp::from_secs(n)
    }
    fn th(v: f64) -> Threshold {
        Threshold::new(v).unwrap_or_default()
    }
    const fn cert(nb: u64, na: u64) -> CertValidity {
        CertValidity {
            not_before: at(nb),
            not_after: at(na),
        }
    }

    #[test]
    fn decision_table() {
        let t = Threshold::default();
        // 100 s certificate from 1000 to 1100: renewal point 1090.
        let c = cert(1000, 1100);
        let cases: &[(Option<CertValidity>, u64, PkiDecision)] = &[
            (None, 1000, PkiDecision::Issue),
            (Some(c), 999, PkiDecision::Reuse { renew_at: at(1090) }), // not yet valid (skew): still good
            (Some(c), 1000, PkiDecision::Reuse { renew_at: at(1090) }),
            (Some(c), 1089, PkiDecision::Reuse { renew_at: at(1090) }),
            (Some(c), 1090, PkiDecision::Issue),
            (Some(c), 1099, PkiDecision::Issue),
            (Some(c), 1101, PkiDecision::Issue),
        ];
        for &(cert, now, want) in cases {
            assert_eq!(pki_decision(cert, at(now), t), want, "now = {now}");
        }
    }

    #[test]
    fn thresholds() {
        // 30-day certificate, threshold 0.9 → 27 days after NotBefore.
        let c = cert(0, 30 * 86_400);
        assert_eq!(pki_renewal_point(c, Threshold::default()), at(27 * 86_400));
        assert_eq!(pki_renewal_point(c, th(0.5)), at(15 * 86_400));
        assert_eq!(pki_renewal_point(c, th(0.0)), at(0));
        assert_eq!(pki_renewal_point(c, th(-3.0)), at(0));
        // Threshold above 1: the point lies after NotAfter, but expiry still forces a renewal.
        assert_eq!(
            pki_decision(Some(c), at(30 * 86_400 + 1), th(1.5)),
            PkiDecision::Issue
        );
        // Inverted window and zero lifespan: renew.
        assert_eq!(
            pki_decision(Some(cert(100, 50)), at(60), th(0.9)),
            PkiDecision::Issue
        );
        assert_eq!(
            pki_decision(Some(cert(100, 100)), at(100), th(0.9)),
            PkiDecision::Issue
        );
        // Huge validity: no overflow.
        let huge = CertValidity {
            not_before: at(0),
            not_after: Timestamp::MAX,
        };
        assert!(matches!(
            pki_decision(Some(huge), at(1), th(0.9)),
            PkiDecision::Reuse { .. }
        ));
    }

    #[test]
    fn property_reuse_only_before_expiry() {
        let mut seed = 0xdead_beef_cafe_f00d_u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let nb = rnd() % 2_000_000_000;
            let na = nb + rnd() % 100_000_000;
            let now = nb.saturating_sub(1000) + rnd() % (na - nb + 2000);
            let t = th((rnd() % 1000) as f64 / 1000.0);
            match pki_decision(Some(cert(nb, na)), at(now), t) {
                PkiDecision::Reuse { renew_at } => {
                    assert!(renew_at > at(now));
                    assert!(
                        renew_at <= at(na),
                        "renewal point within validity for threshold ≤ 1"
                    );
                    assert!(at(now) < at(na));
                }
                PkiDecision::Issue => assert!(at(now) >= pki_renewal_point(cert(nb, na), t)),
            }
        }
    }
}
