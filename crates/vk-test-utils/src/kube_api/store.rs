//! The object store: objects keyed by resource type, namespace and name, a global
//! resourceVersion counter, and the event history that watches replay.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Mutex, MutexGuard};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Map, Value, json};

use super::ids::{random_suffix, random_uid, rfc3339_now};
use super::resources::ResourceType;
use super::status::ApiError;

/// How many events a watch can replay; older resourceVersions get 410 Expired.
const HISTORY_LIMIT: usize = 1000;

/// A change, as a watch reports it.
#[derive(Debug, Clone)]
pub(super) struct Event {
    pub(super) rv: u64,
    /// `ADDED`, `MODIFIED` or `DELETED`.
    pub(super) kind: &'static str,
    pub(super) rt: &'static ResourceType,
    pub(super) namespace: Option<String>,
    pub(super) object: Value,
}

type Key = (&'static str, &'static str, String, String);

fn key(rt: &'static ResourceType, ns: Option<&str>, name: &str) -> Key {
    (
        rt.group,
        rt.plural,
        ns.unwrap_or_default().to_string(),
        name.to_string(),
    )
}

#[derive(Default)]
struct Inner {
    rv: u64,
    objects: BTreeMap<Key, Value>,
    history: VecDeque<Event>,
    /// Every event after this resourceVersion is in `history`.
    oldest: u64,
}

/// The store, shared by the server thread and the test's direct-access methods.
pub(super) struct Store {
    inner: Mutex<Inner>,
    changed: tokio::sync::watch::Sender<u64>,
}

fn object_name(obj: &Value) -> &str {
    obj["metadata"]["name"].as_str().unwrap_or_default()
}

fn rv_of(obj: &Value) -> Option<&str> {
    obj["metadata"]["resourceVersion"]
        .as_str()
        .filter(|s| !s.is_empty())
}

/// Whether `name` is a lowercase RFC 1123 subdomain, the rule for most object names.
fn valid_name(name: &str) -> bool {
    let ok_char = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '.';
    name.len() <= 253
        && name.chars().all(ok_char)
        && name
            .split('.')
            .all(|l| !l.is_empty() && !l.starts_with('-') && !l.ends_with('-'))
}

/// Checks and completes the parts every write shares: object shape, apiVersion/kind, namespace,
/// and the Secret conversions (`stringData` into base64 `data`, default `type`).
fn normalize(rt: &ResourceType, ns: Option<&str>, obj: &mut Value) -> Result<(), ApiError> {
    let Some(map) = obj.as_object_mut() else {
        return Err(ApiError::bad_request(
            "the request body is not a JSON object",
        ));
    };
    for (field, want) in [
        ("apiVersion", rt.api_version()),
        ("kind", rt.kind.to_string()),
    ] {
        match map.get(field).and_then(Value::as_str) {
            None | Some("") => {
                map.insert(field.into(), json!(want));
            }
            Some(got) if got == want => {}
            Some(got) => {
                return Err(ApiError::bad_request(format!(
                    "the API version and kind in the data ({got}) does not match the expected {field} {want}"
                )));
            }
        }
    }
    let meta = map
        .entry("metadata")
        .or_insert_with(|| Value::Object(Map::new()));
    let Some(meta) = meta.as_object_mut() else {
        return Err(ApiError::bad_request("metadata is not an object"));
    };
    if rt.namespaced {
        let url_ns = ns.unwrap_or("default");
        match meta.get("namespace").and_then(Value::as_str) {
            None | Some("") => {
                meta.insert("namespace".into(), json!(url_ns));
            }
            Some(got) if got == url_ns => {}
            Some(_) => {
                return Err(ApiError::bad_request(
                    "the namespace of the provided object does not match the namespace sent on the request",
                ));
            }
        }
    } else {
        meta.remove("namespace");
    }
    if rt.kind == "Secret" {
        normalize_secret(map)?;
    }
    Ok(())
}

