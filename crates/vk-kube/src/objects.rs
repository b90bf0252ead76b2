//! The Kubernetes objects this crate reads and writes, with exactly the fields it uses. Objects
//! that are read, changed and written back keep every other field in `rest`, so an update
//! never drops what another controller set.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

/// Bytes carried as base64 text (`Secret.data`, `caBundle`).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub(crate) struct Base64(pub(crate) Vec<u8>);

impl Serialize for Base64 {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64 {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let text = Option::<String>::deserialize(d)?.unwrap_or_default();
        base64::engine::general_purpose::STANDARD
            .decode(text.as_bytes())
            .map(Base64)
            .map_err(serde::de::Error::custom)
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ObjectMeta {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) name: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) namespace: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) resource_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) uid: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) deletion_timestamp: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) owner_references: Option<Vec<OwnerReference>>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

impl ObjectMeta {
    pub(crate) fn named(name: &str, namespace: &str) -> Self {
        Self {
            name: Some(name.to_owned()),
            namespace: Some(namespace.to_owned()),
            ..Self::default()
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct OwnerReference {
    #[serde(default)]
    pub(crate) kind: String,
    #[serde(default)]
    pub(crate) name: String,
    #[serde(default)]
    pub(crate) uid: String,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// `v1` Secret.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Secret {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) data: Option<BTreeMap<String, Base64>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) string_data: Option<Map<String, Value>>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// `coordination.k8s.io/v1` Lease.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Lease {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) api_version: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) kind: Option<String>,
    #[serde(default)]
    pub(crate) metadata: ObjectMeta,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) spec: Option<LeaseSpec>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// The Lease's spec; `acquireTime` and `renewTime` are `metav1.MicroTime` text, kept as read.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct LeaseSpec {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) holder_identity: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lease_duration_seconds: Option<i32>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) acquire_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) renew_time: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) lease_transitions: Option<i32>,
    #[serde(flatten)]
    pub(crate) rest: Map<String, Value>,
}

/// Read-only: the fields of a ConfigMap upstream's lock check uses.
#[derive(Debug, Deserialize)]
pub(crate) struct ConfigMap {
    #[serde(default)]
    pub(crate) metadata: ObjectMeta,
}

/// Read-only: the fields of a Pod upstream's lock check uses.
#[derive(Debug, Deserialize)]
pub(crate) struct Pod {
    #[serde(default)]
    pub(crate) metadata: ObjectMeta,
    #[serde(default)]
    pub(crate) status: Option<PodStatus>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct PodStatus {
    #[serde(default)]
    pub(crate) phase: Option<String>,
}

/// Read-only: `admissionregistration.k8s.io/v1` MutatingWebhookConfiguration (it is changed
/// with a JSON patch, never written whole).
#[derive(Debug, Deserialize)]
pub(crate) struct MutatingWebhookConfiguration {
    #[serde(default)]
    pub(crate) metadata: ObjectMeta,
    #[serde(default)]
    pub(crate) webhooks: Option<Vec<MutatingWebhook>>,
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct MutatingWebhook {
    #[serde(default)]
    pub(crate) client_config: WebhookClientConfig,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct WebhookClientConfig {
    #[serde(default)]
    pub(crate) ca_bundle: Option<Base64>,
}

/// A list answer: its items and the version to watch from.
#[derive(Debug, Deserialize)]
pub(crate) struct ObjectList<T> {
    #[serde(default)]
    pub(crate) metadata: ListMeta,
    #[serde(default = "Vec::new")]
    pub(crate) items: Vec<T>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct ListMeta {
    #[serde(default)]
    pub(crate) resource_version: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn a_read_secret_is_written_back_with_every_field_it_had() {
        let read = json!({
            "apiVersion": "v1", "kind": "Secret", "type": "Opaque", "immutable": false,
            "metadata": {"name": "s", "namespace": "ns", "resourceVersion": "7",
                "labels": {"app": "x"}, "annotations": {"a": "b"}, "managedFields": [{"manager": "m"}],
                "ownerReferences": [{"apiVersion": "v1", "kind": "Pod", "name": "p", "uid": "u", "controller": true}]},
            "data": {"cert": "Y2VydA=="},
        });
        let mut secret: Secret = serde_json::from_value(read.clone()).expect("secret");
        assert_eq!(secret.data.as_ref().expect("data")["cert"].0, b"cert");
        secret
            .data
            .as_mut()
            .expect("data")
            .insert("key".to_owned(), Base64(b"key".to_vec()));
        let mut want = read;
        want["data"]["key"] = json!("a2V5");
        assert_eq!(serde_json::to_value(&secret).expect("json"), want);
    }

    #[test]
    fn a_lease_keeps_spec_fields_it_does_not_know() {
        let read = json!({"metadata": {"name": "l"}, "spec": {"holderIdentity": "a",
            "preferredHolder": "b", "strategy": "OldestEmulationVersion", "renewTime": "2026-01-01T00:00:00.000000Z"}});
        let lease: Lease = serde_json::from_value(read.clone()).expect("lease");
        assert_eq!(serde_json::to_value(&lease).expect("json"), read);
    }
}
