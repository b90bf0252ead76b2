//! The hermetic Sprig v3 set under the `sprig_` prefix (Vault ≥ consul-template 0.41).
//! Commonly used families are implemented; the rest parse and fail clearly at execution.
//! Non-hermetic Sprig functions (now, date*, rand*, uuidv4, env, expandenv, getHostByName)
//! are not registered, so using them is a parse error as in Vault.

use std::collections::BTreeMap;
use std::rc::Rc;

use base64::Engine as _;
use sha2::Digest as _;

use super::{CallResult, P, Registry, add, arg_str, ok_str, to_display};
use crate::exec::State;
use crate::funcs::strings as cts;
use crate::json::{self, Numbers, Style};
use crate::value::{IntKind, Value};

/// Sprig names registered for parsing but not implemented here.
const UNIMPLEMENTED: &[&str] = &[
    "ago",
    "toDate",
    "mustToDate",
    "unixEpoch",
    "must_date_modify",
    "mustDateModify",
    "shuffle",
    "bcrypt",
    "htpasswd",
    "genPrivateKey",
    "derivePassword",
    "buildCustomCert",
    "genCA",
    "genCAWithKey",
    "genSelfSignedCert",
    "genSelfSignedCertWithKey",
    "genSignedCert",
    "genSignedCertWithKey",
    "encryptAES",
    "decryptAES",
    "osBase",
    "osClean",
    "osDir",
    "osExt",
    "osIsAbs",
    "typeIsLike",
];

fn unimplemented(_: &mut State<'_>, _: Vec<Value>) -> CallResult {
    Err("this sprig function is not supported by vault-k8s agent".into())
}

/// Sprig's `strval`.
fn strval(v: &Value) -> String {
    match v {
        Value::Str(s) | Value::Number(s) => s.to_string(),
        other => to_display(other),
    }
}

/// spf13/cast `ToInt64` (what Sprig's integer math uses).
fn to_i64(v: &Value) -> i64 {
    match v {
        Value::Int(i, _) => *i,
        Value::Uint(u) => *u as i64,
        Value::Float(f) => *f as i64,
        Value::Bool(b) => i64::from(*b),
        Value::Str(s) | Value::Number(s) => {
            let t = s.trim();
            crate::parser::parse_number(t, false)
                .ok()
                .and_then(|n| n.int)
                .or_else(|| t.parse::<f64>().ok().map(|f| f as i64))
                .unwrap_or(0)
        }
        _ => 0,
    }
}

fn to_f64(v: &Value) -> f64 {
    match v {
        Value::Int(i, _) => *i as f64,
        Value::Uint(u) => *u as f64,
        Value::Float(f) => *f,
        Value::Bool(b) => f64::from(u8::from(*b)),
        Value::Str(s) | Value::Number(s) => s.trim().parse().unwrap_or(0.0),
        _ => 0.0,
    }
}

fn i64v(i: i64) -> Value {
    Value::Int(i, IntKind::Int64)
}

/// Sprig's `empty`.
fn empty(v: &Value) -> bool {
    !v.truth()
        && !matches!(
            v,
            Value::Secret(_)
                | Value::Pki(_)
                | Value::Scratch(_)
                | Value::Auth(_)
                | Value::WrapInfo(_)
        )
}

fn strs(v: &Value) -> Vec<String> {
    match v {
        Value::StrList(l) => l.as_ref().clone(),
        Value::List(l) => l
            .iter()
            .filter(|x| !matches!(x, Value::Nil | Value::Invalid))
            .map(strval)
            .collect(),
        Value::Nil | Value::Invalid => Vec::new(),
        other => vec![strval(other)],
    }
}

fn list_of(v: &Value, name: &str) -> Result<Vec<Value>, String> {
    v.list_items()
        .ok_or_else(|| format!("Cannot find {name} on type {}", v.type_name()))
}

fn map_of(v: &Value) -> BTreeMap<String, Value> {
    v.map_entries().unwrap_or_default().into_iter().collect()
}

fn deep_eq(a: &Value, b: &Value) -> bool {
    a.type_name() == b.type_name() && to_display(a) == to_display(b)
}

fn sprig_json(v: &Value, escape_html: bool, indent: Option<&'static str>) -> String {
    json::encode(
        v,
        Style {
            escape_html,
            indent,
        },
    )
    .unwrap_or_default()
}

fn kind_name(v: &Value) -> &'static str {
    match v {
        Value::Invalid | Value::Nil => "invalid",
        Value::Int(_, IntKind::Int) => "int",
        Value::Int(_, IntKind::Int64) => "int64",
        Value::Uint(_) => "uint64",
        other => other.kind().name(),
    }
}

