//! The value model: the Go types a template can observe, with their Go type names.

use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;

/// Go's integer types that matter for printing `%T` and for argument checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum IntKind {
    /// `int` (template literals, `len`, struct fields).
    Int,
    /// `int64` (`parseInt`, `loop`, math on int64).
    Int64,
}

/// Values flowing through a template.
#[derive(Debug, Clone)]
pub(crate) enum Value {
    /// Go's invalid `reflect.Value`: "no value" (a nil interface after a pipeline boundary).
    Invalid,
    /// A nil `interface{}` (JSON null, missing map key under `missingkey=zero`).
    Nil,
    Bool(bool),
    Int(i64, IntKind),
    Uint(u64),
    Float(f64),
    Str(Rc<str>),
    /// `json.Number`: a string-kinded type holding the literal text.
    Number(Rc<str>),
    /// `[]interface {}`.
    List(Rc<Vec<Value>>),
    /// `[]string`.
    StrList(Rc<Vec<String>>),
    /// `map[string]interface {}` (or yaml.v2's `map[interface {}]interface {}`): a shared,
    /// mutable reference like a Go map.
    Map(Rc<GoMap>),
    /// `map[string]string`.
    StrMap(Rc<BTreeMap<String, String>>),
    /// `*dependency.Secret` (never nil: a missing secret is a nil interface).
    Secret(Rc<Secret>),
    /// `*dependency.SecretAuth`.
    Auth(Rc<SecretAuth>),
    /// `*dependency.SecretWrapInfo`.
    WrapInfo(Rc<SecretWrapInfo>),
    /// A typed nil pointer; the payload is its Go type name.
    NilPtr(&'static str),
    /// The `pkiCert` object.
    Pki(Rc<PkiCert>),
    /// The `scratch` store.
    Scratch(Rc<RefCell<Scratch>>),
    /// `*semver.Version` (Sprig's `semver`).
    Semver(Rc<crate::funcs::semver::Version>),
    /// `<-chan int64` produced by `loop`: the half-open range.
    Chan(i64, i64),
}

/// consul-template's `dependency.Secret`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Secret {
    pub(crate) request_id: String,
    pub(crate) lease_id: String,
    pub(crate) lease_duration: i64,
    pub(crate) renewable: bool,
    pub(crate) data: Rc<GoMap>,
    pub(crate) warnings: Rc<Vec<String>>,
    pub(crate) auth: Option<Rc<SecretAuth>>,
    pub(crate) wrap_info: Option<Rc<SecretWrapInfo>>,
}

/// consul-template's `dependency.SecretAuth`.
#[derive(Debug, Clone, Default)]
pub(crate) struct SecretAuth {
    pub(crate) client_token: String,
    pub(crate) accessor: String,
    pub(crate) policies: Rc<Vec<String>>,
    pub(crate) metadata: Rc<BTreeMap<String, String>>,
    pub(crate) lease_duration: i64,
    pub(crate) renewable: bool,
}

/// consul-template's `dependency.SecretWrapInfo` (creation time kept as text).
#[derive(Debug, Clone, Default)]
pub(crate) struct SecretWrapInfo {
    pub(crate) token: String,
    pub(crate) ttl: i64,
    pub(crate) creation_time: String,
    pub(crate) wrapped_accessor: String,
}

/// The object `pkiCert` returns.
#[derive(Debug, Clone, Default)]
pub(crate) struct PkiCert {
    pub(crate) cert: String,
    pub(crate) key: String,
    pub(crate) ca: String,
    pub(crate) ca_chain: Rc<Vec<String>>,
}

/// The per-execution `scratch` store.
#[derive(Debug, Clone, Default)]
pub(crate) struct Scratch {
    pub(crate) values: BTreeMap<String, Value>,
}

/// A Go map value: entries behind a shared reference, so that in-place changes (`sprig_set`,
/// `sprig_merge`, `mergeMap`, …) are seen through every variable or container holding it.
/// Accessors copy out; no borrow is held across calls.
#[derive(Default)]
pub(crate) struct GoMap {
    entries: RefCell<BTreeMap<String, Value>>,
    /// yaml.v2's `map[interface {}]interface {}` (`parseYAML`) instead of `map[string]interface {}`.
    pub(crate) iface_keys: bool,
}

