//! Exponential backoff with downward jitter: the auto-auth login retry (§2.1 step 5, Vault)
//! and the template-engine restart after a failure when `exit_on_retry_failure` is off (§6.6).

use std::time::Duration;

use crate::time::{Fraction, scale};

/// Default `auto_auth.method.min_backoff` (§1.4, §2.1).
pub const AUTH_MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Default `auto_auth.method.max_backoff` (§1.4, §2.1).
pub const AUTH_MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);
/// First wait before the template engine is recreated after a failure (§6.6, Vault: 1 s).
pub const ENGINE_MIN_BACKOFF: Duration = Duration::from_secs(1);
/// Cap of the template-engine restart wait (§6.6, Vault: 5 m).
pub const ENGINE_MAX_BACKOFF: Duration = Duration::from_secs(5 * 60);

/// Largest share of a wait that jitter removes (§2.1: "reduced by up to 25 %").
const MAX_JITTER: f64 = 0.25;

/// Exponential backoff state (§2.1 step 5, Vault flavour).
///
/// The un-jittered wait starts at `min` and doubles after each failure up to `max`; the wait
/// actually slept is that value reduced by `0.25 × jitter` (so it lies in `(0.75 × base, base]`,
/// never above `max`). Jitter never feeds back into the next base, which is why the
/// un-jittered schedule is monotonic. [`Backoff::reset`] after a successful login puts the base
/// back to `min`.
///
/// The same schedule is used when the template engine is recreated after a failure (§6.6:
/// "1 s doubling to 5 m with up to 25 % jitter"): build it with
/// [`ENGINE_MIN_BACKOFF`]/[`ENGINE_MAX_BACKOFF`] and reset it after a successful render.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Backoff {
    min: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    /// A backoff starting at `min` and capped at `max`. A `min` above `max` is a configuration
    /// error upstream (§1.2 validation, `min_backoff` > `max_backoff`); here it is tolerated by
    /// capping every wait at `max`, so the result still honours the cap.
    pub fn new(min: Duration, max: Duration) -> Self {
        Self {
            min,
            max,
            current: min.min(max),
        }
    }

    /// The auth-loop defaults (1 s, 5 m; §1.4).
    pub fn auth_default() -> Self {
        Self::new(AUTH_MIN_BACKOFF, AUTH_MAX_BACKOFF)
    }

    /// The template-engine restart defaults (1 s, 5 m; §6.6).
    pub fn engine_default() -> Self {
        Self::new(ENGINE_MIN_BACKOFF, ENGINE_MAX_BACKOFF)
    }

    /// The un-jittered wait the next failure will use.
    pub const fn current(&self) -> Duration {
        self.current
    }

    /// Records a failure: returns the wait before the next attempt and doubles the base (capped
    /// at `max`).
    pub fn next_delay(&mut self, jitter: Fraction) -> Duration {
        let base = self.current;
        self.current = base.saturating_mul(2).min(self.max);
        apply_jitter(base, jitter)
    }

    /// A successful attempt: the next failure waits about `min` again (§2.1 "reset to
    /// `min_backoff` after a successful login").
    pub fn reset(&mut self) {
        self.current = self.min.min(self.max);
    }

    /// Stateless form: the wait after the `attempt`-th consecutive failure (0 = first failure),
    /// i.e. `min(min × 2^attempt, max) × (1 − 0.25 × jitter)`.
    pub fn delay_for_attempt(
        min: Duration,
        max: Duration,
        attempt: u32,
        jitter: Fraction,
    ) -> Duration {
        let factor = 2u32.checked_pow(attempt).unwrap_or(u32::MAX);
        let base = min.saturating_mul(factor).min(max);
        apply_jitter(base, jitter)
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Self::auth_default()
    }
}

fn apply_jitter(base: Duration, jitter: Fraction) -> Duration {
    scale(base, 1.0 - MAX_JITTER * jitter.get()).min(base)
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }
    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }

    #[test]
    fn default_schedule_without_jitter() {
        // 1 s doubling to the 5 m cap (§2.1 defaults).
        let mut b = Backoff::auth_default();
        let got: Vec<_> = (0..12).map(|_| b.next_delay(Fraction::ZERO)).collect();
        let want = [
            s(1),
            s(2),
            s(4),
            s(8),
            s(16),
            s(32),
            s(64),
            s(128),
            s(256),
            s(300),
            s(300),
            s(300),
        ];
        assert_eq!(got, want);
    }

    #[test]
    fn full_jitter_removes_a_quarter() {
        let mut b = Backoff::auth_default();
        let got: Vec<_> = (0..4).map(|_| b.next_delay(Fraction::ONE)).collect();
        assert_eq!(got, [ms(750), ms(1500), s(3), s(6)]);
        let mut b = Backoff::auth_default();
        assert_eq!(b.next_delay(Fraction::HALF), ms(875));
    }

    #[test]
    fn reset_after_success() {
        let mut b = Backoff::new(s(2), s(10));
        for _ in 0..5 {
            b.next_delay(Fraction::ZERO);
        }
        assert_eq!(b.current(), s(10));
        b.reset();
        assert_eq!(b.next_delay(Fraction::ZERO), s(2));
        assert_eq!(b.next_delay(Fraction::ZERO), s(4));
    }

    #[test]
    fn stateless_matches_stateful() {
        let (min, max) = (ms(300), s(45));
        let mut b = Backoff::new(min, max);
        for attempt in 0..40 {
            let j = Fraction::clamped(f64::from(attempt % 7) / 6.0);
            assert_eq!(
                Backoff::delay_for_attempt(min, max, attempt, j),
                b.next_delay(j),
                "attempt {attempt}"
            );
        }
    }

    #[test]
    fn boundary_cases() {
        // min > max (rejected by validation upstream): the cap still holds.
        let mut b = Backoff::new(s(10), s(3));
        assert_eq!(b.next_delay(Fraction::ZERO), s(3));
        assert_eq!(b.next_delay(Fraction::ZERO), s(3));
        // Zero min: zero waits, no panic.
        let mut b = Backoff::new(Duration::ZERO, s(3));
        assert_eq!(b.next_delay(Fraction::ONE), Duration::ZERO);
        // Huge values saturate.
        let mut b = Backoff::new(Duration::MAX, Duration::MAX);
        assert_eq!(b.next_delay(Fraction::ZERO), Duration::MAX);
        assert_eq!(b.next_delay(Fraction::ZERO), Duration::MAX);
        assert_eq!(
            Backoff::delay_for_attempt(s(1), Duration::MAX, 200, Fraction::ZERO),
            s(u64::from(u32::MAX))
        );
    }

    #[test]
    fn property_within_bounds_and_monotonic_base() {
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..500 {
            let min = ms(1 + rnd() % 5_000);
            let max = min + ms(rnd() % 600_000);
            let mut b = Backoff::new(min, max);
            let mut prev_base = Duration::ZERO;
            for _ in 0..30 {
                let base = b.current();
                assert!(
                    base >= prev_base,
                    "un-jittered wait must not shrink before the cap"
                );
                assert!(base >= min && base <= max);
                prev_base = base;
                let j = Fraction::clamped((rnd() % 10_001) as f64 / 10_000.0);
                let d = b.next_delay(j);
                assert!(d <= base && d <= max, "{d:?} > {base:?}");
                assert!(
                    d >= scale(base, 0.75).saturating_sub(Duration::from_nanos(1)),
                    "{d:?} below 75 % of {base:?}"
                );
            }
            assert_eq!(b.current(), max, "30 doublings reach any cap used here");
        }
    }
}
