//! Go `fmt`: `Sprint`, `Sprintln`, `Sprintf` over template values, including `%v` of maps,
//! slices and structs, and Go's bad-verb texts (`%!d(json.Number=42)`).

use crate::objects;
use crate::value::Value;
use vk_go::quote as go_quote;

/// Go's cap on width and precision (`%!(BADWIDTH)` beyond it); also bounds memory.
const MAX_WIDTH: usize = 1_000_000;

#[derive(Default, Clone, Copy)]
struct Flags {
    plus: bool,
    minus: bool,
    sharp: bool,
    space: bool,
    zero: bool,
    width: Option<usize>,
    prec: Option<usize>,
}

/// `fmt.Sprint`: spaces between operands when neither side is a string.
pub(crate) fn sprint(args: &[Value]) -> String {
    let mut out = String::new();
    let mut prev_string = false;
    for (i, a) in args.iter().enumerate() {
        let is_string = a.as_str().is_some();
        if i > 0 && !is_string && !prev_string {
            out.push(' ');
        }
        out.push_str(&sprint_one(a));
        prev_string = is_string;
    }
    out
}

/// `fmt.Sprintln`: spaces between all operands, newline at the end.
pub(crate) fn sprintln(args: &[Value]) -> String {
    let parts: Vec<String> = args.iter().map(sprint_one).collect();
    let mut out = parts.join(" ");
    out.push('\n');
    out
}

/// `%v` of one value as `fmt.Print` shows it.
pub(crate) fn sprint_one(v: &Value) -> String {
    let mut p = Printer {
        out: String::new(),
        f: Flags::default(),
    };
    p.print_value(v, 'v', 0);
    p.out
}

struct Printer {
    out: String,
    f: Flags,
}

fn pad_to(s: &str, f: &Flags, zero_ok: bool) -> String {
    let w = f.width.unwrap_or(0);
    let n = s.chars().count();
    if n >= w {
        return s.to_string();
    }
    let fill = w - n;
    if f.minus {
        format!("{s}{}", " ".repeat(fill))
    } else if f.zero && zero_ok {
        // Zeros go after a sign.
        let (sign, digits) = match s.as_bytes().first() {
            Some(b'-' | b'+' | b' ') => s.split_at(1),
            _ => ("", s),
        };
        format!("{sign}{}{digits}", "0".repeat(fill))
    } else {
        format!("{}{s}", " ".repeat(fill))
    }
}

impl Printer {
    fn pad(&mut self, s: &str) {
        let t = pad_to(s, &self.f, false);
        self.out.push_str(&t);
    }

    fn pad_num(&mut self, s: &str) {
        let t = pad_to(s, &self.f, true);
        self.out.push_str(&t);
    }

    fn bad_verb(&mut self, verb: char, v: &Value) {
        self.out.push_str("%!");
        self.out.push(verb);
        self.out.push('(');
        match v {
            Value::Nil | Value::Invalid => self.out.push_str("<nil>"),
            _ => {
                self.out.push_str(v.type_name());
                self.out.push('=');
                let saved = self.f;
                self.f = Flags::default();
                self.print_value(v, 'v', 0);
                self.f = saved;
            }
        }
        self.out.push(')');
    }

