//! Collection helpers: contains/in/containsAll…, explodeMap, mergeMap(WithOverride),
//! splitToMap, loop, and the `scratch` store with its methods.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{CallResult, Func, P, Registry, add, arg_str};
use crate::exec::State;
use crate::value::{Kind, Value};

pub(super) fn register(r: &mut Registry) {
    add(r, "contains", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(in_list(&a[1], &a[0])))
    });
    add(r, "in", &[P::Any, P::Any], None, |_, a| {
        Ok(Value::Bool(in_list(&a[0], &a[1])))
    });
    add(r, "containsAll", &[P::List, P::Any], None, |_, a| {
        contains_some(&a[0], &a[1], false, true)
    });
    add(r, "containsAny", &[P::List, P::Any], None, |_, a| {
        contains_some(&a[0], &a[1], true, false)
    });
    add(r, "containsNone", &[P::List, P::Any], None, |_, a| {
        contains_some(&a[0], &a[1], true, false).map(|v| Value::Bool(!v.truth()))
    });
    add(r, "containsNotAll", &[P::List, P::Any], None, |_, a| {
        contains_some(&a[0], &a[1], false, true).map(|v| Value::Bool(!v.truth()))
    });
    add(r, "explodeMap", &[P::Map], None, |_, a| explode(&a[0]));
    add(r, "mergeMap", &[P::Map, P::Map], None, |_, a| {
        Ok(Value::map(merge(&a[0], &a[1], false, 0)))
    });
    add(
        r,
        "mergeMapWithOverride",
        &[P::Map, P::Map],
        None,
        |_, a| Ok(Value::map(merge(&a[0], &a[1], true, 0))),
    );
    add(r, "splitToMap", &[P::Str, P::Str, P::Str], None, |_, a| {
        let (sep, kv, s) = (arg_str(&a[0]), arg_str(&a[1]), arg_str(&a[2]));
        let mut out = BTreeMap::new();
        if !s.is_empty() {
            for item in crate::funcs::strings::go_split(s, sep) {
                if let Some((k, v)) = item.split_once(kv).filter(|_| !kv.is_empty()) {
                    out.insert(k.to_string(), v.to_string());
                }
            }
        }
        Ok(Value::StrMap(Rc::new(out)))
    });
    add(r, "loop", &[], Some(P::Any), |_, a| {
        let to64 = |v: &Value| -> Result<i64, String> {
            match v {
                Value::Int(i, _) => Ok(*i),
                Value::Uint(u) => Ok(*u as i64),
                Value::Str(s) | Value::Number(s) => crate::funcs::encoding::parse_int(s),
                other => Err(format!("loop: bad argument type: {}", other.type_name())),
            }
        };
        let (x, y) = match a.len() {
            1 => (0, to64(&a[0])?),
            2 => (to64(&a[0])?, to64(&a[1])?),
            n => {
                return Err(format!(
                    "loop: wrong number of arguments, expected 1 or 2, but got {n}"
                )
                .into());
            }
        };
        Ok(Value::Chan(x, y))
    });
    add(r, "scratch", &[], None, |s: &mut State<'_>, _| {
        Ok(Value::Scratch(s.scratch.clone()))
    });
}

/// consul-template's `in`: element equality by kind (ints with ints, floats with floats,
/// strings only with the same Go type), or substring for strings of the same type.
fn in_list(list: &Value, v: &Value) -> bool {
    if let Some(items) = list.list_items() {
        return items.iter().any(|item| match (item.kind(), v.kind()) {
            (Kind::Int | Kind::Uint, Kind::Int | Kind::Uint) => as_i128(item) == as_i128(v),
            (Kind::Float, Kind::Float) => {
                matches!((item, v), (Value::Float(x), Value::Float(y)) if x == y)
            }
            (Kind::String, Kind::String) => {
                item.type_name() == v.type_name() && item.as_str() == v.as_str()
            }
            _ => false,
        });
    }
    match (list, v) {
        (Value::Str(l), Value::Str(x)) | (Value::Number(l), Value::Number(x)) => {
            l.contains(x.as_ref())
        }
        _ => false,
    }
}

fn as_i128(v: &Value) -> i128 {
    match v {
        Value::Int(i, _) => *i as i128,
        Value::Uint(u) => *u as i128,
        _ => 0,
    }
}

/// containsAll/Any: iterate the first list, test membership in the haystack.
fn contains_some(v: &Value, l: &Value, ret_if_found: bool, _ret_if_not_found: bool) -> CallResult {
    let Some(items) = v.list_items() else {
        return Err(format!(
            "wrong type for value; expected slice; got {}",
            v.type_name()
        )
        .into());
    };
    for item in &items {
        if in_list(l, item) {
            if ret_if_found {
                return Ok(Value::Bool(true));
            }
        } else if !ret_if_found {
            return Ok(Value::Bool(false));
        }
    }
    Ok(Value::Bool(!ret_if_found))
}

fn explode(m: &Value) -> CallResult {
    let mut out: BTreeMap<String, Value> = BTreeMap::new();
    for (k, v) in m.map_entries().unwrap_or_default() {
        explode_into(&mut out, &k, v, &k, 0).map_err(|e| format!("explodeMap: {e}"))?;
    }
    Ok(Value::map(out))
}

