//! `time.ParseDuration` and `time.Duration.String`, on signed nanoseconds as Go's
//! `time.Duration` is.

use std::time::Duration;

use crate::quote::quote;

/// Go's `time.ParseDuration` errors, with Go's texts.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DurationError {
    /// Bad syntax or a value beyond ±2⁶³−1 ns.
    #[error("time: invalid duration {}", quote(.input))]
    Invalid { input: String },
    #[error("time: missing unit in duration {}", quote(.input))]
    MissingUnit { input: String },
    #[error("time: unknown unit {} in duration {}", quote(.unit), quote(.input))]
    UnknownUnit { unit: String, input: String },
    /// Only from [`parse_std_duration`]: the value is below zero.
    #[error("negative duration {} is not allowed", quote(.input))]
    Negative { input: String },
}

const NANOS_PER_UNIT: &[(&str, u64)] = &[
    ("ns", 1),
    ("us", 1_000),
    ("\u{b5}s", 1_000),  // U+00B5 micro sign
    ("\u{3bc}s", 1_000), // U+03BC Greek small letter mu
    ("ms", 1_000_000),
    ("s", 1_000_000_000),
    ("m", 60_000_000_000),
    ("h", 3_600_000_000_000),
];

const LIMIT: u64 = 1 << 63;

/// Go `time.ParseDuration`: a signed sequence of decimal numbers, each with an optional
/// fraction and a unit (`ns`, `us`/`µs`, `ms`, `s`, `m`, `h`), e.g. `1h30m`, `-1.5s`; `0` alone
/// needs no unit. Returns nanoseconds. Integer parts use exact integer arithmetic and
/// overflow is an error; fractions are scaled in `f64` as Go does.
pub fn parse_duration(s: &str) -> Result<i64, DurationError> {
    let invalid = || DurationError::Invalid {
        input: s.to_owned(),
    };
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !rest.is_empty() {
        let first = rest.as_bytes()[0];
        if !(first == b'.' || first.is_ascii_digit()) {
            return Err(invalid());
        }
        let (v, after_int) = leading_int(rest).ok_or_else(invalid)?;
        let pre = after_int.len() != rest.len();
        rest = after_int;
        let (mut f, mut scale, mut post) = (0u64, 1.0f64, false);
        if let Some(after_dot) = rest.strip_prefix('.') {
            let (frac, sc, after_frac) = leading_fraction(after_dot);
            post = after_frac.len() != after_dot.len();
            (f, scale) = (frac, sc);
            rest = after_frac;
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = rest
            .bytes()
            .position(|c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        if unit_len == 0 {
            return Err(DurationError::MissingUnit {
                input: s.to_owned(),
            });
        }
        let (unit, after_unit) = rest.split_at(unit_len);
        rest = after_unit;
        let Some(&(_, per)) = NANOS_PER_UNIT.iter().find(|(u, _)| *u == unit) else {
            return Err(DurationError::UnknownUnit {
                unit: unit.to_owned(),
                input: s.to_owned(),
            });
        };
        if v > LIMIT / per {
            return Err(invalid());
        }
        let mut part = v * per;
        if f > 0 {
            // Go: v += uint64(float64(f) * (float64(unit) / scale)); the cast saturates.
            part += (f as f64 * (per as f64 / scale)) as u64;
            if part > LIMIT {
                return Err(invalid());
            }
        }
        total += part;
        if total > LIMIT {
            return Err(invalid());
        }
    }
    if neg {
        return Ok((total as i64).wrapping_neg());
    }
    if total > LIMIT - 1 {
        return Err(invalid());
    }
    Ok(total as i64)
}

/// Go's `leadingInt`: the leading digits as a number, `None` past 2⁶³.
fn leading_int(s: &str) -> Option<(u64, &str)> {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let mut x: u64 = 0;
    for c in s[..digits].bytes() {
        if x > LIMIT / 10 {
            return None;
        }
        x = x * 10 + u64::from(c - b'0');
        if x > LIMIT {
            return None;
        }
    }
    Some((x, &s[digits..]))
}

/// Go's `leadingFraction`: the digits after the dot as a number and its power-of-ten scale;
/// digits beyond what fits are consumed and ignored.
fn leading_fraction(s: &str) -> (u64, f64, &str) {
    let digits = s.bytes().take_while(u8::is_ascii_digit).count();
    let (mut x, mut scale, mut overflow) = (0u64, 1.0f64, false);
    for c in s[..digits].bytes() {
        if overflow {
            continue;
        }
        if x > (LIMIT - 1) / 10 {
            overflow = true;
            continue;
        }
        let y = x * 10 + u64::from(c - b'0');
        if y > LIMIT {
            overflow = true;
            continue;
        }
        x = y;
        scale *= 10.0;
    }
    (x, scale, &s[digits..])
}

/// [`parse_duration`] for settings that cannot be negative.
pub fn parse_std_duration(s: &str) -> Result<Duration, DurationError> {
    let nanos = parse_duration(s)?;
    u64::try_from(nanos)
        .map(Duration::from_nanos)
        .map_err(|_| DurationError::Negative {
            input: s.to_owned(),
        })
}

/// Go `time.Duration.String` of signed nanoseconds: `1h2m3.5s`, `1.5ms`, `250µs`, `7ns`, `0s`.
pub fn format_duration(nanos: i64) -> String {
    let neg = nanos < 0;
    let mut u = nanos.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (prec, unit) = match u {
            0 => return "0s".to_owned(),
            1..1_000 => (0, "ns"),
            1_000..1_000_000 => (3, "\u{b5}s"),
            _ => (6, "ms"),
        };
        let (int, frac) = split_frac(u, prec);
        out.push_str(&int.to_string());
        out.push_str(&frac);
        out.push_str(unit);
    } else {
        let (secs, frac) = split_frac(u, 9);
        u = secs;
        let s = u % 60;
        u /= 60;
        if u > 0 {
            let m = u % 60;
            let h = u / 60;
            if h > 0 {
                out.push_str(&format!("{h}h"));
            }
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&format!("{s}{frac}s"));
    }
    if neg {
        out.insert(0, '-');
    }
    out
}

/// [`format_duration`] of a `std` duration (saturating at Go's maximum).
pub fn format_std(d: Duration) -> String {
    format_duration(i64::try_from(d.as_nanos()).unwrap_or(i64::MAX))
}

/// Go's `fmtFrac`: `v / 10^prec` and its fraction as `.ddd` without trailing zeros (empty
/// when zero).
fn split_frac(v: u64, prec: u32) -> (u64, String) {
    let p = 10u64.pow(prec);
    let frac = v % p;
    if frac == 0 {
        return (v / p, String::new());
    }
    let digits = format!("{frac:0width$}", width = prec as usize);
    (v / p, format!(".{}", digits.trim_end_matches('0')))
}
