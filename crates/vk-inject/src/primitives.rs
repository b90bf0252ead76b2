//! Value-parsing primitives of spec §0.3, with the exact error texts of the Go functions upstream
//! calls (`parseutil.ParseBool`, `strconv.Parse*`, `time.ParseDuration`, `strings.Split`).
//!
//! Error values carry the full Go message as their `Display`, because deny messages embed them.

/// A parse failure; `Display` is the Go error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Go's `strconv.Quote` (the one implementation lives in `vk-go`).
pub use vk_go::quote as go_quote;

fn go_error(e: impl std::fmt::Display) -> ParseError {
    ParseError(e.to_string())
}

/// `parseutil.ParseBool` on a string: `""` is false, otherwise Go `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Result<bool, ParseError> {
    vk_go::parseutil_bool(s).map_err(go_error)
}

/// `parseutil.ParseInt` on a string: `""` is 0, otherwise Go `strconv.ParseInt(s, 10, 64)`.
pub fn parse_int(s: &str) -> Result<i64, ParseError> {
    vk_go::parseutil_int(s).map_err(go_error)
}

/// Go `strconv.ParseUint(s, 10, 64)`: no sign, `""` is an error.
pub fn parse_uint(s: &str) -> Result<u64, ParseError> {
    vk_go::parse_uint(s, 10).map_err(go_error)
}

/// Go `strconv.ParseFloat(s, 64)`: decimal and hexadecimal forms, `Inf`/`Infinity`/`NaN`.
pub fn parse_float(s: &str) -> Result<f64, ParseError> {
    vk_go::parse_float(s).map_err(go_error)
}

/// Validates a Go `time.ParseDuration` string, returning the Go error text on failure.
pub fn parse_duration(s: &str) -> Result<(), ParseError> {
    vk_go::parse_duration(s).map(drop).map_err(go_error)
}

/// Go `strings.Split(s, ",")`: no trimming, empty items kept, `""` gives `[""]`.
pub fn split_comma(s: &str) -> Vec<String> {
    s.split(',').map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn syntax(func: &str, s: &str) -> ParseError {
        ParseError(format!(
            "strconv.{func}: parsing {}: invalid syntax",
            go_quote(s)
        ))
    }

    #[test]
    fn bool_accepts_exactly_go_spellings() {
        for t in ["1", "t", "T", "TRUE", "true", "True"] {
            assert_eq!(parse_bool(t), Ok(true), "{t}");
        }
        for f in ["", "0", "f", "F", "FALSE", "false", "False"] {
            assert_eq!(parse_bool(f), Ok(false), "{f}");
        }
        assert_eq!(
            parse_bool("tRuE").unwrap_err().to_string(),
            r#"cannot parse '' as bool: strconv.ParseBool: parsing "tRuE": invalid syntax"#
        );
        for bad in ["yes", "on", " true", "fAlSe"] {
            assert!(parse_bool(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn int_matches_strconv() {
        assert_eq!(parse_int(""), Ok(0));
        assert_eq!(parse_int("+7"), Ok(7));
        assert_eq!(parse_int("-9223372036854775808"), Ok(i64::MIN));
        assert_eq!(
            parse_int("root").unwrap_err().to_string(),
            r#"strconv.ParseInt: parsing "root": invalid syntax"#
        );
        assert_eq!(
            parse_int("9223372036854775808").unwrap_err().to_string(),
            r#"strconv.ParseInt: parsing "9223372036854775808": value out of range"#
        );
        assert!(parse_int("1_000").is_err());
        assert!(parse_int("-").is_err());
    }

    #[test]
    fn uint_matches_strconv() {
        assert_eq!(parse_uint("01"), Ok(1));
        assert_eq!(parse_uint("0"), Ok(0));
        assert_eq!(
            parse_uint("-1").unwrap_err().to_string(),
            r#"strconv.ParseUint: parsing "-1": invalid syntax"#
        );
        assert_eq!(
            parse_uint("").unwrap_err().to_string(),
            r#"strconv.ParseUint: parsing "": invalid syntax"#
        );
        assert!(parse_uint("+1").is_err());
        assert!(
            parse_uint("18446744073709551616")
                .unwrap_err()
                .to_string()
                .ends_with("value out of range")
        );
    }

    #[test]
    fn float_matches_strconv() {
        assert_eq!(parse_float("0.75"), Ok(0.75));
        assert_eq!(parse_float("1e-3"), Ok(0.001));
        assert_eq!(parse_float(".5"), Ok(0.5));
        assert_eq!(parse_float("1."), Ok(1.0));
        assert_eq!(parse_float("-Inf"), Ok(f64::NEG_INFINITY));
        assert_eq!(parse_float("+infinity"), Ok(f64::INFINITY));
        assert!(parse_float("NaN").is_ok_and(f64::is_nan));
        assert!(parse_float("+NaN").is_err());
        assert_eq!(parse_float("0x1.8p1"), Ok(3.0));
        // Go accepts `_` after a base prefix and between digits (as `bao agent` does).
        assert_eq!(parse_float("0x_1p-2"), Ok(0.25));
        assert_eq!(
            parse_float("0x__1p-2"),
            Err(syntax("ParseFloat", "0x__1p-2"))
        );
        assert_eq!(parse_float("0x1_0p0"), Ok(16.0));
        assert!(parse_float("0x1").is_err(), "hex floats need an exponent");
        assert_eq!(parse_float("1_0"), Ok(10.0));
        assert!(parse_float("1__0").is_err());
        assert_eq!(
            parse_float("one-third").unwrap_err().to_string(),
            r#"strconv.ParseFloat: parsing "one-third": invalid syntax"#
        );
        assert_eq!(
            parse_float("1e400").unwrap_err().to_string(),
            r#"strconv.ParseFloat: parsing "1e400": value out of range"#
        );
        assert!(parse_float("").is_err());
        assert!(parse_float("e5").is_err());
    }

    #[test]
    fn duration_matches_time_parse_duration() {
        for ok in [
            "0", "1s", "1m", "1.5h", "-2ms", "+3us", "1µs", "1μs", "1h2m3s", ".5s", "5.s",
        ] {
            assert_eq!(parse_duration(ok), Ok(()), "{ok}");
        }
        assert_eq!(
            parse_duration("x").unwrap_err().to_string(),
            r#"time: invalid duration "x""#
        );
        assert_eq!(
            parse_duration("").unwrap_err().to_string(),
            r#"time: invalid duration """#
        );
        assert_eq!(
            parse_duration("1").unwrap_err().to_string(),
            r#"time: missing unit in duration "1""#
        );
        assert_eq!(
            parse_duration("1d").unwrap_err().to_string(),
            r#"time: unknown unit "d" in duration "1d""#
        );
        assert_eq!(
            parse_duration(".s").unwrap_err().to_string(),
            r#"time: invalid duration ".s""#
        );
        assert!(parse_duration("9999999999999999999h").is_err());
        assert!(
            parse_duration("3000000h").is_err(),
            "overflows int64 nanoseconds"
        );
    }

    #[test]
    fn split_keeps_everything() {
        assert_eq!(split_comma("a, b"), vec!["a", " b"]);
        assert_eq!(split_comma(""), vec![""]);
        assert_eq!(split_comma("a,,b,"), vec!["a", "", "b", ""]);
    }

    #[test]
    fn quote_escapes_like_go() {
        assert_eq!(go_quote("a\"b\\c\n"), r#""a\"b\\c\n""#);
        assert_eq!(go_quote("\u{1}"), r#""\x01""#);
        assert_eq!(go_quote("é"), "\"é\"");
    }
}
