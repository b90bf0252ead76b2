//! `toYAML`: a gopkg.in/yaml.v2 (YAML 1.1) compatible emitter for template values.

use crate::value::Value;

/// yaml.v2 wraps plain and single-quoted scalars at spaces past this column.
const BEST_WIDTH: usize = 80;

pub(crate) fn to_yaml(v: &Value) -> Result<String, String> {
    let mut e = Emitter { out: String::new() };
    e.node(v, 0, Ctx::Top, 0)?;
    if !e.out.ends_with('\n') {
        e.out.push('\n');
    }
    Ok(e.out)
}

#[derive(Clone, Copy, PartialEq)]
enum Ctx {
    Top,
    MapValue,
    SeqItem,
}

struct Emitter {
    out: String,
}

fn column(out: &str) -> usize {
    out.rsplit('\n').next().map_or(0, |l| l.chars().count())
}

/// yaml.v2's natural key order: non-letters before letters, digit runs compared numerically.
pub(crate) fn key_less(a: &str, b: &str) -> std::cmp::Ordering {
    use std::cmp::Ordering;
    let ar: Vec<char> = a.chars().collect();
    let br: Vec<char> = b.chars().collect();
    let mut i = 0;
    while i < ar.len() && i < br.len() {
        if ar[i] == br[i] {
            i += 1;
            continue;
        }
        let al = ar[i].is_alphabetic();
        let bl = br[i].is_alphabetic();
        if al && bl {
            return ar[i].cmp(&br[i]);
        }
        if al || bl {
            return if bl {
                Ordering::Less
            } else {
                Ordering::Greater
            };
        }
        let (mut an, mut bn) = (0i64, 0i64);
        if ar[i] == '0' || br[i] == '0' {
            let mut j = i;
            while j > 0 && ar[j - 1].is_ascii_digit() {
                j -= 1;
                if ar[j] != '0' {
                    an = 1;
                    bn = 1;
                    break;
                }
            }
        }
        let mut ai = i;
        while ai < ar.len() && ar[ai].is_ascii_digit() {
            an = an
                .saturating_mul(10)
                .saturating_add(ar[ai] as i64 - '0' as i64);
            ai += 1;
        }
        let mut bi = i;
        while bi < br.len() && br[bi].is_ascii_digit() {
            bn = bn
                .saturating_mul(10)
                .saturating_add(br[bi] as i64 - '0' as i64);
            bi += 1;
        }
        if an != bn {
            return an.cmp(&bn);
        }
        if ai != bi {
            return ai.cmp(&bi);
        }
        return ar[i].cmp(&br[i]);
    }
    ar.len().cmp(&br.len())
}

fn float_text(f: f64) -> String {
    match vk_go::format_g_shortest(f).as_str() {
        "+Inf" => ".inf".into(),
        "-Inf" => "-.inf".into(),
        "NaN" => ".nan".into(),
        s => s.to_string(),
    }
}

/// Would yaml.v2 read this plain text back as something other than a string?
pub(crate) fn resolves_non_string(s: &str) -> bool {
    if matches!(
        s,
        "" | "~"
            | "null"
            | "Null"
            | "NULL"
            | "y"
            | "Y"
            | "yes"
            | "Yes"
            | "YES"
            | "n"
            | "N"
            | "no"
            | "No"
            | "NO"
            | "true"
            | "True"
            | "TRUE"
            | "false"
            | "False"
            | "FALSE"
            | "on"
            | "On"
            | "ON"
            | "off"
            | "Off"
            | "OFF"
            | ".inf"
            | ".Inf"
            | ".INF"
            | "+.inf"
            | "+.Inf"
            | "+.INF"
            | "-.inf"
            | "-.Inf"
            | "-.INF"
            | ".nan"
            | ".NaN"
            | ".NAN"
            | "<<"
    ) {
        return true;
    }
    let first = s.chars().next().unwrap_or(' ');
    if !(first.is_ascii_digit() || matches!(first, '+' | '-' | '.')) {
        return false;
    }
    crate::yaml_parse::plain_number(s).is_some() || is_base60(s) || is_timestamp(s)
}

fn is_base60(s: &str) -> bool {
    use std::sync::OnceLock;
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| regex::Regex::new(r"^[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?$").ok())
        .as_ref()
        .is_some_and(|r| r.is_match(s))
}