fn normalize_secret(map: &mut Map<String, Value>) -> Result<(), ApiError> {
    if let Some(Value::Object(string_data)) = map.remove("stringData") {
        let data = map.entry("data").or_insert_with(|| json!({}));
        for (k, v) in string_data {
            let text = v.as_str().unwrap_or_default();
            data[k] = json!(STANDARD.encode(text));
        }
    }
    if let Some(Value::Object(data)) = map.get("data") {
        for (k, v) in data {
            let ok = v.as_str().is_some_and(|s| STANDARD.decode(s).is_ok());
            if !ok {
                return Err(ApiError::bad_request(format!(
                    "Secret in version \"v1\" cannot be handled as a Secret: illegal base64 data in data.{k}"
                )));
            }
        }
    }
    if !map.get("type").is_some_and(Value::is_string) {
        map.insert("type".into(), json!("Opaque"));
    }
    Ok(())
}

/// The object without the fields the server manages, to tell a real change from a no-op.
fn content(obj: &Value) -> Value {
    let mut c = obj.clone();
    if let Some(meta) = c["metadata"].as_object_mut() {
        meta.remove("resourceVersion");
        meta.remove("generation");
    }
    c
}

/// Whether anything outside `metadata` and `status` differs (what bumps `generation`).
fn spec_changed(a: &Value, b: &Value) -> bool {
    let strip = |v: &Value| {
        let mut v = v.clone();
        if let Some(m) = v.as_object_mut() {
            m.remove("metadata");
            m.remove("status");
        }
        v
    };
    strip(a) != strip(b)
}

impl Inner {
    fn record(&mut self, kind: &'static str, rt: &'static ResourceType, object: &Value) {
        let namespace = object["metadata"]["namespace"].as_str().map(String::from);
        self.history.push_back(Event {
            rv: self.rv,
            kind,
            rt,
            namespace,
            object: object.clone(),
        });
        while self.history.len() > HISTORY_LIMIT {
            if let Some(old) = self.history.pop_front() {
                self.oldest = old.rv;
            }
        }
    }

    fn insert_new(
        &mut self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        normalize(rt, ns, &mut obj)?;
        let meta = &mut obj["metadata"];
        let mut name = object_name_of_meta(meta);
        if name.is_empty() {
            match meta["generateName"].as_str() {
                Some(prefix) if !prefix.is_empty() => {
                    name = format!("{prefix}{}", random_suffix());
                    meta["name"] = json!(name);
                }
                _ => {
                    return Err(ApiError::invalid(
                        rt,
                        "",
                        "metadata.name",
                        "Required value: name or generateName is required",
                    ));
                }
            }
        }
        if !valid_name(&name) {
            return Err(ApiError::invalid(
                rt,
                &name,
                "metadata.name",
                &format!(
                    "Invalid value: \"{name}\": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character"
                ),
            ));
        }
        let k = key(rt, ns.filter(|_| rt.namespaced), &name);
        if self.objects.contains_key(&k) {
            return Err(ApiError::already_exists(rt, &name));
        }
        self.rv += 1;
        let meta = &mut obj["metadata"];
        meta["uid"] = json!(random_uid());
        meta["resourceVersion"] = json!(self.rv.to_string());
        meta["creationTimestamp"] = json!(rfc3339_now());
        meta["generation"] = json!(1);
        self.record("ADDED", rt, &obj);
        self.objects.insert(k, obj.clone());
        Ok(obj)
    }

    fn replace_existing(
        &mut self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        mut obj: Value,
    ) -> Result<Value, ApiError> {
        let k = key(rt, ns.filter(|_| rt.namespaced), name);
        let Some(prev) = self.objects.get(&k).cloned() else {
            return Err(ApiError::not_found(rt, name));
        };
        normalize(rt, ns, &mut obj)?;
        let body_name = object_name(&obj).to_string();
        if body_name.is_empty() {
            obj["metadata"]["name"] = json!(name);
        } else if body_name != name {
            return Err(ApiError::bad_request(format!(
                "the name of the object ({body_name}) does not match the name on the URL ({name})"
            )));
        }
        if let Some(rv) = rv_of(&obj)
            && Some(rv) != rv_of(&prev)
        {
            return Err(ApiError::conflict(rt, name));
        }
        for field in ["uid", "creationTimestamp", "generation"] {
            obj["metadata"][field] = prev["metadata"][field].clone();
        }
        if content(&obj) == content(&prev) {
            return Ok(prev);
        }
        if spec_changed(&obj, &prev) {
            let generation = prev["metadata"]["generation"].as_i64().unwrap_or(0) + 1;
            obj["metadata"]["generation"] = json!(generation);
        }
        self.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(self.rv.to_string());
        self.record("MODIFIED", rt, &obj);
        self.objects.insert(k, obj.clone());
        Ok(obj)
    }
}

