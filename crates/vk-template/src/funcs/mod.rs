//! The function map: Go built-ins, consul-template helpers, Vault data functions and the
//! hermetic `sprig_*` set. Each family lives in its own module; this file holds the registry
//! and the parameter-type model used for Go's argument conversion rules.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::OnceLock;

use crate::TemplateError;
use crate::exec::State;
use crate::value::Value;

mod builtin;
mod collections;
mod data;
mod encoding;
mod math;
pub(crate) mod semver;
mod spew;
mod sprig;
mod strings;
mod unsupported;
mod url;

/// Go parameter types that matter for argument conversion.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum P {
    /// `interface{}`.
    Any,
    /// `reflect.Value` (built-ins): anything, including "no value".
    Value,
    Str,
    Int,
    Float,
    Bool,
    /// `[]string`.
    StrList,
    /// `[]interface{}`.
    List,
    /// `map[string]interface{}`.
    Map,
}

impl P {
    pub(crate) fn go_type(self) -> &'static str {
        match self {
            P::Any => "interface {}",
            P::Value => "reflect.Value",
            P::Str => "string",
            P::Int => "int",
            P::Float => "float64",
            P::Bool => "bool",
            P::StrList => "[]string",
            P::List => "[]interface {}",
            P::Map => "map[string]interface {}",
        }
    }
}

/// Why a function failed.
pub(crate) enum CallError {
    /// Reported as `error calling <name>: <msg>` at the call.
    Msg(String),
    /// Passed through unchanged (dependency fetch failures, guard rails).
    Fatal(TemplateError),
}

impl From<String> for CallError {
    fn from(s: String) -> Self {
        CallError::Msg(s)
    }
}

impl From<&str> for CallError {
    fn from(s: &str) -> Self {
        CallError::Msg(s.to_string())
    }
}

pub(crate) type CallResult = Result<Value, CallError>;
pub(crate) type Impl = fn(&mut State<'_>, Vec<Value>) -> CallResult;

/// One registered function: fixed parameters, optional variadic element type, implementation.
pub(crate) struct Func {
    pub(crate) params: &'static [P],
    pub(crate) variadic: Option<P>,
    pub(crate) call: Impl,
}

pub(crate) type Registry = HashMap<&'static str, Func, BuildHasherDefault<NameHasher>>;

/// FNV-1a for the registry: its keys are the fixed function names, so a lookup (every function
/// name at parse, every call at render) needs no flooding-resistant hash, only a cheap one.
pub(crate) struct NameHasher(u64);

impl Default for NameHasher {
    fn default() -> Self {
        NameHasher(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for NameHasher {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

fn registry() -> &'static Registry {
    static REG: OnceLock<Registry> = OnceLock::new();
    REG.get_or_init(|| {
        let mut r = Registry::default();
        builtin::register(&mut r);
        data::register(&mut r);
        strings::register(&mut r);
        encoding::register(&mut r);
        math::register(&mut r);
        collections::register(&mut r);
        unsupported::register(&mut r);
        spew::register(&mut r);
        sprig::register(&mut r);
        semver::register(&mut r);
        url::register(&mut r);
        r
    })
}

pub(crate) fn exists(name: &str) -> bool {
    registry().contains_key(name)
}

pub(crate) fn lookup(name: &str) -> Option<&'static Func> {
    registry().get(name)
}

/// Methods callable with `.Name` on objects (`scratch.Set`, `pkiCert.Data`).
pub(crate) fn method(receiver: &Value, name: &str) -> Option<&'static Func> {
    match receiver {
        Value::Scratch(_) => collections::scratch_method(name),
        Value::Pki(_) if name == "Data" => Some(&data::PKI_DATA),
        Value::Semver(_) => semver::method(name),
        _ => None,
    }
}

/// Registration helper.
pub(crate) fn add(
    r: &mut Registry,
    name: &'static str,
    params: &'static [P],
    variadic: Option<P>,
    call: Impl,
) {
    r.insert(
        name,
        Func {
            params,
            variadic,
            call,
        },
    );
}

// ---- small helpers shared by the families ----

pub(crate) fn arg_str(v: &Value) -> &str {
    v.as_str().unwrap_or("")
}

pub(crate) fn ok_str(s: String) -> CallResult {
    Ok(Value::string(s))
}

/// Go's `%v` of an argument as sprig's `strval` / `fmt.Sprint` would.
pub(crate) fn to_display(v: &Value) -> String {
    crate::printf::sprint_one(v)
}
