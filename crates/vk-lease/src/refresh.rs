//! When a template dependency is fetched again (§6.1–§6.4): the sleep after a non-renewable
//! secret, the hand-over of renewable secrets to the lifetime watcher, and list periods.

use std::fmt;
use std::time::Duration;

use crate::lifetime::LeaseInfo;
use crate::time::{Fraction, Threshold, Timestamp, scale};

/// Default `template_config.static_secret_render_interval` (§1.6, §6.2 step 5, §6.4).
pub const DEFAULT_STATIC_SECRET_RENDER_INTERVAL: Duration = Duration::from_secs(5 * 60);

/// Half-width of the window drawn around the threshold (§6.2 step 6: `[T − 0.05, T + 0.05)`).
const THRESHOLD_SPREAD: f64 = 0.05;

/// The `template_config` values that shape refresh timing (§1.6).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RefreshConfig {
    /// `static_secret_render_interval` (default 5 m).
    pub static_secret_render_interval: Duration,
    /// `lease_renewal_threshold` (default 0.9; Vault only, §0.3).
    pub lease_renewal_threshold: Threshold,
}

impl Default for RefreshConfig {
    fn default() -> Self {
        Self {
            static_secret_render_interval: DEFAULT_STATIC_SECRET_RENDER_INTERVAL,
            lease_renewal_threshold: Threshold::default(),
        }
    }
}

/// The timing-relevant fields of a Vault secret response (§5.1), extracted by the caller
/// (this crate does not parse JSON). Numbers are Vault's integer seconds; a field that is
/// absent or not an integer JSON number is `None`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SecretTiming {
    /// `lease_id` is non-empty.
    pub has_lease_id: bool,
    /// `lease_duration`.
    pub lease_duration: i64,
    /// `renewable`.
    pub renewable: bool,
    /// `auth.lease_duration`, when the response has `auth`.
    pub auth_lease_duration: Option<i64>,
    /// `auth.renewable` (false without `auth`).
    pub auth_renewable: bool,
    /// `data.certificate` exists (PKI issue via `secret`, §6.2 step 2).
    pub has_certificate: bool,
    /// `data.expiration` (Unix seconds).
    pub expiration: Option<i64>,
    /// `data.secret_id` exists (AppRole secret-ID generation, §6.2 step 3).
    pub has_secret_id: bool,
    /// `data.secret_id_ttl`.
    pub secret_id_ttl: Option<i64>,
    /// `data.rotation_period` exists (database static roles, §6.2 step 4).
    pub has_rotation_period: bool,
    /// `data.ttl`.
    pub ttl: Option<i64>,
}

/// Where the sleep of a non-renewable secret came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SleepKind {
    /// A lease, PKI expiration or secret-ID TTL scaled by the jittered threshold (§6.2 step 6).
    Leased,
    /// No lease (KV v2): `static_secret_render_interval` scaled by the jittered threshold
    /// (§6.2 step 5).
    Static,
    /// Rotating secret: exactly `ttl + 1` seconds, no jitter (§6.2 steps 4 and 6).
    Rotating,
}

/// What the per-dependency watcher does after a successful fetch (§6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FetchPlan {
    /// Renewable secret (§6.3): publish it now; on the next loop iteration start a
    /// [`crate::LifetimeWatcher`] in [`crate::RenewMode::ErrorOnErrors`] mode on this lease
    /// (it renews immediately) and fetch anew when it ends.
    Renew(LeaseInfo),
    /// Non-renewable secret (§6.2): sleep this long, then fetch again.
    Sleep {
        /// How long to wait.
        sleep: Duration,
        /// Which rule produced it.
        kind: SleepKind,
    },
}

/// A response whose timing is an error rather than a sleep.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RefreshError {
    /// A rotating secret (`data.rotation_period` present, no `lease_id`) reported `ttl = 0`:
    /// Vault treats this as an error so the retry path of §6.6 re-reads it (§6.2 step 4).
    RotatingSecretZeroTtl,
}

impl fmt::Display for RefreshError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::RotatingSecretZeroTtl => {
                f.write_str("rotating secret reported a ttl of 0; it will be read again")
            }
        }
    }
}

