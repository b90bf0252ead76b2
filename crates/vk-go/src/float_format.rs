//! Go `strconv.FormatFloat` (the `g`, `e` and `f` forms, shortest or with a precision) and
//! `encoding/json`'s float text, built on Rust's exact, shortest float formatting.

/// Decimal digits (no leading/trailing zeros, except "0" for zero) and the exponent of the first
/// digit: value = 0.d1d2… × 10^(point), i.e. `point` is Go's `decimal.dp`.
struct Digits {
    digits: Vec<u8>,
    point: i32,
}

/// Shortest round-trip digits of |x| (or rounded to `sig` significant digits).
fn digits_of(x: f64, sig: Option<usize>) -> Digits {
    let x = x.abs();
    if x == 0.0 {
        return Digits {
            digits: vec![b'0'],
            point: 1,
        };
    }
    let text = match sig {
        None => format!("{x:e}"),
        Some(p) => format!("{:.*e}", p.saturating_sub(1), x),
    };
    let (mantissa, exp) = text.split_once('e').unwrap_or((text.as_str(), "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let mut digits: Vec<u8> = mantissa.bytes().filter(u8::is_ascii_digit).collect();
    while digits.len() > 1 && digits.last() == Some(&b'0') {
        digits.pop();
    }
    Digits {
        digits,
        point: exp + 1,
    }
}

fn special(x: f64) -> Option<String> {
    if x.is_nan() {
        Some("NaN".into())
    } else if x.is_infinite() {
        Some(if x > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        })
    } else {
        None
    }
}

fn sign(x: f64) -> &'static str {
    if x.is_sign_negative() { "-" } else { "" }
}

/// `%e`-style text from digits, with `frac` digits after the point (`None`: as many as there are).
fn exp_form(x: f64, d: &Digits, frac: Option<usize>) -> String {
    let mut out = String::from(sign(x));
    out.push(d.digits[0] as char);
    let rest = &d.digits[1..];
    let n = frac.unwrap_or(rest.len());
    if n > 0 {
        out.push('.');
        for i in 0..n {
            out.push(*rest.get(i).unwrap_or(&b'0') as char);
        }
    }
    let e = if d.digits == [b'0'] { 0 } else { d.point - 1 };
    out.push('e');
    out.push(if e < 0 { '-' } else { '+' });
    let a = e.unsigned_abs();
    if a < 10 {
        out.push('0');
    }
    out.push_str(&a.to_string());
    out
}

/// Plain decimal text from digits, with `frac` digits after the point (`None`: as many as needed).
fn plain_form(x: f64, d: &Digits, frac: Option<usize>) -> String {
    let mut out = String::from(sign(x));
    if d.point <= 0 {
        out.push('0');
    } else {
        for i in 0..d.point as usize {
            out.push(*d.digits.get(i).unwrap_or(&b'0') as char);
        }
    }
    let needed = (d.digits.len() as i32 - d.point).max(0) as usize;
    let n = frac.unwrap_or(needed);
    if n > 0 {
        out.push('.');
        for i in 0..n as i32 {
            let idx = d.point + i;
            let c = if idx < 0 {
                b'0'
            } else {
                *d.digits.get(idx as usize).unwrap_or(&b'0')
            };
            out.push(c as char);
        }
    }
    out
}

/// `strconv.FormatFloat(x, 'g', -1, 64)`: Go's `%v` for float64.
pub fn format_g_shortest(x: f64) -> String {
    if let Some(s) = special(x) {
        return s;
    }
    let d = digits_of(x, None);
    let exp = d.point - 1;
    if x != 0.0 && !(-4..6).contains(&exp) {
        exp_form(x, &d, None)
    } else {
        plain_form(x, &d, None)
    }
}