fn explode_into(
    m: &mut BTreeMap<String, Value>,
    k: &str,
    v: Value,
    path: &str,
    depth: usize,
) -> Result<(), String> {
    if depth > 256 {
        return Err("nesting too deep".into());
    }
    if let Some((top, rest)) = k.split_once('/') {
        let slot = m
            .entry(top.to_string())
            .or_insert_with(|| Value::map(BTreeMap::new()));
        let Value::Map(nested) = slot else {
            return Err(format!(
                "not a map: {}: {} already has value {}",
                crate::gofmt::go_quote(path),
                crate::gofmt::go_quote(top),
                crate::printf::sprintf("%q", std::slice::from_ref(slot))
            ));
        };
        return explode_into(Rc::make_mut(nested), rest, v, k, depth + 1);
    }
    if !k.is_empty() {
        m.insert(k.to_string(), v);
    }
    Ok(())
}

/// mergo-style deep merge of `src` into `dst`.
pub(super) fn merge(
    dst: &Value,
    src: &Value,
    overwrite: bool,
    depth: usize,
) -> BTreeMap<String, Value> {
    let mut out: BTreeMap<String, Value> =
        dst.map_entries().unwrap_or_default().into_iter().collect();
    for (k, v) in src.map_entries().unwrap_or_default() {
        match out.get(&k) {
            Some(existing @ Value::Map(_)) if matches!(v, Value::Map(_)) && depth < 64 => {
                let merged = merge(existing, &v, overwrite, depth + 1);
                out.insert(k, Value::map(merged));
            }
            Some(existing) if !overwrite && existing.truth() => {}
            Some(_) if !overwrite => {
                out.insert(k, v);
            }
            _ => {
                if overwrite || !out.contains_key(&k) {
                    out.insert(k, v);
                }
            }
        }
    }
    out
}

static SCRATCH_KEY: Func = Func {
    params: &[P::Str],
    variadic: None,
    call: |_, a| {
        with_scratch(&a, |s, a| {
            Ok(Value::Bool(s.values.contains_key(arg_str(&a[1]))))
        })
    },
};
static SCRATCH_GET: Func = Func {
    params: &[P::Str],
    variadic: None,
    call: |_, a| {
        with_scratch(&a, |s, a| {
            Ok(s.values.get(arg_str(&a[1])).cloned().unwrap_or(Value::Nil))
        })
    },
};
static SCRATCH_SET: Func = Func {
    params: &[P::Str, P::Any],
    variadic: None,
    call: |_, a| {
        with_scratch(&a, |s, a| {
            s.values.insert(arg_str(&a[1]).to_string(), a[2].clone());
            Ok(Value::str(""))
        })
    },
};
static SCRATCH_SETX: Func = Func {
    params: &[P::Str, P::Any],
    variadic: None,
    call: |_, a| {
        with_scratch(&a, |s, a| {
            s.values
                .entry(arg_str(&a[1]).to_string())
                .or_insert_with(|| a[2].clone());
            Ok(Value::str(""))
        })
    },
};
static SCRATCH_MAPSET: Func = Func {
    params: &[P::Str, P::Str, P::Any],
    variadic: None,
    call: |_, a| map_set(&a, true),
};
static SCRATCH_MAPSETX: Func = Func {
    params: &[P::Str, P::Str, P::Any],
    variadic: None,
    call: |_, a| map_set(&a, false),
};
static SCRATCH_MAPVALUES: Func = Func {
    params: &[P::Str],
    variadic: None,
    call: |_, a| {
        with_scratch(&a, |s, a| {
            let k = arg_str(&a[1]);
            match s.values.get(k) {
                None => Ok(Value::list(Vec::new())),
                Some(Value::Map(m)) => Ok(Value::list(m.values().cloned().collect())),
                Some(_) => Err(format!("{} is not a map", crate::gofmt::go_quote(k)).into()),
            }
        })
    },
};

pub(super) fn scratch_method(name: &str) -> Option<&'static Func> {
    Some(match name {
        "Key" => &SCRATCH_KEY,
        "Get" => &SCRATCH_GET,
        "Set" => &SCRATCH_SET,
        "SetX" => &SCRATCH_SETX,
        "MapSet" => &SCRATCH_MAPSET,
        "MapSetX" => &SCRATCH_MAPSETX,
        "MapValues" => &SCRATCH_MAPVALUES,
        _ => return None,
    })
}

fn with_scratch(
    a: &[Value],
    f: impl FnOnce(&mut crate::value::Scratch, &[Value]) -> CallResult,
) -> CallResult {
    match a.first() {
        Some(Value::Scratch(s)) => {
            let mut b = s.borrow_mut();
            f(&mut b, a)
        }
        _ => Err("scratch: bad receiver".into()),
    }
}

fn map_set(a: &[Value], overwrite: bool) -> CallResult {
    with_scratch(a, |s, a| {
        let k = arg_str(&a[1]).to_string();
        let slot = s
            .values
            .entry(k.clone())
            .or_insert_with(|| Value::map(BTreeMap::new()));
        let Value::Map(m) = slot else {
            return Err(format!("{} is not a map", crate::gofmt::go_quote(&k)).into());
        };
        let m = Rc::make_mut(m);
        let mk = arg_str(&a[2]).to_string();
        if overwrite || !m.contains_key(&mk) {
            m.insert(mk, a[3].clone());
        }
        Ok(Value::str(""))
    })
}
