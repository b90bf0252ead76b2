//! Go `text/template` built-ins: and or not len index slice print printf println call
//! html js urlquery eq ne lt le gt ge.

use super::{CallResult, P, Registry, add};
use crate::exec::State;
use crate::printf;
use crate::value::{IntKind, Kind, Value};

pub(super) fn register(r: &mut Registry) {
    // `and`/`or` short-circuit inside the executor; the entries give their signature.
    add(r, "and", &[P::Value], Some(P::Value), |_, _| {
        Ok(Value::Invalid)
    });
    add(r, "or", &[P::Value], Some(P::Value), |_, _| {
        Ok(Value::Invalid)
    });
    add(r, "not", &[P::Value], None, |_, a| {
        Ok(Value::Bool(!a[0].truth()))
    });
    add(r, "len", &[P::Value], None, len);
    add(r, "index", &[P::Value], Some(P::Value), index);
    add(r, "slice", &[P::Value], Some(P::Value), slice);
    add(r, "print", &[], Some(P::Any), |_, a| {
        Ok(Value::string(printf::sprint(&a)))
    });
    add(r, "println", &[], Some(P::Any), |_, a| {
        Ok(Value::string(printf::sprintln(&a)))
    });
    add(r, "printf", &[P::Str], Some(P::Any), |_, a| {
        Ok(Value::string(printf::sprintf(
            super::arg_str(&a[0]),
            &a[1..],
        )))
    });
    add(r, "call", &[P::Value], Some(P::Value), call);
    add(r, "html", &[], Some(P::Any), |_, a| {
        Ok(Value::string(html_escape(&eval_args(&a))))
    });
    add(r, "js", &[], Some(P::Any), |_, a| {
        Ok(Value::string(js_escape(&eval_args(&a))))
    });
    add(r, "urlquery", &[], Some(P::Any), |_, a| {
        Ok(Value::string(query_escape(&eval_args(&a))))
    });
    add(r, "eq", &[P::Value], Some(P::Value), eq);
    add(r, "ne", &[P::Value, P::Value], None, |s, a| {
        eq(s, a).map(|v| Value::Bool(!v.truth()))
    });
    add(r, "lt", &[P::Value, P::Value], None, |_, a| {
        lt(&a[0], &a[1]).map(Value::Bool)
    });
    add(r, "le", &[P::Value, P::Value], None, |_, a| {
        le(&a[0], &a[1]).map(Value::Bool)
    });
    add(r, "gt", &[P::Value, P::Value], None, |_, a| {
        le(&a[0], &a[1]).map(|b| Value::Bool(!b))
    });
    add(r, "ge", &[P::Value, P::Value], None, |_, a| {
        lt(&a[0], &a[1]).map(|b| Value::Bool(!b))
    });
}

/// Arguments of html/js/urlquery: one string as is, otherwise `fmt.Sprint`.
fn eval_args(a: &[Value]) -> String {
    if let [Value::Str(s)] = a {
        return s.to_string();
    }
    printf::sprint(a)
}

fn len(_: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let n = match &a[0] {
        Value::Invalid => return Err("reflect: call of reflect.Value.Type on zero Value".into()),
        Value::Nil | Value::NilPtr(_) => return Err("len of nil pointer".into()),
        Value::Str(s) | Value::Number(s) => s.len(),
        Value::List(l) => l.len(),
        Value::StrList(l) => l.len(),
        Value::Map(m) => m.len(),
        Value::StrMap(m) => m.len(),
        Value::Chan(..) => 0,
        other => return Err(format!("len of type {}", other.type_name()).into()),
    };
    Ok(Value::int(n as i64))
}

fn index_arg(i: &Value, cap: usize) -> Result<usize, String> {
    let x: i128 = match i {
        Value::Int(n, _) => *n as i128,
        Value::Uint(u) => *u as i128,
        Value::Invalid | Value::Nil => return Err("cannot index slice/array with nil".into()),
        other => {
            return Err(format!(
                "cannot index slice/array with type {}",
                other.type_name()
            ));
        }
    };
    if x < 0 || x > cap as i128 {
        return Err(format!("index out of range: {x}"));
    }
    Ok(x as usize)
}

