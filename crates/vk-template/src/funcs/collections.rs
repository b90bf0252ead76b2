//! Collection helpers: contains/in/containsAll…, explodeMap, mergeMap(WithOverride),
//! splitToMap, loop, and the `scratch` store with its methods.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{CallResult, Func, P, Registry, add, arg_str};
use crate::exec::State;
use crate::value::{GoMap, Kind, Value};

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
        let dst = target_map(&a[0]);
        merge_into(&dst, &a[1], false, 0)?;
        Ok(Value::Map(dst))
    });
    add(
        r,
        "mergeMapWithOverride",
        &[P::Map, P::Map],
        None,
        |_, a| {
            let dst = target_map(&a[0]);
            merge_into(&dst, &a[1], true, 0)?;
            Ok(Value::Map(dst))
        },
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
                Value::Str(s) | Value::Number(s) => {
                    vk_go::parse_int(s, 10, 64).map_err(|e| e.to_string())
                }
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
    let out = GoMap::new(BTreeMap::new());
    for (k, v) in m.map_entries().unwrap_or_default() {
        explode_into(&out, &k, v, &k, 0).map_err(|e| format!("explodeMap: {e}"))?;
    }
    Ok(Value::Map(out))
}

fn explode_into(m: &Rc<GoMap>, k: &str, v: Value, path: &str, depth: usize) -> Result<(), String> {
    if depth > 256 {
        return Err("nesting too deep".into());
    }
    if let Some((top, rest)) = k.split_once('/') {
        let slot = match m.get(top) {
            Some(s) => s,
            None => {
                let fresh = Value::map(BTreeMap::new());
                m.insert(top.to_string(), fresh.clone());
                fresh
            }
        };
        let Value::Map(nested) = &slot else {
            return Err(format!(
                "not a map: {}: {} already has value {}",
                vk_go::quote(path),
                vk_go::quote(top),
                crate::printf::sprintf("%q", std::slice::from_ref(&slot))
            ));
        };
        return explode_into(nested, rest, v, k, depth + 1);
    }
    if !k.is_empty() {
        store(m, k.to_string(), v)?;
    }
    Ok(())
}

/// Storing a map into itself would make Go's printers recurse forever (the agent would crash);
/// the engine refuses instead.
pub(crate) const SELF_REFERENCE: &str =
    "vault-k8s: a map cannot contain itself (Go would recurse forever printing it)";

/// Stores `v` under `k` in the Go map `dst` (in place), refusing self-references.
pub(crate) fn store(dst: &Rc<GoMap>, k: String, v: Value) -> Result<(), String> {
    if v.contains_map(dst) {
        return Err(SELF_REFERENCE.into());
    }
    dst.insert(k, v);
    Ok(())
}

/// mergo-style deep merge of `src` into the map `dst`, in place like Go (nested maps of `dst`
/// are merged into, so every other holder of them sees the change).
pub(super) fn merge_into(
    dst: &Rc<GoMap>,
    src: &Value,
    overwrite: bool,
    depth: usize,
) -> Result<(), String> {
    if depth > 256 {
        return Err("nesting too deep".into());
    }
    for (k, v) in src.map_entries().unwrap_or_default() {
        match dst.get(&k) {
            Some(Value::Map(existing)) if matches!(v, Value::Map(_)) => {
                if !Rc::ptr_eq(&existing, dst) {
                    merge_into(&existing, &v, overwrite, depth + 1)?;
                }
            }
            Some(existing) if !overwrite && existing.truth() => {}
            _ => store(dst, k, v)?,
        }
    }
    Ok(())
}

/// The map argument of a mutating function (a nil map becomes a fresh one).
pub(crate) fn target_map(v: &Value) -> Rc<GoMap> {
    match v {
        Value::Map(m) => m.clone(),
        other => GoMap::new(
            other
                .map_entries()
                .unwrap_or_default()
                .into_iter()
                .collect(),
        ),
    }
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
                Some(Value::Map(m)) => Ok(Value::list(m.values())),
                Some(_) => Err(format!("{} is not a map", vk_go::quote(k)).into()),
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
            return Err(format!("{} is not a map", vk_go::quote(&k)).into());
        };
        let mk = arg_str(&a[2]).to_string();
        if overwrite || !m.contains_key(&mk) {
            store(m, mk, a[3].clone())?;
        }
        Ok(Value::str(""))
    })
}
