//! A small JSON reader (numbers kept as literal text, like Go's `UseNumber`) and an
//! `encoding/json`-compatible writer (sorted keys, HTML escaping, Go float text).

use std::collections::BTreeMap;

use crate::value::Value;

/// How JSON numbers become values.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(crate) enum Numbers {
    /// `json.Number` with the literal text (Vault API responses).
    Literal,
    /// `float64` (`parseJSON`).
    Float,
}

/// Nesting limit: hostile input must not overflow the stack.
const MAX_DEPTH: usize = 512;

pub(crate) fn parse(text: &str, numbers: Numbers) -> Result<Value, String> {
    let mut p = Reader {
        s: text.as_bytes(),
        i: 0,
        numbers,
        depth: 0,
    };
    p.ws();
    let v = p.value()?;
    p.ws();
    if p.i != p.s.len() {
        return Err(format!(
            "invalid character '{}' after top-level value",
            p.s[p.i] as char
        ));
    }
    Ok(v)
}

struct Reader<'a> {
    s: &'a [u8],
    i: usize,
    numbers: Numbers,
    depth: usize,
}

impl Reader<'_> {
    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n' | b'\r') {
            self.i += 1;
        }
    }

    fn peek(&self) -> Option<u8> {
        self.s.get(self.i).copied()
    }

    fn err_here(&self, what: &str) -> String {
        match self.peek() {
            None => "unexpected end of JSON input".to_string(),
            Some(c) => format!("invalid character '{}' {what}", c as char),
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("exceeded max depth".into());
        }
        let v = match self.peek() {
            Some(b'{') => self.object(),
            Some(b'[') => self.array(),
            Some(b'"') => Ok(Value::string(self.string()?)),
            Some(b't') => self.word("true", Value::Bool(true)),
            Some(b'f') => self.word("false", Value::Bool(false)),
            Some(b'n') => self.word("null", Value::Nil),
            Some(b'-' | b'0'..=b'9') => self.number(),
            _ => Err(self.err_here("looking for beginning of value")),
        };
        self.depth -= 1;
        v
    }

    fn word(&mut self, w: &str, v: Value) -> Result<Value, String> {
        if self.s[self.i..].starts_with(w.as_bytes()) {
            self.i += w.len();
            Ok(v)
        } else {
            Err(self.err_here("in literal"))
        }
    }

    fn number(&mut self) -> Result<Value, String> {
        let start = self.i;
        if self.peek() == Some(b'-') {
            self.i += 1;
        }
        let digits = |r: &mut Self| {
            let s = r.i;
            while matches!(r.peek(), Some(b'0'..=b'9')) {
                r.i += 1;
            }
            r.i - s
        };
        if digits(self) == 0 {
            return Err(self.err_here("in numeric literal"));
        }
        if self.peek() == Some(b'.') {
            self.i += 1;
            if digits(self) == 0 {
                return Err(self.err_here("after decimal point in numeric literal"));
            }
        }
        if matches!(self.peek(), Some(b'e' | b'E')) {
            self.i += 1;
            if matches!(self.peek(), Some(b'+' | b'-')) {
                self.i += 1;
            }
            if digits(self) == 0 {
                return Err(self.err_here("in exponent of numeric literal"));
            }
        }
        let text = std::str::from_utf8(&self.s[start..self.i]).unwrap_or("0");
        Ok(match self.numbers {
            Numbers::Literal => Value::Number(text.into()),
            Numbers::Float => Value::Float(text.parse().unwrap_or(0.0)),
        })
    }

    fn hex4(&mut self) -> Result<u32, String> {
        let h = self
            .s
            .get(self.i..self.i + 4)
            .ok_or("unexpected end of JSON input")?;
        let h = std::str::from_utf8(h).map_err(|_| "invalid escape".to_string())?;
        let v = u32::from_str_radix(h, 16)
            .map_err(|_| "invalid character in \\u hexadecimal character escape".to_string())?;
        self.i += 4;
        Ok(v)
    }

    fn string(&mut self) -> Result<String, String> {
        self.i += 1;
        let mut out: Vec<u8> = Vec::new();
        loop {
            let c = self.peek().ok_or("unexpected end of JSON input")?;
            self.i += 1;
            match c {
                b'"' => break,
                b'\\' => {
                    let e = self.peek().ok_or("unexpected end of JSON input")?;
                    self.i += 1;
                    let ch = match e {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let mut u = self.hex4()?;
                            if (0xD800..0xDC00).contains(&u) && self.s[self.i..].starts_with(b"\\u")
                            {
                                let save = self.i;
                                self.i += 2;
                                let lo = self.hex4()?;
                                if (0xDC00..0xE000).contains(&lo) {
                                    u = 0x10000 + ((u - 0xD800) << 10) + (lo - 0xDC00);
                                } else {
                                    self.i = save;
                                }
                            }
                            char::from_u32(u).unwrap_or('\u{FFFD}')
                        }
                        _ => return Err("invalid character in string escape code".into()),
                    };
                    let mut b = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut b).as_bytes());
                }
                c if c < 0x20 => return Err("invalid character in string literal".into()),
                c => out.push(c),
            }
        }
        Ok(String::from_utf8_lossy(&out).into_owned())
    }

    fn array(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut items = Vec::new();
        self.ws();
        if self.peek() == Some(b']') {
            self.i += 1;
            return Ok(Value::list(items));
        }
        loop {
            self.ws();
            items.push(self.value()?);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b']') => {
                    self.i += 1;
                    return Ok(Value::list(items));
                }
                _ => return Err(self.err_here("after array element")),
            }
        }
    }

    fn object(&mut self) -> Result<Value, String> {
        self.i += 1;
        let mut map = BTreeMap::new();
        self.ws();
        if self.peek() == Some(b'}') {
            self.i += 1;
            return Ok(Value::map(map));
        }
        loop {
            self.ws();
            if self.peek() != Some(b'"') {
                return Err(self.err_here("looking for beginning of object key string"));
            }
            let k = self.string()?;
            self.ws();
            if self.peek() != Some(b':') {
                return Err(self.err_here("after object key"));
            }
            self.i += 1;
            self.ws();
            let v = self.value()?;
            map.insert(k, v);
            self.ws();
            match self.peek() {
                Some(b',') => self.i += 1,
                Some(b'}') => {
                    self.i += 1;
                    return Ok(Value::map(map));
                }
                _ => return Err(self.err_here("after object key:value pair")),
            }
        }
    }
}

