//! The lifetime watcher (§2.8): renews the auth token — and, in "error on errors" mode, the
//! lease of a renewable template secret (§6.3) — and says when to give up so the caller can
//! re-authenticate or fetch the secret anew.
//!
//! The watcher is a small state machine. The async loop calls [`LifetimeWatcher::start`], then
//! performs the returned [`WatchAction`], reporting each outcome with
//! [`LifetimeWatcher::on_renewed`], [`LifetimeWatcher::on_renew_error`] or (non-renewable
//! leases, where nothing is called) [`LifetimeWatcher::on_wake`]; each of those returns the
//! next action. Random draws come in as [`Fraction`]s.

use std::time::Duration;

use crate::time::{Fraction, Timestamp, scale};

/// First wait after a failed renewal of the auth token (§2.8: "first retry after 10 s").
pub const ERROR_BACKOFF_INITIAL: Duration = Duration::from_secs(10);
/// Cap of the un-randomised renewal-error wait (§2.8: "cap 5 m").
pub const ERROR_BACKOFF_MAX: Duration = Duration::from_secs(5 * 60);
/// ±50 % randomisation of the renewal-error wait (§2.8).
const ERROR_BACKOFF_RANDOMISATION: f64 = 0.5;

/// What a failed renewal does (§2.8).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RenewMode {
    /// The auto-auth token: renewal errors are retried with exponential backoff while the
    /// lease lasts (§2.8).
    RetryErrors,
    /// A template secret: the first renewal error ends the watcher so the secret is fetched
    /// again (§2.8, §6.3).
    ErrorOnErrors,
}

/// A token's or secret's lease as Vault reported it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeaseInfo {
    /// `auth.lease_duration` / `lease_duration` / lookup-self `data.ttl`.
    pub ttl: Duration,
    /// `auth.renewable` / `renewable` / lookup-self `data.renewable`.
    pub renewable: bool,
}

/// Why a watcher ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EndReason {
    /// The remaining lease is inside the grace window, or the next sleep would end inside it
    /// (§2.8) — typical once renewals stop extending the lease (max TTL reached) and for
    /// non-renewable leases approaching expiry.
    GraceReached,
    /// A renewal failed: immediately in [`RenewMode::ErrorOnErrors`], or in
    /// [`RenewMode::RetryErrors`] once the lease would run out before the next retry (§2.8).
    RenewalFailed,
}

/// What the caller does next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchAction {
    /// Sleep until the instant (no sleep if it is `now`), then renew (`auth/token/renew-self`
    /// for tokens, `sys/leases/renew` for secret leases; §2.8) and report the outcome.
    RenewAt(Timestamp),
    /// Non-renewable lease: make no call; sleep until the instant, then call
    /// [`LifetimeWatcher::on_wake`] (§2.8 "the watcher only waits until the grace window").
    WakeAt(Timestamp),
    /// Auth token with unlimited TTL (`ttl = 0`, e.g. root; §2.5): never renew, never
    /// re-authenticate on our own.
    Unlimited,
    /// The watcher is over: re-authenticate (token, §2.1 step 4) or fetch the secret again
    /// (§6.3), now.
    End(EndReason),
}

/// The grace period (§2.8): a random value between 10 % and 20 % of the lease, or of the
/// renewal `increment` when that is set and smaller. `draw` 0 gives 10 %, 1 gives 20 %.
/// A zero lease has zero grace.
pub fn grace_period(lease: Duration, increment: Option<Duration>, draw: Fraction) -> Duration {
    let base = match increment {
        Some(inc) if !inc.is_zero() && inc < lease => inc,
        _ => lease,
    };
    scale(base, 0.1 + 0.1 * draw.get())
}

