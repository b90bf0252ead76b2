//! Sprig's numeric functions (`numeric.go`): conversions, integer and float math, sequences.

use super::{define, i64v, strval, to_f64, to_i64};
use crate::funcs::{Impl, P, Registry, arg_str, ok_str};
use crate::value::Value;

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
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
