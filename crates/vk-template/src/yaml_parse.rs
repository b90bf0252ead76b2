//! `parseYAML`: a YAML 1.1 (yaml.v2 flavoured) reader for the block and flow forms templates
//! commonly decode: mappings, sequences, plain/quoted scalars, literal/folded blocks, comments.

use std::collections::BTreeMap;

use crate::value::{GoMap, IntKind, Value};

const MAX_DEPTH: usize = 128;

/// YAML 1.1 number resolution of a plain scalar (`0x10` → 16, `010` → 8, `1e3` → float).
pub(crate) fn plain_number(s: &str) -> Option<Value> {
    let t = s.replace('_', "");
    let (neg, body) = match t.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, t.strip_prefix('+').unwrap_or(&t)),
    };
    if body.is_empty() {
        return None;
    }
    let int = if let Some(h) = body.strip_prefix("0x") {
        i64::from_str_radix(h, 16).ok()
    } else if let Some(b) = body.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if body.len() > 1 && body.starts_with('0') && body.bytes().all(|c| c.is_ascii_digit()) {
        i64::from_str_radix(&body[1..], 8).ok()
    } else if body.bytes().all(|c| c.is_ascii_digit()) {
        body.parse::<i64>().ok()
    } else {
        None
    };
    if let Some(i) = int {
        return Some(Value::Int(
            if neg { i.wrapping_neg() } else { i },
            IntKind::Int,
        ));
    }
    if body.bytes().all(|c| c.is_ascii_digit()) {
        // Too big for int64: yaml.v2 tries uint64, then float.
        if !neg && let Ok(u) = body.parse::<u64>() {
            return Some(Value::Uint(u));
        }
        return t.parse::<f64>().ok().map(Value::Float);
    }
    match body {
        ".inf" | ".Inf" | ".INF" => {
            return Some(Value::Float(if neg {
                f64::NEG_INFINITY
            } else {
                f64::INFINITY
            }));
        }
        ".nan" | ".NaN" | ".NAN" if !neg && !t.starts_with('+') => {
            return Some(Value::Float(f64::NAN));
        }
        _ => {}
    }
    // [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)?
    let b = body.as_bytes();
    let mut i = 0;
    let int_digits = b.iter().take_while(|c| c.is_ascii_digit()).count();
    i += int_digits;
    let mut frac_digits = 0;
    if i < b.len() && b[i] == b'.' {
        i += 1;
        frac_digits = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        i += frac_digits;
    }
    if int_digits == 0 && frac_digits == 0 {
        return None;
    }
    if i < b.len() && (b[i] == b'e' || b[i] == b'E') {
        i += 1;
        if i < b.len() && (b[i] == b'+' || b[i] == b'-') {
            i += 1;
        }
        let e = b[i..].iter().take_while(|c| c.is_ascii_digit()).count();
        if e == 0 {
            return None;
        }
        i += e;
    }
    if i != b.len() {
        return None;
    }
    t.parse::<f64>().ok().map(Value::Float)
}

/// Resolve a plain scalar like yaml.v2 decoding into `interface{}`.
fn resolve_plain(s: &str) -> Value {
    match s {
        "" | "~" | "null" | "Null" | "NULL" => Value::Nil,
        "y" | "Y" | "yes" | "Yes" | "YES" | "true" | "True" | "TRUE" | "on" | "On" | "ON" => {
            Value::Bool(true)
        }
        "n" | "N" | "no" | "No" | "NO" | "false" | "False" | "FALSE" | "off" | "Off" | "OFF" => {
            Value::Bool(false)
        }
        _ => plain_number(s).unwrap_or_else(|| Value::str(s)),
    }
}

struct Line {
    indent: usize,
    text: String,
}