fn regex(re: &str) -> Result<regex::Regex, String> {
    cts::compile(re)
}

fn path_clean(p: &str) -> String {
    if p.is_empty() {
        return ".".into();
    }
    let rooted = p.starts_with('/');
    let mut parts: Vec<&str> = Vec::new();
    for seg in p.split('/') {
        match seg {
            "" | "." => {}
            ".." => {
                if parts.last().is_some_and(|l| *l != "..") {
                    parts.pop();
                } else if !rooted {
                    parts.push("..");
                }
            }
            s => parts.push(s),
        }
    }
    let joined = parts.join("/");
    match (rooted, joined.is_empty()) {
        (true, _) => format!("/{joined}"),
        (false, true) => ".".into(),
        (false, false) => joined,
    }
}

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: super::Impl| {
        let full: &'static str = Box::leak(format!("sprig_{name}").into_boxed_str());
        add(r, full, params, variadic, f);
    };
    for name in UNIMPLEMENTED {
        s(name, &[], Some(P::Any), unimplemented);
    }
    let _ = &mut s;
    // Strings.
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
                .map(|v| crate::gofmt::go_quote(&strval(v)))
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
    // Conversions.
    s("atoi", &[P::Str], None, |_, a| {
        Ok(Value::int(arg_str(&a[0]).parse().unwrap_or(0)))
    });
    s("int", &[P::Any], None, |_, a| Ok(Value::int(to_i64(&a[0]))));
    s("int64", &[P::Any], None, |_, a| Ok(i64v(to_i64(&a[0]))));
    s("float64", &[P::Any], None, |_, a| {
        Ok(Value::Float(to_f64(&a[0])))
    });
    s("toDecimal", &[P::Any], None, |_, a| {
        Ok(i64v(i64::from_str_radix(&strval(&a[0]), 8).unwrap_or(0)))
    });
    // Integer math.
    s("add1", &[P::Any], None, |_, a| {
        Ok(i64v(to_i64(&a[0]).wrapping_add(1)))
    });
    s("add", &[], Some(P::Any), |_, a| {
        Ok(i64v(
            a.iter().fold(0i64, |acc, v| acc.wrapping_add(to_i64(v))),
        ))
    });
    s("sub", &[P::Any, P::Any], None, |_, a| {
        Ok(i64v(to_i64(&a[0]).wrapping_sub(to_i64(&a[1]))))
    });
    s("mul", &[P::Any], Some(P::Any), |_, a| {
        Ok(i64v(
            a.iter().fold(1i64, |acc, v| acc.wrapping_mul(to_i64(v))),
        ))
    });
    s("div", &[P::Any, P::Any], None, |_, a| {
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(i64v(to_i64(&a[0]).wrapping_div(d)))
    });
    s("mod", &[P::Any, P::Any], None, |_, a| {
        let d = to_i64(&a[1]);
        if d == 0 {
            return Err("runtime error: integer divide by zero".into());
        }
        Ok(i64v(to_i64(&a[0]).wrapping_rem(d)))
    });
    s("max", &[P::Any], Some(P::Any), |_, a| {
        Ok(i64v(a.iter().map(to_i64).max().unwrap_or(0)))
    });
    s("biggest", &[P::Any], Some(P::Any), |_, a| {
        Ok(i64v(a.iter().map(to_i64).max().unwrap_or(0)))
    });
    s("min", &[P::Any], Some(P::Any), |_, a| {
        Ok(i64v(a.iter().map(to_i64).min().unwrap_or(0)))
    });
    s("until", &[P::Int], None, |_, a| {
        let n = to_i64(&a[0]);
        if n.unsigned_abs() > 1_000_000 {
            return Err("until: count too large".into());
        }
        let v: Vec<Value> = if n >= 0 {
            (0..n).map(Value::int).collect()
        } else {
            (n + 1..=0).rev().map(Value::int).collect()
        };
        Ok(Value::list(v))
    });
    // Float math.
    s("add1f", &[P::Any], None, |_, a| {
        Ok(Value::Float(to_f64(&a[0]) + 1.0))
    });
    s("addf", &[], Some(P::Any), |_, a| {
        Ok(Value::Float(a.iter().map(to_f64).sum()))
    });
    s("subf", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Float(
            a.iter()
                .skip(1)
                .fold(to_f64(&a[0]), |acc, v| acc - to_f64(v)),
        ))
    });
    s("mulf", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Float(a.iter().map(to_f64).product()))
    });
    s("divf", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Float(
            a.iter()
                .skip(1)
                .fold(to_f64(&a[0]), |acc, v| acc / to_f64(v)),
        ))
    });
    s("maxf", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Float(
            a.iter().map(to_f64).fold(f64::NEG_INFINITY, f64::max),
        ))
    });
    s("minf", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::Float(
            a.iter().map(to_f64).fold(f64::INFINITY, f64::min),
        ))
    });
    s("floor", &[P::Any], None, |_, a| {
        Ok(Value::Float(to_f64(&a[0]).floor()))
    });
    s("ceil", &[P::Any], None, |_, a| {
        Ok(Value::Float(to_f64(&a[0]).ceil()))
    });
    s("round", &[P::Any, P::Int], Some(P::Float), |_, a| {
        let p = to_i64(&a[1]).clamp(0, 15) as i32;
        let m = 10f64.powi(p);
        Ok(Value::Float((to_f64(&a[0]) * m).round() / m))
    });
    // Defaults and flow.
    s("default", &[P::Any], Some(P::Any), |_, a| {
        Ok(if a.len() < 2 || empty(&a[1]) {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    s("empty", &[P::Any], None, |_, a| {
        Ok(Value::Bool(empty(&a[0])))
    });
    s("coalesce", &[], Some(P::Any), |_, a| {
        Ok(a.iter().find(|v| !empty(v)).cloned().unwrap_or(Value::Nil))
    });
    s("all", &[], Some(P::Any), |_, a| {
        Ok(Value::Bool(a.iter().all(|v| !empty(v))))
    });
    s("any", &[], Some(P::Any), |_, a| {
        Ok(Value::Bool(a.iter().any(|v| !empty(v))))
    });
    s("ternary", &[P::Any, P::Any, P::Bool], None, |_, a| {
        Ok(if a[2].truth() {
            a[0].clone()
        } else {
            a[1].clone()
        })
    });
    s("fail", &[P::Str], None, |_, a| {
        Err(arg_str(&a[0]).to_string().into())
    });
    s("typeOf", &[P::Any], None, |_, a| {
        ok_str(if matches!(a[0], Value::Nil) {
            "<nil>".into()
        } else {
            a[0].type_name().into()
        })
    });
    s("typeIs", &[P::Str, P::Any], None, |_, a| {
        Ok(Value::Bool(arg_str(&a[0]) == a[1].type_name()))
    });
    s("kindOf", &[P::Any], None, |_, a| {
        ok_str(kind_name(&a[0]).into())
    });
    s("kindIs", &[P::Str, P::Any], None, |_, a| {
        Ok(Value::Bool(arg_str(&a[0]) == kind_name(&a[1])))
    });
    s("deepEqual", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(deep_eq(&a[0], &a[1])))
    });
    // Encoding and hashes.
    s("b64enc", &[P::Str], None, |_, a| {
        ok_str(base64::engine::general_purpose::STANDARD.encode(arg_str(&a[0])))
    });
    s("b64dec", &[P::Str], None, |_, a| {
        ok_str(
            match base64::engine::general_purpose::STANDARD.decode(arg_str(&a[0])) {
                Ok(b) => String::from_utf8_lossy(&b).into_owned(),
                Err(e) => e.to_string(),
            },
        )
    });
    s("toJson", &[P::Any], None, |_, a| {
        ok_str(sprig_json(&a[0], true, None))
    });
    s("toPrettyJson", &[P::Any], None, |_, a| {
        ok_str(sprig_json(&a[0], true, Some("  ")))
    });
    s("toRawJson", &[P::Any], None, |_, a| {
        ok_str(sprig_json(&a[0], false, None))
    });
    s("mustToJson", &[P::Any], None, |_, a| {
        json::encode(
            &a[0],
            Style {
                escape_html: true,
                indent: None,
            },
        )
        .map(Value::string)
        .map_err(Into::into)
    });
    s("mustToPrettyJson", &[P::Any], None, |_, a| {
        json::encode(
            &a[0],
            Style {
                escape_html: true,
                indent: Some("  "),
            },
        )
        .map(Value::string)
        .map_err(Into::into)
    });
    s("mustToRawJson", &[P::Any], None, |_, a| {
        json::encode(
            &a[0],
            Style {
                escape_html: false,
                indent: None,
            },
        )
        .map(Value::string)
        .map_err(Into::into)
    });
    s("fromJson", &[P::Str], None, |_, a| {
        Ok(json::parse(arg_str(&a[0]), Numbers::Float).unwrap_or(Value::Nil))
    });
    s("mustFromJson", &[P::Str], None, |_, a| {
        json::parse(arg_str(&a[0]), Numbers::Float).map_err(Into::into)
    });
    s("sha1sum", &[P::Str], None, |_, a| {
        ok_str(hex::encode(sha1::Sha1::digest(arg_str(&a[0]).as_bytes())))
    });
    s("sha256sum", &[P::Str], None, |_, a| {
        ok_str(hex::encode(sha2::Sha256::digest(arg_str(&a[0]).as_bytes())))
    });
    s("sha512sum", &[P::Str], None, |_, a| {
        ok_str(hex::encode(sha2::Sha512::digest(arg_str(&a[0]).as_bytes())))
    });
    s("adler32sum", &[P::Str], None, |_, a| {
        let (mut x, mut y) = (1u32, 0u32);
        for b in arg_str(&a[0]).bytes() {
            x = (x + u32::from(b)) % 65521;
            y = (y + x) % 65521;
        }
        ok_str(((y << 16) | x).to_string())
    });
    // Regular expressions (Sprig argument order: regex, string, …).
    s("regexMatch", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(
            regex(arg_str(&a[0])).is_ok_and(|r| r.is_match(arg_str(&a[1]))),
        ))
    });
    s("mustRegexMatch", &[P::Str, P::Str], None, |_, a| {
        Ok(Value::Bool(regex(arg_str(&a[0]))?.is_match(arg_str(&a[1]))))
    });
    s("regexFind", &[P::Str, P::Str], None, |_, a| {
        ok_str(
            regex(arg_str(&a[0]))
                .ok()
                .and_then(|r| r.find(arg_str(&a[1])).map(|m| m.as_str().to_string()))
                .unwrap_or_default(),
        )
    });
    s("mustRegexFind", &[P::Str, P::Str], None, |_, a| {
        ok_str(
            regex(arg_str(&a[0]))?
                .find(arg_str(&a[1]))
                .map(|m| m.as_str().to_string())
                .unwrap_or_default(),
        )
    });
    s("regexFindAll", &[P::Str, P::Str, P::Int], None, |_, a| {
        find_all(&a, false)
    });
    s(
        "mustRegexFindAll",
        &[P::Str, P::Str, P::Int],
        None,
        |_, a| find_all(&a, true),
    );
    s(
        "regexReplaceAll",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            ok_str(
                regex(arg_str(&a[0]))
                    .map(|r| cts::regex_replace(&r, arg_str(&a[1]), arg_str(&a[2])))
                    .unwrap_or_default(),
            )
        },
    );
    s(
        "mustRegexReplaceAll",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            ok_str(cts::regex_replace(
                &regex(arg_str(&a[0]))?,
                arg_str(&a[1]),
                arg_str(&a[2]),
            ))
        },
    );
    s(
        "regexReplaceAllLiteral",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            ok_str(
                regex(arg_str(&a[0]))
                    .map(|r| {
                        r.replace_all(arg_str(&a[1]), regex::NoExpand(arg_str(&a[2])))
                            .into_owned()
                    })
                    .unwrap_or_default(),
            )
        },
    );
    s(
        "mustRegexReplaceAllLiteral",
        &[P::Str, P::Str, P::Str],
        None,
        |_, a| {
            ok_str(
                regex(arg_str(&a[0]))?
                    .replace_all(arg_str(&a[1]), regex::NoExpand(arg_str(&a[2])))
                    .into_owned(),
            )
        },
    );
    s("regexSplit", &[P::Str, P::Str, P::Int], None, |_, a| {
        split_re(&a, false)
    });
    s("mustRegexSplit", &[P::Str, P::Str, P::Int], None, |_, a| {
        split_re(&a, true)
    });
    s("regexQuoteMeta", &[P::Str], None, |_, a| {
        ok_str(regex::escape(arg_str(&a[0])))
    });
    // Paths.
    s("base", &[P::Str], None, |_, a| {
        let p = arg_str(&a[0]);
        if p.is_empty() {
            return ok_str(".".into());
        }
        let t = p.trim_end_matches('/');
        ok_str(if t.is_empty() {
            "/".into()
        } else {
            t.rsplit('/').next().unwrap_or(t).to_string()
        })
    });
    s("dir", &[P::Str], None, |_, a| {
        let p = arg_str(&a[0]);
        let d = match p.rfind('/') {
            Some(i) => &p[..=i],
            None => "",
        };
        ok_str(path_clean(d))
    });
    s("clean", &[P::Str], None, |_, a| {
        ok_str(path_clean(arg_str(&a[0])))
    });
    s("ext", &[P::Str], None, |_, a| {
        let p = arg_str(&a[0]);
        let last = p.rsplit('/').next().unwrap_or(p);
        ok_str(
            last.rfind('.')
                .map(|i| last[i..].to_string())
                .unwrap_or_default(),
        )
    });
    s("isAbs", &[P::Str], None, |_, a| {
        Ok(Value::Bool(arg_str(&a[0]).starts_with('/')))
    });
    // Lists.
    s("list", &[], Some(P::Any), |_, a| Ok(Value::list(a)));
    s("tuple", &[], Some(P::Any), |_, a| Ok(Value::list(a)));
    for (name, must) in [
        ("append", false),
        ("push", false),
        ("mustAppend", true),
        ("mustPush", true),
    ] {
        let f: super::Impl = if must {
            |_, a| push(&a, true)
        } else {
            |_, a| push(&a, false)
        };
        s(name, &[P::Any, P::Any], None, f);
    }
    s("prepend", &[P::Any, P::Any], None, |_, a| {
        let mut l = list_of(&a[0], "prepend")?;
        l.insert(0, a[1].clone());
        Ok(Value::list(l))
    });
    s("mustPrepend", &[P::Any, P::Any], None, |_, a| {
        let mut l = list_of(&a[0], "prepend")?;
        l.insert(0, a[1].clone());
        Ok(Value::list(l))
    });
    s("first", &[P::Any], None, |_, a| {
        Ok(a[0]
            .list_items()
            .and_then(|l| l.first().cloned())
            .unwrap_or(Value::Nil))
    });
    s("mustFirst", &[P::Any], None, |_, a| {
        Ok(list_of(&a[0], "first")?
            .first()
            .cloned()
            .unwrap_or(Value::Nil))
    });
    s("last", &[P::Any], None, |_, a| {
        Ok(a[0]
            .list_items()
            .and_then(|l| l.last().cloned())
            .unwrap_or(Value::Nil))
    });
    s("mustLast", &[P::Any], None, |_, a| {
        Ok(list_of(&a[0], "last")?
            .last()
            .cloned()
            .unwrap_or(Value::Nil))
    });
    s("rest", &[P::Any], None, |_, a| {
        Ok(a[0]
            .list_items()
            .map(|l| Value::list(l.into_iter().skip(1).collect()))
            .unwrap_or(Value::Nil))
    });
    s("mustRest", &[P::Any], None, |_, a| {
        Ok(Value::list(
            list_of(&a[0], "rest")?.into_iter().skip(1).collect(),
        ))
    });
    s("initial", &[P::Any], None, |_, a| {
        Ok(a[0]
            .list_items()
            .map(|mut l| {
                l.pop();
                Value::list(l)
            })
            .unwrap_or(Value::Nil))
    });
    s("mustInitial", &[P::Any], None, |_, a| {
        let mut l = list_of(&a[0], "initial")?;
        l.pop();
        Ok(Value::list(l))
    });
    s("reverse", &[P::Any], None, |_, a| {
        Ok(a[0]
            .list_items()
            .map(|l| Value::list(l.into_iter().rev().collect()))
            .unwrap_or(Value::Nil))
    });
    s("mustReverse", &[P::Any], None, |_, a| {
        Ok(Value::list(
            list_of(&a[0], "reverse")?.into_iter().rev().collect(),
        ))
    });
    s("uniq", &[P::Any], None, |_, a| {
        Ok(Value::list(uniq(a[0].list_items().unwrap_or_default())))
    });
    s("mustUniq", &[P::Any], None, |_, a| {
        Ok(Value::list(uniq(list_of(&a[0], "uniq")?)))
    });
    s("compact", &[P::Any], None, |_, a| {
        Ok(Value::list(
            a[0].list_items()
                .unwrap_or_default()
                .into_iter()
                .filter(|v| !empty(v))
                .collect(),
        ))
    });
    s("mustCompact", &[P::Any], None, |_, a| {
        Ok(Value::list(
            list_of(&a[0], "compact")?
                .into_iter()
                .filter(|v| !empty(v))
                .collect(),
        ))
    });
    s("without", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::list(
            a[0].list_items()
                .unwrap_or_default()
                .into_iter()
                .filter(|v| !a[1..].iter().any(|o| deep_eq(v, o)))
                .collect(),
        ))
    });
    s("mustWithout", &[P::Any], Some(P::Any), |_, a| {
        Ok(Value::list(
            list_of(&a[0], "without")?
                .into_iter()
                .filter(|v| !a[1..].iter().any(|o| deep_eq(v, o)))
                .collect(),
        ))
    });
    s("has", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(
            a[1].list_items()
                .unwrap_or_default()
                .iter()
                .any(|v| deep_eq(v, &a[0])),
        ))
    });
    s("mustHas", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(
            list_of(&a[1], "has")?.iter().any(|v| deep_eq(v, &a[0])),
        ))
    });
    s("concat", &[], Some(P::Any), |_, a| {
        let mut out = Vec::new();
        for l in &a {
            out.extend(list_of(l, "concat")?);
        }
        Ok(Value::list(out))
    });
    s("slice", &[P::Any], Some(P::Any), |_, a| slice(&a));
    s("mustSlice", &[P::Any], Some(P::Any), |_, a| slice(&a));
    // Dicts.
    s("dict", &[], Some(P::Any), |_, a| {
        let mut m = BTreeMap::new();
        for pair in a.chunks(2) {
            m.insert(
                strval(&pair[0]),
                pair.get(1).cloned().unwrap_or(Value::str("")),
            );
        }
        Ok(Value::map(m))
    });
    s("get", &[P::Map, P::Str], None, |_, a| {
        Ok(map_of(&a[0])
            .get(arg_str(&a[1]))
            .cloned()
            .unwrap_or(Value::str("")))
    });
    // Go maps are references: set/unset/merge* change the argument map in place.
    s("set", &[P::Map, P::Str, P::Any], None, |_, a| {
        let m = super::collections::target_map(&a[0]);
        super::collections::store(&m, arg_str(&a[1]).to_string(), a[2].clone())?;
        Ok(Value::Map(m))
    });
    s("unset", &[P::Map, P::Str], None, |_, a| {
        let m = super::collections::target_map(&a[0]);
        m.remove(arg_str(&a[1]));
        Ok(Value::Map(m))
    });
    s("hasKey", &[P::Map, P::Str], None, |_, a| {
        Ok(Value::Bool(map_of(&a[0]).contains_key(arg_str(&a[1]))))
    });
    s("pluck", &[P::Str], Some(P::Map), |_, a| {
        Ok(Value::list(
            a[1..]
                .iter()
                .filter_map(|m| map_of(m).get(arg_str(&a[0])).cloned())
                .collect(),
        ))
    });
    s("keys", &[], Some(P::Map), |_, a| {
        let mut k: Vec<String> = a.iter().flat_map(|m| map_of(m).into_keys()).collect();
        k.sort();
        Ok(Value::StrList(Rc::new(k)))
    });
    s("values", &[P::Map], None, |_, a| {
        Ok(Value::list(map_of(&a[0]).into_values().collect()))
    });
    s("pick", &[P::Map], Some(P::Str), |_, a| {
        let m = map_of(&a[0]);
        Ok(Value::map(
            a[1..]
                .iter()
                .filter_map(|k| {
                    m.get(arg_str(k))
                        .map(|v| (arg_str(k).to_string(), v.clone()))
                })
                .collect(),
        ))
    });
    s("omit", &[P::Map], Some(P::Str), |_, a| {
        let mut m = map_of(&a[0]);
        for k in &a[1..] {
            m.remove(arg_str(k));
        }
        Ok(Value::map(m))
    });
    s("merge", &[P::Map], Some(P::Map), |_, a| {
        merge_all(&a, false)
    });
    s("mustMerge", &[P::Map], Some(P::Map), |_, a| {
        merge_all(&a, false)
    });
    s("mergeOverwrite", &[P::Map], Some(P::Map), |_, a| {
        merge_all(&a, true)
    });
    s("mustMergeOverwrite", &[P::Map], Some(P::Map), |_, a| {
        merge_all(&a, true)
    });
    s("dig", &[P::Any], Some(P::Any), |_, a| {
        if a.len() < 3 {
            return Err("dig needs at least three arguments".into());
        }
        let dict = &a[a.len() - 1];
        let default = &a[a.len() - 2];
        let mut cur = dict.clone();
        for k in &a[..a.len() - 2] {
            match map_of(&cur).get(&strval(k)) {
                Some(v) => cur = v.clone(),
                None => return Ok(default.clone()),
            }
        }
        Ok(cur)
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

fn push(a: &[Value], must: bool) -> CallResult {
    let mut l = match a[0].list_items() {
        Some(l) => l,
        None if must => return Err(format!("Cannot push on type {}", a[0].type_name()).into()),
        None => return Err(format!("Cannot push on type {}", a[0].type_name()).into()),
    };
    l.push(a[1].clone());
    Ok(Value::list(l))
}

fn uniq(l: Vec<Value>) -> Vec<Value> {
    let mut out: Vec<Value> = Vec::new();
    for v in l {
        if !out.iter().any(|o| deep_eq(o, &v)) {
            out.push(v);
        }
    }
    out
}

fn slice(a: &[Value]) -> CallResult {
    let l = list_of(&a[0], "slice")?;
    let start = a.get(1).map_or(0, to_i64).clamp(0, l.len() as i64) as usize;
    let end = a
        .get(2)
        .map_or(l.len() as i64, to_i64)
        .clamp(0, l.len() as i64) as usize;
    if start > end {
        return Err(format!("runtime error: slice bounds out of range [{start}:{end}]").into());
    }
    Ok(Value::list(l[start..end].to_vec()))
}

/// mergo deep merge, as Sprig's merge/mergeOverwrite: into the first map, in place.
fn merge_all(a: &[Value], overwrite: bool) -> CallResult {
    let dst = super::collections::target_map(&a[0]);
    for src in &a[1..] {
        super::collections::merge_into(&dst, src, overwrite, 0)?;
    }
    Ok(Value::Map(dst))
}

fn find_all(a: &[Value], must: bool) -> CallResult {
    let re = match regex(arg_str(&a[0])) {
        Ok(r) => r,
        Err(e) if must => return Err(e.into()),
        Err(_) => return Ok(Value::StrList(Rc::new(Vec::new()))),
    };
    let n = to_i64(&a[2]);
    let it = re.find_iter(arg_str(&a[1])).map(|m| m.as_str().to_string());
    let v: Vec<String> = if n < 0 {
        it.collect()
    } else {
        it.take(n as usize).collect()
    };
    Ok(Value::StrList(Rc::new(v)))
}

fn split_re(a: &[Value], must: bool) -> CallResult {
    let re = match regex(arg_str(&a[0])) {
        Ok(r) => r,
        Err(e) if must => return Err(e.into()),
        Err(_) => return Ok(Value::StrList(Rc::new(Vec::new()))),
    };
    let n = to_i64(&a[2]);
    let s = arg_str(&a[1]);
    let v: Vec<String> = match n {
        0 => Vec::new(),
        n if n < 0 => re.split(s).map(str::to_string).collect(),
        n => re.splitn(s, n as usize).map(str::to_string).collect(),
    };
    Ok(Value::StrList(Rc::new(v)))
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

/// Sprig's untilStep, bounded.
fn until_step(start: i64, stop: i64, step: i64) -> Result<Vec<i64>, String> {
    let mut v = Vec::new();
    let mut push = |i: i64| {
        v.push(i);
        v.len() <= 1_000_000
    };
    if stop < start {
        if step >= 0 {
            return Ok(Vec::new());
        }
        let mut i = start;
        while i > stop {
            if !push(i) {
                return Err("untilStep: too many items".into());
            }
            i = i.saturating_add(step);
        }
    } else if step > 0 {
        let mut i = start;
        while i < stop {
            if !push(i) {
                return Err("untilStep: too many items".into());
            }
            i = i.saturating_add(step);
        }
    }
    Ok(v)
}

const B32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

fn b32enc(s: &[u8]) -> String {
    let mut out = String::new();
    for chunk in s.chunks(5) {
        let mut buf = [0u8; 5];
        buf[..chunk.len()].copy_from_slice(chunk);
        let bits = buf.iter().fold(0u64, |acc, b| (acc << 8) | u64::from(*b));
        let chars = (chunk.len() * 8).div_ceil(5);
        for i in 0..8 {
            if i < chars {
                out.push(B32[((bits >> (35 - 5 * i)) & 31) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn b32dec(s: &str) -> Result<Vec<u8>, String> {
    let t = s.trim_end_matches('=');
    let mut bits = 0u64;
    let mut n = 0;
    let mut out = Vec::new();
    for (i, c) in t.bytes().enumerate() {
        let v = B32
            .iter()
            .position(|x| *x == c)
            .ok_or_else(|| format!("illegal base32 data at input byte {i}"))?;
        bits = (bits << 5) | v as u64;
        n += 5;
        if n >= 8 {
            n -= 8;
            out.push((bits >> n) as u8);
        }
    }
    Ok(out)
}

/// Go's `time.Duration.String`.
pub(crate) fn go_duration(d: i128) -> String {
    if d == 0 {
        return "0s".into();
    }
    let neg = d < 0;
    let u = d.unsigned_abs();
    let mut out = String::new();
    if u < 1_000_000_000 {
        let (unit, div) = if u < 1_000 {
            ("ns", 1)
        } else if u < 1_000_000 {
            ("µs", 1_000)
        } else {
            ("ms", 1_000_000)
        };
        out.push_str(&frac(u, div));
        out.push_str(unit);
    } else {
        let secs = u / 1_000_000_000;
        let h = secs / 3600;
        let m = (secs / 60) % 60;
        if h > 0 {
            out.push_str(&format!("{h}h"));
        }
        if h > 0 || m > 0 {
            out.push_str(&format!("{m}m"));
        }
        out.push_str(&frac(u % 60_000_000_000, 1_000_000_000));
        out.push('s');
    }
    if neg { format!("-{out}") } else { out }
}

fn frac(v: u128, div: u128) -> String {
    let whole = v / div;
    let rest = v % div;
    if rest == 0 {
        return whole.to_string();
    }
    let width = div.to_string().len() - 1;
    let digits = format!("{rest:0width$}");
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

/// Go's `time.ParseDuration` (nanoseconds).
fn parse_duration(s: &str) -> Option<i128> {
    let (neg, mut rest) = match s.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, s.strip_prefix('+').unwrap_or(s)),
    };
    if rest == "0" {
        return Some(0);
    }
    if rest.is_empty() {
        return None;
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let n = rest
            .bytes()
            .take_while(|c| c.is_ascii_digit() || *c == b'.')
            .count();
        if n == 0 {
            return None;
        }
        let num: f64 = rest[..n].parse().ok()?;
        rest = &rest[n..];
        let u = rest
            .bytes()
            .take_while(|c| !c.is_ascii_digit() && *c != b'.')
            .count();
        let unit = match &rest[..u] {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            _ => return None,
        };
        rest = &rest[u..];
        total += num * unit;
    }
    Some(if neg { -(total as i128) } else { total as i128 })
}

pub(super) fn register_more(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: super::Impl| {
        let full: &'static str = Box::leak(format!("sprig_{name}").into_boxed_str());
        add(r, full, params, variadic, f);
    };
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
    s("untilStep", &[P::Int, P::Int, P::Int], None, |_, a| {
        Ok(Value::list(
            until_step(to_i64(&a[0]), to_i64(&a[1]), to_i64(&a[2]))?
                .into_iter()
                .map(Value::int)
                .collect(),
        ))
    });
    s("seq", &[], Some(P::Int), |_, a| {
        let p: Vec<i64> = a.iter().map(to_i64).collect();
        let items = match p.as_slice() {
            [end] => {
                let inc = if *end < 1 { -1 } else { 1 };
                until_step(1, end + inc, inc)?
            }
            [start, end] => {
                let inc = if end < start { -1 } else { 1 };
                until_step(*start, end + inc, inc)?
            }
            [start, step, end] => {
                let inc = if end < start { -1 } else { 1 };
                if end < start && *step > 0 {
                    Vec::new()
                } else {
                    until_step(*start, end + inc, *step)?
                }
            }
            _ => Vec::new(),
        };
        ok_str(
            items
                .iter()
                .map(i64::to_string)
                .collect::<Vec<_>>()
                .join(" "),
        )
    });
    s("b32enc", &[P::Str], None, |_, a| {
        ok_str(b32enc(arg_str(&a[0]).as_bytes()))
    });
    s("b32dec", &[P::Str], None, |_, a| {
        ok_str(match b32dec(arg_str(&a[0])) {
            Ok(b) => String::from_utf8_lossy(&b).into_owned(),
            Err(e) => e,
        })
    });
    s("chunk", &[P::Int, P::Any], None, |_, a| chunk(&a));
    s("mustChunk", &[P::Int, P::Any], None, |_, a| chunk(&a));
    s("deepCopy", &[P::Any], None, |_, a| Ok(a[0].deep_copy(0)));
    s(
        "mustDeepCopy",
        &[P::Any],
        None,
        |_, a| Ok(a[0].deep_copy(0)),
    );
    s("duration", &[P::Any], None, |_, a| {
        let n: i64 = match &a[0] {
            Value::Str(t) => t.parse().unwrap_or(0),
            Value::Int(i, IntKind::Int64) => *i,
            _ => 0,
        };
        ok_str(go_duration(i128::from(n) * 1_000_000_000))
    });
    s("durationRound", &[P::Any], None, |_, a| {
        let d: i128 = match &a[0] {
            Value::Str(t) => parse_duration(t).unwrap_or(0),
            Value::Int(i, IntKind::Int64) => i128::from(*i),
            _ => 0,
        };
        let u = d.unsigned_abs();
        let hour: u128 = 3_600_000_000_000;
        let units = [
            (hour * 24 * 365, "y"),
            (hour * 24 * 30, "mo"),
            (hour * 24, "d"),
            (hour, "h"),
            (60_000_000_000, "m"),
            (1_000_000_000, "s"),
        ];
        for (size, name) in units {
            if u > size {
                return ok_str(format!("{}{name}", u / size));
            }
        }
        ok_str("0s".into())
    });
}

fn chunk(a: &[Value]) -> CallResult {
    let size = to_i64(&a[0]);
    let l = list_of(&a[1], "chunk")?;
    if size <= 0 {
        return Ok(Value::list(Vec::new()));
    }
    Ok(Value::list(
        l.chunks(size as usize)
            .map(|c| Value::list(c.to_vec()))
            .collect(),
    ))
}