impl std::error::Error for RefreshError {}

/// Decides what follows a successful fetch (§6.1): renewable secrets (`renewable` with a
/// `lease_id`, or `auth.renewable`) go to the lifetime watcher (§6.3), the rest sleep per §6.2.
///
/// A "renewable" response that cannot be renewed — no `lease_id` to renew (and no renewable
/// `auth`), or a lease of zero seconds — sleeps like a non-renewable one: a watcher on it
/// would end at once and the secret would be fetched again in a tight loop.
pub fn plan_after_fetch(
    secret: &SecretTiming,
    now_unix: Timestamp,
    config: &RefreshConfig,
    jitter: Fraction,
) -> Result<FetchPlan, RefreshError> {
    let secs = if secret.auth_renewable {
        secret.auth_lease_duration.unwrap_or(0)
    } else if secret.renewable && secret.has_lease_id {
        secret.lease_duration
    } else {
        0
    };
    if let Ok(secs) = u64::try_from(secs)
        && secs > 0
    {
        return Ok(FetchPlan::Renew(LeaseInfo {
            ttl: Duration::from_secs(secs),
            renewable: true,
        }));
    }
    let (sleep, kind) = non_renewable_sleep(secret, now_unix, config, jitter)?;
    Ok(FetchPlan::Sleep { sleep, kind })
}

/// The sleep before a non-renewable secret is fetched again (§6.2), applying its six steps
/// in order (later steps override earlier ones):
///
/// 1. `base` = `lease_duration`, or `auth.lease_duration` when positive;
/// 2. `data.certificate` + no `lease_id` + integer `data.expiration` → `expiration − now`
///    (whole Unix seconds, so `now_unix` must be Unix time);
/// 3. `data.secret_id` + no `lease_id` + `secret_id_ttl > 0` → `secret_id_ttl + 1`;
/// 4. `data.rotation_period` + no `lease_id` + integer `data.ttl`: `> 0` → `ttl + 1`, rotating;
///    `= 0` → [`RefreshError::RotatingSecretZeroTtl`];
/// 5. `base ≤ 0` → `static_secret_render_interval`;
/// 6. rotating → `base`; otherwise `base × f`, `f = T − 0.05 + 0.1 × jitter` (uniform in
///    `[T − 0.05, T + 0.05)` for a uniform draw), replaced by `T` outside `(0, 1)`.
pub fn non_renewable_sleep(
    secret: &SecretTiming,
    now_unix: Timestamp,
    config: &RefreshConfig,
    jitter: Fraction,
) -> Result<(Duration, SleepKind), RefreshError> {
    // Step 1.
    let mut base: i64 = match secret.auth_lease_duration {
        Some(auth) if auth > 0 => auth,
        _ => secret.lease_duration,
    };
    // Step 2: PKI certificate issued through `secret`.
    if secret.has_certificate
        && !secret.has_lease_id
        && let Some(expiration) = secret.expiration
    {
        let now = i64::try_from(now_unix.whole_secs()).unwrap_or(i64::MAX);
        base = expiration.saturating_sub(now);
    }
    // Step 3: AppRole secret-ID.
    if secret.has_secret_id
        && !secret.has_lease_id
        && let Some(ttl) = secret.secret_id_ttl.filter(|t| *t > 0)
    {
        base = ttl.saturating_add(1);
    }
    // Step 4: rotating (database static role) secret.
    let mut rotating = false;
    if secret.has_rotation_period && !secret.has_lease_id {
        match secret.ttl {
            Some(0) => return Err(RefreshError::RotatingSecretZeroTtl),
            Some(ttl) if ttl > 0 => {
                base = ttl.saturating_add(1);
                rotating = true;
            }
            _ => {}
        }
    }
    // Step 5.
    let (base, static_) = match u64::try_from(base) {
        Ok(secs) if secs > 0 => (Duration::from_secs(secs), false),
        _ => (config.static_secret_render_interval, true),
    };
    // Step 6.
    if rotating {
        return Ok((base, SleepKind::Rotating));
    }
    let t = config.lease_renewal_threshold.get();
    let mut f = t - THRESHOLD_SPREAD + 2.0 * THRESHOLD_SPREAD * jitter.get();
    if f <= 0.0 || f >= 1.0 {
        f = t;
    }
    let kind = if static_ {
        SleepKind::Static
    } else {
        SleepKind::Leased
    };
    Ok((scale(base, f), kind))
}

