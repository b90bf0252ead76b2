//! Per-request retries inside a template dependency watcher and what happens when they run
//! out (§6.6, `vault.retry` §1.3, `template_config.exit_on_retry_failure` §1.6).

use std::time::Duration;

use crate::backoff::Backoff;
use crate::time::Fraction;

/// `vault.retry.num_retries` used when the setting is 0 or absent (§1.3).
pub const DEFAULT_NUM_RETRIES: u32 = 12;
/// Retry base when `auto_auth.method.min_backoff` is not set (§6.6).
pub const DEFAULT_RETRY_BACKOFF: Duration = Duration::from_millis(250);
/// Retry cap when `auto_auth.method.max_backoff` is not set (§6.6).
pub const DEFAULT_RETRY_MAX_BACKOFF: Duration = Duration::from_secs(60);

/// The retry settings of the template engine (§6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries allowed after a failure (0 = none).
    pub max_retries: u32,
    /// Wait before the first retry.
    pub backoff: Duration,
    /// Cap of every wait.
    pub max_backoff: Duration,
}

/// Whether a failed fetch is retried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetryDecision {
    /// Wait this long, then fetch again.
    RetryAfter(Duration),
    /// Retries are exhausted (or disabled): the error stops the engine (§6.6); see
    /// [`on_engine_failure`].
    GiveUp,
}

impl RetryPolicy {
    /// Builds the policy from configuration (§1.3, §6.6):
    ///
    /// * `num_retries`: `0` → 12; `-1` → retries disabled (the error surfaces at once). Other
    ///   negative values are not described by the spec and are treated like `-1`.
    /// * `min_backoff` / `max_backoff`: the `auto_auth.method` values when set; `None` or zero
    ///   (zero is how an unset duration decodes) → 250 ms / 1 m.
    pub fn from_config(
        num_retries: i64,
        min_backoff: Option<Duration>,
        max_backoff: Option<Duration>,
    ) -> Self {
        let max_retries = match num_retries {
            0 => DEFAULT_NUM_RETRIES,
            n if n < 0 => 0,
            n => u32::try_from(n).unwrap_or(u32::MAX),
        };
        let set = |d: Option<Duration>| d.filter(|d| !d.is_zero());
        Self {
            max_retries,
            backoff: set(min_backoff).unwrap_or(DEFAULT_RETRY_BACKOFF),
            max_backoff: set(max_backoff).unwrap_or(DEFAULT_RETRY_MAX_BACKOFF),
        }
    }

    /// After a failed fetch, with `retries_done` retries already made since the last success
    /// (0 for the first failure): retry after `min(backoff × 2^retries_done, max_backoff)`
    /// while `retries_done < max_retries`, else give up. No jitter (§6.6). A successful
    /// response resets the caller's counter to 0.
    pub fn decide(&self, retries_done: u32) -> RetryDecision {
        if retries_done >= self.max_retries {
            return RetryDecision::GiveUp;
        }
        let factor = 2u32.checked_pow(retries_done).unwrap_or(u32::MAX);
        RetryDecision::RetryAfter(self.backoff.saturating_mul(factor).min(self.max_backoff))
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::from_config(0, None, None)
    }
}

/// What the template server does once the engine stopped with an error (§6.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EngineAction {
    /// `exit_on_retry_failure = true`: log `template server: <error>` and exit with this status.
    Exit {
        /// Always 1.
        status: i32,
    },
    /// Recreate the engine after this wait and fetch everything again.
    RestartAfter(Duration),
}

