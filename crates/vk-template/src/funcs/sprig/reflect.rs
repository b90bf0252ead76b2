//! Sprig's type inspection functions (`reflect.go`) and `deepEqual`.

use super::{deep_eq, define};
use crate::funcs::{Impl, P, Registry, arg_str, ok_str};
use crate::value::{IntKind, Value};

pub(super) fn register(r: &mut Registry) {
    let mut s = |name: &'static str, params: &'static [P], variadic: Option<P>, f: Impl| {
        define(r, name, params, variadic, f);
    };
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