fn is_timestamp(s: &str) -> bool {
    use std::sync::OnceLock;
    static RE: OnceLock<Option<regex::Regex>> = OnceLock::new();
    RE.get_or_init(|| {
        regex::Regex::new(r"^[0-9]{4}-[0-9]{1,2}-[0-9]{1,2}(?:(?:[Tt]|[ ]+)[0-9]{1,2}:[0-9]{1,2}:[0-9]{1,2}(?:\.[0-9]*)?(?:Z|[-+][0-9]{1,2}(?::[0-9]{2})?)?)?$").ok()
    })
    .as_ref()
    .is_some_and(|r| r.is_match(s))
}

struct Analysis {
    plain: bool,
    single: bool,
    block: bool,
}

/// yaml_emitter_analyze_scalar, reduced to block context.
fn analyze(s: &str) -> Analysis {
    let mut a = Analysis {
        plain: true,
        single: true,
        block: true,
    };
    if s.is_empty() {
        a.plain = false;
        a.block = false;
        return a;
    }
    if s.starts_with("---") || s.starts_with("...") {
        a.plain = false;
    }
    let chars: Vec<char> = s.chars().collect();
    let n = chars.len();
    let mut special = false;
    let mut line_breaks = false;
    let (mut space_break, mut break_space) = (false, false);
    let (mut prev_space, mut prev_break) = (false, false);
    let (mut leading_space, mut leading_break, mut trailing_space, mut trailing_break) =
        (false, false, false, false);
    for i in 0..n {
        let c = chars[i];
        let next = chars.get(i + 1).copied();
        let next_blank = next.is_none_or(|x| x == ' ' || x == '\t' || x == '\n' || x == '\r');
        if i == 0 {
            if "#,[]{}&*!|>'\"%@`".contains(c) {
                a.plain = false;
            }
            if (c == '?' || c == ':') && next_blank {
                a.plain = false;
            }
            if c == '-' && next_blank {
                a.plain = false;
            }
        } else {
            if c == ':' && next_blank {
                a.plain = false;
            }
            if c == '#' && (chars[i - 1] == ' ' || chars[i - 1] == '\t') {
                a.plain = false;
            }
        }
        if !yaml_printable(c) {
            special = true;
        }
        let is_break = matches!(c, '\n' | '\r' | '\u{85}' | '\u{2028}' | '\u{2029}');
        if is_break {
            line_breaks = true;
        }
        if c == ' ' {
            if i == 0 {
                leading_space = true;
            }
            if i == n - 1 {
                trailing_space = true;
            }
            if prev_break {
                break_space = true;
            }
            prev_space = true;
            prev_break = false;
        } else if is_break {
            if i == 0 {
                leading_break = true;
            }
            if i == n - 1 {
                trailing_break = true;
            }
            if prev_space {
                space_break = true;
            }
            prev_space = false;
            prev_break = true;
        } else {
            prev_space = false;
            prev_break = false;
        }
    }
    if leading_space || leading_break || trailing_space || trailing_break {
        a.plain = false;
    }
    if trailing_space {
        a.block = false;
    }
    if break_space {
        a.plain = false;
        a.single = false;
    }
    if space_break || special {
        a.plain = false;
        a.single = false;
        a.block = false;
    }
    if line_breaks {
        a.plain = false;
    }
    a
}

/// libyaml's `is_printable`; yaml.v2 only recognises up to 3-byte UTF-8 sequences, so
/// characters beyond the BMP count as unprintable (observed: emoji are escaped).
fn yaml_printable(c: char) -> bool {
    let u = c as u32;
    u == 0x0A
        || (0x20..=0x7E).contains(&u)
        || u == 0x85
        || (0xA0..=0xD7FF).contains(&u)
        || ((0xE000..=0xFFFD).contains(&u) && u != 0xFEFF)
}

fn double_quoted(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\0' => out.push_str("\\0"),
            '\u{7}' => out.push_str("\\a"),
            '\u{8}' => out.push_str("\\b"),
            '\t' => out.push_str("\\t"),
            '\n' => out.push_str("\\n"),
            '\u{b}' => out.push_str("\\v"),
            '\u{c}' => out.push_str("\\f"),
            '\r' => out.push_str("\\r"),
            '\u{1b}' => out.push_str("\\e"),
            '\u{85}' => out.push_str("\\N"),
            '\u{a0}' => out.push_str("\\_"),
            '\u{2028}' => out.push_str("\\L"),
            '\u{2029}' => out.push_str("\\P"),
            c if yaml_printable(c) => out.push(c),
            c if (c as u32) <= 0xFF => out.push_str(&format!("\\x{:02X}", c as u32)),
            c if (c as u32) <= 0xFFFF => out.push_str(&format!("\\u{:04X}", c as u32)),
            c => out.push_str(&format!("\\U{:08X}", c as u32)),
        }
    }
    out.push('"');
    out
}

