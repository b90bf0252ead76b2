//! Sprig's list functions (`list.go`).

use super::{deep_eq, define, empty, list_of, to_i64};
use crate::funcs::{CallResult, Impl, P, Registry};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
    s("list", &[], Some(P::Any), |_, a| Ok(Value::list(a)));
    s("tuple", &[], Some(P::Any), |_, a| Ok(Value::list(a)));
    for (name, must) in [
        ("append", false),
        ("push", false),
        ("mustAppend", true),
        ("mustPush", true),
    ] {
        let f: Impl = if must {
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
    s("chunk", &[P::Int, P::Any], None, |_, a| chunk(&a));
    s("mustChunk", &[P::Int, P::Any], None, |_, a| chunk(&a));
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