impl std::fmt::Debug for GoMap {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Keys only: a map may (through a bug) reach itself; Debug must terminate.
        match self.entries.try_borrow() {
            Ok(m) => f.debug_set().entries(m.keys()).finish(),
            Err(_) => f.write_str("{<borrowed>}"),
        }
    }
}

impl GoMap {
    pub(crate) fn new(m: BTreeMap<String, Value>) -> Rc<GoMap> {
        Rc::new(GoMap {
            entries: RefCell::new(m),
            iface_keys: false,
        })
    }

    pub(crate) fn new_iface_keys(m: BTreeMap<String, Value>) -> Rc<GoMap> {
        Rc::new(GoMap {
            entries: RefCell::new(m),
            iface_keys: true,
        })
    }

    pub(crate) fn get(&self, k: &str) -> Option<Value> {
        self.entries.borrow().get(k).cloned()
    }

    pub(crate) fn contains_key(&self, k: &str) -> bool {
        self.entries.borrow().contains_key(k)
    }

    pub(crate) fn len(&self) -> usize {
        self.entries.borrow().len()
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.entries.borrow().is_empty()
    }

    /// A copy of the entries, sorted by key.
    pub(crate) fn snapshot(&self) -> BTreeMap<String, Value> {
        self.entries.borrow().clone()
    }

    pub(crate) fn values(&self) -> Vec<Value> {
        self.entries.borrow().values().cloned().collect()
    }

    /// In-place insert (Go `m[k] = v`). The caller rules out `v` containing this map
    /// ([`Value::contains_map`]).
    pub(crate) fn insert(&self, k: String, v: Value) {
        self.entries.borrow_mut().insert(k, v);
    }

    pub(crate) fn remove(&self, k: &str) {
        self.entries.borrow_mut().remove(k);
    }
}

impl Value {
    /// Whether `target` is reachable from `self` (so storing `self` into `target` would make a
    /// map contain itself). Each map is visited once.
    pub(crate) fn contains_map(&self, target: &Rc<GoMap>) -> bool {
        let mut seen: std::collections::HashSet<*const GoMap> = std::collections::HashSet::new();
        let mut stack: Vec<Value> = vec![self.clone()];
        while let Some(v) = stack.pop() {
            match v {
                Value::Map(m) => {
                    if Rc::ptr_eq(&m, target) {
                        return true;
                    }
                    if seen.insert(Rc::as_ptr(&m)) {
                        stack.extend(m.values());
                    }
                }
                Value::List(l) => stack.extend(l.iter().cloned()),
                _ => {}
            }
        }
        false
    }

    /// Sprig's `deepCopy`: maps (also inside lists) become new maps.
    pub(crate) fn deep_copy(&self, depth: usize) -> Value {
        if depth > 1000 {
            return self.clone();
        }
        match self {
            Value::Map(m) => Value::Map(Rc::new(GoMap {
                entries: RefCell::new(
                    m.snapshot()
                        .into_iter()
                        .map(|(k, v)| (k, v.deep_copy(depth + 1)))
                        .collect(),
                ),
                iface_keys: m.iface_keys,
            })),
            Value::List(l) => Value::list(l.iter().map(|v| v.deep_copy(depth + 1)).collect()),
            other => other.clone(),
        }
    }

    pub(crate) fn str(s: &str) -> Value {
        Value::Str(Rc::from(s))
    }

    pub(crate) fn string(s: String) -> Value {
        Value::Str(Rc::from(s))
    }

    pub(crate) fn int(i: i64) -> Value {
        Value::Int(i, IntKind::Int)
    }

    pub(crate) fn map(m: BTreeMap<String, Value>) -> Value {
        Value::Map(GoMap::new(m))
    }

    pub(crate) fn list(l: Vec<Value>) -> Value {
        Value::List(Rc::new(l))
    }