impl Emitter {
    fn indent_str(n: usize) -> String {
        " ".repeat(n)
    }

    /// Write text with yaml.v2's line folding at spaces beyond the best width.
    fn write_breakable(&mut self, s: &str, indent: usize) {
        let chars: Vec<char> = s.chars().collect();
        let mut col = column(&self.out);
        let mut spaces = false;
        for (i, c) in chars.iter().enumerate() {
            if *c == ' ' {
                let next_space = chars.get(i + 1) == Some(&' ');
                if !spaces && col > BEST_WIDTH && !next_space && i > 0 && i + 1 < chars.len() {
                    self.out.push('\n');
                    self.out.push_str(&Self::indent_str(indent));
                    col = indent;
                } else {
                    self.out.push(' ');
                    col += 1;
                }
                spaces = true;
            } else if matches!(c, '\u{85}' | '\u{2028}' | '\u{2029}') {
                // A YAML line break inside a quoted scalar: written raw, then re-indented.
                self.out.push(*c);
                self.out.push_str(&Self::indent_str(indent));
                col = indent;
                spaces = false;
            } else {
                self.out.push(*c);
                col += 1;
                spaces = false;
            }
        }
    }

    fn scalar_string(&mut self, s: &str, indent: usize, is_key: bool) {
        let quote = resolves_non_string(s);
        let a = analyze(s);
        if !quote && s.contains('\n') && !is_key && a.block {
            self.literal(s, indent);
            return;
        }
        if quote || s.contains('\n') {
            self.out.push_str(&double_quoted(s));
            return;
        }
        if a.plain {
            if is_key {
                self.out.push_str(s);
            } else {
                self.write_breakable(s, indent);
            }
        } else if a.single {
            let q = s.replace('\'', "''");
            self.out.push('\'');
            if is_key {
                self.out.push_str(&q);
            } else {
                self.write_breakable(&q, indent);
            }
            self.out.push('\'');
        } else {
            self.out.push_str(&double_quoted(s));
        }
    }

    fn literal(&mut self, s: &str, indent: usize) {
        self.out.push('|');
        if s.starts_with(' ') || s.starts_with('\n') {
            self.out.push('2');
        }
        let trailing = s.len() - s.trim_end_matches('\n').len();
        match trailing {
            0 => self.out.push('-'),
            1 => {}
            _ => self.out.push('+'),
        }
        let body = if trailing == 1 { &s[..s.len() - 1] } else { s };
        let body = if trailing > 1 {
            &body[..body.len() - 1]
        } else {
            body
        };
        for line in body.split('\n') {
            self.out.push('\n');
            if !line.is_empty() {
                self.out.push_str(&Self::indent_str(indent));
                self.out.push_str(line);
            }
        }
    }