    fn print_value(&mut self, v: &Value, verb: char, depth: usize) {
        if verb == 'v' && self.f.sharp {
            let s = go_syntax(v, depth);
            self.pad(&s);
            return;
        }
        match v {
            // A nil argument takes only %v; a nil interface inside a container prints <nil>.
            Value::Invalid | Value::Nil if verb != 'v' && depth == 0 => self.bad_verb(verb, v),
            Value::Invalid | Value::Nil => self.pad("<nil>"),
            Value::Bool(b) => match verb {
                't' | 'v' => self.pad(if *b { "true" } else { "false" }),
                _ => self.bad_verb(verb, v),
            },
            Value::Int(i, _) => self.fmt_int(*i as i128, verb, v),
            Value::Uint(u) => self.fmt_int(*u as i128, verb, v),
            Value::Float(x) => self.fmt_float(*x, verb, v),
            Value::Str(s) | Value::Number(s) => self.fmt_string(s, verb, v),
            Value::List(_) | Value::StrList(_) => {
                let items = v.list_items().unwrap_or_default();
                self.out.push('[');
                for (i, item) in items.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.print_value(item, verb, depth + 1);
                }
                self.out.push(']');
            }
            Value::Map(_) | Value::StrMap(_) => {
                let entries = v.map_entries().unwrap_or_default();
                self.out.push_str("map[");
                for (i, (k, item)) in entries.iter().enumerate() {
                    if i > 0 {
                        self.out.push(' ');
                    }
                    self.fmt_string(k, verb, &Value::str(k));
                    self.out.push(':');
                    self.print_value(item, verb, depth + 1);
                }
                self.out.push(']');
            }
            Value::NilPtr(_) => match verb {
                'v' | 's' | 'q' | 'd' | 'x' | 'X' => self.pad("<nil>"),
                _ => self.bad_verb(verb, v),
            },
            Value::Chan(..) => self.pad("0xc000100000"),
            // A `fmt.Stringer`.
            Value::Semver(s) => self.fmt_string(&s.to_string(), verb, v),
            Value::Pki(_) => self.print_struct(v, verb, depth + 1),
            Value::Secret(_) | Value::Auth(_) | Value::WrapInfo(_) | Value::Scratch(_) => {
                if depth > 0 {
                    // Go prints the address of a nested pointer: not reproducible anyway.
                    self.pad("0xc000010000");
                    return;
                }
                self.out.push('&');
                self.print_struct(v, verb, depth + 1);
            }
        }
    }

    /// A struct's fields in declaration order (`{a b}` or `{A:a B:b}` with `%+v`).
    pub(crate) fn print_struct(&mut self, v: &Value, verb: char, depth: usize) {
        self.out.push('{');
        for (i, (name, field)) in objects::struct_fields(v).iter().enumerate() {
            if i > 0 {
                self.out.push(' ');
            }
            if self.f.plus {
                self.out.push_str(name);
                self.out.push(':');
            }
            self.print_value(field, verb, depth);
        }
        self.out.push('}');
    }

    fn fmt_int(&mut self, i: i128, verb: char, v: &Value) {
        let neg = i < 0;
        let a = i.unsigned_abs();
        let mut digits = match verb {
            'd' | 'v' => a.to_string(),
            'x' => format!("{a:x}"),
            'X' => format!("{a:X}"),
            'o' | 'O' => format!("{a:o}"),
            'b' => format!("{a:b}"),
            'c' => {
                let c = char::from_u32(i as u32).unwrap_or('\u{FFFD}');
                return self.pad(&c.to_string());
            }
            'q' => {
                let c = char::from_u32(i as u32).unwrap_or('\u{FFFD}');
                let q = go_quote(&c.to_string());
                let inner = &q[1..q.len() - 1];
                let inner = if inner == "\\\"" {
                    "\""
                } else if inner == "'" {
                    "\\'"
                } else {
                    inner
                };
                return self.pad(&format!("'{inner}'"));
            }
            'U' => return self.pad(&format!("U+{a:04X}")),
            _ => return self.bad_verb(verb, v),
        };
        if let Some(p) = self.f.prec {
            if digits.len() < p {
                digits = format!("{}{digits}", "0".repeat(p - digits.len()));
            } else if p == 0 && a == 0 {
                digits.clear();
            }
        }
        let prefix = match verb {
            'x' if self.f.sharp => "0x",
            'X' if self.f.sharp => "0X",
            'o' if self.f.sharp => "0",
            'O' => "0o",
            'b' if self.f.sharp => "0b",
            _ => "",
        };
        let sign = if neg {
            "-"
        } else if self.f.plus {
            "+"
        } else if self.f.space {
            " "
        } else {
            ""
        };
        let s = format!("{sign}{prefix}{digits}");
        if self.f.prec.is_some() {
            self.pad(&s);
        } else {
            self.pad_num(&s);
        }
    }

    fn fmt_float(&mut self, x: f64, verb: char, v: &Value) {
        let prec = self.f.prec;
        let mut s = match verb {
            'v' => match prec {
                None => vk_go::format_g_shortest(x),
                Some(p) => vk_go::format_g(x, p),
            },
            'g' => match prec {
                None => vk_go::format_g_shortest(x),
                Some(p) => vk_go::format_g(x, p),
            },
            'G' => match prec {
                None => vk_go::format_g_shortest(x).to_uppercase(),
                Some(p) => vk_go::format_g(x, p).to_uppercase(),
            },
            'e' => vk_go::format_e(x, Some(prec.unwrap_or(6))),
            'E' => vk_go::format_e(x, Some(prec.unwrap_or(6))).to_uppercase(),
            'f' | 'F' => vk_go::format_f(x, Some(prec.unwrap_or(6))),
            _ => return self.bad_verb(verb, v),
        };
        if self.f.plus && !s.starts_with('-') && !s.starts_with('+') {
            s.insert(0, '+');
        } else if self.f.space && !s.starts_with('-') && !s.starts_with('+') {
            s.insert(0, ' ');
        }
        if x.is_finite() {
            self.pad_num(&s);
        } else {
            self.pad(&s);
        }
    }

    fn fmt_string(&mut self, s: &str, verb: char, v: &Value) {
        let s = match self.f.prec {
            Some(p) if matches!(verb, 'v' | 's' | 'q') => s.chars().take(p).collect::<String>(),
            _ => s.to_string(),
        };
        match verb {
            'v' | 's' => self.pad(&s),
            'q' => {
                if self.f.sharp
                    && !s.contains('`')
                    && s.chars().all(|c| c == '\t' || vk_go::is_print(c))
                {
                    self.pad(&format!("`{s}`"));
                } else {
                    let quoted = if self.f.plus {
                        vk_go::quote_to_ascii(&s)
                    } else {
                        go_quote(&s)
                    };
                    self.pad(&quoted);
                }
            }
            'x' | 'X' => {
                let mut h = String::new();
                for (i, b) in s.bytes().enumerate() {
                    if i > 0 && self.f.space {
                        h.push(' ');
                    }
                    if self.f.sharp && (i == 0 || self.f.space) {
                        h.push_str(if verb == 'x' { "0x" } else { "0X" });
                    }
                    if verb == 'x' {
                        h.push_str(&format!("{b:02x}"));
                    } else {
                        h.push_str(&format!("{b:02X}"));
                    }
                }
                self.pad(&h);
            }
            _ => self.bad_verb(verb, v),
        }
    }
}

