//! Kubernetes `resource.ParseQuantity` and the canonical string the API machinery re-emits
//! (`0.5` → `500m`, `1000m` → `1`, `128Mi` stays `128Mi`), mirrored step by step from the Go
//! algorithm: an int64 fast path that may keep the caller's text, and an arbitrary-precision path.

use std::borrow::Cow;
use std::cmp::Ordering;

/// Why a quantity string was rejected; `Display` is the apimachinery error text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantityError {
    #[error(
        "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
    )]
    FormatWrong,
    #[error("unable to parse quantity's suffix")]
    Suffix,
    #[error("unable to parse numeric part of quantity")]
    Numeric,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    DecimalExponent,
    BinarySI,
    DecimalSI,
}

struct Parts<'a> {
    positive: bool,
    value: &'a str,
    num: &'a str,
    denom: &'a str,
    suffix: &'a str,
}

/// Parses `s` like `resource.ParseQuantity` and returns the string `Quantity.String()` yields.
pub fn canonical_quantity(s: &str) -> Result<String, QuantityError> {
    canonical_quantity_cow(s).map(Cow::into_owned)
}

/// [`canonical_quantity`], borrowing `s` when it is already canonical (the usual `250m`): the
/// engine's resources are checked on every admission.
pub(crate) fn canonical_quantity_cow(s: &str) -> Result<Cow<'_, str>, QuantityError> {
    if s.is_empty() {
        return Err(QuantityError::FormatWrong);
    }
    if s == "0" {
        return Ok(Cow::Borrowed("0"));
    }
    let p = split(s)?;
    let (base, exponent, format) = interpret_suffix(p.suffix).ok_or(QuantityError::Suffix)?;

    let mut scale: i64 = 0;
    let mut mantissa: i64 = 1;
    let precision: i32 = match format {
        Format::DecimalExponent | Format::DecimalSI => {
            scale = i64::from(exponent);
            18 - (p.num.len() + p.denom.len()) as i32
        }
        Format::BinarySI => {
            if exponent >= 0 && p.denom.is_empty() {
                mantissa = 1i64 << exponent;
                15 - p.num.len() as i32 - (exponent as f32 * 3.0 / 10.0) as i32 - 1
            } else {
                -1
            }
        }
    };

    if precision >= 0 {
        scale -= p.denom.len() as i64;
        if scale >= -9 {
            // Borrowed when there is no fraction (the usual `250m`, `64Mi`): the `format!`
            // this replaced was a third of the function's cost.
            let shifted: Cow<'_, str> = if p.denom.is_empty() {
                Cow::Borrowed(p.num)
            } else {
                Cow::Owned([p.num, p.denom].concat())
            };
            let value: i64 = shifted.parse().map_err(|_| QuantityError::Numeric)?;
            if let Some(result) = value.checked_mul(mantissa) {
                let result = if p.positive { result } else { -result };
                // Upstream keeps the caller's text when it is already canonical.
                let keep = match format {
                    Format::BinarySI => exponent % 10 == 0 && (value & 0x07) != 0,
                    _ => scale % 3 == 0 && !shifted.ends_with("000") && !shifted.starts_with('0'),
                };
                if keep {
                    return Ok(Cow::Borrowed(s));
                }
                return Ok(Cow::Owned(canonical_small(
                    i128::from(result),
                    scale,
                    format,
                )));
            }
        }
    }
    Ok(Cow::Owned(slow_path(&p, base, exponent, format)))
}

/// `parseQuantityString`: sign, numerator, optional fraction, suffix.
fn split(str: &str) -> Result<Parts<'_>, QuantityError> {
    let b = str.as_bytes();
    let end = b.len();
    let mut positive = true;
    let mut pos = 0;
    match b.first() {
        Some(b'-') => {
            positive = false;
            pos += 1;
        }
        Some(b'+') => pos += 1,
        _ => {}
    }
    while pos < end && b[pos] == b'0' {
        pos += 1;
    }
    if pos >= end {
        return Ok(Parts {
            positive,
            value: "0",
            num: "0",
            denom: "",
            suffix: "",
        });
    }
    let num_start = pos;
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    let mut num = &str[num_start..pos];
    if pos >= end {
        return Ok(Parts {
            positive,
            value: str,
            num,
            denom: "",
            suffix: "",
        });
    }
    if num.is_empty() {
        num = "0";
    }
    let mut denom = "";
    if b[pos] == b'.' {
        pos += 1;
        let d_start = pos;
        while pos < end && b[pos].is_ascii_digit() {
            pos += 1;
        }
        denom = &str[d_start..pos];
        if pos >= end {
            return Ok(Parts {
                positive,
                value: str,
                num,
                denom,
                suffix: "",
            });
        }
    }
    let value = &str[..pos];
    let suffix_start = pos;
    while pos < end && b"eEinumkKMGTP".contains(&b[pos]) {
        pos += 1;
    }
    if pos < end && (b[pos] == b'-' || b[pos] == b'+') {
        pos += 1;
    }
    while pos < end && b[pos].is_ascii_digit() {
        pos += 1;
    }
    if pos < end {
        return Err(QuantityError::FormatWrong);
    }
    Ok(Parts {
        positive,
        value,
        num,
        denom,
        suffix: &str[suffix_start..],
    })
}

