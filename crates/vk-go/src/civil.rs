//! Calendar dates from Unix time, as Go's `time` package computes them for a UTC `time.Time`:
//! proleptic Gregorian, every day 86 400 seconds. Pure: the caller passes the seconds (it never
//! reads a clock).

use std::fmt::Write as _;

/// Days since 1970-01-01 → (year, month 1–12, day 1–31). Any `i64` day count within ±10^15 days
/// (Howard Hinnant's `civil_from_days`: eras of 400 years, years starting in March).
pub fn civil_from_days(days: i64) -> (i64, u32, u32) {
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    // Both lie in 1..=31 and 1..=12 by construction.
    (year, month as u32, day as u32)
}

/// (year, month 1–12, day 1–31) → days since 1970-01-01; the inverse of [`civil_from_days`].
pub fn days_from_civil(year: i64, month: u32, day: u32) -> i64 {
    let (month, day) = (i64::from(month), i64::from(day));
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let yoe = year.rem_euclid(400);
    let mp = (month + 9) % 12;
    let doy = (153 * mp + 2) / 5 + day - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// A UTC instant broken into calendar fields, second precision.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct UtcDateTime {
    pub year: i64,
    pub month: u32,
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
}

impl UtcDateTime {
    /// The calendar fields of `secs` seconds since 1970-01-01T00:00:00Z (negative = before).
    pub fn from_unix(secs: i64) -> Self {
        let (year, month, day) = civil_from_days(secs.div_euclid(86_400));
        let rem = secs.rem_euclid(86_400) as u32;
        UtcDateTime {
            year,
            month,
            day,
            hour: rem / 3600,
            minute: rem % 3600 / 60,
            second: rem % 60,
        }
    }

    /// Go's `time.RFC3339` layout in UTC: `2006-01-02T15:04:05Z`.
    pub fn rfc3339(&self) -> String {
        let mut out = String::with_capacity(20);
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        );
        out
    }

    /// Kubernetes' `metav1.MicroTime` text, Go layout `2006-01-02T15:04:05.000000Z07:00` in UTC:
    /// the seconds with `micros` (0–999 999) as six digits.
    pub fn rfc3339_micros(&self, micros: u32) -> String {
        let mut out = String::with_capacity(27);
        let _ = write!(
            out,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            self.year,
            self.month,
            self.day,
            self.hour,
            self.minute,
            self.second,
            micros.min(999_999)
        );
        out
    }
}
