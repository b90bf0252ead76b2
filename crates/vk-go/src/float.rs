//! `strconv.ParseFloat` for 64-bit floats, with Go's `*NumError` texts.

use crate::strconv::{NumError, NumErrorKind, underscore_ok};

/// Go `strconv.ParseFloat(s, 64)`: decimal and hexadecimal forms, `Inf`/`Infinity`/`NaN`
/// (case-insensitive), underscores only after a base prefix; overflow is a range error.
pub fn parse_float(s: &str) -> Result<f64, NumError> {
    let fail = |kind| NumError {
        func: "ParseFloat",
        input: s.to_owned(),
        kind,
    };
    let err = || fail(NumErrorKind::Syntax);
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let lower = body.to_ascii_lowercase();
    if lower == "inf" || lower == "infinity" {
        return Ok(if neg {
            f64::NEG_INFINITY
        } else {
            f64::INFINITY
        });
    }
    if lower == "nan" {
        // Go accepts NaN only without a sign.
        return if body.len() == s.len() {
            Ok(f64::NAN)
        } else {
            Err(err())
        };
    }
    // Go allows `_` between digits (and after a base prefix) in both forms.
    let stripped;
    let lower = if lower.contains('_') {
        if !underscore_ok(&lower) {
            return Err(err());
        }
        stripped = lower.replace('_', "");
        &stripped
    } else {
        &lower
    };
    let value = if let Some(hex) = lower.strip_prefix("0x") {
        parse_hex_float(hex).ok_or_else(err)?
    } else {
        if !valid_decimal_float(lower) {
            return Err(err());
        }
        lower.parse::<f64>().map_err(|_| err())?
    };
    if value.is_infinite() {
        return Err(fail(NumErrorKind::Range));
    }
    Ok(if neg { -value } else { value })
}

/// `digits[.digits][(e|E)[+-]digits]` with at least one mantissa digit.
fn valid_decimal_float(s: &str) -> bool {
    let b = s.as_bytes();
    let mut i = 0;
    let mut mantissa_digits = 0;
    while i < b.len() && b[i].is_ascii_digit() {
        i += 1;
        mantissa_digits += 1;
    }
    if i < b.len() && b[i] == b'.' {
        i += 1;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
            mantissa_digits += 1;
        }
    }
    if mantissa_digits == 0 {
        return false;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let start = i;
        while i < b.len() && b[i].is_ascii_digit() {
            i += 1;
        }
        if i == start {
            return false;
        }
    }
    i == b.len()
}

/// Hex float body after `0x`: `hexdigits[.hexdigits]p[+-]digits`, `_` allowed between digits.
fn parse_hex_float(s: &str) -> Option<f64> {
    let b = s.as_bytes();
    let mut i = 0;
    let mut mantissa: u64 = 0;
    let mut exp: i64 = 0;
    let mut digits = 0;
    let mut seen_dot = false;
    let mut last_underscore = false;
    while i < b.len() {
        let c = b[i];
        if c == b'_' {
            // Go requires underscores to sit between digits.
            if digits == 0 || last_underscore {
                return None;
            }
            last_underscore = true;
            i += 1;
            continue;
        }
        if c == b'.' && !seen_dot {
            seen_dot = true;
            last_underscore = false;
            i += 1;
            continue;
        }
        let Some(d) = (c as char).to_digit(16) else {
            break;
        };
        last_underscore = false;
        digits += 1;
        if mantissa >> 60 == 0 {
            mantissa = (mantissa << 4) | u64::from(d);
            if seen_dot {
                exp -= 4;
            }
        } else if !seen_dot {
            // Precision beyond 64 bits is dropped; only the magnitude is kept.
            exp += 4;
        }
        i += 1;
    }
    if digits == 0 || last_underscore || i >= b.len() || (b[i] != b'p' && b[i] != b'P') {
        return None;
    }
    i += 1;
    let mut eneg = false;
    if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
        eneg = b[i] == b'-';
        i += 1;
    }
    let start = i;
    let mut e: i64 = 0;
    while i < b.len() && (b[i].is_ascii_digit() || b[i] == b'_') {
        if b[i] != b'_' {
            e = (e * 10 + i64::from(b[i] - b'0')).min(100_000);
        }
        i += 1;
    }
    if i == start || i != b.len() {
        return None;
    }
    let total = exp + if eneg { -e } else { e };
    let total = i32::try_from(total.clamp(-2000, 2000)).ok()?;
    // Split the power so intermediate results do not overflow or underflow early.
    let half = total / 2;
    Some(mantissa as f64 * 2f64.powi(half) * 2f64.powi(total - half))
}