/// When a template secret whose watcher ended is fetched again (§6.3: "the watcher ends and
/// the secret is fetched again", i.e. at `now`).
///
/// One exception keeps a broken setup from minting credentials in a tight loop: when renewal
/// fails although the secret was fetched less than [`ERROR_BACKOFF_INITIAL`] ago (every
/// renewal fails, e.g. a policy without `update` on `sys/leases/renew`), the new fetch waits
/// until `fetched_at + ERROR_BACKOFF_INITIAL`, the first wait of the token's renewal retries.
pub fn refetch_at(reason: EndReason, fetched_at: Timestamp, now: Timestamp) -> Timestamp {
    match reason {
        EndReason::GraceReached => now,
        EndReason::RenewalFailed => now.max(fetched_at.saturating_add(ERROR_BACKOFF_INITIAL)),
    }
}

/// State of one lifetime watcher (§2.8); see the module docs for the call protocol.
#[derive(Debug, Clone, PartialEq)]
pub struct LifetimeWatcher {
    mode: RenewMode,
    renewable: bool,
    increment: Option<Duration>,
    grace: Duration,
    /// The lease reported last; the grace is only recomputed when a renewal returns a longer
    /// one, so once the max TTL caps the lease the grace stays put (§2.8).
    prior_lease: Duration,
    /// When the current lease runs out.
    expiry: Timestamp,
    /// Consecutive failed renewals (RetryErrors mode); reset by a success.
    error_attempts: u32,
}

impl LifetimeWatcher {
    /// Starts watching a lease issued at `issued_at` (so it expires at `issued_at + ttl`).
    ///
    /// * Auth token ([`RenewMode::RetryErrors`]) with `ttl = 0`: [`WatchAction::Unlimited`]
    ///   ("not starting token renewal process, as token has unlimited TTL", §2.5).
    /// * Renewable: renew immediately (§2.8 "renew immediately", §6.3).
    /// * Non-renewable: wait, without calls, until the grace window (§2.8).
    ///
    /// `increment` is the renewal increment requested, if any (it bounds the grace);
    /// `grace_draw` picks the grace within 10–20 %.
    pub fn start(
        lease: LeaseInfo,
        issued_at: Timestamp,
        now: Timestamp,
        mode: RenewMode,
        increment: Option<Duration>,
        grace_draw: Fraction,
    ) -> (Self, WatchAction) {
        let watcher = Self {
            mode,
            renewable: lease.renewable,
            increment,
            grace: grace_period(lease.ttl, increment, grace_draw),
            prior_lease: lease.ttl,
            expiry: issued_at.saturating_add(lease.ttl),
            error_attempts: 0,
        };
        let action = if lease.ttl.is_zero() && mode == RenewMode::RetryErrors {
            WatchAction::Unlimited
        } else if lease.renewable {
            WatchAction::RenewAt(now)
        } else {
            watcher.decide(now)
        };
        (watcher, action)
    }

    /// The current grace period.
    pub const fn grace(&self) -> Duration {
        self.grace
    }

    /// When the current lease runs out.
    pub const fn expiry(&self) -> Timestamp {
        self.expiry
    }

    /// The mode given to [`LifetimeWatcher::start`].
    pub const fn mode(&self) -> RenewMode {
        self.mode
    }

    /// A renewal at `now` succeeded and returned lease `lease` (the renewed secret's
    /// `lease_duration` / `auth.lease_duration`). The grace is recomputed with `grace_draw`
    /// only if the lease grew (§2.8); then the watcher sleeps ⅔ × lease + ⅓ × grace, unless
    /// that would end inside the grace window.
    pub fn on_renewed(
        &mut self,
        now: Timestamp,
        lease: Duration,
        grace_draw: Fraction,
    ) -> WatchAction {
        if lease > self.prior_lease {
            self.grace = grace_period(lease, self.increment, grace_draw);
        }
        self.prior_lease = lease;
        self.expiry = now.saturating_add(lease);
        self.error_attempts = 0;
        self.decide(now)
    }

