//! Value-parsing primitives of spec §0.3, with the exact error texts of the Go functions upstream
//! calls (`parseutil.ParseBool`, `strconv.Parse*`, `time.ParseDuration`, `strings.Split`).
//!
//! Error values carry the full Go message as their `Display`, because deny messages embed them.

/// A parse failure; `Display` is the Go error text.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ParseError(pub String);

/// Go's `strconv.Quote` for the strings we meet in error messages: printable characters are kept,
/// quotes and backslashes escaped, control characters written as Go escapes.
pub fn go_quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\u{c}' => out.push_str("\\f"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '\u{b}' => out.push_str("\\v"),
            c if (c as u32) < 0x80 && c.is_ascii_control() => {
                out.push_str(&format!("\\x{:02x}", c as u32))
            }
            c if c.is_control() || c == '\u{feff}' => {
                if (c as u32) <= 0xffff {
                    out.push_str(&format!("\\u{:04x}", c as u32));
                } else {
                    out.push_str(&format!("\\U{:08x}", c as u32));
                }
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

fn syntax(func: &str, s: &str) -> ParseError {
    ParseError(format!(
        "strconv.{func}: parsing {}: invalid syntax",
        go_quote(s)
    ))
}

fn range(func: &str, s: &str) -> ParseError {
    ParseError(format!(
        "strconv.{func}: parsing {}: value out of range",
        go_quote(s)
    ))
}

/// Go `strconv.ParseBool` (no empty-string special case).
pub fn strconv_parse_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
}

/// `parseutil.ParseBool` on a string: `""` is false, otherwise Go `strconv.ParseBool`.
pub fn parse_bool(s: &str) -> Result<bool, ParseError> {
    if s.is_empty() {
        return Ok(false);
    }
    strconv_parse_bool(s).ok_or_else(|| {
        ParseError(format!(
            "cannot parse '' as bool: strconv.ParseBool: parsing {}: invalid syntax",
            go_quote(s)
        ))
    })
}

/// Decimal digits of an unsigned Go integer literal in base 10 (no underscores, at least one digit).
fn parse_decimal_u64(digits: &str) -> Option<Result<u64, ()>> {
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let mut v: u64 = 0;
    for b in digits.bytes() {
        match v
            .checked_mul(10)
            .and_then(|v| v.checked_add(u64::from(b - b'0')))
        {
            Some(n) => v = n,
            None => return Some(Err(())),
        }
    }
    Some(Ok(v))
}

/// `parseutil.ParseInt` on a string: `""` is 0, otherwise Go `strconv.ParseInt(s, 10, 64)`.
pub fn parse_int(s: &str) -> Result<i64, ParseError> {
    if s.is_empty() {
        return Ok(0);
    }
    let (neg, digits) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    match parse_decimal_u64(digits) {
        None => Err(syntax("ParseInt", s)),
        Some(Err(())) => Err(range("ParseInt", s)),
        Some(Ok(v)) => {
            if neg {
                if v > 1u64 << 63 {
                    Err(range("ParseInt", s))
                } else {
                    Ok((v as i128).wrapping_neg() as i64)
                }
            } else {
                i64::try_from(v).map_err(|_| range("ParseInt", s))
            }
        }
    }
}

/// Go `strconv.ParseUint(s, 10, 64)`: no sign, `""` is an error.
pub fn parse_uint(s: &str) -> Result<u64, ParseError> {
    match parse_decimal_u64(s) {
        None => Err(syntax("ParseUint", s)),
        Some(Err(())) => Err(range("ParseUint", s)),
        Some(Ok(v)) => Ok(v),
    }
}

