//! A read-only view of the parts of the admitted pod the engine needs, decoded with Go
//! `encoding/json` leniency: field names match case-insensitively (exact match preferred),
//! `null` means absent, unknown fields are ignored.

use std::cmp::Ordering;

use crate::keycmp;

use crate::jsontree::Json;

/// Looks up an object field the way Go's decoder does.
pub(crate) fn field<'a>(v: &'a Json<'a>, key: &str) -> Option<&'a Json<'a>> {
    let obj = v.as_object()?;
    // Pod objects are small: comparing keys in order is cheaper than any index (keys are
    // unique, so the exact match is the one a map would find).
    let exact = obj.iter().find(|(k, _)| *k == key).map(|(_, v)| v);
    let found = exact.or_else(|| {
        obj.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(key))
            .map(|(_, v)| v)
    })?;
    (!found.is_null()).then_some(found)
}

pub(crate) fn str_field<'a>(v: &'a Json<'a>, key: &str) -> &'a str {
    field(v, key).and_then(Json::as_str).unwrap_or("")
}

pub(crate) fn array_field<'a>(v: &'a Json<'a>, key: &str) -> &'a [Json<'a>] {
    field(v, key).and_then(Json::as_array).unwrap_or(&[])
}

/// A volume mount as seen in the request.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Mount<'a> {
    pub(crate) name: &'a str,
    pub(crate) mount_path: &'a str,
    pub(crate) raw: &'a Json<'a>,
}

/// A container of the request pod.
#[derive(Debug, Clone)]
pub(crate) struct Container<'a> {
    pub(crate) name: &'a str,
    pub(crate) mounts: Vec<Mount<'a>>,
    pub(crate) raw: &'a Json<'a>,
}

impl<'a> Container<'a> {
    fn new(raw: &'a Json<'a>) -> Self {
        let mounts = array_field(raw, "volumeMounts")
            .iter()
            .map(|m| Mount {
                name: str_field(m, "name"),
                mount_path: str_field(m, "mountPath"),
                raw: m,
            })
            .collect();
        Self {
            name: str_field(raw, "name"),
            mounts,
            raw,
        }
    }

    /// `env` entries as (name, literal value).
    pub(crate) fn env(&self) -> impl Iterator<Item = (&'a str, &'a str)> {
        array_field(self.raw, "env")
            .iter()
            .map(|e| (str_field(e, "name"), str_field(e, "value")))
    }

    /// `securityContext.runAsUser`: `None` when there is no security context, `Some(None)` when it
    /// has no `runAsUser`.
    pub(crate) fn run_as_user(&self) -> Option<Option<i64>> {
        let sc = field(self.raw, "securityContext")?;
        Some(field(sc, "runAsUser").and_then(Json::as_i64))
    }
}

/// Compares `key` with the concatenation `head + tail` without building it.
fn cmp_concat(key: &str, head: &str, tail: &str) -> Ordering {
    let key = key.as_bytes();
    let split = head.len().min(key.len());
    let (key_head, key_tail) = key.split_at(split);
    match keycmp::cmp(key_head, head.as_bytes()) {
        Ordering::Equal if split < head.len() => Ordering::Less,
        Ordering::Equal => keycmp::cmp(key_tail, tail.as_bytes()),
        other => other,
    }
}

/// The pod's own annotations, borrowed from the request and sorted by key. Lookups are binary
/// searches; nothing is copied, because the engine only ever reads them.
#[derive(Debug, Default)]
pub(crate) struct PodAnnotations<'a> {
    sorted: Vec<(&'a str, &'a str)>,
}

impl<'a> PodAnnotations<'a> {
    pub(crate) fn get(&self, key: &str) -> Option<&'a str> {
        self.get_joined(key, "")
    }

    /// The value of the key `head + tail` (e.g. a per-secret prefix and a secret name).
    pub(crate) fn get_joined(&self, head: &str, tail: &str) -> Option<&'a str> {
        let i = self
            .sorted
            .binary_search_by(|(k, _)| cmp_concat(k, head, tail))
            .ok()?;
        self.sorted.get(i).map(|(_, v)| *v)
    }

    pub(crate) fn contains_key(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    /// All (key, value) pairs in ascending key order.
    pub(crate) fn iter(&self) -> impl Iterator<Item = (&'a str, &'a str)> + '_ {
        self.sorted.iter().copied()
    }
}

/// The decoded pod.
#[derive(Debug)]
pub(crate) struct Pod<'a> {
    pub(crate) name: &'a str,
    pub(crate) annotations: PodAnnotations<'a>,
    pub(crate) phase: &'a str,
    pub(crate) containers: Vec<Container<'a>>,
    pub(crate) init_containers: Vec<Container<'a>>,
    pub(crate) volumes: &'a [Json<'a>],
    pub(crate) share_process_namespace: Option<bool>,
}

