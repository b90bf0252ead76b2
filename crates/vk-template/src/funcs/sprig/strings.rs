//! Sprig's string functions (`strings.go`): case, trimming, quoting, splitting, wrapping and
//! abbreviation.

use std::rc::Rc;

use super::{define, strs, strval, to_i64};
use crate::funcs::strings as cts;
use crate::funcs::{Impl, P, Registry, arg_str, ok_str};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
    s("hello", &[], None, |_, _| ok_str("Hello!".into()));
    s("upper", &[P::Str], None, |_, a| {
        ok_str(cts::go_upper(arg_str(&a[0])))
    });
    s("lower", &[P::Str], None, |_, a| {
        ok_str(cts::go_lower(arg_str(&a[0])))
    });
    s("title", &[P::Str], None, |_, a| {
        ok_str(cts::title(arg_str(&a[0])))
    });
    s("untitle", &[P::Str], None, |_, a| {
        let mut out = String::new();
        let mut prev_sep = true;
        for c in arg_str(&a[0]).chars() {
            if prev_sep {
                out.extend(c.to_lowercase())
            } else {
                out.push(c)
            }
            prev_sep = c.is_whitespace();
        }
        ok_str(out)
    });
    s("trim", &[P::Str], None, |_, a| {
        ok_str(arg_str(&a[0]).trim_matches(cts::go_space).to_string())
    });
    s("trimAll", &[P::Str, P::Str], None, |_, a| {
        let cut = arg_str(&a[0]).to_string();
        ok_str(arg_str(&a[1]).trim_matches(|c| cut.contains(c)).to_string())
    });
    s("trimall", &[P::Str, P::Str], None, |_, a| {
        let cut = arg_str(&a[0]).to_string();
        ok_str(arg_str(&a[1]).trim_matches(|c| cut.contains(c)).to_string())
    });
    s("trimPrefix", &[P::Str, P::Str], None, |_, a| {
        ok_str(
            arg_str(&a[1])
                .strip_prefix(arg_str(&a[0]))
                .unwrap_or(arg_str(&a[1]))
                .to_string(),
        )
    });
    s("trimSuffix", &[P::Str, P::Str], None, |_, a| {
        ok_str(
            arg_str(&a[1])
                .strip_suffix(arg_str(&a[0]))
                .unwrap_or(arg_str(&a[1]))
                .to_string(),
        )
    });
    s("nospace", &[P::Str], None, |_, a| {
        ok_str(
            arg_str(&a[0])
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect(),
        )
    });
    s("repeat", &[P::Int, P::Str], None, |_, a| {
        let n = to_i64(&a[0]).max(0) as usize;
        let t = arg_str(&a[1]);
        if n.saturating_mul(t.len()) > crate::exec::MAX_VALUE_LEN {
            return Err("repeat: result too large".into());
        }
        ok_str(t.repeat(n))
    });
    s("substr", &[P::Int, P::Int, P::Str], None, |_, a| {
        let (start, end, t) = (to_i64(&a[0]), to_i64(&a[1]), arg_str(&a[2]));
        let len = t.len() as i64;
        let (st, en) = if start < 0 {
            (0, end.clamp(0, len))
        } else if end < 0 || end > len {
            (start.min(len), len)
        } else {
            (start.min(end), end)
        };
        ok_str(String::from_utf8_lossy(&t.as_bytes()[st as usize..en as usize]).into_owned())
    });
    s("trunc", &[P::Int, P::Str], None, |_, a| {
        let (c, t) = (to_i64(&a[0]), arg_str(&a[1]));
        let len = t.len() as i64;
        let out = if c < 0 && len + c > 0 {
            &t.as_bytes()[(len + c) as usize..]
        } else if c >= 0 && len > c {
            &t.as_bytes()[..c as usize]
        } else {
            t.as_bytes()
        };
        ok_str(String::from_utf8_lossy(out).into_owned())
    });
    s("abbrev", &[P::Int, P::Str], None, |_, a| {
        let (w, t) = (to_i64(&a[0]), arg_str(&a[1]));
        if w < 4 || t.chars().count() as i64 <= w {
            return ok_str(t.to_string());
        }
        ok_str(format!(
            "{}...",
            t.chars().take((w - 3) as usize).collect::<String>()
        ))
    });
    s("initials", &[P::Str], None, |_, a| {
        ok_str(
            arg_str(&a[0])
                .split_whitespace()
                .filter_map(|w| w.chars().next())
                .collect(),
        )
    });
    s("swapcase", &[P::Str], None, |_, a| {
        ok_str(
            arg_str(&a[0])
                .chars()
                .flat_map(|c| {
                    if c.is_uppercase() {
                        c.to_lowercase().collect::<Vec<_>>()
                    } else {
                        c.to_uppercase().collect()
                    }
                })
                .collect(),
        )
    });
    s("snakecase", &[P::Str], None, |_, a| {
        ok_str(case_words(arg_str(&a[0]), '_'))
    });
    s("kebabcase", &[P::Str], None, |_, a| {
        ok_str(case_words(arg_str(&a[0]), '-'))
    });
    s("camelcase", &[P::Str], None, |_, a| {
        ok_str(
            arg_str(&a[0])
                .split(['_', ' ', '-'])
                .filter(|w| !w.is_empty())
                .map(cts::title)
                .collect(),
        )
    });
    s("contains", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(arg_str(&a[1]).contains(arg_str(&a[0]))))
    });
    s("hasPrefix", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(arg_str(&a[1]).starts_with(arg_str(&a[0]))))
    });
    s("hasSuffix", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(arg_str(&a[1]).ends_with(arg_str(&a[0]))))
    });
    s("quote", &[], Some(P::Any), |_, a| {
        ok_str(
            a.iter()
                .filter(|v| !matches!(v, Value::Nil | Value::Invalid))
                .map(|v| vk_go::quote(&strval(v)))
                .collect::<Vec<_>>()
                .join(" "),
        )
    });
    s("squote", &[], Some(P::Any), |_, a| {
        ok_str(
            a.iter()
                .filter(|v| !matches!(v, Value::Nil | Value::Invalid))
                .map(|v| format!("'{}'", strval(v)))
                .collect::<Vec<_>>()
                .join(" "),
        )
    });
    s("cat", &[], Some(P::Any), |_, a| {
        ok_str(
            a.iter()
                .filter(|v| !matches!(v, Value::Nil | Value::Invalid))
                .map(strval)
                .collect::<Vec<_>>()
                .join(" "),
        )
    });
    s("indent", &[P::Int, P::Str], None, |_, a| {
        let pad = " ".repeat(to_i64(&a[0]).clamp(0, 1 << 16) as usize);
        ok_str(format!(
            "{pad}{}",
            arg_str(&a[1]).replace('\n', &format!("\n{pad}"))
        ))
    });
    s("nindent", &[P::Int, P::Str], None, |_, a| {
        let pad = " ".repeat(to_i64(&a[0]).clamp(0, 1 << 16) as usize);
        ok_str(format!(
            "\n{pad}{}",
            arg_str(&a[1]).replace('\n', &format!("\n{pad}"))
        ))
    });
    s("replace", &[P::Str, P::Str, P::Str], None, |_, a| {
        ok_str(cts::replace_all(
            arg_str(&a[2]),
            arg_str(&a[0]),
            arg_str(&a[1]),
        ))
    });
    s("plural", &[P::Str, P::Str, P::Int], None, |_, a| {
        ok_str(
            if to_i64(&a[2]) == 1 {
                arg_str(&a[0])
            } else {
                arg_str(&a[1])
            }
            .to_string(),
        )
    });
    s("toString", &[P::Any], None, |_, a| ok_str(strval(&a[0])));
    s("toStrings", &[P::Any], None, |_, a| {
        let items = a[0].list_items().unwrap_or_else(|| {
            if matches!(a[0], Value::Nil) {
                vec![]
            } else {
                vec![a[0].clone()]
            }
        });
        Ok(Value::StrList(Rc::new(items.iter().map(strval).collect())))
    });
    s("split", &[P::Str, P::Str], None, |_, a| {
        let parts = cts::go_split(arg_str(&a[1]), arg_str(&a[0]));
        Ok(Value::StrMap(Rc::new(
            parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}"), p))
                .collect(),
        )))
    });
    s("splitList", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::StrList(Rc::new(cts::go_split(
            arg_str(&a[1]),
            arg_str(&a[0]),
        ))))
    });
    s("splitn", &[P::Str, P::Int, P::Str], None, |_, a| {
        let n = to_i64(&a[1]);
        let t = arg_str(&a[2]);
        let parts: Vec<String> = if n < 0 {
            cts::go_split(t, arg_str(&a[0]))
        } else {
            t.splitn(n as usize, arg_str(&a[0]))
                .map(str::to_string)
                .collect()
        };
        Ok(Value::StrMap(Rc::new(
            parts
                .into_iter()
                .enumerate()
                .map(|(i, p)| (format!("_{i}"), p))
                .collect(),
        )))
    });
    s("join", &[P::Str, P::Any], None, |_, a| {
        ok_str(strs(&a[1]).join(arg_str(&a[0])))
    });
    s("sortAlpha", &[P::Any], None, |_, a| {
        let mut v = strs(&a[0]);
        v.sort();
        Ok(Value::StrList(Rc::new(v)))
    });
    s("abbrevboth", &[P::Int, P::Int, P::Str], None, |_, a| {
        ok_str(abbreviate_full(
            arg_str(&a[2]),
            to_i64(&a[0]),
            to_i64(&a[1]),
        ))
    });
    s("wrap", &[P::Int, P::Str], None, |_, a| {
        ok_str(wrap_custom(arg_str(&a[1]), to_i64(&a[0]), "\n", false))
    });
    s("wrapWith", &[P::Int, P::Str, P::Str], None, |_, a| {
        ok_str(wrap_custom(
            arg_str(&a[2]),
            to_i64(&a[0]),
            arg_str(&a[1]),
            true,
        ))
    });
}