/// The engine failed (retries exhausted, template execution error, write error or failed
/// command; §6.6). With `exit_on_retry_failure` the agent exits 1; otherwise the engine is
/// recreated after the next wait of `restart_backoff` (build it with
/// [`Backoff::engine_default`] — Vault: 1 s doubling to 5 m, up to 25 % jitter — and
/// [`Backoff::reset`] it after a successful render).
pub fn on_engine_failure(
    exit_on_retry_failure: bool,
    restart_backoff: &mut Backoff,
    jitter: Fraction,
) -> EngineAction {
    if exit_on_retry_failure {
        EngineAction::Exit { status: 1 }
    } else {
        EngineAction::RestartAfter(restart_backoff.next_delay(jitter))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn ms(n: u64) -> Duration {
        Duration::from_millis(n)
    }
    const fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }
    fn schedule(p: &RetryPolicy) -> Vec<Duration> {
        let mut out = Vec::new();
        let mut n = 0;
        while let RetryDecision::RetryAfter(d) = p.decide(n) {
            out.push(d);
            n += 1;
            assert!(n < 1000);
        }
        out
    }

    #[test]
    fn default_schedule() {
        // §6.6: 0.25, 0.5, 1, 2, 4, 8, 16, 32, 60, 60, 60, 60 s.
        let p = RetryPolicy::default();
        assert_eq!(
            schedule(&p),
            [
                ms(250),
                ms(500),
                s(1),
                s(2),
                s(4),
                s(8),
                s(16),
                s(32),
                s(60),
                s(60),
                s(60),
                s(60)
            ]
        );
        let total: Duration = schedule(&p).iter().sum();
        assert_eq!(total, ms(303_750)); // ≈ 5 min
    }

    #[test]
    fn config_table() {
        let cases: &[(i64, Option<Duration>, Option<Duration>, RetryPolicy)] = &[
            (
                0,
                None,
                None,
                RetryPolicy {
                    max_retries: 12,
                    backoff: ms(250),
                    max_backoff: s(60),
                },
            ),
            (
                -1,
                None,
                None,
                RetryPolicy {
                    max_retries: 0,
                    backoff: ms(250),
                    max_backoff: s(60),
                },
            ),
            (
                -5,
                None,
                None,
                RetryPolicy {
                    max_retries: 0,
                    backoff: ms(250),
                    max_backoff: s(60),
                },
            ),
            (
                2,
                None,
                None,
                RetryPolicy {
                    max_retries: 2,
                    backoff: ms(250),
                    max_backoff: s(60),
                },
            ),
            (
                3,
                Some(s(1)),
                Some(s(5)),
                RetryPolicy {
                    max_retries: 3,
                    backoff: s(1),
                    max_backoff: s(5),
                },
            ),
            (
                3,
                Some(Duration::ZERO),
                Some(Duration::ZERO),
                RetryPolicy {
                    max_retries: 3,
                    backoff: ms(250),
                    max_backoff: s(60),
                },
            ),
            (
                i64::MAX,
                None,
                None,
                RetryPolicy {
                    max_retries: u32::MAX,
                    backoff: ms(250),
                    max_backoff: s(60),
                },
            ),
        ];
        for &(n, min, max, want) in cases {
            assert_eq!(
                RetryPolicy::from_config(n, min, max),
                want,
                "num_retries = {n}"
            );
        }
    }

    #[test]
    fn observed_two_retries_and_disabled() {
        // §6.6: num_retries = 2 → retries after 250 ms and 500 ms, then the error surfaces.
        assert_eq!(
            schedule(&RetryPolicy::from_config(2, None, None)),
            [ms(250), ms(500)]
        );
        // num_retries = -1: the first failure gives up.
        assert_eq!(
            RetryPolicy::from_config(-1, None, None).decide(0),
            RetryDecision::GiveUp
        );
    }

    #[test]
    fn huge_attempts_do_not_overflow() {
        let p = RetryPolicy {
            max_retries: u32::MAX,
            backoff: Duration::MAX,
            max_backoff: Duration::MAX,
        };
        assert_eq!(p.decide(10_000), RetryDecision::RetryAfter(Duration::MAX));
        let p = RetryPolicy::from_config(i64::MAX, None, None);
        assert_eq!(p.decide(u32::MAX - 1), RetryDecision::RetryAfter(s(60)));
        assert_eq!(p.decide(u32::MAX), RetryDecision::GiveUp);
    }

    #[test]
    fn engine_failure() {
        let mut b = Backoff::engine_default();
        assert_eq!(
            on_engine_failure(true, &mut b, Fraction::ZERO),
            EngineAction::Exit { status: 1 }
        );
        assert_eq!(
            b.current(),
            s(1),
            "exiting does not advance the restart backoff"
        );
        let got: Vec<_> = (0..3)
            .map(|_| on_engine_failure(false, &mut b, Fraction::ZERO))
            .collect();
        assert_eq!(
            got,
            [
                EngineAction::RestartAfter(s(1)),
                EngineAction::RestartAfter(s(2)),
                EngineAction::RestartAfter(s(4))
            ]
        );
        b.reset();
        assert_eq!(
            on_engine_failure(false, &mut b, Fraction::ONE),
            EngineAction::RestartAfter(ms(750))
        );
    }

    #[test]
    fn property_monotonic_until_cap() {
        let mut seed = 0x0bad_5eed_1234_4321_u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let n = (rnd() % 40) as i64 - 1;
            let min = ms(1 + rnd() % 10_000);
            let max = ms(1 + rnd() % 600_000);
            let p = RetryPolicy::from_config(n, Some(min), Some(max));
            let sched = schedule(&p);
            let expected_len = match n {
                0 => 12,
                n if n < 0 => 0,
                n => n as usize,
            };
            assert_eq!(sched.len(), expected_len);
            for w in sched.windows(2) {
                assert!(w[0] <= w[1], "non-decreasing");
            }
            for d in &sched {
                assert!(*d <= max && *d >= min.min(max));
            }
        }
    }
}