/// `strconv.FormatFloat(x, 'g', prec, 64)` with an explicit precision (`%.3g`).
pub fn format_g(x: f64, prec: usize) -> String {
    if let Some(s) = special(x) {
        return s;
    }
    let p = prec.max(1);
    let d = digits_of(x, Some(p));
    let mut eprec = p as i32;
    if eprec > d.digits.len() as i32 && d.digits.len() as i32 >= d.point {
        eprec = d.digits.len() as i32;
    }
    let exp = d.point - 1;
    if x != 0.0 && (exp < -4 || exp >= eprec) {
        exp_form(x, &d, None)
    } else {
        plain_form(x, &d, None)
    }
}

/// `strconv.FormatFloat(x, 'e', prec, 64)`; `None` = shortest.
pub fn format_e(x: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(x) {
        return s;
    }
    match prec {
        None => exp_form(x, &digits_of(x, None), None),
        Some(p) => exp_form(x, &digits_of(x, Some(p + 1)), Some(p)),
    }
}

/// `strconv.FormatFloat(x, 'f', prec, 64)`; `None` = shortest.
pub fn format_f(x: f64, prec: Option<usize>) -> String {
    if let Some(s) = special(x) {
        return s;
    }
    match prec {
        None => plain_form(x, &digits_of(x, None), None),
        Some(p) => {
            // Rust's fixed formatting is exact (correctly rounded), like Go's.
            let text = format!("{:.*}", p, x.abs());
            format!("{}{}", sign(x), text)
        }
    }
}

/// Go `encoding/json`'s float64 encoding: plain between 1e-6 and 1e21, else exponent with no
/// leading zero in the exponent; `None` for NaN and infinities, which Go refuses to encode.
pub fn format_json_float(x: f64) -> Option<String> {
    if !x.is_finite() {
        return None;
    }
    let a = x.abs();
    if a != 0.0 && !(1e-6..1e21).contains(&a) {
        let s = format_e(x, None);
        Some(s.replacen("e-0", "e-", 1).replacen("e+0", "e+", 1))
    } else {
        Some(format_f(x, None))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shortest_g_matches_go() {
        let cases: &[(f64, &str)] = &[
            (1.0, "1"),
            (1.5, "1.5"),
            (0.1, "0.1"),
            (8080.0, "8080"),
            (999999.0, "999999"),
            (1e6, "1e+06"),
            (1e8, "1e+08"),
            (123456789.0, "1.23456789e+08"),
            (1.7e9, "1.7e+09"),
            (12345678901234567890.0, "1.2345678901234567e+19"),
            (0.0001, "0.0001"),
            (0.00001, "1e-05"),
            (-0.0, "-0"),
            (0.0, "0"),
            (1e21, "1e+21"),
            (1e100, "1e+100"),
            (1e-7, "1e-07"),
            (f64::NAN, "NaN"),
            (f64::INFINITY, "+Inf"),
            (f64::NEG_INFINITY, "-Inf"),
            (-2.5, "-2.5"),
        ];
        for (x, want) in cases {
            assert_eq!(format_g_shortest(*x), *want, "{x}");
        }
    }

    #[test]
    fn json_floats_match_go() {
        assert_eq!(format_json_float(1e8).unwrap(), "100000000");
        assert_eq!(
            format_json_float(12345678901234567890.0).unwrap(),
            "12345678901234567000"
        );
        assert_eq!(format_json_float(1e21).unwrap(), "1e+21");
        assert_eq!(format_json_float(1e-7).unwrap(), "1e-7");
        assert_eq!(format_json_float(0.000001).unwrap(), "0.000001");
        assert_eq!(format_json_float(-0.0).unwrap(), "-0");
        assert_eq!(format_json_float(1.0).unwrap(), "1");
    }

    #[test]
    fn precision_forms() {
        assert_eq!(format_f(4.56789, Some(2)), "4.57");
        assert_eq!(format_e(1234.5678, Some(2)), "1.23e+03");
        assert_eq!(format_e(0.0, Some(3)), "0.000e+00");
        assert_eq!(format_g(1234.5678, 3), "1.23e+03");
        assert_eq!(format_g(0.5, 3), "0.5");
        assert_eq!(format_g(100.0, 3), "100");
        assert_eq!(format_f(-1.0, None), "-1");
    }
}