pub(crate) fn parse(src: &str) -> Result<Value, String> {
    let mut lines = Vec::new();
    for raw in src.lines() {
        let raw = raw.trim_end_matches('\r');
        if raw == "---" || raw.starts_with("--- ") || raw == "..." || raw.starts_with('%') {
            continue;
        }
        let indent = raw.len() - raw.trim_start_matches(' ').len();
        lines.push(Line {
            indent,
            text: raw[indent..].to_string(),
        });
    }
    // libyaml puts the stream end on a fresh line: after the last line break, or one line past
    // an unterminated last line.
    let end_line = src.matches('\n').count() + usize::from(!src.is_empty() && !src.ends_with('\n'));
    let mut p = Parser {
        lines,
        i: 0,
        depth: 0,
        end_line,
    };
    p.skip_blank();
    if p.i >= p.lines.len() {
        return Ok(Value::Nil);
    }
    let indent = p.lines[p.i].indent;
    let v = p.block(indent)?;
    p.skip_blank();
    if p.i < p.lines.len() {
        return Err(format!("yaml: line {}: did not find expected key", p.i + 1));
    }
    Ok(v)
}

/// Strip a trailing ` # comment` outside quotes.
fn strip_comment(s: &str) -> &str {
    let (mut sq, mut dq) = (false, false);
    let b = s.as_bytes();
    for i in 0..b.len() {
        match b[i] {
            b'\'' if !dq => sq = !sq,
            b'"' if !sq => dq = !dq,
            b'#' if !sq && !dq && (i == 0 || b[i - 1] == b' ' || b[i - 1] == b'\t') => {
                return s[..i].trim_end();
            }
            _ => {}
        }
    }
    s.trim_end()
}

/// Find the `key: ` separator of a mapping line, outside quotes and brackets.
fn key_split(s: &str) -> Option<(String, &str)> {
    let b = s.as_bytes();
    if b.first().is_some_and(|c| *c == b'"' || *c == b'\'') {
        let q = b[0];
        let mut i = 1;
        while i < b.len() {
            if b[i] == q {
                if q == b'\'' && b.get(i + 1) == Some(&b'\'') {
                    i += 2;
                    continue;
                }
                break;
            }
            if q == b'"' && b[i] == b'\\' {
                i += 1;
            }
            i += 1;
        }
        let rest = s.get(i + 1..)?.trim_start_matches(' ');
        let rest = rest.strip_prefix(':')?;
        if !(rest.is_empty() || rest.starts_with(' ')) {
            return None;
        }
        let key = unquote(&s[..=i.min(s.len() - 1)]).ok()?;
        return Some((key, rest.trim_start()));
    }
    if b.first().is_some_and(|c| *c == b'[' || *c == b'{') {
        return None;
    }
    let mut i = 0;
    while i < b.len() {
        if b[i] == b':' && (i + 1 == b.len() || b[i + 1] == b' ' || b[i + 1] == b'\t') {
            return Some((s[..i].trim_end().to_string(), s[i + 1..].trim_start()));
        }
        i += 1;
    }
    None
}

fn unquote(s: &str) -> Result<String, String> {
    if let Some(inner) = s.strip_prefix('\'').and_then(|r| r.strip_suffix('\'')) {
        return Ok(inner.replace("''", "'"));
    }
    if let Some(inner) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        let mut out = String::new();
        let mut it = inner.chars();
        while let Some(c) = it.next() {
            if c != '\\' {
                out.push(c);
                continue;
            }
            match it.next() {
                Some('n') => out.push('\n'),
                Some('t') => out.push('\t'),
                Some('r') => out.push('\r'),
                Some('0') => out.push('\0'),
                Some('"') => out.push('"'),
                Some('\\') => out.push('\\'),
                Some('/') => out.push('/'),
                Some(' ') => out.push(' '),
                Some('_') => out.push('\u{a0}'),
                Some(k @ ('x' | 'u' | 'U')) => {
                    let n = match k {
                        'x' => 2,
                        'u' => 4,
                        _ => 8,
                    };
                    let h: String = it.by_ref().take(n).collect();
                    let v = u32::from_str_radix(&h, 16)
                        .map_err(|_| "yaml: invalid escape".to_string())?;
                    out.push(char::from_u32(v).unwrap_or('\u{FFFD}'));
                }
                _ => {
                    return Err(
                        "yaml: found unknown escape character while parsing a quoted scalar".into(),
                    );
                }
            }
        }
        return Ok(out);
    }
    Err("yaml: bad quoted scalar".into())
}

