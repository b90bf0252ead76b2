//! Sprig's dict functions (`dict.go`). Go maps are references: set/unset/merge* change the argument
//! map in place.

use std::collections::BTreeMap;
use std::rc::Rc;

use super::{define, map_of, strval};
use crate::funcs::{CallResult, Impl, P, Registry, arg_str};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
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
        let m = crate::funcs::collections::target_map(&a[0]);
        crate::funcs::collections::store(&m, arg_str(&a[1]).to_string(), a[2].clone())?;
        Ok(Value::Map(m))
    });
    s("unset", &[P::Map, P::Str], None, |_, a| {
        let m = crate::funcs::collections::target_map(&a[0]);
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

/// mergo deep merge, as Sprig's merge/mergeOverwrite: into the first map, in place.
fn merge_all(a: &[Value], overwrite: bool) -> CallResult {
    let dst = crate::funcs::collections::target_map(&a[0]);
    for src in &a[1..] {
        crate::funcs::collections::merge_into(&dst, src, overwrite, 0)?;
    }
    Ok(Value::Map(dst))
}
