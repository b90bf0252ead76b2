//! `strconv.ParseBool` and `strconv.ParseInt`, with Go's `*NumError` texts.

use std::fmt;

use crate::quote::quote;

/// Why a `strconv` conversion failed (Go's `ErrSyntax` / `ErrRange`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NumErrorKind {
    Syntax,
    Range,
}

/// Go's `*strconv.NumError`: `strconv.<Func>: parsing "<input>": <invalid syntax|value out of range>`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub struct NumError {
    pub func: &'static str,
    pub input: String,
    pub kind: NumErrorKind,
}

impl fmt::Display for NumError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let why = match self.kind {
            NumErrorKind::Syntax => "invalid syntax",
            NumErrorKind::Range => "value out of range",
        };
        write!(
            f,
            "strconv.{}: parsing {}: {why}",
            self.func,
            quote(&self.input)
        )
    }
}

/// Go `strconv.ParseBool`: `1 t T TRUE true True` and `0 f F FALSE false False`, nothing else.
pub fn parse_bool(s: &str) -> Result<bool, NumError> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Ok(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Ok(false),
        _ => Err(NumError {
            func: "ParseBool",
            input: s.to_owned(),
            kind: NumErrorKind::Syntax,
        }),
    }
}

/// Go `strconv.ParseInt(s, base, bit_size)`. `base` 0 takes the base from the prefix (`0x`,
/// `0o`, `0b`, a leading `0` for octal) and allows `_` between digits; otherwise 2..=36.
/// `bit_size` 0 means 64. An out-of-range value is a `Range` error (Go also returns the clamped
/// value; callers here only need the error).
pub fn parse_int(s: &str, base: u32, bit_size: u32) -> Result<i64, NumError> {
    let err = |kind| NumError {
        func: "ParseInt",
        input: s.to_owned(),
        kind,
    };
    let bits = if bit_size == 0 { 64 } else { bit_size.min(64) };
    let (neg, body) = match s.as_bytes().first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let magnitude = parse_magnitude(body, base).map_err(err)?;
    let cutoff: u128 = 1u128 << (bits - 1);
    let m = u128::from(magnitude);
    if !neg && m >= cutoff || neg && m > cutoff {
        return Err(err(NumErrorKind::Range));
    }
    let v = m as i128;
    Ok(if neg { -v } else { v } as i64)
}

/// Go `strconv.ParseUint(s, base, 64)`: no sign accepted; `base` as in [`parse_int`].
pub fn parse_uint(s: &str, base: u32) -> Result<u64, NumError> {
    parse_magnitude(s, base).map_err(|kind| NumError {
        func: "ParseUint",
        input: s.to_owned(),
        kind,
    })
}

/// The unsigned core of `ParseUint` for 64 bits (errors without the wrapper).
fn parse_magnitude(s: &str, base: u32) -> Result<u64, NumErrorKind> {
    if s.is_empty() {
        return Err(NumErrorKind::Syntax);
    }
    let base0 = base == 0;
    let (base, digits) = if base0 {
        let lower = s.to_ascii_lowercase();
        if s.len() >= 3 && lower.starts_with("0x") {
            (16, &s[2..])
        } else if s.len() >= 3 && lower.starts_with("0o") {
            (8, &s[2..])
        } else if s.len() >= 3 && lower.starts_with("0b") {
            (2, &s[2..])
        } else if s.starts_with('0') {
            (8, s)
        } else {
            (10, s)
        }
    } else if (2..=36).contains(&base) {
        (base, s)
    } else {
        return Err(NumErrorKind::Syntax);
    };
    let mut n: u64 = 0;
    let mut underscores = false;
    for c in digits.chars() {
        if c == '_' && base0 {
            underscores = true;
            continue;
        }
        let Some(d) = c.to_digit(36).filter(|d| *d < base) else {
            return Err(NumErrorKind::Syntax);
        };
        match n
            .checked_mul(u64::from(base))
            .and_then(|x| x.checked_add(u64::from(d)))
        {
            Some(x) => n = x,
            // Go stops at the first overflow, before looking at the rest.
            None => return Err(NumErrorKind::Range),
        }
    }
    if underscores && !underscore_ok(s) {
        return Err(NumErrorKind::Syntax);
    }
    Ok(n)
}

/// Go's `underscoreOK`: underscores only between digits, or between a base prefix and a digit.
pub(crate) fn underscore_ok(s: &str) -> bool {
    let b = s.as_bytes();
    let lower = |c: u8| c.to_ascii_lowercase();
    // '^' at the start, '0' after a digit or prefix, '_' after an underscore, '!' otherwise.
    let mut saw = b'^';
    let mut i = 0;
    let mut hex = false;
    if b.len() >= 2 && b[0] == b'0' && matches!(lower(b[1]), b'b' | b'o' | b'x') {
        i = 2;
        saw = b'0';
        hex = lower(b[1]) == b'x';
    }
    while i < b.len() {
        let c = b[i];
        i += 1;
        if c.is_ascii_digit() || hex && (b'a'..=b'f').contains(&lower(c)) {
            saw = b'0';
        } else if c == b'_' {
            if saw != b'0' {
                return false;
            }
            saw = b'_';
        } else {
            if saw == b'_' {
                return false;
            }
            saw = b'!';
        }
    }
    saw != b'_'
}