/// Go `strconv.ParseFloat(s, 64)`: decimal and hexadecimal forms, `Inf`/`Infinity`/`NaN`
/// (case-insensitive), underscores only after a base prefix; overflow is a range error.
pub fn parse_float(s: &str) -> Result<f64, ParseError> {
    let err = || syntax("ParseFloat", s);
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
    let value = if lower.starts_with("0x") {
        parse_hex_float(&body[2..]).ok_or_else(err)?
    } else {
        if !valid_decimal_float(body) {
            return Err(err());
        }
        body.parse::<f64>().map_err(|_| err())?
    };
    if value.is_infinite() {
        return Err(range("ParseFloat", s));
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

/// Validates a Go `time.ParseDuration` string, returning the Go error text on failure.
pub fn parse_duration(orig: &str) -> Result<(), ParseError> {
    let invalid = || ParseError(format!("time: invalid duration {}", go_quote(orig)));
    let mut s = orig.as_bytes();
    if let Some(&c) = s.first()
        && (c == b'-' || c == b'+')
    {
        s = &s[1..];
    }
    if s == b"0" {
        return Ok(());
    }
    if s.is_empty() {
        return Err(invalid());
    }
    let mut total: u64 = 0;
    while !s.is_empty() {
        if !(s[0] == b'.' || s[0].is_ascii_digit()) {
            return Err(invalid());
        }
        // Integer part: Go rejects values that overflow int64.
        let mut v: u64 = 0;
        let mut i = 0;
        while i < s.len() && s[i].is_ascii_digit() {
            if v > (1u64 << 63) / 10 {
                return Err(invalid());
            }
            v = v * 10 + u64::from(s[i] - b'0');
            if v > 1u64 << 63 {
                return Err(invalid());
            }
            i += 1;
        }
        let pre = i > 0;
        s = &s[i..];
        let mut frac: u64 = 0;
        let mut scale: f64 = 1.0;
        let mut post = false;
        if s.first() == Some(&b'.') {
            s = &s[1..];
            let mut j = 0;
            let mut overflow = false;
            while j < s.len() && s[j].is_ascii_digit() {
                if !overflow {
                    if frac > (i64::MAX as u64) / 10 {
                        overflow = true;
                    } else {
                        frac = frac * 10 + u64::from(s[j] - b'0');
                        scale *= 10.0;
                    }
                }
                j += 1;
            }
            post = j > 0;
            s = &s[j..];
        }
        if !pre && !post {
            return Err(invalid());
        }
        let unit_len = s
            .iter()
            .position(|&c| c == b'.' || c.is_ascii_digit())
            .unwrap_or(s.len());
        if unit_len == 0 {
            return Err(ParseError(format!(
                "time: missing unit in duration {}",
                go_quote(orig)
            )));
        }
        let unit_bytes = &s[..unit_len];
        s = &s[unit_len..];
        let unit: u64 = match unit_bytes {
            b"ns" => 1,
            b"us" | [0xC2, 0xB5, b's'] | [0xCE, 0xBC, b's'] => 1_000,
            b"ms" => 1_000_000,
            b"s" => 1_000_000_000,
            b"m" => 60_000_000_000,
            b"h" => 3_600_000_000_000,
            _ => {
                let u = String::from_utf8_lossy(unit_bytes);
                return Err(ParseError(format!(
                    "time: unknown unit {} in duration {}",
                    go_quote(&u),
                    go_quote(orig)
                )));
            }
        };
        if v > (1u64 << 63) / unit {
            return Err(invalid());
        }
        v *= unit;
        if frac > 0 {
            v += (frac as f64 * (unit as f64 / scale)) as u64;
            if v > 1u64 << 63 {
                return Err(invalid());
            }
        }
        total = total.checked_add(v).ok_or_else(invalid)?;
        if total > 1u64 << 63 {
            return Err(invalid());
        }
    }
    let neg = orig.starts_with('-');
    if !neg && total > i64::MAX as u64 {
        return Err(invalid());
    }
    Ok(())
}

/// Go `strings.Split(s, ",")`: no trimming, empty items kept, `""` gives `[""]`.
pub fn split_comma(s: &str) -> Vec<String> {
    s.split(',').map(str::to_owned).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(parse_float("0x_1p-2"), Err(syntax("ParseFloat", "0x_1p-2")));
        assert_eq!(parse_float("0x1_0p0"), Ok(16.0));
        assert!(parse_float("0x1").is_err(), "hex floats need an exponent");
        assert!(parse_float("1_0").is_err());
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
