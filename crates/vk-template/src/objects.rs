//! The Go structs templates see: `*dependency.Secret` (+ `SecretAuth`, `SecretWrapInfo`),
//! the `pkiCert` object and `scratch`; building them from Vault's JSON and exposing their fields.

use std::collections::BTreeMap;
use std::rc::Rc;

use crate::json::{self, Numbers};
use crate::value::{GoMap, IntKind, PkiCert, Secret, SecretAuth, SecretWrapInfo, Value};

fn get_str(m: &BTreeMap<String, Value>, k: &str) -> String {
    match m.get(k) {
        Some(Value::Str(s)) => s.to_string(),
        _ => String::new(),
    }
}

fn get_int(m: &BTreeMap<String, Value>, k: &str) -> i64 {
    match m.get(k) {
        Some(Value::Number(n)) => n
            .parse::<i64>()
            .or_else(|_| n.parse::<f64>().map(|f| f as i64))
            .unwrap_or(0),
        _ => 0,
    }
}

fn get_bool(m: &BTreeMap<String, Value>, k: &str) -> bool {
    matches!(m.get(k), Some(Value::Bool(true)))
}

fn get_strings(m: &BTreeMap<String, Value>, k: &str) -> Vec<String> {
    match m.get(k) {
        Some(Value::List(l)) => l
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

/// Build the secret object from a Vault API response body (numbers stay `json.Number`).
pub(crate) fn secret_from_json(body: &str) -> Result<Secret, String> {
    if body.trim().is_empty() {
        return Ok(Secret::default());
    }
    let top = match json::parse(body, Numbers::Literal)? {
        Value::Map(m) => m.snapshot(),
        Value::Nil => return Ok(Secret::default()),
        _ => return Err("unexpected response body (not a JSON object)".into()),
    };
    let data = match top.get("data") {
        Some(Value::Map(m)) => m.clone(),
        _ => GoMap::new(BTreeMap::new()),
    };
    let auth = match top.get("auth") {
        Some(Value::Map(a)) => {
            let a = &a.snapshot();
            let metadata = match a.get("metadata") {
                Some(Value::Map(md)) => md
                    .snapshot()
                    .iter()
                    .filter_map(|(k, v)| v.as_str().map(|s| (k.clone(), s.to_string())))
                    .collect(),
                _ => BTreeMap::new(),
            };
            Some(Rc::new(SecretAuth {
                client_token: get_str(a, "client_token"),
                accessor: get_str(a, "accessor"),
                policies: Rc::new(get_strings(a, "policies")),
                metadata: Rc::new(metadata),
                lease_duration: get_int(a, "lease_duration"),
                renewable: get_bool(a, "renewable"),
            }))
        }
        _ => None,
    };
    let wrap_info = match top.get("wrap_info") {
        Some(Value::Map(w)) => Some(Rc::new({
            let w = &w.snapshot();
            SecretWrapInfo {
                token: get_str(w, "token"),
                ttl: get_int(w, "ttl"),
                creation_time: get_str(w, "creation_time"),
                wrapped_accessor: get_str(w, "wrapped_accessor"),
            }
        })),
        _ => None,
    };
    Ok(Secret {
        request_id: get_str(&top, "request_id"),
        lease_id: get_str(&top, "lease_id"),
        lease_duration: get_int(&top, "lease_duration"),
        renewable: get_bool(&top, "renewable"),
        data,
        warnings: Rc::new(get_strings(&top, "warnings")),
        auth,
        wrap_info,
    })
}

fn int(i: i64) -> Value {
    Value::Int(i, IntKind::Int)
}

/// Struct fields in declaration order; empty for non-struct values.
pub(crate) fn struct_fields(v: &Value) -> Vec<(&'static str, Value)> {
    match v {
        Value::Secret(s) => vec![
            ("RequestID", Value::str(&s.request_id)),
            ("LeaseID", Value::str(&s.lease_id)),
            ("LeaseDuration", int(s.lease_duration)),
            ("Renewable", Value::Bool(s.renewable)),
            ("Data", Value::Map(s.data.clone())),
            ("Warnings", Value::StrList(s.warnings.clone())),
            (
                "Auth",
                s.auth
                    .clone()
                    .map_or(Value::NilPtr("*dependency.SecretAuth"), Value::Auth),
            ),
            (
                "WrapInfo",
                s.wrap_info
                    .clone()
                    .map_or(Value::NilPtr("*dependency.SecretWrapInfo"), Value::WrapInfo),
            ),
        ],
        Value::Auth(a) => vec![
            ("ClientToken", Value::str(&a.client_token)),
            ("Accessor", Value::str(&a.accessor)),
            ("Policies", Value::StrList(a.policies.clone())),
            ("Metadata", Value::StrMap(a.metadata.clone())),
            ("LeaseDuration", int(a.lease_duration)),
            ("Renewable", Value::Bool(a.renewable)),
        ],
        Value::WrapInfo(w) => vec![
            ("Token", Value::str(&w.token)),
            ("TTL", int(w.ttl)),
            ("CreationTime", Value::str(&w.creation_time)),
            ("WrappedAccessor", Value::str(&w.wrapped_accessor)),
        ],
        Value::Pki(p) => vec![
            ("Cert", Value::str(&p.cert)),
            ("Key", Value::str(&p.key)),
            ("CA", Value::str(&p.ca)),
            ("CAChain", Value::StrList(p.ca_chain.clone())),
        ],
        Value::Scratch(s) => vec![("values", Value::map(s.borrow().values.clone()))],
        _ => Vec::new(),
    }
}

/// Exported field lookup on a struct pointer (`None`: no such field).
pub(crate) fn field(v: &Value, name: &str) -> Option<Value> {
    if matches!(v, Value::Scratch(_)) {
        return None;
    }
    struct_fields(v)
        .into_iter()
        .find(|(n, _)| *n == name)
        .map(|(_, v)| v)
}

/// The Go struct type behind a nil pointer type name (`*dependency.SecretAuth` → its fields).
pub(crate) fn nil_ptr_has_field(type_name: &str, name: &str) -> bool {
    let probe = match type_name {
        "*dependency.Secret" => Value::Secret(Rc::default()),
        "*dependency.SecretAuth" => Value::Auth(Rc::default()),
        "*dependency.SecretWrapInfo" => Value::WrapInfo(Rc::default()),
        _ => return false,
    };
    field(&probe, name).is_some()
}

/// `encoding/json` view of a secret (consul-template's struct has no json tags).
pub(crate) fn secret_json_fields(s: &Rc<Secret>) -> Vec<(String, Value)> {
    struct_json_fields(&Value::Secret(s.clone()))
}

pub(crate) fn struct_json_fields(v: &Value) -> Vec<(String, Value)> {
    struct_fields(v)
        .into_iter()
        .filter(|(n, _)| n.starts_with(|c: char| c.is_ascii_uppercase()))
        .map(|(n, v)| (n.to_string(), v))
        .collect()
}

/// Build the `pkiCert` object from a response/cache body (§5.4).
pub(crate) fn pki_from_json(body: &str) -> Result<PkiCert, String> {
    let top = match json::parse(body, Numbers::Literal)? {
        Value::Map(m) => m,
        _ => return Err("unexpected pkiCert body".into()),
    };
    let data = match top.get("data") {
        Some(Value::Map(m)) => m.snapshot(),
        _ => top.snapshot(),
    };
    let mut pem_text = String::new();
    for (_, v) in data.iter() {
        match v {
            Value::Str(s) => {
                pem_text.push_str(s);
                pem_text.push('\n');
            }
            Value::List(l) => {
                for item in l.iter() {
                    if let Value::Str(s) = item {
                        pem_text.push_str(s);
                        pem_text.push('\n');
                    }
                }
            }
            _ => {}
        }
    }
    Ok(crate::pem::pki_from_pem(&pem_text))
}