/// `%#v`: Go-syntax representation.
fn go_syntax(v: &Value, depth: usize) -> String {
    let join = |items: Vec<String>| items.join(", ");
    match v {
        Value::Invalid | Value::Nil if depth == 0 => "<nil>".into(),
        Value::Invalid | Value::Nil => "interface {}(nil)".into(),
        Value::Bool(b) => b.to_string(),
        Value::Int(i, _) => i.to_string(),
        Value::Uint(u) => format!("0x{u:x}"),
        Value::Float(f) => vk_go::format_g_shortest(*f),
        Value::Str(s) | Value::Number(s) => go_quote(s),
        Value::List(l) => format!(
            "[]interface {{}}{{{}}}",
            join(l.iter().map(|x| go_syntax(x, depth + 1)).collect())
        ),
        Value::StrList(l) => format!(
            "[]string{{{}}}",
            join(l.iter().map(|x| go_quote(x)).collect())
        ),
        Value::Map(m) => format!(
            "{}{{{}}}",
            v.type_name(),
            join(
                m.snapshot()
                    .iter()
                    .map(|(k, x)| format!("{}:{}", go_quote(k), go_syntax(x, depth + 1)))
                    .collect()
            )
        ),
        Value::StrMap(m) => format!(
            "map[string]string{{{}}}",
            join(
                m.iter()
                    .map(|(k, x)| format!("{}:{}", go_quote(k), go_quote(x)))
                    .collect()
            )
        ),
        Value::NilPtr(t) => format!("({t})(nil)"),
        Value::Chan(..) => "(<-chan int64)(0xc000100000)".into(),
        Value::Semver(_) if depth > 0 => "(*semver.Version)(0xc000010000)".into(),
        Value::Semver(s) => format!(
            "&semver.Version{{major:{:#x}, minor:{:#x}, patch:{:#x}, pre:{}, metadata:{}, original:{}}}",
            s.major,
            s.minor,
            s.patch,
            go_quote(&s.pre),
            go_quote(&s.metadata),
            go_quote(&s.original)
        ),
        Value::Secret(_)
        | Value::Auth(_)
        | Value::WrapInfo(_)
        | Value::Pki(_)
        | Value::Scratch(_) => {
            if depth > 0 && !matches!(v, Value::Pki(_)) {
                return format!("({})(0xc000010000)", v.type_name());
            }
            let fields: Vec<String> = objects::struct_fields(v)
                .iter()
                .map(|(n, x)| format!("{n}:{}", go_syntax(x, depth + 1)))
                .collect();
            let t = v.type_name();
            match t.strip_prefix('*') {
                Some(inner) => format!("&{inner}{{{}}}", fields.join(", ")),
                None => format!("{t}{{{}}}", fields.join(", ")),
            }
        }
    }
}