    /// A renewal at `now` failed (HTTP error or a response without lease data).
    ///
    /// [`RenewMode::ErrorOnErrors`]: ends at once (§6.3: the secret is fetched again).
    /// [`RenewMode::RetryErrors`]: the `n`-th consecutive failure (0-based) waits
    /// `min(10 s × 2^n, 5 m) × (0.5 + jitter)` (±50 %) and retries, as long as the current
    /// lease is still outside the grace window and has not run out by the retry (§2.8).
    pub fn on_renew_error(&mut self, now: Timestamp, jitter: Fraction) -> WatchAction {
        if self.mode == RenewMode::ErrorOnErrors {
            return WatchAction::End(EndReason::RenewalFailed);
        }
        let remaining = self.expiry.saturating_since(now);
        if remaining <= self.grace {
            return WatchAction::End(EndReason::RenewalFailed);
        }
        let factor = 2u32.checked_pow(self.error_attempts).unwrap_or(u32::MAX);
        let base = ERROR_BACKOFF_INITIAL
            .saturating_mul(factor)
            .min(ERROR_BACKOFF_MAX);
        let delay = scale(
            base,
            1.0 - ERROR_BACKOFF_RANDOMISATION + 2.0 * ERROR_BACKOFF_RANDOMISATION * jitter.get(),
        );
        self.error_attempts = self.error_attempts.saturating_add(1);
        if delay >= remaining {
            return WatchAction::End(EndReason::RenewalFailed);
        }
        WatchAction::RenewAt(now.saturating_add(delay))
    }

    /// Non-renewable lease: the [`WatchAction::WakeAt`] instant was reached (or any later
    /// `now`). Re-evaluates with the remaining lease (§2.8).
    pub fn on_wake(&mut self, now: Timestamp) -> WatchAction {
        self.decide(now)
    }