struct Parser {
    lines: Vec<Line>,
    i: usize,
    depth: usize,
    /// Line of libyaml's stream-end mark (yaml.v2 prints a parser error's 0-based mark line).
    end_line: usize,
}

impl Parser {
    fn skip_blank(&mut self) {
        while self.i < self.lines.len() {
            let t = strip_comment(&self.lines[self.i].text);
            if !t.is_empty() {
                break;
            }
            self.i += 1;
        }
    }

    fn block(&mut self, indent: usize) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("yaml: exceeded max depth".into());
        }
        self.skip_blank();
        let r = if self.i >= self.lines.len() {
            Ok(Value::Nil)
        } else {
            let t = strip_comment(&self.lines[self.i].text).to_string();
            if t == "-" || t.starts_with("- ") {
                self.sequence(indent)
            } else if key_split(&t).is_some() {
                self.mapping(indent)
            } else {
                self.multiline_scalar(indent)
            }
        };
        self.depth -= 1;
        r
    }

    fn multiline_scalar(&mut self, indent: usize) -> Result<Value, String> {
        let mut parts = Vec::new();
        while self.i < self.lines.len() {
            let l = &self.lines[self.i];
            let t = strip_comment(&l.text);
            if t.is_empty() {
                self.i += 1;
                continue;
            }
            if l.indent < indent {
                break;
            }
            parts.push(t.to_string());
            self.i += 1;
        }
        let joined = parts.join(" ");
        self.inline(&joined)
    }

    fn sequence(&mut self, indent: usize) -> Result<Value, String> {
        let mut items = Vec::new();
        loop {
            self.skip_blank();
            if self.i >= self.lines.len() {
                break;
            }
            let l = &self.lines[self.i];
            let t = strip_comment(&l.text).to_string();
            if l.indent != indent || !(t == "-" || t.starts_with("- ")) {
                if l.indent > indent {
                    return Err(format!(
                        "yaml: line {}: did not find expected '-' indicator",
                        self.i + 1
                    ));
                }
                break;
            }
            if t == "-" {
                self.i += 1;
                self.skip_blank();
                if self.i < self.lines.len() && self.lines[self.i].indent > indent {
                    let ind = self.lines[self.i].indent;
                    items.push(self.block(ind)?);
                } else {
                    items.push(Value::Nil);
                }
                continue;
            }
            // Re-read the item's content as a block starting two columns in.
            let rest = &l.text[2..];
            let extra = rest.len() - rest.trim_start_matches(' ').len();
            let item_indent = indent + 2 + extra;
            let content = rest.trim_start_matches(' ').to_string();
            self.lines[self.i] = Line {
                indent: item_indent,
                text: content,
            };
            items.push(self.block(item_indent)?);
        }
        Ok(Value::list(items))
    }

    fn mapping(&mut self, indent: usize) -> Result<Value, String> {
        let mut map = BTreeMap::new();
        loop {
            self.skip_blank();
            if self.i >= self.lines.len() {
                break;
            }
            let l = &self.lines[self.i];
            if l.indent < indent {
                break;
            }
            if l.indent > indent {
                return Err(format!(
                    "yaml: line {}: mapping values are not allowed in this context",
                    self.i + 1
                ));
            }
            let t = strip_comment(&l.text).to_string();
            let Some((key, rest)) = key_split(&t) else {
                if t == "-" || t.starts_with("- ") {
                    break;
                }
                return Err(format!(
                    "yaml: line {}: could not find expected ':'",
                    self.i + 1
                ));
            };
            let rest = rest.to_string();
            self.i += 1;
            let value = if rest.is_empty() {
                self.skip_blank();
                if self.i < self.lines.len() {
                    let n = &self.lines[self.i];
                    let nt = strip_comment(&n.text);
                    if n.indent > indent
                        || (n.indent == indent && (nt == "-" || nt.starts_with("- ")))
                    {
                        let ind = n.indent;
                        self.block(ind)?
                    } else {
                        Value::Nil
                    }
                } else {
                    Value::Nil
                }
            } else if rest.starts_with('|') || rest.starts_with('>') {
                self.block_scalar(&rest, indent)?
            } else {
                self.inline(&rest)?
            };
            map.insert(key, value);
        }
        Ok(Value::Map(GoMap::new_iface_keys(map)))
    }

    /// `|`/`>` block scalars with chomping indicators.
    fn block_scalar(&mut self, header: &str, parent: usize) -> Result<Value, String> {
        let folded = header.starts_with('>');
        let chomp = if header.contains('-') {
            '-'
        } else if header.contains('+') {
            '+'
        } else {
            ' '
        };
        let mut body: Vec<String> = Vec::new();
        let mut block_indent = None;
        while self.i < self.lines.len() {
            let l = &self.lines[self.i];
            if l.text.is_empty() {
                body.push(String::new());
                self.i += 1;
                continue;
            }
            if l.indent <= parent {
                break;
            }
            let bi = *block_indent.get_or_insert(l.indent);
            if l.indent < bi {
                break;
            }
            body.push(format!("{}{}", " ".repeat(l.indent - bi), l.text));
            self.i += 1;
        }
        let trailing_empty = body.iter().rev().take_while(|l| l.is_empty()).count();
        let content = &body[..body.len() - trailing_empty];
        let mut text = if folded {
            let mut s = String::new();
            for (i, line) in content.iter().enumerate() {
                if i > 0 {
                    s.push(if line.is_empty() || content[i - 1].is_empty() {
                        '\n'
                    } else {
                        ' '
                    });
                }
                s.push_str(line);
            }
            s
        } else {
            content.join("\n")
        };
        match chomp {
            '-' => {}
            '+' => {
                text.push('\n');
                for _ in 0..trailing_empty {
                    text.push('\n');
                }
            }
            _ => {
                if !content.is_empty() {
                    text.push('\n');
                }
            }
        }
        Ok(Value::string(text))
    }

    fn inline(&mut self, s: &str) -> Result<Value, String> {
        let s = s.trim();
        if s.starts_with('[') || s.starts_with('{') {
            let mut f = Flow {
                s: s.as_bytes(),
                i: 0,
                depth: 0,
                end_line: self.end_line,
                line: self.i.saturating_sub(1),
            };
            let v = f.value()?;
            f.ws();
            if f.i != f.s.len() {
                return Err("yaml: did not find expected <document end>".into());
            }
            return Ok(v);
        }
        if s.starts_with('"') || s.starts_with('\'') {
            return unquote(s).map(Value::string);
        }
        if s.starts_with('&') || s.starts_with('*') || s.starts_with('!') {
            return Err(
                "yaml: anchors, aliases and tags are not supported by vault-k8s parseYAML".into(),
            );
        }
        Ok(resolve_plain(s))
    }
}