    /// Go's `%T` / `reflect.Type.String()`.
    pub(crate) fn type_name(&self) -> &'static str {
        match self {
            Value::Invalid => "<nil>",
            Value::Nil => "interface {}",
            Value::Bool(_) => "bool",
            Value::Int(_, IntKind::Int) => "int",
            Value::Int(_, IntKind::Int64) => "int64",
            Value::Uint(_) => "uint64",
            Value::Float(_) => "float64",
            Value::Str(_) => "string",
            Value::Number(_) => "json.Number",
            Value::List(_) => "[]interface {}",
            Value::StrList(_) => "[]string",
            Value::Map(m) if m.iface_keys => "map[interface {}]interface {}",
            Value::Map(_) => "map[string]interface {}",
            Value::StrMap(_) => "map[string]string",
            Value::Secret(_) => "*dependency.Secret",
            Value::Auth(_) => "*dependency.SecretAuth",
            Value::WrapInfo(_) => "*dependency.SecretWrapInfo",
            Value::NilPtr(t) => t,
            Value::Pki(_) => "dependency.PemEncoded",
            Value::Scratch(_) => "*template.Scratch",
            Value::Chan(..) => "<-chan int64",
            Value::Semver(_) => "*semver.Version",
        }
    }

    /// Go's `reflect.Kind` name, used by comparisons and sprig's `kindOf`.
    pub(crate) fn kind(&self) -> Kind {
        match self {
            Value::Invalid | Value::Nil => Kind::Invalid,
            Value::Bool(_) => Kind::Bool,
            Value::Int(..) => Kind::Int,
            Value::Uint(_) => Kind::Uint,
            Value::Float(_) => Kind::Float,
            Value::Str(_) | Value::Number(_) => Kind::String,
            Value::List(_) | Value::StrList(_) => Kind::Slice,
            Value::Map(_) | Value::StrMap(_) => Kind::Map,
            Value::Chan(..) => Kind::Chan,
            _ => Kind::Ptr,
        }
    }

    /// The string payload of string-kinded values (`string`, `json.Number`).
    pub(crate) fn as_str(&self) -> Option<&str> {
        match self {
            Value::Str(s) | Value::Number(s) => Some(s),
            _ => None,
        }
    }

    /// Go's template truthiness.
    pub(crate) fn truth(&self) -> bool {
        match self {
            Value::Invalid | Value::Nil | Value::NilPtr(_) => false,
            Value::Bool(b) => *b,
            Value::Int(i, _) => *i != 0,
            Value::Uint(u) => *u != 0,
            Value::Float(f) => *f != 0.0,
            Value::Str(s) | Value::Number(s) => !s.is_empty(),
            Value::List(l) => !l.is_empty(),
            Value::StrList(l) => !l.is_empty(),
            Value::Map(m) => !m.is_empty(),
            Value::StrMap(m) => !m.is_empty(),
            _ => true,
        }
    }

    /// Elements of a list-like value as generic values.
    pub(crate) fn list_items(&self) -> Option<Vec<Value>> {
        match self {
            Value::List(l) => Some(l.as_ref().clone()),
            Value::StrList(l) => Some(l.iter().map(|s| Value::str(s)).collect()),
            _ => None,
        }
    }

    /// Entries of a map-like value as generic values (sorted by key).
    pub(crate) fn map_entries(&self) -> Option<Vec<(String, Value)>> {
        match self {
            Value::Map(m) => Some(m.snapshot().into_iter().collect()),
            Value::StrMap(m) => Some(m.iter().map(|(k, v)| (k.clone(), Value::str(v))).collect()),
            _ => None,
        }
    }
}

/// The `reflect.Kind`s the engine distinguishes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Invalid,
    Bool,
    Int,
    Uint,
    Float,
    String,
    Slice,
    Map,
    Chan,
    Ptr,
}

impl Kind {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Kind::Invalid => "invalid",
            Kind::Bool => "bool",
            Kind::Int => "int",
            Kind::Uint => "uint",
            Kind::Float => "float64",
            Kind::String => "string",
            Kind::Slice => "slice",
            Kind::Map => "map",
            Kind::Chan => "chan",
            Kind::Ptr => "ptr",
        }
    }
}
