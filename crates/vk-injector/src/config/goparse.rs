//! The Go value parsers whose error texts leak into upstream's start-up messages (spec §0.3),
//! as `agent-inject` reads environment values with them. The parsers are `vk-go`'s; this file
//! only says which Go call each setting goes through.

/// A value that Go's parsers reject; `Display` is Go's text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum GoParseError {
    #[error(transparent)]
    Bool(#[from] vk_go::WeakBoolError),
    /// `strconv.ParseInt` / `strconv.ParseFloat`.
    #[error(transparent)]
    Number(#[from] vk_go::NumError),
    #[error(transparent)]
    Duration(#[from] vk_go::DurationError),
}

/// parseutil.ParseBool: `""` is false; otherwise exactly Go's strconv.ParseBool spellings.
pub fn parse_bool(s: &str) -> Result<bool, GoParseError> {
    Ok(vk_go::parseutil_bool(s)?)
}

/// parseutil.ParseInt: `""` is 0; otherwise base-10 int64 with an optional sign.
pub fn parse_int(s: &str) -> Result<i64, GoParseError> {
    Ok(vk_go::parseutil_int(s)?)
}

/// strconv.ParseFloat of a setting that may be unset (`""` is 0).
pub fn parse_float(s: &str) -> Result<f64, GoParseError> {
    if s.is_empty() {
        return Ok(0.0);
    }
    Ok(vk_go::parse_float(s)?)
}

/// Go's time.ParseDuration accepts `s`.
pub fn check_duration(s: &str) -> Result<(), GoParseError> {
    vk_go::parse_duration(s)?;
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
        assert_eq!(
            parse_int("99999999999999999999")
                .expect_err("range")
                .to_string(),
            r#"strconv.ParseInt: parsing "99999999999999999999": value out of range"#
        );
        assert!(parse_int("1_000").is_err());
        assert_eq!(parse_float("0.75"), Ok(0.75));
        assert_eq!(parse_float("1e-3"), Ok(0.001));
        assert_eq!(parse_float(""), Ok(0.0));
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
        // Go names the unit it does not know (the former copy here said "invalid duration").
        assert_eq!(
            check_duration("5d").expect_err("d").to_string(),
            r#"time: unknown unit "d" in duration "5d""#
        );
        assert_eq!(
            check_duration("x").expect_err("x").to_string(),
            r#"time: invalid duration "x""#
        );
    }
}