fn interpret_suffix(s: &str) -> Option<(u32, i32, Format)> {
    let dec = |e| Some((10, e, Format::DecimalSI));
    let bin = |e| Some((2, e, Format::BinarySI));
    match s {
        "" => dec(0),
        "n" => dec(-9),
        "u" => dec(-6),
        "m" => dec(-3),
        "k" => dec(3),
        "M" => dec(6),
        "G" => dec(9),
        "T" => dec(12),
        "P" => dec(15),
        "E" => dec(18),
        "Ki" => bin(10),
        "Mi" => bin(20),
        "Gi" => bin(30),
        "Ti" => bin(40),
        "Pi" => bin(50),
        "Ei" => bin(60),
        _ => {
            let rest = s.strip_prefix(['e', 'E'])?;
            if rest.is_empty() {
                return None;
            }
            // `strconv.ParseInt(.., 10, 64)` then truncation to int32, as upstream does.
            let e = crate::primitives::parse_int(rest).ok()?;
            Some((10, e as i32, Format::DecimalExponent))
        }
    }
}

fn decimal_suffix(exponent: i64, format: Format) -> Cow<'static, str> {
    if format == Format::DecimalSI {
        let s = match exponent {
            -9 => Some("n"),
            -6 => Some("u"),
            -3 => Some("m"),
            0 => Some(""),
            3 => Some("k"),
            6 => Some("M"),
            9 => Some("G"),
            12 => Some("T"),
            15 => Some("P"),
            18 => Some("E"),
            _ => None,
        };
        if let Some(s) = s {
            return Cow::Borrowed(s);
        }
    }
    if exponent == 0 {
        Cow::Borrowed("")
    } else {
        Cow::Owned(format!("e{exponent}"))
    }
}

/// `amount` in decimal followed by `suffix`, without `format!` (which cost ~600 instructions a
/// call here, 4 calls per admission). The digits come from the JSON writer's integer writer;
/// an amount beyond `i64` (never a real quantity) takes `format!`.
fn with_suffix(amount: i128, suffix: &str) -> String {
    let Ok(amount) = i64::try_from(amount) else {
        return format!("{amount}{suffix}");
    };
    let mut out = Vec::with_capacity(21 + suffix.len());
    crate::jsonw::push_int(&mut out, amount);
    out.extend_from_slice(suffix.as_bytes());
    // Digits, a sign and a suffix from this file: ASCII.
    String::from_utf8(out).unwrap_or_default()
}

fn binary_suffix(power: u32) -> &'static str {
    ["", "Ki", "Mi", "Gi", "Ti", "Pi", "Ei"]
        .get(power as usize)
        .copied()
        .unwrap_or("")
}

/// `CanonicalizeBytes` for an `int64Amount` (value × 10^scale).
fn canonical_small(value: i128, scale: i64, format: Format) -> String {
    if value == 0 {
        return "0".to_owned();
    }
    let mut format = format;
    if format == Format::BinarySI {
        let exact_int = integer_value(value, scale);
        match exact_int {
            Some(v) if v > -1024 && v < 1024 => format = Format::DecimalSI,
            Some(v) => {
                let (mut amount, mut power) = (v, 0u32);
                while amount != 0 && amount % 1024 == 0 {
                    amount /= 1024;
                    power += 1;
                }
                return with_suffix(amount, binary_suffix(power));
            }
            None => format = Format::DecimalSI,
        }
    }
    let (mut amount, mut exponent) = (value, scale);
    while amount % 10 == 0 {
        amount /= 10;
        exponent += 1;
    }
    // Go's `%` keeps the sign, so the exponent always moves down to a multiple of three.
    match exponent % 3 {
        1 | -2 => {
            amount *= 10;
            exponent -= 1;
        }
        2 | -1 => {
            amount *= 100;
            exponent -= 2;
        }
        _ => {}
    }
    with_suffix(amount, &decimal_suffix(exponent, format))
}