impl<'a> Pod<'a> {
    /// Decodes the AdmissionRequest object; errors read like Go's `json.Unmarshal` into a `v1.Pod`.
    /// Takes a tree, or (tests) a `Json::from_value` whose tree is built on the spot.
    pub(crate) fn decode(v: impl Into<&'a Json<'a>>) -> Result<Self, String> {
        let v: &'a Json<'a> = v.into();
        if !v.is_object() {
            return Err(format!(
                "json: cannot unmarshal {} into Go value of type v1.Pod",
                v.kind()
            ));
        }
        let empty = Json::Object(&[]);
        let meta = field(v, "metadata");
        let mut annotations = PodAnnotations::default();
        if let Some(meta) = meta {
            if !meta.is_object() {
                return Err(type_err(meta, "Pod.metadata", "v1.ObjectMeta"));
            }
            if let Some(ann) = field(meta, "annotations") {
                let Some(obj) = ann.as_object() else {
                    return Err(type_err(
                        ann,
                        "ObjectMeta.metadata.annotations",
                        "map[string]string",
                    ));
                };
                annotations.sorted.reserve_exact(obj.len());
                for (k, val) in obj {
                    match val {
                        Json::String(s) => annotations.sorted.push((k, s)),
                        // Go stores a null map value as the empty string.
                        Json::Null => annotations.sorted.push((k, "")),
                        other => {
                            return Err(type_err(
                                other,
                                "ObjectMeta.metadata.annotations",
                                "string",
                            ));
                        }
                    }
                }
                // Keys of a JSON object are unique, so an unstable sort is deterministic.
                annotations
                    .sorted
                    .sort_unstable_by(|a, b| keycmp::cmp(a.0.as_bytes(), b.0.as_bytes()));
            }
        }
        let spec = field(v, "spec").unwrap_or(&empty);
        let status = field(v, "status");
        let containers: Vec<Container<'a>> = match field(v, "spec") {
            Some(spec) => array_field(spec, "containers")
                .iter()
                .map(Container::new)
                .collect(),
            None => Vec::new(),
        };
        let init_containers = match field(v, "spec") {
            Some(spec) => array_field(spec, "initContainers")
                .iter()
                .map(Container::new)
                .collect(),
            None => Vec::new(),
        };
        let share_process_namespace = field(spec, "shareProcessNamespace").and_then(Json::as_bool);
        let volumes = match field(v, "spec") {
            Some(spec) => array_field(spec, "volumes"),
            None => &[],
        };
        Ok(Self {
            name: meta.map_or("", |m| str_field(m, "name")),
            annotations,
            phase: status.map_or("", |s| str_field(s, "phase")),
            containers,
            init_containers,
            volumes,
            share_process_namespace,
        })
    }

    pub(crate) fn volume(&self, name: &str) -> Option<&'a Json<'a>> {
        self.volumes.iter().find(|v| str_field(v, "name") == name)
    }
}

fn type_err(v: &Json<'_>, field: &str, go_type: &str) -> String {
    format!(
        "json: cannot unmarshal {} into Go struct field {field} of type {go_type}",
        v.kind()
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn decodes_case_insensitively_and_rejects_bad_annotations() {
        let v = json!({"Metadata": {"name": "p", "annotations": {"a": "b"}}, "spec": {"Containers": [{"name": "c"}]}});
        let v = Json::from_value(&v);
        let pod = Pod::decode(&v).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(pod.name, "p");
        assert_eq!(pod.containers.len(), 1);
        assert_eq!(pod.annotations.get("a"), Some("b"));

        let bad = json!({"metadata": {"annotations": {"a": 1}}});
        assert_eq!(
            Pod::decode(&Json::from_value(&bad)).err().as_deref(),
            Some(
                "json: cannot unmarshal number into Go struct field ObjectMeta.metadata.annotations of type string"
            )
        );
        assert_eq!(
            Pod::decode(&Json::from_value(&json!("x"))).err().as_deref(),
            Some("json: cannot unmarshal string into Go value of type v1.Pod")
        );
    }

    #[test]
    fn sorted_lookups_by_whole_and_joined_key() {
        let v = json!({"metadata": {"annotations": {"p-b": "2", "p-a": "1", "p": null, "q": "3"}}});
        let v = Json::from_value(&v);
        let pod = Pod::decode(&v).unwrap_or_else(|e| panic!("{e}"));
        let ann = &pod.annotations;
        let keys: Vec<&str> = ann.iter().map(|(k, _)| k).collect();
        assert_eq!(keys, ["p", "p-a", "p-b", "q"]);
        assert_eq!(ann.get("p"), Some(""));
        assert_eq!(ann.get_joined("p-", "b"), Some("2"));
        assert_eq!(ann.get_joined("p", "-a"), Some("1"));
        assert_eq!(ann.get_joined("", "q"), Some("3"));
        assert_eq!(ann.get_joined("p-", ""), None);
        assert_eq!(ann.get_joined("p-a", "x"), None);
        assert!(!ann.contains_key("r"));
    }
}
