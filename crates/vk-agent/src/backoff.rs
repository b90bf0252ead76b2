//! Timing: the agent's adapter over the pure `vk-lease` crate. `vk-lease` decides (backoff,
//! retry schedule, refresh sleeps, the token lifetime watcher); this module supplies the clock
//! and the random draws.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use vk_lease::{Backoff, FetchPlan, Fraction, RefreshConfig, SecretTiming, Threshold, Timestamp};

/// A small non-cryptographic random source (xorshift64*) for jitter; seeded from the clock
/// and the process id. Not used for anything secret.
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let nanos = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        // Truncation is fine: this only seeds jitter.
        #[allow(clippy::cast_possible_truncation)]
        let seed = (nanos as u64) ^ (u64::from(std::process::id()) << 32) | 1;
        Self(seed)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        let v = x.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 11;
        #[allow(clippy::cast_precision_loss)]
        let f = v as f64 / (1u64 << 53) as f64;
        f
    }

    /// A draw for `vk-lease`.
    pub(crate) fn fraction(&mut self) -> Fraction {
        Fraction::clamped(self.unit())
    }
}

/// Wall-clock now for `vk-lease`.
pub(crate) fn now() -> Timestamp {
    Timestamp::new(
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default(),
    )
}

/// The auth-loop / engine-restart backoff (spec §2.1, §6.6) with its jitter source.
#[derive(Debug, Clone)]
pub(crate) struct AuthBackoff {
    inner: Backoff,
    jitter: Jitter,
}

impl AuthBackoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Self {
            inner: Backoff::new(min, max),
            jitter: Jitter::new(),
        }
    }

    /// The template engine's restart backoff (Vault: 1 s doubling to 5 m).
    pub(crate) fn engine() -> Self {
        Self {
            inner: Backoff::engine_default(),
            jitter: Jitter::new(),
        }
    }

    /// The wait before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        self.inner.next_delay(self.jitter.fraction())
    }

    pub(crate) fn reset(&mut self) {
        self.inner.reset();
    }
}

/// The timing fields of a Vault response body (`vk-lease` does not parse JSON).
pub(crate) fn secret_timing(body: &str) -> SecretTiming {
    let Ok(v) = serde_json::from_str::<serde_json::Value>(body) else {
        return SecretTiming::default();
    };
    let int = |p: &str| v.pointer(p).and_then(serde_json::Value::as_i64);
    let has = |p: &str| v.pointer(p).is_some_and(|x| !x.is_null());
    SecretTiming {
        has_lease_id: v
            .get("lease_id")
            .and_then(serde_json::Value::as_str)
            .is_some_and(|s| !s.is_empty()),
        lease_duration: int("/lease_duration").unwrap_or(0),
        renewable: v
            .get("renewable")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        auth_lease_duration: int("/auth/lease_duration"),
        auth_renewable: v
            .pointer("/auth/renewable")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false),
        has_certificate: has("/data/certificate"),
        expiration: int("/data/expiration"),
        has_secret_id: has("/data/secret_id"),
        secret_id_ttl: int("/data/secret_id_ttl"),
        has_rotation_period: has("/data/rotation_period"),
        ttl: int("/data/ttl"),
    }
}

/// What follows a successful fetch (spec §6.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum AfterFetch {
    /// Renewable (§6.3): hand the lease to a lifetime watcher.
    Renew(vk_lease::LeaseInfo),
    /// Not renewable (§6.2): fetch again after this long.
    Sleep(Duration),
}

/// Decides between renewing and re-fetching a fetched secret (spec §6.2, §6.3).
pub(crate) fn after_fetch(
    body: &str,
    static_interval: Duration,
    threshold: f64,
    jitter: &mut Jitter,
) -> AfterFetch {
    let config = RefreshConfig {
        static_secret_render_interval: static_interval,
        lease_renewal_threshold: Threshold::new(threshold).unwrap_or_default(),
    };
    match vk_lease::plan_after_fetch(&secret_timing(body), now(), &config, jitter.fraction()) {
        Ok(FetchPlan::Renew(lease)) => AfterFetch::Renew(lease),
        Ok(FetchPlan::Sleep { sleep, .. }) => AfterFetch::Sleep(sleep),
        // A rotating secret reported ttl 0: read it again soon (the retry path).
        Err(_) => AfterFetch::Sleep(vk_lease::DEFAULT_RETRY_BACKOFF),
    }
}

/// Converts a `vk-lease` timestamp into a tokio deadline.
pub(crate) fn deadline(at: Timestamp) -> tokio::time::Instant {
    tokio::time::Instant::now() + at.saturating_since(now())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auth_backoff_grows_and_caps() {
        let mut b = AuthBackoff::new(Duration::from_secs(1), Duration::from_secs(5));
        let waits: Vec<_> = (0..6).map(|_| b.next_delay()).collect();
        assert!(waits[0] <= Duration::from_secs(1) && waits[0] >= Duration::from_millis(750));
        assert!(waits[1] >= Duration::from_millis(1500));
        for w in &waits {
            assert!(*w <= Duration::from_secs(5));
        }
        assert!(waits[5] >= Duration::from_millis(3750));
        b.reset();
        assert!(b.next_delay() <= Duration::from_secs(1));
    }

    #[test]
    fn fetch_delay_range() {
        let mut j = Jitter::new();
        let sleep = |body: &str, interval: u64, j: &mut Jitter| match after_fetch(
            body,
            Duration::from_secs(interval),
            0.9,
            j,
        ) {
            AfterFetch::Sleep(d) => d,
            other => panic!("expected a sleep, got {other:?}"),
        };
        let kv2 = r#"{"lease_duration":0,"data":{"data":{}}}"#;
        for _ in 0..100 {
            let d = sleep(kv2, 10, &mut j);
            assert!(d >= Duration::from_millis(8500) && d < Duration::from_millis(9500));
        }
        let kv1 = r#"{"lease_duration":20,"data":{}}"#;
        let d = sleep(kv1, 300, &mut j);
        assert!(d >= Duration::from_secs(17) && d < Duration::from_secs(19));
    }

    #[test]
    fn renewable_secrets_go_to_the_watcher() {
        let mut j = Jitter::new();
        let db =
            r#"{"lease_id":"database/creds/app/x","lease_duration":6,"renewable":true,"data":{}}"#;
        assert_eq!(
            after_fetch(db, Duration::from_secs(300), 0.9, &mut j),
            AfterFetch::Renew(vk_lease::LeaseInfo {
                ttl: Duration::from_secs(6),
                renewable: true
            })
        );
        let token = r#"{"lease_duration":0,"renewable":false,"auth":{"client_token":"t","lease_duration":30,"renewable":true}}"#;
        assert_eq!(
            after_fetch(token, Duration::from_secs(300), 0.9, &mut j),
            AfterFetch::Renew(vk_lease::LeaseInfo {
                ttl: Duration::from_secs(30),
                renewable: true
            })
        );
    }

    #[test]
    fn timing_fields() {
        let t = secret_timing(
            r#"{"lease_id":"x","lease_duration":5,"renewable":true,"auth":{"lease_duration":7,"renewable":true},"data":{"ttl":3,"rotation_period":60}}"#,
        );
        assert!(t.has_lease_id && t.renewable && t.auth_renewable && t.has_rotation_period);
        assert_eq!(
            (t.lease_duration, t.auth_lease_duration, t.ttl),
            (5, Some(7), Some(3))
        );
    }
}