fn object_name_of_meta(meta: &Value) -> String {
    meta["name"].as_str().unwrap_or_default().to_string()
}

impl Store {
    pub(super) fn new() -> Self {
        let (changed, _) = tokio::sync::watch::channel(0);
        Self {
            inner: Mutex::new(Inner::default()),
            changed,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data (every write is one insert).
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn notify(&self, rv: u64) {
        self.changed.send_replace(rv);
    }

    /// Wakes on every committed change (the value is the new resourceVersion).
    pub(super) fn subscribe(&self) -> tokio::sync::watch::Receiver<u64> {
        self.changed.subscribe()
    }

    /// POST: a new object (409 AlreadyExists if the name is taken).
    pub(super) fn create(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let out = inner.insert_new(rt, ns, obj)?;
        let rv = inner.rv;
        drop(inner);
        self.notify(rv);
        Ok(out)
    }

    /// GET one object.
    pub(super) fn get(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        self.lock()
            .objects
            .get(&key(rt, ns.filter(|_| rt.namespaced), name))
            .cloned()
            .ok_or_else(|| ApiError::not_found(rt, name))
    }

    /// PUT: replaces the object; a `metadata.resourceVersion` in `obj` must be the current one.
    pub(super) fn update(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        obj: Value,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let out = inner.replace_existing(rt, ns, name, obj)?;
        let rv = inner.rv;
        drop(inner);
        self.notify(rv);
        Ok(out)
    }

    /// Read-modify-write under one lock (PATCH): `change` gets the current object, or `None`
    /// when it does not exist, and returns the new one; `create_if_absent` decides between
    /// 404 and creating. Returns the object and whether it was created.
    pub(super) fn modify(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
        create_if_absent: bool,
        change: impl FnOnce(Option<&Value>) -> Result<Value, ApiError>,
    ) -> Result<(Value, bool), ApiError> {
        let mut inner = self.lock();
        let current = inner
            .objects
            .get(&key(rt, ns.filter(|_| rt.namespaced), name))
            .cloned();
        let out = match current {
            Some(cur) => {
                let new = change(Some(&cur))?;
                (inner.replace_existing(rt, ns, name, new)?, false)
            }
            None if create_if_absent => {
                let mut new = change(None)?;
                if object_name(&new) != name {
                    return Err(ApiError::bad_request(format!(
                        "the name of the object ({}) does not match the name on the URL ({name})",
                        object_name(&new)
                    )));
                }
                if let Some(meta) = new["metadata"].as_object_mut() {
                    meta.remove("resourceVersion");
                }
                (inner.insert_new(rt, ns, new)?, true)
            }
            None => return Err(ApiError::not_found(rt, name)),
        };
        let rv = inner.rv;
        drop(inner);
        self.notify(rv);
        Ok(out)
    }

    /// DELETE: removes the object and returns it as it was.
    pub(super) fn delete(
        &self,
        rt: &'static ResourceType,
        ns: Option<&str>,
        name: &str,
    ) -> Result<Value, ApiError> {
        let mut inner = self.lock();
        let Some(mut obj) = inner
            .objects
            .remove(&key(rt, ns.filter(|_| rt.namespaced), name))
        else {
            return Err(ApiError::not_found(rt, name));
        };
        inner.rv += 1;
        obj["metadata"]["resourceVersion"] = json!(inner.rv.to_string());
        inner.record("DELETED", rt, &obj);
        let rv = inner.rv;
        drop(inner);
        self.notify(rv);
        Ok(obj)
    }

    /// Every object of `rt` (in `ns`, or in all namespaces when `None`), in key order, and
    /// the store's resourceVersion at that moment.
    pub(super) fn list(&self, rt: &'static ResourceType, ns: Option<&str>) -> (Vec<Value>, u64) {
        let inner = self.lock();
        let items = inner
            .objects
            .iter()
            .filter(|((g, p, n, _), _)| {
                *g == rt.group && *p == rt.plural && ns.is_none_or(|ns| ns == n)
            })
            .map(|(_, v)| v.clone())
            .collect();
        (items, inner.rv)
    }

    /// Events after `rv` (all types) and the current resourceVersion; 410 Expired when
    /// history no longer reaches back to `rv`.
    pub(super) fn events_after(&self, rv: u64) -> Result<(Vec<Event>, u64), ApiError> {
        let inner = self.lock();
        if rv < inner.oldest {
            return Err(ApiError::expired(rv, inner.oldest + 1));
        }
        let events = inner
            .history
            .iter()
            .filter(|e| e.rv > rv)
            .cloned()
            .collect();
        Ok((events, inner.rv))
    }

    /// The current resourceVersion.
    pub(super) fn current_rv(&self) -> u64 {
        self.lock().rv
    }

    /// Forgets the event history and moves the resourceVersion on by one (as if other writes
    /// had happened), so that every resourceVersion handed out so far is too old: watches from
    /// one, open ones included, get 410 Expired, and a re-list yields one that works.
    pub(super) fn compact(&self) {
        let mut inner = self.lock();
        inner.rv += 1;
        inner.history.clear();
        inner.oldest = inner.rv;
        let rv = inner.rv;
        drop(inner);
        self.notify(rv);
    }
}

#[cfg(test)]
mod tests {
    use super::super::resources::find;
    use super::*;

    fn secrets() -> &'static ResourceType {
        find("", "v1", "secrets").unwrap()
    }

    #[test]
    fn create_update_conflict_and_history() {
        let store = Store::new();
        let rt = secrets();
        let a = store
            .create(
                rt,
                Some("ns"),
                json!({"metadata": {"name": "a"}, "stringData": {"k": "v"}}),
            )
            .unwrap();
        assert_eq!(a["metadata"]["resourceVersion"], "1");
        assert_eq!(a["data"]["k"], "dg==");
        assert_eq!(a["type"], "Opaque");
        assert_eq!(a["metadata"]["namespace"], "ns");
        let e = store
            .create(rt, Some("ns"), json!({"metadata": {"name": "a"}}))
            .unwrap_err();
        assert_eq!((e.code, e.reason), (409, "AlreadyExists"));

        let mut changed = a.clone();
        changed["data"]["k"] = json!("dw==");
        let b = store.update(rt, Some("ns"), "a", changed.clone()).unwrap();
        assert_eq!(b["metadata"]["resourceVersion"], "2");
        assert_eq!(b["metadata"]["uid"], a["metadata"]["uid"]);
        // The same body again carries the stale resourceVersion "1".
        let e = store.update(rt, Some("ns"), "a", changed).unwrap_err();
        assert_eq!((e.code, e.reason), (409, "Conflict"));
        // A no-op update keeps the resourceVersion.
        let same = store.update(rt, Some("ns"), "a", b.clone()).unwrap();
        assert_eq!(same["metadata"]["resourceVersion"], "2");

        store.delete(rt, Some("ns"), "a").unwrap();
        let (events, rv) = store.events_after(0).unwrap();
        let kinds: Vec<&str> = events.iter().map(|e| e.kind).collect();
        assert_eq!(kinds, ["ADDED", "MODIFIED", "DELETED"]);
        assert_eq!(rv, 3);
        store.compact();
        assert_eq!(store.events_after(1).unwrap_err().code, 410);
        assert_eq!(store.events_after(3).unwrap_err().code, 410);
        assert_eq!(store.current_rv(), 4);
        assert!(store.events_after(4).unwrap().0.is_empty());
    }

    #[test]
    fn rejects_bad_names_and_base64() {
        let store = Store::new();
        let e = store
            .create(
                secrets(),
                Some("ns"),
                json!({"metadata": {"name": "Bad_Name"}}),
            )
            .unwrap_err();
        assert_eq!(e.code, 422);
        let e = store
            .create(
                secrets(),
                Some("ns"),
                json!({"metadata": {"name": "x"}, "data": {"k": "not base64!"}}),
            )
            .unwrap_err();
        assert_eq!(e.code, 400);
        assert!(e.message.contains("data.k"), "{}", e.message);
    }
}
