//! Go `strconv` string helpers: `Unquote` and `%#U` (`Quote` and `IsPrint` are `vk-go`'s).

/// `fmt`'s `%#U`: `U+002F '/'`.
pub(crate) fn go_unicode(c: char) -> String {
    if vk_go::is_print(c) {
        format!("U+{:04X} '{c}'", c as u32)
    } else {
        format!("U+{:04X}", c as u32)
    }
}

/// One escape sequence after a backslash (`strconv.UnquoteChar`); returns the char and the rest.
fn unquote_escape(s: &str, quote: char) -> Result<(char, &str), ()> {
    let mut it = s.chars();
    let c = it.next().ok_or(())?;
    let rest = it.as_str();
    let simple = match c {
        'a' => Some('\u{7}'),
        'b' => Some('\u{8}'),
        'f' => Some('\u{c}'),
        'n' => Some('\n'),
        'r' => Some('\r'),
        't' => Some('\t'),
        'v' => Some('\u{b}'),
        '\\' => Some('\\'),
        '\'' | '"' if c == quote => Some(c),
        _ => None,
    };
    if let Some(ch) = simple {
        return Ok((ch, rest));
    }
    let (len, radix) = match c {
        'x' => (2, 16),
        'u' => (4, 16),
        'U' => (8, 16),
        '0'..='7' => (3, 8),
        _ => return Err(()),
    };
    let digits = if radix == 8 { s } else { rest };
    let body = digits.get(..len).ok_or(())?;
    let v = u32::from_str_radix(body, radix).map_err(|_| ())?;
    let rest = &digits[len..];
    if radix == 8 && v > 255 {
        return Err(());
    }
    // `\x` and octal escapes are bytes in Go; bytes ≥ 0x80 cannot live in a Rust string alone.
    let ch = if (c == 'x' || radix == 8) && v >= 0x80 {
        '\u{FFFD}'
    } else {
        char::from_u32(v).ok_or(())?
    };
    Ok((ch, rest))
}

/// `strconv.Unquote` for `"…"` and `` `…` `` literals. Error text is Go's `invalid syntax`.
pub(crate) fn unquote(lit: &str) -> Result<String, String> {
    const BAD: &str = "invalid syntax";
    if lit.len() >= 2 && lit.starts_with('`') && lit.ends_with('`') {
        return Ok(lit[1..lit.len() - 1].replace('\r', ""));
    }
    if lit.len() < 2 || !lit.starts_with('"') || !lit.ends_with('"') {
        return Err(BAD.into());
    }
    let mut s = &lit[1..lit.len() - 1];
    if !s.bytes().any(|b| matches!(b, b'\\' | b'"' | b'\n')) {
        // Nothing to decode (the usual secret path): the text is the value.
        return Ok(s.to_owned());
    }
    let mut out = String::with_capacity(s.len());
    while let Some(c) = s.chars().next() {
        s = &s[c.len_utf8()..];
        match c {
            '\\' => {
                let (ch, rest) = unquote_escape(s, '"').map_err(|_| BAD.to_string())?;
                out.push(ch);
                s = rest;
            }
            '"' | '\n' => return Err(BAD.into()),
            c => out.push(c),
        }
    }
    Ok(out)
}

/// A character constant `'x'` → its code point.
pub(crate) fn unquote_char(lit: &str) -> Result<char, String> {
    let bad = || format!("malformed character constant: {lit}");
    let body = lit.strip_prefix('\'').ok_or_else(bad)?;
    let mut it = body.chars();
    let c = it.next().ok_or_else(bad)?;
    let (ch, rest) = if c == '\\' {
        unquote_escape(it.as_str(), '\'').map_err(|_| "invalid syntax".to_string())?
    } else if c == '\'' {
        return Err("invalid syntax".into());
    } else {
        (c, it.as_str())
    };
    if rest != "'" {
        return Err(bad());
    }
    Ok(ch)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unquote_like_go() {
        assert_eq!(unquote("\"a\\n\\u00e9\\\"\"").unwrap(), "a\né\"");
        assert_eq!(unquote("`a\\n`").unwrap(), "a\\n");
        assert!(unquote("\"\\q\"").is_err());
        assert!(unquote("\"\\'\"").is_err());
        // Without a backslash the text is the value; a bare quote or newline is still invalid.
        assert_eq!(
            unquote("\"secret/data/é 日本\"").unwrap(),
            "secret/data/é 日本"
        );
        assert_eq!(unquote("\"\"").unwrap(), "");
        assert!(unquote("\"a\"b\"").is_err());
        assert!(unquote("\"a\nb\"").is_err());
        assert_eq!(unquote_char("'a'").unwrap(), 'a');
        assert_eq!(unquote_char("'\\n'").unwrap(), '\n');
        assert!(unquote_char("'ab'").is_err());
    }
}