/// The wait before a `secrets` list is issued (§6.4): none for the first list, then exactly
/// `static_secret_render_interval` (no jitter).
pub fn list_sleep(first_fetch: bool, static_secret_render_interval: Duration) -> Duration {
    if first_fetch {
        Duration::ZERO
    } else {
        static_secret_render_interval
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }
    fn close(a: Duration, b: Duration) -> bool {
        a.abs_diff(b) <= Duration::from_micros(1)
    }
    fn cfg() -> RefreshConfig {
        RefreshConfig::default()
    }
    fn sleep_of(
        secret: &SecretTiming,
        now: u64,
        c: &RefreshConfig,
        j: Fraction,
    ) -> (Duration, SleepKind) {
        match non_renewable_sleep(secret, Timestamp::from_secs(now), c, j) {
            Ok(v) => v,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn kv2_uses_static_interval() {
        // KV v2: lease 0 → 5 m × [0.85, 0.95] = 4 m 15 s … 4 m 45 s.
        let kv2 = SecretTiming::default();
        let cases = [
            (Fraction::ZERO, s(255)),
            (Fraction::HALF, s(270)),
            (Fraction::ONE, s(285)),
        ];
        for (j, want) in cases {
            let (got, kind) = sleep_of(&kv2, 0, &cfg(), j);
            assert!(close(got, want), "{j:?}: {got:?}");
            assert_eq!(kind, SleepKind::Static);
        }
        // Observed with static_secret_render_interval = 10s: 8.65 s – 9.06 s ⊂ [8.5, 9.5].
        let c = RefreshConfig {
            static_secret_render_interval: s(10),
            ..cfg()
        };
        assert!(close(
            sleep_of(&kv2, 0, &c, Fraction::ZERO).0,
            Duration::from_millis(8500)
        ));
        assert!(close(
            sleep_of(&kv2, 0, &c, Fraction::ONE).0,
            Duration::from_millis(9500)
        ));
    }

    #[test]
    fn leased_secret_table() {
        let kv1 = |lease| SecretTiming {
            has_lease_id: false,
            lease_duration: lease,
            ..Default::default()
        };
        let cases: &[(SecretTiming, Fraction, Duration)] = &[
            // KV v1 ttl = "20s": 17–19 s (observed 17.8 s).
            (kv1(20), Fraction::ZERO, s(17)),
            (kv1(20), Fraction::ONE, s(19)),
            // TTL 60 s: 51–57 s.
            (kv1(60), Fraction::ZERO, s(51)),
            (kv1(60), Fraction::HALF, s(54)),
            (kv1(60), Fraction::ONE, s(57)),
            // KV v1 mount default 32 days: ≈ 27.2–30.4 days.
            (kv1(32 * 86_400), Fraction::ZERO, s(2_350_080)),
            // Auth lease wins when positive.
            (
                SecretTiming {
                    lease_duration: 1000,
                    auth_lease_duration: Some(100),
                    ..Default::default()
                },
                Fraction::HALF,
                s(90),
            ),
            (
                SecretTiming {
                    lease_duration: 100,
                    auth_lease_duration: Some(0),
                    ..Default::default()
                },
                Fraction::HALF,
                s(90),
            ),
        ];
        for (secret, j, want) in cases {
            let (got, kind) = sleep_of(secret, 0, &cfg(), *j);
            assert!(close(got, *want), "{secret:?} {j:?}: {got:?} != {want:?}");
            assert_eq!(kind, SleepKind::Leased);
        }
    }

    #[test]
    fn pki_via_secret_uses_expiration() {
        let now = 1_700_000_000;
        let pki = SecretTiming {
            has_lease_id: false,
            lease_duration: 0,
            has_certificate: true,
            expiration: Some(now as i64 + 3600),
            ..Default::default()
        };
        // 3600 s remaining × 0.9.
        assert!(close(
            sleep_of(&pki, now, &cfg(), Fraction::HALF).0,
            s(3240)
        ));
        // Sub-second `now` is truncated to whole seconds like Go's Unix().
        let got = non_renewable_sleep(
            &pki,
            Timestamp::new(Duration::from_millis(now * 1000 + 999)),
            &cfg(),
            Fraction::HALF,
        );
        assert_eq!(got.map(|v| close(v.0, s(3240))), Ok(true));
        // Already expired → base ≤ 0 → static interval.
        let expired = SecretTiming {
            expiration: Some(now as i64 - 5),
            ..pki
        };
        assert_eq!(
            sleep_of(&expired, now, &cfg(), Fraction::HALF).1,
            SleepKind::Static
        );
        // With a lease_id the PKI rule does not apply.
        let leased = SecretTiming {
            has_lease_id: true,
            lease_duration: 100,
            ..pki
        };
        assert!(close(
            sleep_of(&leased, now, &cfg(), Fraction::HALF).0,
            s(90)
        ));
        // Without a numeric expiration the lease rule stays.
        let no_exp = SecretTiming {
            expiration: None,
            lease_duration: 100,
            ..pki
        };
        assert!(close(
            sleep_of(&no_exp, now, &cfg(), Fraction::HALF).0,
            s(90)
        ));
    }

    #[test]
    fn secret_id_and_rotating() {
        let sid = SecretTiming {
            has_secret_id: true,
            secret_id_ttl: Some(99),
            ..Default::default()
        };
        assert!(close(sleep_of(&sid, 0, &cfg(), Fraction::HALF).0, s(90)));
        let sid0 = SecretTiming {
            secret_id_ttl: Some(0),
            ..sid
        };
        assert_eq!(
            sleep_of(&sid0, 0, &cfg(), Fraction::HALF).1,
            SleepKind::Static
        );

        let rot = SecretTiming {
            has_rotation_period: true,
            ttl: Some(59),
            ..Default::default()
        };
        assert_eq!(
            sleep_of(&rot, 0, &cfg(), Fraction::ZERO),
            (s(60), SleepKind::Rotating)
        );
        assert_eq!(
            sleep_of(&rot, 0, &cfg(), Fraction::ONE),
            (s(60), SleepKind::Rotating)
        );
        let rot0 = SecretTiming {
            ttl: Some(0),
            ..rot
        };
        assert_eq!(
            non_renewable_sleep(&rot0, Timestamp::ZERO, &cfg(), Fraction::HALF),
            Err(RefreshError::RotatingSecretZeroTtl)
        );
        // With a lease_id the rotation rule is skipped.
        let rot_leased = SecretTiming {
            has_lease_id: true,
            lease_duration: 100,
            ..rot0
        };
        assert!(close(
            sleep_of(&rot_leased, 0, &cfg(), Fraction::HALF).0,
            s(90)
        ));
    }

    #[test]
    fn threshold_edges() {
        let kv1 = SecretTiming {
            lease_duration: 100,
            ..Default::default()
        };
        let with = |t: f64| RefreshConfig {
            lease_renewal_threshold: Threshold::new(t).unwrap_or_default(),
            ..cfg()
        };
        // T = 0.97: f in [0.92, 1.02) → the top of the range falls back to T.
        assert!(close(
            sleep_of(&kv1, 0, &with(0.97), Fraction::ZERO).0,
            s(92)
        ));
        assert!(close(
            sleep_of(&kv1, 0, &with(0.97), Fraction::ONE).0,
            s(97)
        ));
        // T = 0.02: f in [-0.03, 0.07) → bottom falls back to T.
        assert!(close(
            sleep_of(&kv1, 0, &with(0.02), Fraction::ZERO).0,
            s(2)
        ));
        assert!(close(sleep_of(&kv1, 0, &with(0.02), Fraction::ONE).0, s(7)));
        // Negative lease → static interval.
        let neg = SecretTiming {
            lease_duration: -7,
            ..Default::default()
        };
        assert_eq!(
            sleep_of(&neg, 0, &cfg(), Fraction::HALF).1,
            SleepKind::Static
        );
        // Huge lease: no overflow.
        let huge = SecretTiming {
            lease_duration: i64::MAX,
            ..Default::default()
        };
        assert!(sleep_of(&huge, 0, &cfg(), Fraction::ONE).0 > s(1 << 60));
        let huge_sid = SecretTiming {
            has_secret_id: true,
            secret_id_ttl: Some(i64::MAX),
            ..Default::default()
        };
        assert!(sleep_of(&huge_sid, 0, &cfg(), Fraction::ONE).0 > s(1 << 60));
    }

    #[test]
    fn renewable_goes_to_watcher() {
        let db = SecretTiming {
            has_lease_id: true,
            lease_duration: 3600,
            renewable: true,
            ..Default::default()
        };
        assert_eq!(
            plan_after_fetch(&db, Timestamp::ZERO, &cfg(), Fraction::HALF),
            Ok(FetchPlan::Renew(LeaseInfo {
                ttl: s(3600),
                renewable: true
            }))
        );
        let token = SecretTiming {
            auth_lease_duration: Some(30),
            auth_renewable: true,
            ..Default::default()
        };
        assert_eq!(
            plan_after_fetch(&token, Timestamp::ZERO, &cfg(), Fraction::HALF),
            Ok(FetchPlan::Renew(LeaseInfo {
                ttl: s(30),
                renewable: true
            }))
        );
        // Renewable but nothing to renew with, or a zero lease: §6.2 sleeps instead.
        let no_lease_id = SecretTiming {
            lease_duration: 100,
            renewable: true,
            ..Default::default()
        };
        assert!(matches!(
            plan_after_fetch(&no_lease_id, Timestamp::ZERO, &cfg(), Fraction::ZERO),
            Ok(FetchPlan::Sleep {
                kind: SleepKind::Leased,
                sleep
            }) if close(sleep, s(85))
        ));
        let zero = SecretTiming {
            has_lease_id: true,
            renewable: true,
            ..Default::default()
        };
        assert!(matches!(
            plan_after_fetch(&zero, Timestamp::ZERO, &cfg(), Fraction::HALF),
            Ok(FetchPlan::Sleep {
                kind: SleepKind::Static,
                ..
            })
        ));
        let zero_auth = SecretTiming {
            auth_lease_duration: Some(0),
            auth_renewable: true,
            ..Default::default()
        };
        assert!(matches!(
            plan_after_fetch(&zero_auth, Timestamp::ZERO, &cfg(), Fraction::HALF),
            Ok(FetchPlan::Sleep { .. })
        ));
        let kv2 = SecretTiming::default();
        assert!(matches!(
            plan_after_fetch(&kv2, Timestamp::ZERO, &cfg(), Fraction::HALF),
            Ok(FetchPlan::Sleep {
                kind: SleepKind::Static,
                ..
            })
        ));
    }

    #[test]
    fn lists() {
        assert_eq!(list_sleep(true, s(300)), Duration::ZERO);
        assert_eq!(list_sleep(false, s(300)), s(300));
    }

    #[test]
    fn property_sleep_within_threshold_window() {
        let mut seed = 0x1234_5678_9abc_def1_u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..5000 {
            let lease = (rnd() % 10_000_000) as i64 - 1000;
            let t = 0.1 + (rnd() % 800) as f64 / 1000.0; // 0.1 … 0.9
            let c = RefreshConfig {
                lease_renewal_threshold: Threshold::new(t).unwrap_or_default(),
                ..cfg()
            };
            let j = Fraction::clamped((rnd() % 1001) as f64 / 1000.0);
            let secret = SecretTiming {
                lease_duration: lease,
                ..Default::default()
            };
            let (got, kind) = sleep_of(&secret, 0, &c, j);
            let base = if lease > 0 {
                s(lease as u64)
            } else {
                c.static_secret_render_interval
            };
            assert_eq!(
                kind,
                if lease > 0 {
                    SleepKind::Leased
                } else {
                    SleepKind::Static
                }
            );
            assert!(got < base, "the next fetch happens before the lease ends");
            assert!(got >= scale(base, t - 0.05).saturating_sub(Duration::from_micros(1)));
            assert!(got <= scale(base, t + 0.05) + Duration::from_micros(1));
        }
    }
}
