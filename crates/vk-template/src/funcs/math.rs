//! consul-template math: add subtract multiply divide modulo minimum maximum, with Go's
//! int64/uint64/float64 promotion and `json.Number` rejected (E03).

use super::{CallResult, P, Registry, add};
use crate::value::{IntKind, Value};

#[derive(Clone, Copy)]
enum Op {
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Min,
    Max,
}

impl Op {
    fn name(self) -> &'static str {
        match self {
            Op::Add => "add",
            Op::Sub => "subtract",
            Op::Mul => "multiply",
            Op::Div => "divide",
            Op::Mod => "modulo",
            Op::Min => "minimum",
            Op::Max => "maximum",
        }
    }
}

pub(super) fn register(r: &mut Registry) {
    add(r, "add", &[P::Any, P::Any], None, |_, a| {
        arith(Op::Add, &a[0], &a[1])
    });
    add(r, "subtract", &[P::Any, P::Any], None, |_, a| {
        arith(Op::Sub, &a[0], &a[1])
    });
    add(r, "multiply", &[P::Any, P::Any], None, |_, a| {
        arith(Op::Mul, &a[0], &a[1])
    });
    add(r, "divide", &[P::Any, P::Any], None, |_, a| {
        arith(Op::Div, &a[0], &a[1])
    });
    add(r, "modulo", &[P::Any, P::Any], None, |_, a| {
        arith(Op::Mod, &a[0], &a[1])
    });
    add(r, "minimum", &[P::Any, P::Any], None, |_, a| {
        arith(Op::Min, &a[0], &a[1])
    });
    add(r, "maximum", &[P::Any, P::Any], None, |_, a| {
        arith(Op::Max, &a[0], &a[1])
    });
}

#[derive(Clone, Copy)]
enum Num {
    I(i64),
    U(u64),
    F(f64),
}

fn num(v: &Value) -> Option<Num> {
    match v {
        Value::Int(i, _) => Some(Num::I(*i)),
        Value::Uint(u) => Some(Num::U(*u)),
        Value::Float(f) => Some(Num::F(*f)),
        _ => None,
    }
}

fn unknown(op: Op, v: &Value) -> String {
    let t = if matches!(v, Value::Nil | Value::Invalid) {
        "<nil>"
    } else {
        v.type_name()
    };
    format!(
        "{}: unknown type for {} ({t})",
        op.name(),
        crate::printf::sprintf("%q", std::slice::from_ref(v))
    )
}

/// `op(b, a)` computes `a <op> b` (the piped value is the last argument).
fn arith(op: Op, b: &Value, a: &Value) -> CallResult {
    let Some(an) = num(a) else {
        return Err(unknown(op, a).into());
    };
    let Some(bn) = num(b) else {
        return Err(unknown(op, b).into());
    };
    // Integer division by zero is an error; float division follows IEEE (Go does the same).
    let zero = matches!((an, bn), (Num::I(_) | Num::U(_), Num::I(0) | Num::U(0)));
    if zero && matches!(op, Op::Div | Op::Mod) {
        // Go's runtime panic text, recovered by text/template.
        return Err("runtime error: integer divide by zero".into());
    }
    Ok(match (an, bn) {
        (Num::I(x), Num::I(y)) => int_op(op, x, y)?,
        (Num::I(x), Num::U(y)) => int_op(op, x, y as i64)?,
        (Num::U(x), Num::I(y)) => int_op(op, x as i64, y)?,
        (Num::U(x), Num::U(y)) => uint_op(op, x, y)?,
        (Num::I(x), Num::F(y)) => float_op(op, x as f64, y)?,
        (Num::U(x), Num::F(y)) => float_op(op, x as f64, y)?,
        (Num::F(x), Num::I(y)) => float_op(op, x, y as f64)?,
        (Num::F(x), Num::U(y)) => float_op(op, x, y as f64)?,
        (Num::F(x), Num::F(y)) => float_op(op, x, y)?,
    })
}

fn int_op(op: Op, a: i64, b: i64) -> Result<Value, String> {
    let v = match op {
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Mul => a.wrapping_mul(b),
        Op::Div => a.wrapping_div(b),
        Op::Mod => a.wrapping_rem(b),
        Op::Min => a.min(b),
        Op::Max => a.max(b),
    };
    Ok(Value::Int(v, IntKind::Int64))
}

fn uint_op(op: Op, a: u64, b: u64) -> Result<Value, String> {
    let v = match op {
        Op::Add => a.wrapping_add(b),
        Op::Sub => a.wrapping_sub(b),
        Op::Mul => a.wrapping_mul(b),
        Op::Div => a / b,
        Op::Mod => a % b,
        Op::Min => a.min(b),
        Op::Max => a.max(b),
    };
    Ok(Value::Uint(v))
}

fn float_op(op: Op, a: f64, b: f64) -> Result<Value, String> {
    let v = match op {
        Op::Add => a + b,
        Op::Sub => a - b,
        Op::Mul => a * b,
        Op::Div => a / b,
        Op::Mod => {
            return Err(format!(
                "{}: unknown type for {} (float64)",
                op.name(),
                vk_go::format_g_shortest(b)
            ));
        }
        Op::Min => a.min(b),
        Op::Max => a.max(b),
    };
    Ok(Value::Float(v))
}