fn index(_: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let mut item = a[0].clone();
    if matches!(item, Value::Invalid | Value::Nil) {
        return Err("index of untyped nil".into());
    }
    for idx in &a[1..] {
        item = match &item {
            Value::Invalid | Value::Nil | Value::NilPtr(_) => {
                return Err("index of nil pointer".into());
            }
            Value::List(l) => {
                let x = index_arg(idx, l.len())?;
                l.get(x)
                    .cloned()
                    .ok_or("reflect: slice index out of range")?
            }
            Value::StrList(l) => {
                let x = index_arg(idx, l.len())?;
                Value::str(l.get(x).ok_or("reflect: slice index out of range")?)
            }
            Value::Str(s) | Value::Number(s) => {
                let x = index_arg(idx, s.len())?;
                Value::Int(
                    *s.as_bytes()
                        .get(x)
                        .ok_or("reflect: string index out of range")? as i64,
                    IntKind::Int,
                )
            }
            Value::Map(m) => {
                let key = map_key(idx)?;
                m.get(&key).unwrap_or(Value::Nil)
            }
            Value::StrMap(m) => {
                let key = map_key(idx)?;
                Value::str(m.get(&key).map(String::as_str).unwrap_or(""))
            }
            other => return Err(format!("can't index item of type {}", other.type_name()).into()),
        };
    }
    Ok(item)
}

fn map_key(idx: &Value) -> Result<String, String> {
    match idx {
        Value::Str(s) => Ok(s.to_string()),
        Value::Invalid | Value::Nil => Err("value is nil; should be of type string".into()),
        other => Err(format!(
            "value has type {}; should be string",
            other.type_name()
        )),
    }
}

fn slice(_: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let item = &a[0];
    let idx = &a[1..];
    let len = match item {
        Value::Invalid | Value::Nil => return Err("slice of untyped nil".into()),
        Value::Str(s) | Value::Number(s) => s.len(),
        Value::List(l) => l.len(),
        Value::StrList(l) => l.len(),
        other => return Err(format!("can't slice item of type {}", other.type_name()).into()),
    };
    let is_str = item.as_str().is_some();
    if idx.len() > 3 || (is_str && idx.len() > 2) {
        return Err(format!("too many slice indexes: {}", idx.len()).into());
    }
    let mut ix = [0usize, len, len];
    for (i, v) in idx.iter().enumerate() {
        ix[i] = index_arg(v, len)?;
    }
    if idx.len() < 2 {
        ix[1] = len;
    }
    if ix[0] > ix[1] {
        return Err(format!("invalid slice index: {} > {}", ix[0], ix[1]).into());
    }
    if idx.len() == 3 && ix[1] > ix[2] {
        return Err(format!("invalid slice index: {} > {}", ix[1], ix[2]).into());
    }
    Ok(match item {
        Value::Str(s) | Value::Number(s) => {
            let b = &s.as_bytes()[ix[0]..ix[1]];
            let text = String::from_utf8_lossy(b).into_owned();
            if matches!(item, Value::Number(_)) {
                Value::Number(text.into())
            } else {
                Value::string(text)
            }
        }
        Value::List(l) => Value::list(l[ix[0]..ix[1]].to_vec()),
        Value::StrList(l) => Value::StrList(std::rc::Rc::new(l[ix[0]..ix[1]].to_vec())),
        _ => Value::Invalid,
    })
}

fn call(_: &mut State<'_>, a: Vec<Value>) -> CallResult {
    match &a[0] {
        Value::Invalid | Value::Nil => Err("call of nil".into()),
        other => {
            let shown = match other {
                Value::Str(s) => vk_go::quote(s),
                v => printf::sprint_one(v),
            };
            Err(format!("non-function {shown} of type {}", other.type_name()).into())
        }
    }
}

#[derive(PartialEq, Eq, Clone, Copy, Debug)]
enum Basic {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
}

fn basic(v: &Value) -> Basic {
    match v.kind() {
        Kind::Bool => Basic::Bool,
        Kind::Int => Basic::Int,
        Kind::Uint => Basic::Uint,
        Kind::Float => Basic::Float,
        Kind::String => Basic::String,
        _ => Basic::Invalid,
    }
}

fn ival(v: &Value) -> i64 {
    if let Value::Int(i, _) = v { *i } else { 0 }
}

fn uval(v: &Value) -> u64 {
    if let Value::Uint(u) = v { *u } else { 0 }
}