/// Writer options mirroring `json.Marshal` / `MarshalIndent` / `SetEscapeHTML(false)`.
#[derive(Clone, Copy)]
pub(crate) struct Style {
    pub(crate) escape_html: bool,
    pub(crate) indent: Option<&'static str>,
}

/// Encode like Go's `encoding/json`. Errors carry Go's `json: unsupported …` text.
pub(crate) fn encode(v: &Value, style: Style) -> Result<String, String> {
    let mut out = String::new();
    write_value(&mut out, v, style, 0)?;
    Ok(out)
}

/// Go's `encoding/json` string text (`vk_go::push_json_string`).
pub(crate) fn quote(out: &mut String, s: &str, escape_html: bool) {
    vk_go::push_json_string(out, s, escape_html);
}

fn newline(out: &mut String, style: Style, depth: usize) {
    if let Some(ind) = style.indent {
        out.push('\n');
        for _ in 0..depth {
            out.push_str(ind);
        }
    }
}

fn write_value(out: &mut String, v: &Value, style: Style, depth: usize) -> Result<(), String> {
    if depth > MAX_DEPTH {
        return Err("json: unsupported value: nesting too deep".into());
    }
    match v {
        Value::Invalid | Value::Nil | Value::NilPtr(_) => out.push_str("null"),
        Value::Bool(b) => out.push_str(if *b { "true" } else { "false" }),
        Value::Int(i, _) => out.push_str(&i.to_string()),
        Value::Uint(u) => out.push_str(&u.to_string()),
        Value::Float(f) => match vk_go::format_json_float(*f) {
            Some(s) => out.push_str(&s),
            None => {
                return Err(format!(
                    "json: unsupported value: {}",
                    vk_go::format_g_shortest(*f)
                ));
            }
        },
        Value::Number(n) => {
            if n.is_empty() {
                out.push('0');
            } else if is_json_number(n) {
                out.push_str(n);
            } else {
                return Err(format!("json: invalid number literal \"{n}\""));
            }
        }
        Value::Str(s) => quote(out, s, style.escape_html),
        Value::List(_) | Value::StrList(_) => {
            let items = v.list_items().unwrap_or_default();
            write_seq(out, &items, style, depth)?;
        }
        Value::Map(_) | Value::StrMap(_) => {
            let entries = v.map_entries().unwrap_or_default();
            write_map(out, &entries, style, depth)?;
        }
        Value::Secret(s) => {
            let entries = crate::objects::secret_json_fields(s);
            write_map_ordered(out, &entries, style, depth)?;
        }
        Value::Auth(_) | Value::WrapInfo(_) | Value::Pki(_) | Value::Scratch(_) => {
            let entries = crate::objects::struct_json_fields(v);
            write_map_ordered(out, &entries, style, depth)?;
        }
        Value::Chan(..) => return Err("json: unsupported type: <-chan int64".into()),
        // `Version.MarshalJSON`: the version string.
        Value::Semver(s) => quote(out, &s.to_string(), style.escape_html),
    }
    Ok(())
}

