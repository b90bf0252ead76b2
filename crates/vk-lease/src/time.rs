//! Value types shared by every decision: a caller-supplied point in time, a random draw in
//! `[0, 1]`, the `lease_renewal_threshold` and saturating duration scaling.

use std::time::Duration;

/// A point in time, as a duration since an epoch the caller chooses.
///
/// The crate never reads a clock (it is pure, see the crate docs). Most decisions only compare
/// instants with each other, so any monotonic origin works; the two that compare with values
/// Vault sends — PKI `data.expiration` (§6.2 step 2) and certificate NotBefore/NotAfter (§6.5) —
/// need the Unix epoch, and say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Timestamp(Duration);

impl Timestamp {
    /// The epoch itself.
    pub const ZERO: Self = Self(Duration::ZERO);
    /// The latest representable instant; used as "never".
    pub const MAX: Self = Self(Duration::MAX);

    /// An instant `since` after the epoch.
    pub const fn new(since: Duration) -> Self {
        Self(since)
    }

    /// An instant whole `secs` after the epoch.
    pub const fn from_secs(secs: u64) -> Self {
        Self(Duration::from_secs(secs))
    }

    /// An instant `millis` after the epoch.
    pub const fn from_millis(millis: u64) -> Self {
        Self(Duration::from_millis(millis))
    }

    /// Time since the epoch.
    pub const fn since_epoch(self) -> Duration {
        self.0
    }

    /// Whole seconds since the epoch (truncated, like Go's `Time.Unix()`).
    pub const fn whole_secs(self) -> u64 {
        self.0.as_secs()
    }

    /// `self + d`, or [`Timestamp::MAX`] when that is not representable (no panic on huge TTLs).
    pub fn saturating_add(self, d: Duration) -> Self {
        Self(self.0.saturating_add(d))
    }

    /// `self - d`, or [`Timestamp::ZERO`] when that would precede the epoch.
    pub fn saturating_sub(self, d: Duration) -> Self {
        Self(self.0.saturating_sub(d))
    }

    /// Time from `earlier` to `self`, zero if `earlier` is later.
    pub fn saturating_since(self, earlier: Self) -> Duration {
        self.0.saturating_sub(earlier.0)
    }
}

/// A random draw in `[0, 1]`, supplied by the caller (the crate has no randomness).
///
/// The spec states every jitter as a range ("reduced by up to 25 %", "10 %–20 % of the lease",
/// "uniform in [T − 0.05, T + 0.05)"); a fraction of 0 picks one end of the range and 1 the
/// other, so tests can pin both extremes.
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, Default)]
pub struct Fraction(f64);

impl Fraction {
    /// The lower end of every jitter range.
    pub const ZERO: Self = Self(0.0);
    /// The middle of every jitter range.
    pub const HALF: Self = Self(0.5);
    /// The upper end of every jitter range.
    pub const ONE: Self = Self(1.0);

    /// `Some` when `value` is finite and within `[0, 1]`.
    pub fn new(value: f64) -> Option<Self> {
        (value.is_finite() && (0.0..=1.0).contains(&value)).then_some(Self(value))
    }

    /// `value` forced into `[0, 1]`; NaN becomes 0. Convenient for `rng.random::<f64>()`.
    pub fn clamped(value: f64) -> Self {
        if value.is_nan() {
            Self(0.0)
        } else {
            Self(value.clamp(0.0, 1.0))
        }
    }

    /// The value, always within `[0, 1]`.
    pub const fn get(self) -> f64 {
        self.0
    }
}

/// Default `template_config.lease_renewal_threshold` (§1.6, §6.2, §6.5).
pub const DEFAULT_LEASE_RENEWAL_THRESHOLD: f64 = 0.9;

/// `template_config.lease_renewal_threshold` (§1.6): the fraction of a lease after which a
/// non-renewable leased secret is fetched again (§6.2 step 6) and the fraction of a
/// certificate's lifespan after which `pkiCert` re-issues it (§6.5, Vault only).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd)]
pub struct Threshold(f64);

