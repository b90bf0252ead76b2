//! Go value parsers whose error texts leak into upstream's start-up messages (spec §0.3).

/// A value that Go's parsers reject; `Display` is Go's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoParseError {
    #[error("cannot parse '' as bool: strconv.ParseBool: parsing \"{0}\": invalid syntax")]
    Bool(String),
    #[error("strconv.ParseInt: parsing \"{0}\": invalid syntax")]
    Int(String),
    #[error("strconv.ParseInt: parsing \"{0}\": value out of range")]
    IntRange(String),
    #[error("strconv.ParseFloat: parsing \"{0}\": invalid syntax")]
    Float(String),
    #[error("time: invalid duration \"{0}\"")]
    Duration(String),
    #[error("time: missing unit in duration \"{0}\"")]
    DurationUnit(String),
}

/// parseutil.ParseBool: `""` is false; otherwise exactly Go's strconv.ParseBool spellings.
pub fn parse_bool(s: &str) -> Result<bool, GoParseError> {
    match s {
        "" | "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        _ => Err(GoParseError::Bool(s.to_owned())),
    }
}

/// parseutil.ParseInt: `""` is 0; otherwise base-10 int64 with an optional sign.
pub fn parse_int(s: &str) -> Result<i64, GoParseError> {
    if s.is_empty() {
        return Ok(0);
    }
    let digits = s.strip_prefix(['+', '-']).unwrap_or(s);
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return Err(GoParseError::Int(s.to_owned()));
    }
    // Rust rejects a leading '+' only in older versions; strip it to be explicit.
    let normalised = s.strip_prefix('+').unwrap_or(s);
    normalised
        .parse::<i64>()
        .map_err(|_| GoParseError::IntRange(s.to_owned()))
}

/// strconv.ParseFloat for the forms people write (decimal, exponent, Inf, NaN).
pub fn parse_float(s: &str) -> Result<f64, GoParseError> {
    if s.is_empty() {
        return Ok(0.0);
    }
    let ok_chars = s
        .bytes()
        .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'+' | b'-'));
    match s.parse::<f64>() {
        Ok(v) if ok_chars => Ok(v),
        _ => Err(GoParseError::Float(s.to_owned())),
    }
}

/// Check Go's time.ParseDuration grammar: `[+-]` then `<number><unit>` groups, or a bare `0`.
pub fn check_duration(s: &str) -> Result<(), GoParseError> {
    let invalid = || GoParseError::Duration(s.to_owned());
    let body = s.strip_prefix(['+', '-']).unwrap_or(s);
    if body == "0" {
        return Ok(());
    }
    if body.is_empty() {
        return Err(invalid());
    }
    let mut rest = body;
    while !rest.is_empty() {
        let int_len = rest.bytes().take_while(u8::is_ascii_digit).count();
        let mut consumed = int_len;
        let mut frac_len = 0;
        if rest[consumed..].starts_with('.') {
            consumed += 1;
            frac_len = rest[consumed..]
                .bytes()
                .take_while(u8::is_ascii_digit)
                .count();
            consumed += frac_len;
        }
        if int_len == 0 && frac_len == 0 {
            return Err(invalid());
        }
        rest = &rest[consumed..];
        let unit_len = rest
            .find(|c: char| c == '.' || c.is_ascii_digit())
            .unwrap_or(rest.len());
        match &rest[..unit_len] {
            "" => return Err(GoParseError::DurationUnit(s.to_owned())),
            "ns" | "us" | "µs" | "μs" | "ms" | "s" | "m" | "h" => {}
            _ => return Err(invalid()),
        }
        rest = &rest[unit_len..];
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bools_follow_parseutil() {
        assert_eq!(parse_bool(""), Ok(false));
        assert_eq!(parse_bool("True"), Ok(true));
        assert_eq!(parse_bool("F"), Ok(false));
        let err = parse_bool("yes").expect_err("yes");
        assert_eq!(
            err.to_string(),
            r#"cannot parse '' as bool: strconv.ParseBool: parsing "yes": invalid syntax"#
        );
        assert!(parse_bool("tRuE").is_err());
        assert!(parse_bool(" true").is_err());
    }

    #[test]
    fn ints_and_floats() {
        assert_eq!(parse_int("100"), Ok(100));
        assert_eq!(parse_int("+7"), Ok(7));
        assert_eq!(parse_int("-7"), Ok(-7));
        assert_eq!(parse_int(""), Ok(0));
        assert_eq!(
            parse_int("root").expect_err("root").to_string(),
            r#"strconv.ParseInt: parsing "root": invalid syntax"#
        );
        assert!(matches!(
            parse_int("99999999999999999999"),
            Err(GoParseError::IntRange(_))
        ));
        assert!(parse_int("1_000").is_err());
        assert_eq!(parse_float("0.75"), Ok(0.75));
        assert_eq!(parse_float("1e-3"), Ok(0.001));
        assert!(parse_float("abc").is_err());
    }

    #[test]
    fn durations_follow_go_grammar() {
        for ok in [
            "0", "5s", "1m30s", "1.5h", "-2ms", "300us", "1µs", ".5s", "5.s",
        ] {
            assert_eq!(check_duration(ok), Ok(()), "{ok}");
        }
        for bad in ["", "5d", "s", "1..5s", "+", "abc"] {
            assert!(check_duration(bad).is_err(), "{bad}");
        }
        assert_eq!(
            check_duration("5").expect_err("no unit").to_string(),
            r#"time: missing unit in duration "5""#
        );
        assert_eq!(
            check_duration("5d").expect_err("d").to_string(),
            r#"time: invalid duration "5d""#
        );
    }
}