fn write_seq(out: &mut String, items: &[Value], style: Style, depth: usize) -> Result<(), String> {
    out.push('[');
    if !items.is_empty() {
        for (i, item) in items.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            newline(out, style, depth + 1);
            write_value(out, item, style, depth + 1)?;
        }
        newline(out, style, depth);
    }
    out.push(']');
    Ok(())
}

fn write_map(
    out: &mut String,
    entries: &[(String, Value)],
    style: Style,
    depth: usize,
) -> Result<(), String> {
    write_map_ordered(out, entries, style, depth)
}

fn write_map_ordered(
    out: &mut String,
    entries: &[(String, Value)],
    style: Style,
    depth: usize,
) -> Result<(), String> {
    out.push('{');
    if !entries.is_empty() {
        for (i, (k, item)) in entries.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            newline(out, style, depth + 1);
            quote(out, k, style.escape_html);
            out.push(':');
            if style.indent.is_some() {
                out.push(' ');
            }
            write_value(out, item, style, depth + 1)?;
        }
        newline(out, style, depth);
    }
    out.push('}');
    Ok(())
}

/// Go's `isValidNumber` (json.Number must be a valid JSON number to be encoded).
pub(crate) fn is_json_number(s: &str) -> bool {
    let mut r = Reader {
        s: s.as_bytes(),
        i: 0,
        numbers: Numbers::Literal,
        depth: 0,
    };
    matches!(r.peek(), Some(b'-' | b'0'..=b'9'))
        && r.number().is_ok()
        && r.i == s.len()
        && !has_leading_zero(s)
}

fn has_leading_zero(s: &str) -> bool {
    let t = s.strip_prefix('-').unwrap_or(s);
    t.len() > 1 && t.starts_with('0') && t.as_bytes()[1].is_ascii_digit()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_stay_literal() {
        let v = parse(r#"{"b":1e3,"a":[1.0,"x",null]}"#, Numbers::Literal).unwrap();
        let s = encode(
            &v,
            Style {
                escape_html: true,
                indent: None,
            },
        )
        .unwrap();
        assert_eq!(s, r#"{"a":[1.0,"x",null],"b":1e3}"#);
    }

    #[test]
    fn escapes_like_go() {
        let mut out = String::new();
        quote(&mut out, "a<b>&\u{1}\u{2028}\u{7f}é", true);
        assert_eq!(out, "\"a\\u003cb\\u003e\\u0026\\u0001\\u2028\u{7f}é\"");
    }

    #[test]
    fn pretty_empty_containers() {
        let v = parse(r#"{"a":[],"b":{}}"#, Numbers::Literal).unwrap();
        let s = encode(
            &v,
            Style {
                escape_html: true,
                indent: Some("  "),
            },
        )
        .unwrap();
        assert_eq!(s, "{\n  \"a\": [],\n  \"b\": {}\n}");
    }

    #[test]
    fn rejects_garbage_without_panic() {
        for t in [
            "",
            "{",
            "[1,",
            "\"\\u12",
            "-",
            "1.",
            "{\"a\" 1}",
            "[[[[",
            "nul",
        ] {
            assert!(parse(t, Numbers::Float).is_err(), "{t}");
        }
    }
}