impl Threshold {
    /// `Some` for any finite value. Out-of-range values are accepted here because the spec
    /// defines what happens with them (§6.2 step 6 falls back to `T` when `T ± 0.05` leaves
    /// `(0, 1)`); a negative value is treated like 0 where a fraction of a lifespan is taken.
    pub fn new(value: f64) -> Option<Self> {
        value.is_finite().then_some(Self(value))
    }

    /// The value.
    pub const fn get(self) -> f64 {
        self.0
    }
}

impl Default for Threshold {
    fn default() -> Self {
        Self(DEFAULT_LEASE_RENEWAL_THRESHOLD)
    }
}

/// `d × factor`, never panicking: a non-positive or NaN factor gives zero, a product too large
/// for [`Duration`] gives [`Duration::MAX`]. The spec's formulas multiply durations by
/// fractions (⅔ of a lease, 85–95 % of a TTL); upstream does this in floating point, so the
/// result has nanosecond resolution, not whole seconds (observed sleeps such as 8.65 s, §6.2).
pub fn scale(d: Duration, factor: f64) -> Duration {
    if factor.is_nan() || factor <= 0.0 {
        return Duration::ZERO;
    }
    Duration::try_from_secs_f64(d.as_secs_f64() * factor).unwrap_or(Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fraction_bounds() {
        assert_eq!(Fraction::new(0.0), Some(Fraction::ZERO));
        assert_eq!(Fraction::new(1.0), Some(Fraction::ONE));
        assert_eq!(Fraction::new(1.0001), None);
        assert_eq!(Fraction::new(-0.1), None);
        assert_eq!(Fraction::new(f64::NAN), None);
        assert_eq!(Fraction::clamped(f64::NAN).get(), 0.0);
        assert_eq!(Fraction::clamped(7.0).get(), 1.0);
        assert_eq!(Fraction::clamped(-7.0).get(), 0.0);
        assert_eq!(Fraction::clamped(0.25).get(), 0.25);
    }

    #[test]
    fn threshold_accepts_finite_only() {
        assert_eq!(Threshold::default().get(), 0.9);
        assert!(Threshold::new(f64::INFINITY).is_none());
        assert!(Threshold::new(f64::NAN).is_none());
        assert_eq!(Threshold::new(1.5).map(Threshold::get), Some(1.5));
    }

    #[test]
    fn scale_table() {
        let s = Duration::from_secs;
        let cases: &[(Duration, f64, Duration)] = &[
            (s(60), 2.0 / 3.0, s(40)),
            (s(10), 0.9, Duration::from_millis(9000)),
            (s(10), 0.0, Duration::ZERO),
            (s(10), -1.0, Duration::ZERO),
            (s(10), f64::NAN, Duration::ZERO),
            (Duration::MAX, 2.0, Duration::MAX),
            (s(10), f64::INFINITY, Duration::MAX),
        ];
        for &(d, f, want) in cases {
            let got = scale(d, f);
            let diff = got.abs_diff(want);
            assert!(
                diff <= Duration::from_micros(1),
                "scale({d:?}, {f}) = {got:?}, want {want:?}"
            );
        }
    }

    #[test]
    fn timestamp_saturates() {
        let t = Timestamp::from_secs(10);
        assert_eq!(t.saturating_add(Duration::MAX), Timestamp::MAX);
        assert_eq!(t.saturating_sub(Duration::from_secs(11)), Timestamp::ZERO);
        assert_eq!(t.saturating_since(Timestamp::from_secs(20)), Duration::ZERO);
        assert_eq!(
            Timestamp::from_secs(20).saturating_since(t),
            Duration::from_secs(10)
        );
        assert_eq!(Timestamp::from_millis(1500).whole_secs(), 1);
    }
}
