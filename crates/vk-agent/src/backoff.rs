//! Retry timing. This is the seam for the `vk-lease` timing crate being written in parallel:
//! everything time-related the agent decides goes through [`AuthBackoff`], [`retry_delay`],
//! [`next_fetch_delay`] and [`renew_delay`], so swapping in the pure crate touches this file only.

use std::time::Duration;

/// A small non-cryptographic random source (xorshift64*) for jitter; seeded from the clock
/// and the process id. Not used for anything secret.
#[derive(Debug, Clone)]
pub(crate) struct Jitter(u64);

impl Jitter {
    pub(crate) fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
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
}

/// Auto-auth backoff (spec §2.1, Vault's flavour): the first wait is `min` reduced by up to
/// 25 %, each next one min(2 × previous, `max`) reduced by up to 25 %; reset after success.
#[derive(Debug, Clone)]
pub(crate) struct AuthBackoff {
    min: Duration,
    max: Duration,
    current: Option<Duration>,
    jitter: Jitter,
}

impl AuthBackoff {
    pub(crate) fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max: max.max(min),
            current: None,
            jitter: Jitter::new(),
        }
    }

    /// The wait before the next attempt.
    pub(crate) fn next_delay(&mut self) -> Duration {
        let base = match self.current {
            None => self.min,
            Some(prev) => (prev * 2).min(self.max),
        };
        self.current = Some(base);
        base.mul_f64(1.0 - 0.25 * self.jitter.unit())
    }

    pub(crate) fn reset(&mut self) {
        self.current = None;
    }
}

/// Fetch retries inside a dependency watcher (spec §6.6): 250 ms × 2^attempt, capped at 1 m.
pub(crate) fn retry_delay(attempt: u32) -> Duration {
    let base = Duration::from_millis(250);
    let max = Duration::from_secs(60);
    base.checked_mul(1u32 << attempt.min(20))
        .unwrap_or(max)
        .min(max)
}

/// When a non-renewable secret is fetched again (spec §6.2): `lease` (or the static render
/// interval when the lease is 0) × a factor uniform in [T − 0.05, T + 0.05).
pub(crate) fn next_fetch_delay(
    lease: Duration,
    static_interval: Duration,
    threshold: f64,
    jitter: &mut Jitter,
) -> Duration {
    let base = if lease.is_zero() {
        static_interval
    } else {
        lease
    };
    let mut f = threshold - 0.05 + 0.1 * jitter.unit();
    if !(f > 0.0 && f < 1.0) {
        f = if threshold > 0.0 && threshold < 1.0 {
            threshold
        } else {
            0.9
        };
    }
    base.mul_f64(f)
}

/// When the auth token is renewed (spec §2.8): ⅔ of the lease plus ⅓ of a 10–20 % grace.
pub(crate) fn renew_delay(lease: Duration, jitter: &mut Jitter) -> Duration {
    let grace = lease.mul_f64(0.1 + 0.1 * jitter.unit());
    lease.mul_f64(2.0 / 3.0) + grace / 3
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
    fn retry_schedule() {
        let s: Vec<_> = (0..10).map(|a| retry_delay(a).as_millis()).collect();
        assert_eq!(
            s,
            [250, 500, 1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000]
        );
    }

    #[test]
    fn fetch_delay_range() {
        let mut j = Jitter::new();
        for _ in 0..100 {
            let d = next_fetch_delay(Duration::ZERO, Duration::from_secs(10), 0.9, &mut j);
            assert!(d >= Duration::from_millis(8500) && d < Duration::from_millis(9500));
        }
    }
}
