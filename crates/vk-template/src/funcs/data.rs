//! Vault data functions (`secret`, `secrets`, `pkiCert`) and the other functions that read the
//! outside world through [`crate::DataSource`]: `file`, `env`, `mustEnv`, `envOrDefault`,
//! `timestamp`, `executeTemplate`.

use std::rc::Rc;

use super::{CallError, CallResult, Func, P, Registry, add, arg_str};
use crate::exec::State;
use crate::objects;
use crate::value::Value;
use crate::{Dependency, Lookup, TemplateError};

pub(super) fn register(r: &mut Registry) {
    add(r, "secret", &[], Some(P::Str), secret);
    add(r, "secrets", &[P::Str], None, secrets);
    add(r, "pkiCert", &[], Some(P::Str), pki_cert);
    add(r, "file", &[P::Str], None, file);
    add(r, "env", &[P::Str], None, |s, a| {
        Ok(Value::string(
            s.source.env(arg_str(&a[0])).unwrap_or_default(),
        ))
    });
    add(r, "mustEnv", &[P::Str], None, must_env);
    add(r, "envOrDefault", &[P::Str, P::Str], None, |s, a| {
        Ok(Value::string(
            s.source
                .env(arg_str(&a[0]))
                .unwrap_or_else(|| arg_str(&a[1]).to_string()),
        ))
    });
    add(r, "timestamp", &[], Some(P::Str), timestamp);
    add(
        r,
        "executeTemplate",
        &[P::Str],
        Some(P::Any),
        execute_template,
    );
}

/// `pkiCert(...).Data` returns the object itself.
pub(super) static PKI_DATA: Func = Func {
    params: &[],
    variadic: None,
    call: |_, a| Ok(a.into_iter().next().unwrap_or(Value::Invalid)),
};

/// consul-template's path normalisation: trim spaces, then surrounding `/`.
fn clean_path(p: &str) -> String {
    p.trim().trim_matches('/').to_string()
}

/// `k=v` arguments: empty ones skipped, split at the first `=`, both sides trimmed.
fn kv_pairs(args: &[Value]) -> Result<Vec<(String, String)>, CallError> {
    let mut out: Vec<(String, String)> = Vec::new();
    for a in args {
        let s = arg_str(a);
        if s.is_empty() {
            continue;
        }
        let Some((k, v)) = s.split_once('=') else {
            return Err(format!("not k=v pair {}", vk_go::quote(s)).into());
        };
        let (k, v) = (k.trim().to_string(), v.trim().to_string());
        match out.iter_mut().find(|(ek, _)| *ek == k) {
            Some(slot) => slot.1 = v,
            None => out.push((k, v)),
        }
    }
    Ok(out)
}

/// Ask the data source; `None` means "not fetched yet" (recorded as missing).
fn fetch(s: &mut State<'_>, dep: Dependency) -> Result<Option<String>, CallError> {
    match s.source.lookup(&dep) {
        Lookup::Missing => {
            s.use_dependency(&dep, true);
            Ok(None)
        }
        Lookup::Ready(body) => {
            s.use_dependency(&dep, false);
            Ok(Some(body))
        }
        Lookup::Failed(text) => {
            s.use_dependency(&dep, false);
            Err(CallError::Fatal(TemplateError::Dependency(text)))
        }
    }
}

fn secret(s: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let Some(first) = a.first() else {
        return Ok(Value::Nil);
    };
    let path = clean_path(arg_str(first));
    let dep = if a.len() > 1 {
        Dependency::Write {
            path,
            data: kv_pairs(&a[1..])?,
        }
    } else {
        Dependency::Read { path }
    };
    match fetch(s, dep)? {
        None => Ok(Value::Nil),
        // A write with no response body (KV v1) yields a nil *Secret.
        Some(body) if body.trim().is_empty() => Ok(Value::NilPtr("*dependency.Secret")),
        Some(body) => {
            let sec = objects::secret_from_json(&body).map_err(|e| format!("secret: {e}"))?;
            Ok(Value::Secret(Rc::new(sec)))
        }
    }
}

fn secrets(s: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let path = clean_path(arg_str(&a[0]));
    let empty = || Value::StrList(Rc::new(Vec::new()));
    let Some(body) = fetch(s, Dependency::List { path })? else {
        return Ok(empty());
    };
    let sec = objects::secret_from_json(&body).map_err(|e| format!("secrets: {e}"))?;
    let mut keys = Vec::new();
    if let Some(Value::List(l)) = sec.data.get("keys") {
        for k in l.iter() {
            match k {
                Value::Str(t) => keys.push(t.to_string()),
                other => {
                    return Err(format!(
                        "secrets: key {} is not a string",
                        crate::printf::sprint_one(other)
                    )
                    .into());
                }
            }
        }
    }
    keys.sort();
    Ok(Value::StrList(Rc::new(keys)))
}

fn pki_cert(s: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let Some(first) = a.first() else {
        return Ok(Value::Nil);
    };
    let path = clean_path(arg_str(first));
    let dep = Dependency::PkiCert {
        path,
        data: kv_pairs(&a[1..])?,
        destination: s.opts.destination.clone(),
    };
    match fetch(s, dep)? {
        None => Ok(Value::Nil),
        Some(body) => {
            let p = objects::pki_from_json(&body).map_err(|e| format!("pkiCert: {e}"))?;
            Ok(Value::Pki(Rc::new(p)))
        }
    }
}

fn file(s: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let path = arg_str(&a[0]);
    if path.is_empty() {
        return Ok(Value::str(""));
    }
    // consul-template treats `file` as a dependency: its failure is reported like a fetch error.
    s.source
        .read_file(path)
        .map(Value::string)
        .map_err(|e| CallError::Fatal(TemplateError::Dependency(format!("file({path}): {e}"))))
}

fn must_env(s: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let name = arg_str(&a[0]);
    match s.source.env(name) {
        Some(v) if !v.is_empty() => Ok(Value::string(v)),
        _ => Err(format!("required environment variable {name} is empty").into()),
    }
}

fn timestamp(s: &mut State<'_>, a: Vec<Value>) -> CallResult {
    let (secs, nanos) = s.source.now();
    match a.len() {
        0 => Ok(Value::string(crate::timefmt::format(
            secs,
            nanos,
            "2006-01-02T15:04:05Z07:00",
        ))),
        1 if arg_str(&a[0]) == "unix" => Ok(Value::string(secs.to_string())),
        1 => Ok(Value::string(crate::timefmt::format(
            secs,
            nanos,
            arg_str(&a[0]),
        ))),
        n => Err(
            format!("timestamp: wrong number of arguments, expected 0 or 1, but got {n}").into(),
        ),
    }
}

fn execute_template(s: &mut State<'_>, mut a: Vec<Value>) -> CallResult {
    let name = arg_str(&a[0]).to_string();
    let dot = match a.len() {
        1 => Value::Invalid,
        2 => match a.pop().unwrap_or(Value::Invalid) {
            Value::Nil => Value::Invalid,
            v => v,
        },
        n => {
            return Err(format!(
                "executeTemplate: wrong number of arguments, expected 1 or 2, but got {n}"
            )
            .into());
        }
    };
    s.execute_template(&name, dot)
        .map(Value::string)
        .map_err(CallError::Msg)
}