fn case_words(s: &str, sep: char) -> String {
    let mut out = String::new();
    let chars: Vec<char> = s.chars().collect();
    for (i, c) in chars.iter().enumerate() {
        if c.is_uppercase() {
            let prev_lower =
                i > 0 && (chars[i - 1].is_lowercase() || chars[i - 1].is_ascii_digit());
            let next_lower = chars.get(i + 1).is_some_and(|n| n.is_lowercase());
            if i > 0
                && (prev_lower || (next_lower && chars[i - 1].is_uppercase()))
                && !out.ends_with(sep)
            {
                out.push(sep);
            }
            out.extend(c.to_lowercase());
        } else if *c == ' ' || *c == '_' || *c == '-' {
            if !out.is_empty() && !out.ends_with(sep) {
                out.push(sep);
            }
        } else {
            out.push(*c);
        }
    }
    out
}

/// commons-lang style `WordUtils.wrap` (goutils.WrapCustom), on bytes like the Go original.
fn wrap_custom(s: &str, width: i64, newline: &str, long_words: bool) -> String {
    let b = s.as_bytes();
    let width = width.max(1) as usize;
    let mut out: Vec<u8> = Vec::new();
    let mut off = 0usize;
    while b.len() - off > width {
        if b[off] == b' ' {
            off += 1;
            continue;
        }
        let end = (width + off + 1).min(b.len());
        match b[off..end].iter().rposition(|c| *c == b' ') {
            Some(p) => {
                out.extend_from_slice(&b[off..off + p]);
                out.extend_from_slice(newline.as_bytes());
                off += p + 1;
            }
            None if long_words => {
                out.extend_from_slice(&b[off..off + width]);
                out.extend_from_slice(newline.as_bytes());
                off += width;
            }
            None => match b[off + width..].iter().position(|c| *c == b' ') {
                Some(p) => {
                    out.extend_from_slice(&b[off..off + width + p]);
                    out.extend_from_slice(newline.as_bytes());
                    off += width + p + 1;
                }
                None => {
                    out.extend_from_slice(&b[off..]);
                    off = b.len();
                }
            },
        }
    }
    out.extend_from_slice(&b[off..]);
    String::from_utf8_lossy(&out).into_owned()
}

/// goutils.AbbreviateFull.
fn abbreviate_full(s: &str, offset: i64, max: i64) -> String {
    let n = s.len() as i64;
    if s.is_empty() || max < 4 {
        return String::new();
    }
    if n <= max {
        return s.to_string();
    }
    let mut off = offset.min(n);
    if n - off < max - 3 {
        off = n - (max - 3);
    }
    let lossy = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
    if off <= 4 {
        return format!("{}...", lossy(&s.as_bytes()[..(max - 3) as usize]));
    }
    if max < 7 {
        return String::new();
    }
    if off + max - 3 < n {
        return format!(
            "...{}",
            abbreviate_full(&lossy(&s.as_bytes()[off as usize..]), 0, max - 3)
        );
    }
    format!("...{}", lossy(&s.as_bytes()[(n - (max - 3)) as usize..]))
}