    fn node(&mut self, v: &Value, indent: usize, ctx: Ctx, depth: usize) -> Result<(), String> {
        if depth > 256 {
            return Err("toYAML: nesting too deep".into());
        }
        match v {
            Value::Invalid | Value::Nil | Value::NilPtr(_) => self.out.push_str("null"),
            Value::Bool(b) => self.out.push_str(if *b { "true" } else { "false" }),
            Value::Int(i, _) => self.out.push_str(&i.to_string()),
            Value::Uint(u) => self.out.push_str(&u.to_string()),
            Value::Float(f) => self.out.push_str(&float_text(*f)),
            Value::Number(n) => {
                if let Ok(i) = n.parse::<i64>() {
                    self.out.push_str(&i.to_string());
                } else if let Ok(f) = n.parse::<f64>() {
                    self.out.push_str(&float_text(f));
                } else {
                    self.scalar_string(n, indent + 2, false);
                }
            }
            // `Version.MarshalText`: the version string.
            Value::Semver(s) => {
                let at = match ctx {
                    Ctx::Top => 2,
                    Ctx::MapValue => indent + 2,
                    Ctx::SeqItem => indent,
                };
                self.scalar_string(&s.to_string(), at, false);
            }
            Value::Str(s) => {
                let at = match ctx {
                    Ctx::Top => 2,
                    Ctx::MapValue => indent + 2,
                    Ctx::SeqItem => indent,
                };
                self.scalar_string(s, at, false);
            }
            Value::List(_) | Value::StrList(_) => {
                let items = v.list_items().unwrap_or_default();
                if items.is_empty() {
                    self.out.push_str("[]");
                    return Ok(());
                }
                // Sequences inside a mapping sit at the key's indentation (yaml.v2 style).
                let seq_indent = match ctx {
                    Ctx::Top => 0,
                    Ctx::MapValue => indent,
                    Ctx::SeqItem => indent,
                };
                for (i, item) in items.iter().enumerate() {
                    if i > 0 || ctx == Ctx::MapValue {
                        self.out.push('\n');
                        self.out.push_str(&Self::indent_str(seq_indent));
                    }
                    self.out.push_str("- ");
                    self.node(item, seq_indent + 2, Ctx::SeqItem, depth + 1)?;
                }
            }
            Value::Map(_)
            | Value::StrMap(_)
            | Value::Secret(_)
            | Value::Auth(_)
            | Value::WrapInfo(_)
            | Value::Pki(_) => {
                let mut entries = match v {
                    Value::Map(_) | Value::StrMap(_) => v.map_entries().unwrap_or_default(),
                    _ => crate::objects::struct_fields(v)
                        .into_iter()
                        .map(|(k, v)| (k.to_lowercase(), v))
                        .collect(),
                };
                if entries.is_empty() {
                    self.out.push_str("{}");
                    return Ok(());
                }
                entries.sort_by(|a, b| key_less(&a.0, &b.0));
                let map_indent = match ctx {
                    Ctx::Top => 0,
                    Ctx::MapValue => indent + 2,
                    Ctx::SeqItem => indent,
                };
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 || ctx == Ctx::MapValue {
                        self.out.push('\n');
                        self.out.push_str(&Self::indent_str(map_indent));
                    }
                    self.scalar_string(k, map_indent, true);
                    self.out.push(':');
                    let nested = matches!(item, Value::Map(m) if !m.is_empty())
                        || matches!(item, Value::StrMap(m) if !m.is_empty())
                        || matches!(item, Value::List(l) if !l.is_empty())
                        || matches!(item, Value::StrList(l) if !l.is_empty());
                    if !nested {
                        self.out.push(' ');
                    }
                    self.node(item, map_indent, Ctx::MapValue, depth + 1)?;
                }
            }
            Value::Scratch(_) | Value::Chan(..) => {
                return Err(format!("cannot marshal type: {}", v.type_name()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::json::{self, Numbers};

    fn y(src: &str) -> String {
        to_yaml(&json::parse(src, Numbers::Literal).unwrap()).unwrap()
    }

    #[test]
    fn nested_and_lists() {
        assert_eq!(
            y(r#"{"list":["a","b",3],"nested":{"z":1,"a":{"y":"deep"}},"e":[],"m":{}}"#),
            "e: []\nlist:\n- a\n- b\n- 3\nm: {}\nnested:\n  a:\n    \"y\": deep\n  z: 1\n"
        );
        assert_eq!(
            y(r#"[{"a":1,"b":2},[1,2]]"#),
            "- a: 1\n  b: 2\n- - 1\n  - 2\n"
        );
    }

    #[test]
    fn quoting() {
        assert_eq!(
            y(
                r#"{"on":"yes","n":"123","t":"true","e":"","c":"a: b","k":"~","m":"x\ny","sp":"  p  ","d":"2024-01-01"}"#
            ),
            "c: 'a: b'\nd: \"2024-01-01\"\ne: \"\"\nk: \"~\"\nm: |-\n  x\n  y\n\"n\": \"123\"\n\"on\": \"yes\"\nsp: '  p  '\nt: \"true\"\n"
        );
    }

    #[test]
    fn numbers() {
        assert_eq!(
            y(r#"{"a":1e-7,"b":0.000001,"c":-0,"d":12345678901234567000,"e":1.5}"#),
            "a: 1e-07\nb: 1e-06\nc: 0\nd: 1.2345678901234567e+19\ne: 1.5\n"
        );
    }

    #[test]
    fn natural_key_order() {
        let mut keys = vec!["a10", "a2", "B", "_x", "1"];
        keys.sort_by(|a, b| key_less(a, b));
        assert_eq!(keys, vec!["_x", "1", "B", "a2", "a10"]);
    }

    #[test]
    fn top_level_scalars_and_special_characters() {
        assert_eq!(to_yaml(&Value::str("hello")).unwrap(), "hello\n");
        assert_eq!(to_yaml(&Value::str("a\nb\n")).unwrap(), "|\n  a\n  b\n");
        assert_eq!(to_yaml(&Value::str("a\tb")).unwrap(), "\"a\\tb\"\n");
        assert_eq!(
            to_yaml(&Value::str("\u{1F600}")).unwrap(),
            "\"\\U0001F600\"\n"
        );
        assert_eq!(to_yaml(&Value::list(vec![])).unwrap(), "[]\n");
    }
}
