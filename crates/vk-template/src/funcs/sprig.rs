//! The hermetic Sprig v3 set under the `sprig_` prefix (Vault ≥ consul-template 0.41).
//! Commonly used families are implemented; the rest parse and fail clearly at execution.
//! Non-hermetic Sprig functions (now, date*, rand*, uuidv4, env, expandenv, getHostByName)
//! are not registered, so using them is a parse error as in Vault.
//!
//! Each family lives in its own file, named after Sprig's source file where there is one; this
//! file holds the registration helper and the conversions several families share.

use std::collections::BTreeMap;

use super::{CallResult, Impl, P, Registry, add, to_display};
use crate::exec::State;
use crate::value::{IntKind, Value};

mod crypto;
mod dates;
mod defaults;
mod dicts;
mod encoding;
mod lists;
mod numeric;
mod paths;
mod reflect;
mod regexp;
mod strings;

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

pub(super) fn register(r: &mut Registry) {
    for name in UNIMPLEMENTED {
        define(r, name, &[], Some(P::Any), unimplemented);
    }
    strings::register(r);
    numeric::register(r);
    defaults::register(r);
    reflect::register(r);
    encoding::register(r);
    crypto::register(r);
    regexp::register(r);
    paths::register(r);
    lists::register(r);
    dicts::register(r);
    dates::register(r);
}

/// Register `sprig_<name>`.
fn define(
    r: &mut Registry,
    name: &'static str,
    params: &'static [P],
    variadic: Option<P>,
    f: Impl,
) {
    let full: &'static str = Box::leak(format!("sprig_{name}").into_boxed_str());
    add(r, full, params, variadic, f);
}
