//! Scalar conversions with the semantics of the Go helpers upstream calls: Go duration strings,
//! `parseutil.ParseDurationSecond` (bare numbers are seconds, `<n>d` is days),
//! `parseutil.ParseBool` (weak: strings and numbers too) and `strconv.ParseBool`.

use std::time::Duration;

use crate::ast::Lit;

/// Go `strconv.ParseBool`.
pub fn go_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `parseutil.ParseBool` on a string: empty is false, otherwise Go's spellings.
pub fn parse_bool_str(s: &str) -> Result<bool, String> {
    if s.is_empty() {
        return Ok(false);
    }
    go_parse_bool(s).ok_or_else(|| {
        format!("cannot parse '' as bool: strconv.ParseBool: parsing {s:?}: invalid syntax")
    })
}

/// `parseutil.ParseBool` on any scalar.
pub(crate) fn weak_bool(lit: &Lit) -> Result<bool, String> {
    match lit {
        Lit::Bool(b) => Ok(*b),
        Lit::Int(i) => Ok(*i != 0),
        Lit::Float(f) => Ok(*f != 0.0),
        Lit::Str(s) => parse_bool_str(s),
    }
}

/// Go `time.ParseDuration`. Negative results are refused: no setting here means anything
/// sensible below zero.
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("time: invalid duration {s:?}");
    let (neg, mut rest) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    if rest == "0" {
        return Ok(Duration::ZERO);
    }
    if rest.is_empty() {
        return Err(invalid());
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let num_len = rest
            .bytes()
            .take_while(|b| b.is_ascii_digit() || *b == b'.')
            .count();
        let (num, after) = rest.split_at(num_len);
        if num.is_empty() || num == "." || num.matches('.').count() > 1 {
            return Err(invalid());
        }
        let unit_len = after
            .char_indices()
            .find(|(_, c)| c.is_ascii_digit() || *c == '.')
            .map_or(after.len(), |(i, _)| i);
        let (unit, next) = after.split_at(unit_len);
        let scale = match unit {
            "" => return Err(format!("time: missing unit in duration {s:?}")),
            "ns" => 1e-9,
            "us" | "µs" | "μs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "m" => 60.0,
            "h" => 3600.0,
            other => return Err(format!("time: unknown unit {other:?} in duration {s:?}")),
        };
        let value: f64 = num.parse().map_err(|_| invalid())?;
        total += value * scale;
        rest = next;
    }
    // Go's limit is the range of int64 nanoseconds.
    if total > 9_223_372_036.854_775 {
        return Err(invalid());
    }
    if neg && total > 0.0 {
        return Err(format!("negative duration {s:?} is not allowed"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// `parseutil.ParseDurationSecond`: numbers and digit strings are seconds, `<n>d` days, anything
/// else a Go duration; the empty string is zero.
pub(crate) fn duration_second(lit: &Lit) -> Result<Duration, String> {
    let secs = |n: f64| {
        if n.is_finite() && (0.0..=9_223_372_036.0).contains(&n) {
            Ok(Duration::from_secs_f64(n))
        } else {
            Err(format!("duration {n} out of range"))
        }
    };
    match lit {
        Lit::Int(i) => secs(*i as f64),
        Lit::Float(f) => secs(*f),
        Lit::Bool(b) => Err(format!("could not parse duration from input: {b}")),
        Lit::Str(s) if s.is_empty() => Ok(Duration::ZERO),
        Lit::Str(s) => {
            if let Some(days) = s.strip_suffix('d').and_then(|d| d.parse::<i64>().ok()) {
                return secs(days as f64 * 86_400.0);
            }
            if let Ok(n) = s.parse::<i64>() {
                return secs(n as f64);
            }
            parse_go_duration(s)
        }
    }
}

/// Go's `time.Duration.String()`, for messages.
pub fn format_duration(d: Duration) -> String {
    if d.is_zero() {
        return "0s".to_owned();
    }
    let total = d.as_secs_f64();
    if total < 1.0 {
        let ms = total * 1e3;
        return if ms >= 1.0 {
            format!("{}ms", trim_float(ms))
        } else {
            format!("{}µs", trim_float(total * 1e6))
        };
    }
    let h = d.as_secs() / 3600;
    let m = (d.as_secs() % 3600) / 60;
    let s = total - (h * 3600 + m * 60) as f64;
    let mut out = String::new();
    if h > 0 {
        out.push_str(&format!("{h}h"));
    }
    if h > 0 || m > 0 {
        out.push_str(&format!("{m}m"));
    }
    out.push_str(&format!("{}s", trim_float(s)));
    out
}

fn trim_float(v: f64) -> String {
    let s = format!("{v:.9}");
    let s = s.trim_end_matches('0');
    s.trim_end_matches('.').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations() {
        assert_eq!(parse_go_duration("90s"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_go_duration("1h30m"), Ok(Duration::from_secs(5400)));
        assert_eq!(parse_go_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_go_duration("250ms"), Ok(Duration::from_millis(250)));
        assert_eq!(parse_go_duration("0"), Ok(Duration::ZERO));
        assert_eq!(
            parse_go_duration("1"),
            Err("time: missing unit in duration \"1\"".to_owned())
        );
        assert_eq!(
            parse_go_duration("1x"),
            Err("time: unknown unit \"x\" in duration \"1x\"".to_owned())
        );
        assert_eq!(
            parse_go_duration(""),
            Err("time: invalid duration \"\"".to_owned())
        );
        assert!(parse_go_duration("-1s").is_err());
        assert!(parse_go_duration("1..2s").is_err());
        assert!(parse_go_duration("99999999999h").is_err());
    }

    #[test]
    fn duration_second_forms() {
        let d = |l: Lit| duration_second(&l);
        assert_eq!(d(Lit::Int(30)), Ok(Duration::from_secs(30)));
        assert_eq!(d(Lit::Str("30".into())), Ok(Duration::from_secs(30)));
        assert_eq!(d(Lit::Str("2d".into())), Ok(Duration::from_secs(172_800)));
        assert_eq!(d(Lit::Str("5m".into())), Ok(Duration::from_secs(300)));
        assert_eq!(d(Lit::Str(String::new())), Ok(Duration::ZERO));
        assert!(d(Lit::Int(-1)).is_err());
        assert!(d(Lit::Bool(true)).is_err());
    }

    #[test]
    fn bools_weak_and_strict() {
        assert_eq!(weak_bool(&Lit::Str("t".into())), Ok(true));
        assert_eq!(weak_bool(&Lit::Str(String::new())), Ok(false));
        assert_eq!(weak_bool(&Lit::Int(2)), Ok(true));
        assert_eq!(
            weak_bool(&Lit::Str("yes".into())),
            Err(
                "cannot parse '' as bool: strconv.ParseBool: parsing \"yes\": invalid syntax"
                    .to_owned()
            )
        );
    }

    #[test]
    fn formats_like_go() {
        assert_eq!(format_duration(Duration::from_secs(300)), "5m0s");
        assert_eq!(format_duration(Duration::from_secs(3661)), "1h1m1s");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1.5s");
        assert_eq!(format_duration(Duration::from_millis(250)), "250ms");
    }
}