/// `fmt.Sprintf`.
pub(crate) fn sprintf(format: &str, args: &[Value]) -> String {
    let mut p = Printer {
        out: String::new(),
        f: Flags::default(),
    };
    let mut argi = 0usize;
    let mut reordered = false;
    let b = format.as_bytes();
    let mut i = 0;
    while i < b.len() {
        let Some(off) = format[i..].find('%') else {
            p.out.push_str(&format[i..]);
            break;
        };
        p.out.push_str(&format[i..i + off]);
        i += off + 1;
        p.f = Flags::default();
        // Flags.
        while i < b.len() {
            match b[i] {
                b'#' => p.f.sharp = true,
                b'0' => p.f.zero = !p.f.minus,
                b'+' => p.f.plus = true,
                b'-' => {
                    p.f.minus = true;
                    p.f.zero = false;
                }
                b' ' => p.f.space = true,
                _ => break,
            }
            i += 1;
        }
        // Argument index.
        let mut take_index = |i: &mut usize, argi: &mut usize| {
            if *i < b.len()
                && b[*i] == b'['
                && let Some(close) = format[*i..].find(']')
            {
                if let Ok(n) = format[*i + 1..*i + close].parse::<usize>()
                    && n >= 1
                {
                    *argi = n - 1;
                    reordered = true;
                }
                *i += close + 1;
            }
        };
        take_index(&mut i, &mut argi);
        // Width.
        if i < b.len() && b[i] == b'*' {
            i += 1;
            match args.get(argi) {
                Some(Value::Int(n, _)) => {
                    let n = *n;
                    if n < 0 {
                        p.f.minus = true;
                        p.f.zero = false;
                    }
                    let w = n.unsigned_abs() as usize;
                    if w > MAX_WIDTH {
                        p.out.push_str("%!(BADWIDTH)");
                    } else {
                        p.f.width = Some(w);
                    }
                }
                _ => p.out.push_str("%!(BADWIDTH)"),
            }
            argi += 1;
        } else {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            if i > start {
                let w: usize = format[start..i].parse().unwrap_or(usize::MAX);
                if w > MAX_WIDTH {
                    p.out.push_str("%!(BADWIDTH)");
                } else {
                    p.f.width = Some(w);
                }
            }
        }
        // Precision.
        if i < b.len() && b[i] == b'.' {
            i += 1;
            take_index(&mut i, &mut argi);
            if i < b.len() && b[i] == b'*' {
                i += 1;
                match args.get(argi) {
                    Some(Value::Int(n, _)) if *n >= 0 && (*n as usize) <= MAX_WIDTH => {
                        p.f.prec = Some(*n as usize)
                    }
                    _ => p.out.push_str("%!(BADPREC)"),
                }
                argi += 1;
            } else {
                let start = i;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
                let n: usize = format[start..i].parse().unwrap_or(0);
                if n > MAX_WIDTH {
                    p.out.push_str("%!(BADPREC)");
                } else {
                    p.f.prec = Some(n);
                }
            }
        }
        take_index(&mut i, &mut argi);
        let Some(verb) = format[i..].chars().next() else {
            p.out.push_str("%!(NOVERB)");
            break;
        };
        i += verb.len_utf8();
        if verb == '%' {
            p.out.push('%');
            continue;
        }
        let Some(arg) = args.get(argi) else {
            p.out.push_str(&format!("%!{verb}(MISSING)"));
            continue;
        };
        argi += 1;
        match verb {
            'T' => {
                let t = if matches!(arg, Value::Nil | Value::Invalid) {
                    "<nil>"
                } else {
                    arg.type_name()
                };
                p.pad(t);
            }
            'p' => p.bad_verb(verb, arg),
            _ => p.print_value(arg, verb, 0),
        }
    }
    if !reordered && argi < args.len() {
        p.out.push_str("%!(EXTRA ");
        for (k, a) in args[argi..].iter().enumerate() {
            if k > 0 {
                p.out.push_str(", ");
            }
            if matches!(a, Value::Nil | Value::Invalid) {
                p.out.push_str("<nil>");
            } else {
                p.out.push_str(a.type_name());
                p.out.push('=');
                p.out.push_str(&sprint_one(a));
            }
        }
        p.out.push(')');
    }
    p.out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::value::IntKind;

    fn s(x: &str) -> Value {
        Value::str(x)
    }

    #[test]
    fn printf_verbs() {
        let n = Value::Number("42".into());
        assert_eq!(
            sprintf(
                "%d|%s|%v|%q|%T",
                &[n.clone(), n.clone(), n.clone(), n.clone(), n]
            ),
            "%!d(json.Number=42)|42|42|\"42\"|json.Number"
        );
        assert_eq!(
            sprintf(
                "%05.2f %x %-4s|",
                &[Value::Float(4.56789), Value::int(255), s("ab")]
            ),
            "04.57 ff ab  |"
        );
        assert_eq!(sprintf("%d %d", &[Value::int(1)]), "1 %!d(MISSING)");
        assert_eq!(
            sprintf("%d", &[Value::int(1), s("x")]),
            "1%!(EXTRA string=x)"
        );
        assert_eq!(sprintf("%", &[]), "%!(NOVERB)");
        assert_eq!(sprintf("100%%", &[]), "100%");
        assert_eq!(
            sprintf(
                "%e %g %.3g",
                &[
                    Value::Float(1234.5678),
                    Value::Float(1e6),
                    Value::Float(4.56789)
                ]
            ),
            "1.234568e+03 1e+06 4.57"
        );
        assert_eq!(
            sprintf("%t %v", &[Value::Bool(true), Value::Nil]),
            "true <nil>"
        );
        assert_eq!(
            sprintf(
                "%+d %x %X %o %c %q %U",
                &[
                    Value::int(5),
                    Value::Int(-255, IntKind::Int64),
                    Value::int(255),
                    Value::int(8),
                    Value::int(65),
                    Value::int(97),
                    Value::int(65)
                ]
            ),
            "+5 -ff FF 10 A 'a' U+0041"
        );
        assert_eq!(
            sprintf(
                "%6.2f|%-6d|%06d",
                &[Value::Float(-1.5), Value::int(7), Value::int(-42)]
            ),
            " -1.50|7     |-00042"
        );
        assert_eq!(sprintf("%x", &[s("hi")]), "6869");
        assert_eq!(sprintf("%s", &[Value::int(5)]), "%!s(int=5)");
    }

    #[test]
    fn print_spacing() {
        assert_eq!(
            sprint(&[s("a"), Value::int(1), Value::int(2), s("b"), s("c")]),
            "a1 2bc"
        );
        assert_eq!(sprintln(&[s("x"), Value::int(3)]), "x 3\n");
    }

    #[test]
    fn composite_values() {
        let l = Value::list(vec![
            Value::int(1),
            s("two"),
            Value::Bool(true),
            Value::Nil,
            Value::list(vec![]),
        ]);
        assert_eq!(sprint_one(&l), "[1 two true <nil> []]");
        let mut m = std::collections::BTreeMap::new();
        m.insert("foo".to_string(), s("bar"));
        m.insert("a".to_string(), Value::Nil);
        assert_eq!(
            sprintf("%v|%q", &[Value::map(m.clone()), Value::map(m)]),
            "map[a:<nil> foo:bar]|map[\"a\":<nil> \"foo\":\"bar\"]"
        );
    }

    #[test]
    fn go_syntax_verb() {
        let l = Value::StrList(std::rc::Rc::new(vec!["a".into(), "b".into()]));
        let mut m = std::collections::BTreeMap::new();
        m.insert("foo".to_string(), s("bar"));
        assert_eq!(
            sprintf(
                "%#v %#v %#v %#v",
                &[
                    l,
                    Value::map(m),
                    Value::Number("7".into()),
                    Value::Float(1.5)
                ]
            ),
            "[]string{\"a\", \"b\"} map[string]interface {}{\"foo\":\"bar\"} \"7\" 1.5"
        );
        assert_eq!(
            sprintf("%v|%s|%d", &[Value::Nil, Value::Nil, Value::Nil]),
            "<nil>|%!s(<nil>)|%!d(<nil>)"
        );
    }
}