/// The exact integer value of `value × 10^scale`, if it is an integer that fits.
fn integer_value(value: i128, scale: i64) -> Option<i128> {
    if scale >= 0 {
        let mut v = value;
        for _ in 0..scale {
            v = v.checked_mul(10)?;
        }
        Some(v)
    } else {
        let div = 10i128.checked_pow(u32::try_from(scale.unsigned_abs()).ok()?)?;
        (value % div == 0).then_some(value / div)
    }
}

// === Arbitrary precision ===

/// Non-negative decimal integer as its digits, most significant first, no leading zeros.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Digits(Vec<u8>);

impl Digits {
    fn from_str(s: &str) -> Self {
        let mut d = Digits(
            s.bytes()
                .filter(u8::is_ascii_digit)
                .map(|b| b - b'0')
                .collect(),
        );
        d.trim();
        d
    }

    fn trim(&mut self) {
        let lead = self.0.iter().take_while(|&&d| d == 0).count();
        self.0.drain(..lead);
    }

    fn is_zero(&self) -> bool {
        self.0.is_empty()
    }

    fn mul_small(&mut self, m: u32) {
        let mut carry = 0u32;
        for d in self.0.iter_mut().rev() {
            let v = u32::from(*d) * m + carry;
            *d = (v % 10) as u8;
            carry = v / 10;
        }
        while carry > 0 {
            self.0.insert(0, (carry % 10) as u8);
            carry /= 10;
        }
        self.trim();
    }

    fn add_one(&mut self) {
        for d in self.0.iter_mut().rev() {
            if *d == 9 {
                *d = 0;
            } else {
                *d += 1;
                return;
            }
        }
        self.0.insert(0, 1);
    }

    fn cmp(&self, other: &Digits) -> Ordering {
        self.0
            .len()
            .cmp(&other.0.len())
            .then_with(|| self.0.cmp(&other.0))
    }

    fn trailing_zeros(&self) -> usize {
        self.0.iter().rev().take_while(|&&d| d == 0).count()
    }

    fn to_i128(&self) -> Option<i128> {
        self.0.iter().try_fold(0i128, |acc, &d| {
            acc.checked_mul(10)?.checked_add(i128::from(d))
        })
    }

    fn render(&self) -> String {
        if self.0.is_empty() {
            "0".to_owned()
        } else {
            self.0.iter().map(|d| char::from(b'0' + d)).collect()
        }
    }
}

/// The `inf.Dec` branch of `ParseQuantity` followed by `infDecAmount` canonicalisation.
fn slow_path(p: &Parts<'_>, base: u32, exponent: i32, format: Format) -> String {
    let mut format = format;
    let frac_len = p.value.find('.').map_or(0, |dot| p.value.len() - dot - 1) as i64;
    let mut unscaled = Digits::from_str(p.value);
    let mut scale: i64 = frac_len;
    if base == 10 {
        scale -= i64::from(exponent);
    } else {
        for _ in 0..exponent.max(0) {
            unscaled.mul_small(2);
        }
    }
    // Round non-zero values up (away from zero) to nano precision.
    if !unscaled.is_zero() && scale > 9 {
        let drop = usize::try_from(scale - 9).unwrap_or(usize::MAX);
        if drop >= unscaled.0.len() {
            unscaled = Digits(vec![1]);
        } else {
            let cut = unscaled.0.len() - drop;
            let any = unscaled.0[cut..].iter().any(|&d| d != 0);
            unscaled.0.truncate(cut);
            if any {
                unscaled.add_one();
            }
        }
        scale = 9;
    }
    if format == Format::BinarySI {
        let int_part = integer_part(&unscaled, scale);
        let max = Digits::from_str("9223372036854775807");
        let above_max = int_part.cmp(&max) == Ordering::Greater
            || (int_part.cmp(&max) == Ordering::Equal
                && scale > 0
                && has_fraction(&unscaled, scale));
        if above_max {
            unscaled = max;
            scale = 0;
        } else if int_part.is_zero() && !unscaled.is_zero() {
            format = Format::DecimalSI;
        }
    }
    let sign = if p.positive { "" } else { "-" };
    if unscaled.is_zero() {
        return "0".to_owned();
    }
    if format == Format::BinarySI {
        let int_part = integer_part(&unscaled, scale);
        let small = int_part.cmp(&Digits::from_str("1024")) == Ordering::Less;
        if !small && !has_fraction(&unscaled, scale) {
            // Capped above, so the integer fits.
            if let Some(mut v) = int_part.to_i128() {
                let mut power = 0u32;
                while v % 1024 == 0 {
                    v /= 1024;
                    power += 1;
                }
                return format!("{sign}{v}{}", binary_suffix(power));
            }
        }
        format = Format::DecimalSI;
    }
    let tz = unscaled.trailing_zeros();
    unscaled.0.truncate(unscaled.0.len() - tz);
    let mut exp = -scale + tz as i64;
    while exp % 3 != 0 {
        unscaled.0.push(0);
        exp -= 1;
    }
    format!("{sign}{}{}", unscaled.render(), decimal_suffix(exp, format))
}