struct Flow<'a> {
    s: &'a [u8],
    i: usize,
    depth: usize,
    end_line: usize,
    /// 0-based line of the flow collection (yaml.v2 omits a line 0).
    line: usize,
}

impl Flow<'_> {
    /// yaml.v2's wording of a parser error at the current position.
    fn err(&self, msg: &str) -> String {
        let line = if self.i >= self.s.len() {
            self.end_line
        } else {
            self.line
        };
        if line == 0 {
            format!("yaml: {msg}")
        } else {
            format!("yaml: line {line}: {msg}")
        }
    }

    fn ws(&mut self) {
        while self.i < self.s.len() && matches!(self.s[self.i], b' ' | b'\t' | b'\n') {
            self.i += 1;
        }
    }

    fn value(&mut self) -> Result<Value, String> {
        self.depth += 1;
        if self.depth > MAX_DEPTH {
            return Err("yaml: exceeded max depth".into());
        }
        self.ws();
        let r = match self.s.get(self.i) {
            None => Err(self.err("did not find expected node content")),
            Some(b'[') => {
                self.i += 1;
                let mut items = Vec::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b']') {
                        self.i += 1;
                        break;
                    }
                    items.push(self.value()?);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b']') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.err("did not find expected ',' or ']'")),
                    }
                }
                Ok(Value::list(items))
            }
            Some(b'{') => {
                self.i += 1;
                let mut map = BTreeMap::new();
                loop {
                    self.ws();
                    if self.s.get(self.i) == Some(&b'}') {
                        self.i += 1;
                        break;
                    }
                    if self.i >= self.s.len() {
                        return Err(self.err("did not find expected node content"));
                    }
                    let k = self.scalar(true)?;
                    self.ws();
                    let v = if self.s.get(self.i) == Some(&b':') {
                        self.i += 1;
                        self.value()?
                    } else {
                        Value::Nil
                    };
                    map.insert(crate::printf::sprint_one(&k), v);
                    self.ws();
                    match self.s.get(self.i) {
                        Some(b',') => self.i += 1,
                        Some(b'}') => {
                            self.i += 1;
                            break;
                        }
                        _ => return Err(self.err("did not find expected ',' or '}'")),
                    }
                }
                Ok(Value::Map(GoMap::new_iface_keys(map)))
            }
            _ => self.scalar(false),
        };
        self.depth -= 1;
        r
    }

    fn scalar(&mut self, is_key: bool) -> Result<Value, String> {
        let start = self.i;
        if let Some(&q) = self.s.get(self.i).filter(|c| **c == b'"' || **c == b'\'') {
            self.i += 1;
            while self.i < self.s.len() {
                if self.s[self.i] == b'\\' && q == b'"' {
                    self.i += 2;
                    continue;
                }
                if self.s[self.i] == q {
                    if q == b'\'' && self.s.get(self.i + 1) == Some(&b'\'') {
                        self.i += 2;
                        continue;
                    }
                    break;
                }
                self.i += 1;
            }
            self.i = (self.i + 1).min(self.s.len());
            let text =
                std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "yaml: invalid utf-8")?;
            return unquote(text).map(Value::string);
        }
        while self.i < self.s.len() {
            let c = self.s[self.i];
            if c == b','
                || c == b']'
                || c == b'}'
                || (c == b':' && (is_key || self.s.get(self.i + 1).is_none_or(|n| *n == b' ')))
            {
                break;
            }
            self.i += 1;
        }
        let text =
            std::str::from_utf8(&self.s[start..self.i]).map_err(|_| "yaml: invalid utf-8")?;
        Ok(resolve_plain(text.trim()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::printf::sprint_one;

    fn p(s: &str) -> String {
        sprint_one(&parse(s).unwrap())
    }

    #[test]
    fn block_forms() {
        assert_eq!(p("a: 1\nb:\n  - x\n  - y\n"), "map[a:1 b:[x true]]");
        assert_eq!(
            p("a: yes\nb: off\nc: 0x10\nd: 010\ne: 1.5\nf: ~\ng: 'q'\nh: \"x\\ny\""),
            "map[a:true b:false c:16 d:8 e:1.5 f:<nil> g:q h:x\ny]"
        );
        assert_eq!(p("l:\n- a: 1\n  b: 2\n- c\n"), "map[l:[map[a:1 b:2] c]]");
        assert_eq!(
            p("t: |\n  line1\n  line2\nu: x # c\n"),
            "map[t:line1\nline2\n u:x]"
        );
        assert_eq!(p("f: [1, two, {k: v}]"), "map[f:[1 two map[k:v]]]");
    }

    #[test]
    fn flow_errors_use_yaml_v2_wording() {
        let e = |s: &str| parse(s).unwrap_err();
        assert_eq!(
            e("a: ["),
            "yaml: line 1: did not find expected node content"
        );
        assert_eq!(
            e("a: [1,"),
            "yaml: line 1: did not find expected node content"
        );
        assert_eq!(
            e("a: [1, 2"),
            "yaml: line 1: did not find expected ',' or ']'"
        );
        assert_eq!(
            e("a: {"),
            "yaml: line 1: did not find expected node content"
        );
        assert_eq!(
            e("x: 1\na: [\n"),
            "yaml: line 2: did not find expected node content"
        );
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for s in [
            "a: [1, 2",
            "- a\n b: c",
            "\"unterminated",
            "{",
            "a:\n  - b\n c: d",
            "- - - - -",
            "? x",
        ] {
            let _ = parse(s);
        }
    }
}
