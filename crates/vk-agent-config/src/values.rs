//! Scalar conversions with the semantics of the Go helpers upstream calls: Go duration strings,
//! `parseutil.ParseDurationSecond` (bare numbers are seconds, `<n>d` is days),
//! `parseutil.ParseBool` (weak: strings and numbers too) and `strconv.ParseBool`.

use std::time::Duration;

use crate::ast::Lit;

/// `parseutil.ParseBool` on a string: empty is false, otherwise Go's spellings.
pub fn parse_bool_str(s: &str) -> Result<bool, String> {
    vk_go::parseutil_bool(s).map_err(|e| e.to_string())
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

/// `parseutil.ParseBool` on a JSON value (method `config` settings): booleans, Go bool
/// strings, numbers (non-zero is true); anything else is an error.
pub fn weak_bool_json(v: &serde_json::Value) -> Result<bool, String> {
    use serde_json::Value;
    match v {
        Value::Bool(b) => Ok(*b),
        Value::String(s) => parse_bool_str(s),
        Value::Number(n) => Ok(n.as_f64().is_some_and(|f| f != 0.0)),
        Value::Null => Ok(false),
        other => Err(format!(
            "cannot parse '' as bool: unsupported value {other}"
        )),
    }
}

/// `parseutil.ParseDurationSecond` on a JSON value (method `config` settings): numbers and
/// digit strings are seconds, `<n>d` days, other strings Go durations.
pub fn duration_second_json(v: &serde_json::Value) -> Result<Duration, String> {
    use serde_json::Value;
    let lit = match v {
        Value::Number(n) => match n.as_i64() {
            Some(i) => Lit::Int(i),
            None => Lit::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Lit::Str(s.clone()),
        Value::Bool(b) => Lit::Bool(*b),
        other => return Err(format!("could not parse duration from input: {other}")),
    };
    duration_second(&lit)
}

/// Go `time.ParseDuration` for settings that cannot be negative (Go's error texts).
pub fn parse_go_duration(s: &str) -> Result<Duration, String> {
    vk_go::parse_std_duration(s).map_err(|e| e.to_string())
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
}