/// Integer part of `unscaled × 10^-scale`.
fn integer_part(unscaled: &Digits, scale: i64) -> Digits {
    if scale <= 0 {
        let mut d = unscaled.clone();
        if !d.is_zero() {
            d.0.extend(std::iter::repeat_n(0, usize::try_from(-scale).unwrap_or(0)));
        }
        d
    } else {
        let keep = unscaled
            .0
            .len()
            .saturating_sub(usize::try_from(scale).unwrap_or(usize::MAX));
        let mut d = Digits(unscaled.0[..keep].to_vec());
        d.trim();
        d
    }
}

fn has_fraction(unscaled: &Digits, scale: i64) -> bool {
    if scale <= 0 {
        return false;
    }
    let n = usize::try_from(scale)
        .unwrap_or(usize::MAX)
        .min(unscaled.0.len());
    unscaled.0[unscaled.0.len() - n..].iter().any(|&d| d != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(s: &str) -> String {
        canonical_quantity(s).unwrap_or_else(|e| format!("ERR {e}"))
    }

    #[test]
    fn canonical_forms() {
        let cases = [
            ("500m", "500m"),
            ("128Mi", "128Mi"),
            ("0.5", "500m"),
            ("1000m", "1"),
            ("500Mi", "500Mi"),
            ("0", "0"),
            ("00", "0"),
            ("0.0", "0"),
            ("1000", "1k"),
            ("100", "100"),
            ("1.5", "1500m"),
            ("1.5Gi", "1536Mi"),
            ("0.5Ki", "512"),
            ("1024", "1024"),
            ("1Ki", "1Ki"),
            ("2048Ki", "2Mi"),
            ("128m", "128m"),
            ("500M", "500M"),
            ("1e3", "1e3"),
            ("1E3", "1E3"),
            ("1e100", "10e99"),
            ("12e1", "120"),
            ("0.0000000001", "1n"),
            ("1.0000000001", "1000000001n"),
            ("+5", "+5"),
            ("-5", "-5"),
            ("-1000", "-1k"),
            ("123456789012345678901", "123456789012345678901"),
            ("1234567890123456789012", "1234567890123456789012"),
            ("100000000000000000000000", "100e21"),
            ("10000Ei", "9223372036854775807"),
            (".5", "500m"),
            ("5.", "5."),
            ("1.5e-2147483648", "1e-9"),
            ("10e2147483647", "100e2147483646"),
            // Written digit by digit (`with_suffix`), negative amounts included.
            ("64Mi", "64Mi"),
            ("250m", "250m"),
            ("2000m", "2"),
            ("-0.5", "-500m"),
            ("1.5k", "1500"),
            ("1536Ki", "1536Ki"),
            ("-128Mi", "-128Mi"),
            ("-1024Ki", "-1Mi"),
            ("-1.5Gi", "-1536Mi"),
            ("3000000000", "3G"),
            ("-3000000000", "-3G"),
            ("0.1m", "100u"),
        ];
        let mut failures = Vec::new();
        for (input, want) in cases {
            if c(input) != want {
                failures.push(format!("{input}: got {} want {want}", c(input)));
            }
        }
        assert!(failures.is_empty(), "{failures:#?}");
        for canonical in ["250m", "500Mi", "0", "1Ki"] {
            assert!(
                matches!(canonical_quantity_cow(canonical), Ok(Cow::Borrowed(s)) if s == canonical),
                "{canonical}"
            );
        }
    }

    #[test]
    fn errors() {
        assert_eq!(canonical_quantity("500mi"), Err(QuantityError::Suffix));
        assert_eq!(canonical_quantity("250gi"), Err(QuantityError::FormatWrong));
        assert_eq!(canonical_quantity("128mb"), Err(QuantityError::FormatWrong));
        assert_eq!(canonical_quantity("128g"), Err(QuantityError::FormatWrong));
        assert_eq!(canonical_quantity("128gi"), Err(QuantityError::FormatWrong));
        assert_eq!(canonical_quantity("abc"), Err(QuantityError::FormatWrong));
        assert_eq!(canonical_quantity("1e"), Err(QuantityError::Suffix));
        assert_eq!(canonical_quantity(""), Err(QuantityError::FormatWrong));
        assert_eq!(
            QuantityError::FormatWrong.to_string(),
            "quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'"
        );
    }
}