    /// The common step (§2.8): with `lease` = time left, sleep = ⅔ × lease + ⅓ × grace; end when
    /// `lease ≤ grace` or `lease − sleep ≤ grace`.
    fn decide(&self, now: Timestamp) -> WatchAction {
        let lease = self.expiry.saturating_since(now);
        let sleep = scale(lease, 2.0 / 3.0).saturating_add(scale(self.grace, 1.0 / 3.0));
        if lease <= self.grace || lease.saturating_sub(sleep) <= self.grace {
            return WatchAction::End(EndReason::GraceReached);
        }
        let at = now.saturating_add(sleep);
        if self.renewable {
            WatchAction::RenewAt(at)
        } else {
            WatchAction::WakeAt(at)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const fn s(n: u64) -> Duration {
        Duration::from_secs(n)
    }
    const fn at(n: u64) -> Timestamp {
        Timestamp::from_secs(n)
    }
    fn close(a: Timestamp, b: Timestamp) -> bool {
        a.since_epoch().abs_diff(b.since_epoch()) <= Duration::from_micros(1)
    }
    fn renew_at(a: WatchAction) -> Timestamp {
        match a {
            WatchAction::RenewAt(t) => t,
            other => panic!("expected RenewAt, got {other:?}"),
        }
    }

    #[test]
    fn grace_table() {
        let cases: &[(Duration, Option<Duration>, Fraction, Duration)] = &[
            (s(60), None, Fraction::ZERO, s(6)),
            (s(60), None, Fraction::ONE, s(12)),
            (s(60), None, Fraction::HALF, s(9)),
            (s(60), Some(s(30)), Fraction::ZERO, s(3)),
            (s(60), Some(s(120)), Fraction::ZERO, s(6)),
            (s(60), Some(Duration::ZERO), Fraction::ONE, s(12)),
            (Duration::ZERO, None, Fraction::ONE, Duration::ZERO),
        ];
        for &(lease, inc, draw, want) in cases {
            let got = grace_period(lease, inc, draw);
            assert!(
                got.abs_diff(want) <= Duration::from_micros(1),
                "{lease:?} {inc:?} {draw:?}: {got:?}"
            );
        }
    }

    #[test]
    fn ttl_60_renewable_schedule() {
        // TTL 60 s, grace 10 % = 6 s: sleep = 40 + 2 = 42 s after each renewal.
        let lease = LeaseInfo {
            ttl: s(60),
            renewable: true,
        };
        let (mut w, a) = LifetimeWatcher::start(
            lease,
            at(100),
            at(100),
            RenewMode::RetryErrors,
            None,
            Fraction::ZERO,
        );
        assert_eq!(a, WatchAction::RenewAt(at(100)));
        assert!(close(
            renew_at(w.on_renewed(at(100), s(60), Fraction::ZERO)),
            at(142)
        ));
        assert!(close(
            renew_at(w.on_renewed(at(142), s(60), Fraction::ZERO)),
            at(184)
        ));
        // Grace 20 % = 12 s: sleep = 40 + 4 = 44 s.
        let (mut w, _) = LifetimeWatcher::start(
            lease,
            at(0),
            at(0),
            RenewMode::RetryErrors,
            None,
            Fraction::ONE,
        );
        assert!(close(
            renew_at(w.on_renewed(at(0), s(60), Fraction::ONE)),
            at(44)
        ));
    }

    #[test]
    fn spec_example_token_create_with_max_ttl() {
        // §6.3: ttl=30s explicit_max_ttl=75s → renewals at +0, +21, +42, +63 (capped) → end.
        let lease = LeaseInfo {
            ttl: s(30),
            renewable: true,
        };
        let (mut w, a) = LifetimeWatcher::start(
            lease,
            at(0),
            at(0),
            RenewMode::ErrorOnErrors,
            None,
            Fraction::ZERO,
        );
        assert_eq!(a, WatchAction::RenewAt(at(0)));
        assert_eq!(w.grace(), s(3));
        let t1 = renew_at(w.on_renewed(at(0), s(30), Fraction::ZERO));
        assert!(close(t1, at(21)));
        let t2 = renew_at(w.on_renewed(at(21), s(30), Fraction::ZERO));
        assert!(close(t2, at(42)));
        let t3 = renew_at(w.on_renewed(at(42), s(30), Fraction::ZERO));
        assert!(close(t3, at(63)));
        // Lease capped to the 12 s (observed 11 s) left before the max TTL: inside grace → end.
        for capped in [s(12), s(11)] {
            let mut w2 = w.clone();
            assert_eq!(
                w2.on_renewed(at(63), capped, Fraction::ONE),
                WatchAction::End(EndReason::GraceReached)
            );
            assert_eq!(w2.grace(), s(3), "a shrinking lease keeps the grace");
        }
    }

    #[test]
    fn non_renewable_waits_then_ends() {
        // TTL 60 s, grace 6 s: wake at 42 s (lease 60 → sleep 42, 18 left > 6); at 42 s:
        // lease 18, sleep 14, 4 left ≤ 6 → end.
        let lease = LeaseInfo {
            ttl: s(60),
            renewable: false,
        };
        let (mut w, a) = LifetimeWatcher::start(
            lease,
            at(0),
            at(0),
            RenewMode::RetryErrors,
            None,
            Fraction::ZERO,
        );
        let WatchAction::WakeAt(t) = a else {
            panic!("{a:?}")
        };
        assert!(close(t, at(42)));
        assert_eq!(w.on_wake(t), WatchAction::End(EndReason::GraceReached));
    }

    #[test]
    fn boundary_cases() {
        // Unlimited auth token.
        let zero_r = LeaseInfo {
            ttl: Duration::ZERO,
            renewable: true,
        };
        let zero_n = LeaseInfo {
            ttl: Duration::ZERO,
            renewable: false,
        };
        for l in [zero_r, zero_n] {
            let (_, a) = LifetimeWatcher::start(
                l,
                at(5),
                at(5),
                RenewMode::RetryErrors,
                None,
                Fraction::HALF,
            );
            assert_eq!(a, WatchAction::Unlimited);
        }
        // A renewable secret with lease 0: renew once, then end (re-fetch).
        let (mut w, a) = LifetimeWatcher::start(
            zero_r,
            at(5),
            at(5),
            RenewMode::ErrorOnErrors,
            None,
            Fraction::HALF,
        );
        assert_eq!(a, WatchAction::RenewAt(at(5)));
        assert_eq!(
            w.on_renewed(at(5), Duration::ZERO, Fraction::HALF),
            WatchAction::End(EndReason::GraceReached)
        );
        // Already expired non-renewable token (issued long ago).
        let l = LeaseInfo {
            ttl: s(60),
            renewable: false,
        };
        let (_, a) = LifetimeWatcher::start(
            l,
            at(0),
            at(1000),
            RenewMode::RetryErrors,
            None,
            Fraction::HALF,
        );
        assert_eq!(a, WatchAction::End(EndReason::GraceReached));
        // Tiny lease: 1 s → grace 0.1 s, sleep 0.7 s, 0.3 s left > 0.1 → renew.
        let l = LeaseInfo {
            ttl: s(1),
            renewable: true,
        };
        let (mut w, _) = LifetimeWatcher::start(
            l,
            at(0),
            at(0),
            RenewMode::RetryErrors,
            None,
            Fraction::ZERO,
        );
        assert!(close(
            renew_at(w.on_renewed(at(0), s(1), Fraction::ZERO)),
            Timestamp::from_millis(700)
        ));
        // Huge lease: no overflow, renew far in the future.
        let l = LeaseInfo {
            ttl: Duration::MAX,
            renewable: true,
        };
        let (mut w, _) =
            LifetimeWatcher::start(l, at(0), at(0), RenewMode::RetryErrors, None, Fraction::ONE);
        assert_eq!(w.expiry(), Timestamp::MAX);
        let t = renew_at(w.on_renewed(at(10), Duration::MAX, Fraction::ONE));
        assert!(t > at(10) && t < Timestamp::MAX);
    }

    #[test]
    fn renewal_errors_auth_token() {
        let l = LeaseInfo {
            ttl: s(3600),
            renewable: true,
        };
        let (mut w, _) = LifetimeWatcher::start(
            l,
            at(0),
            at(0),
            RenewMode::RetryErrors,
            None,
            Fraction::ZERO,
        );
        // jitter 0.5 = no randomisation: 10, 20, 40, … capped at 300.
        let mut now = at(0);
        let mut waits = Vec::new();
        for _ in 0..8 {
            let next = renew_at(w.on_renew_error(now, Fraction::HALF));
            waits.push(next.saturating_since(now).as_secs());
            now = next;
        }
        assert_eq!(waits, [10, 20, 40, 80, 160, 300, 300, 300]);
        // A success resets the error backoff.
        let _ = w.on_renewed(now, s(3600), Fraction::ZERO);
        assert_eq!(
            renew_at(w.on_renew_error(now, Fraction::ZERO)),
            now.saturating_add(s(5))
        );
        assert_eq!(
            renew_at(w.on_renew_error(now, Fraction::ONE)),
            now.saturating_add(s(30))
        );
    }

    #[test]
    fn renewal_errors_give_up() {
        // Lease 60 s, grace 6 s. Error at 50 s: 10 s left > 6 s, but the retry (≥ 10 s) would
        // land after expiry → end.
        let l = LeaseInfo {
            ttl: s(60),
            renewable: true,
        };
        let (mut w, _) = LifetimeWatcher::start(
            l,
            at(0),
            at(0),
            RenewMode::RetryErrors,
            None,
            Fraction::ZERO,
        );
        assert_eq!(
            w.on_renew_error(at(50), Fraction::HALF),
            WatchAction::End(EndReason::RenewalFailed)
        );
        // Inside the grace window → end.
        let (mut w, _) = LifetimeWatcher::start(
            l,
            at(0),
            at(0),
            RenewMode::RetryErrors,
            None,
            Fraction::ZERO,
        );
        assert_eq!(
            w.on_renew_error(at(55), Fraction::ZERO),
            WatchAction::End(EndReason::RenewalFailed)
        );
        // Early error retries.
        let (mut w, _) = LifetimeWatcher::start(
            l,
            at(0),
            at(0),
            RenewMode::RetryErrors,
            None,
            Fraction::ZERO,
        );
        assert_eq!(
            w.on_renew_error(at(0), Fraction::HALF),
            WatchAction::RenewAt(at(10))
        );
        // Template secrets end on the first error.
        let (mut w, _) = LifetimeWatcher::start(
            l,
            at(0),
            at(0),
            RenewMode::ErrorOnErrors,
            None,
            Fraction::ZERO,
        );
        assert_eq!(
            w.on_renew_error(at(0), Fraction::HALF),
            WatchAction::End(EndReason::RenewalFailed)
        );
    }

    #[test]
    fn property_renewals_happen_before_expiry() {
        let mut seed = 0x2545_f491_4f6c_dd1d_u64;
        let mut rnd = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2000 {
            let ttl = Duration::from_millis(1 + rnd() % 7_200_000);
            let max_ttl = ttl.saturating_mul(1 + (rnd() % 20) as u32);
            let renewable = rnd() % 4 != 0;
            let mode = if rnd() % 2 == 0 {
                RenewMode::RetryErrors
            } else {
                RenewMode::ErrorOnErrors
            };
            let hard_end = at(0).saturating_add(max_ttl);
            let draw = |r: u64| Fraction::clamped((r % 1001) as f64 / 1000.0);
            let (mut w, mut a) = LifetimeWatcher::start(
                LeaseInfo { ttl, renewable },
                at(0),
                at(0),
                mode,
                None,
                draw(rnd()),
            );
            let mut steps = 0;
            loop {
                steps += 1;
                assert!(steps < 10_000, "watcher never ended");
                match a {
                    WatchAction::RenewAt(t) => {
                        assert!(
                            t < w.expiry(),
                            "renewal at {t:?} not before expiry {:?}",
                            w.expiry()
                        );
                        // Renewal succeeds: the lease is the TTL, capped by the max TTL.
                        let lease = ttl.min(hard_end.saturating_since(t));
                        a = w.on_renewed(t, lease, draw(rnd()));
                        if let WatchAction::RenewAt(next) = a {
                            assert!(
                                next.saturating_add(w.grace()) < w.expiry(),
                                "next renewal inside grace"
                            );
                            assert!(next > t);
                        }
                    }
                    WatchAction::WakeAt(t) => {
                        assert!(!renewable);
                        assert!(t.saturating_add(w.grace()) < w.expiry());
                        a = w.on_wake(t);
                    }
                    WatchAction::End(_) => break,
                    WatchAction::Unlimited => panic!("ttl > 0"),
                }
            }
            assert!(w.expiry() <= hard_end);
        }
    }

    #[test]
    fn refetch_after_end() {
        // Max TTL reached: fetch at once.
        assert_eq!(refetch_at(EndReason::GraceReached, at(0), at(63)), at(63));
        // A renewal failing late in the lease: at once too (§6.3).
        assert_eq!(refetch_at(EndReason::RenewalFailed, at(0), at(21)), at(21));
        // Failing right after the fetch: not before 10 s after it.
        assert_eq!(
            refetch_at(EndReason::RenewalFailed, at(100), at(100)),
            at(110)
        );
        assert_eq!(
            refetch_at(EndReason::RenewalFailed, at(100), at(104)),
            at(110)
        );
        assert_eq!(
            refetch_at(EndReason::RenewalFailed, Timestamp::MAX, at(1)),
            Timestamp::MAX
        );
    }
}