fn fval(v: &Value) -> f64 {
    if let Value::Float(f) = v { *f } else { 0.0 }
}

fn type_of(v: &Value) -> &'static str {
    if matches!(v, Value::Invalid | Value::Nil) {
        "<nil>"
    } else {
        v.type_name()
    }
}

fn is_nilish(v: &Value) -> bool {
    matches!(v, Value::Invalid | Value::Nil | Value::NilPtr(_))
}

fn eq_one(a: &Value, b: &Value) -> Result<bool, String> {
    let (k1, k2) = (basic(a), basic(b));
    if k1 != k2 {
        return match (k1, k2) {
            (Basic::Int, Basic::Uint) => Ok(ival(a) >= 0 && ival(a) as u64 == uval(b)),
            (Basic::Uint, Basic::Int) => Ok(ival(b) >= 0 && uval(a) == ival(b) as u64),
            _ if !matches!(a, Value::Invalid)
                && !matches!(b, Value::Invalid)
                && !is_nilish(a)
                && !is_nilish(b) =>
            {
                Err(format!(
                    "incompatible types for comparison: {} and {}",
                    type_of(a),
                    type_of(b)
                ))
            }
            _ => Ok(false),
        };
    }
    Ok(match k1 {
        Basic::Bool => a.truth() == b.truth(),
        Basic::Int => ival(a) == ival(b),
        Basic::Uint => uval(a) == uval(b),
        Basic::Float => fval(a) == fval(b),
        Basic::String => a.as_str() == b.as_str(),
        Basic::Invalid => {
            if is_nilish(a) || is_nilish(b) {
                is_nilish(a) == is_nilish(b)
            } else {
                return Err(format!(
                    "non-comparable type {}: {}",
                    printf::sprint_one(b),
                    type_of(b)
                ));
            }
        }
    })
}

fn eq(_: &mut State<'_>, a: Vec<Value>) -> CallResult {
    if a.len() < 2 {
        return Err("missing argument for comparison".into());
    }
    for b in &a[1..] {
        if eq_one(&a[0], b)? {
            return Ok(Value::Bool(true));
        }
    }
    Ok(Value::Bool(false))
}

fn lt(a: &Value, b: &Value) -> Result<bool, super::CallError> {
    let (k1, k2) = (basic(a), basic(b));
    if k1 == Basic::Invalid || k2 == Basic::Invalid {
        return Err("invalid type for comparison".into());
    }
    if k1 != k2 {
        return match (k1, k2) {
            (Basic::Int, Basic::Uint) => Ok(ival(a) < 0 || (ival(a) as u64) < uval(b)),
            (Basic::Uint, Basic::Int) => Ok(ival(b) >= 0 && uval(a) < ival(b) as u64),
            _ => Err(format!(
                "incompatible types for comparison: {} and {}",
                type_of(a),
                type_of(b)
            )
            .into()),
        };
    }
    Ok(match k1 {
        Basic::Bool | Basic::Invalid => return Err("invalid type for comparison".into()),
        Basic::Int => ival(a) < ival(b),
        Basic::Uint => uval(a) < uval(b),
        Basic::Float => fval(a) < fval(b),
        Basic::String => a.as_str().unwrap_or("") < b.as_str().unwrap_or(""),
    })
}

fn le(a: &Value, b: &Value) -> Result<bool, super::CallError> {
    if lt(a, b)? {
        return Ok(true);
    }
    Ok(eq_one(a, b)?)
}

/// `template.HTMLEscapeString`.
pub(crate) fn html_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '"' => out.push_str("&#34;"),
            '\'' => out.push_str("&#39;"),
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '\0' => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
    out
}

/// `template.JSEscapeString`.
pub(crate) fn js_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '\'' => out.push_str("\\'"),
            '"' => out.push_str("\\\""),
            '<' => out.push_str("\\u003C"),
            '>' => out.push_str("\\u003E"),
            '&' => out.push_str("\\u0026"),
            '=' => out.push_str("\\u003D"),
            c if (c as u32) < 0x20 || (!c.is_ascii() && !vk_go::is_print(c)) => {
                out.push_str(&format!("\\u{:04X}", c as u32));
            }
            c => out.push(c),
        }
    }
    out
}

/// `url.QueryEscape`.
pub(crate) fn query_escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}
