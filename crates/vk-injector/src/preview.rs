//! Offline preview (`agent-inject render`): take the pods out of a manifest, do what the API
//! server does before calling webhooks (ServiceAccount admission), run the same mutation as the
//! webhook and apply the patch.

use serde::Deserialize as _;
use serde_json::{Value, json};
use vk_inject::{Decision, InjectorSettings};

/// Where the service-account token is mounted (and where `vk-inject` looks for it).
pub const SA_MOUNT_PATH: &str = "/var/run/secrets/kubernetes.io/serviceaccount";

/// A pod taken from a manifest document.
#[derive(Debug, Clone, PartialEq)]
pub struct ManifestPod {
    /// `Kind/name` of the document it came from, for messages.
    pub origin: String,
    pub namespace: String,
    pub pod: Value,
}

/// The preview of one pod.
#[derive(Debug, Clone, PartialEq)]
pub enum Rendered {
    /// Not injected; the pod as the API server would store it.
    Skipped(Value),
    /// Injected: the mutated pod, the JSON Patch bytes and the admission warnings the webhook
    /// would return.
    Injected {
        pod: Value,
        patch: Vec<u8>,
        warnings: Vec<String>,
    },
    /// Denied with upstream's message.
    Denied(String),
}

/// Reading the manifest or applying the patch failed.
#[derive(Debug, thiserror::Error)]
pub enum PreviewError {
    #[error("document {index} is not valid YAML or JSON")]
    Parse {
        index: usize,
        #[source]
        source: serde_norway::Error,
    },
    #[error(
        "no pod found: expected a Pod, Deployment, StatefulSet, DaemonSet, ReplicaSet, Job or CronJob (or a List of them)"
    )]
    NoPod,
    #[error("the webhook's patch is not a valid JSON Patch")]
    PatchDecode(#[source] serde_json::Error),
    #[error("the webhook's patch does not apply to {origin}")]
    PatchApply {
        origin: String,
        #[source]
        source: json_patch::PatchError,
    },
}

/// Every pod (or pod template) in a YAML/JSON text, possibly multi-document.
/// Namespace: the document's own, else `fallback_namespace`, else `default`.
pub fn pods_from_manifest(
    text: &str,
    fallback_namespace: &str,
) -> Result<Vec<ManifestPod>, PreviewError> {
    let mut pods = Vec::new();
    for (index, doc) in serde_norway::Deserializer::from_str(text).enumerate() {
        let value = Value::deserialize(doc).map_err(|source| PreviewError::Parse {
            index: index + 1,
            source,
        })?;
        collect(&value, fallback_namespace, &mut pods);
    }
    if pods.is_empty() {
        return Err(PreviewError::NoPod);
    }
    Ok(pods)
}

fn collect(doc: &Value, fallback_namespace: &str, out: &mut Vec<ManifestPod>) {
    let kind = doc["kind"].as_str().unwrap_or_default();
    let name = doc["metadata"]["name"].as_str().unwrap_or("unnamed");
    let namespace = match doc["metadata"]["namespace"].as_str() {
        Some(ns) if !ns.is_empty() => ns.to_owned(),
        _ if !fallback_namespace.is_empty() => fallback_namespace.to_owned(),
        _ => "default".to_owned(),
    };
    let template = match kind {
        "List" => {
            for item in doc["items"].as_array().into_iter().flatten() {
                collect(item, fallback_namespace, out);
            }
            return;
        }
        "Pod" => {
            let mut pod = doc.clone();
            pod["metadata"]["namespace"] = json!(namespace);
            out.push(ManifestPod {
                origin: format!("Pod/{name}"),
                namespace,
                pod,
            });
            return;
        }
        "Deployment" | "StatefulSet" | "DaemonSet" | "ReplicaSet" | "Job" => {
            &doc["spec"]["template"]
        }
        "CronJob" => &doc["spec"]["jobTemplate"]["spec"]["template"],
        _ => return,
    };
    if !template.is_object() {
        return;
    }
    let mut metadata = template
        .get("metadata")
        .cloned()
        .unwrap_or_else(|| json!({}));
    if !metadata.is_object() {
        metadata = json!({});
    }
    metadata["namespace"] = json!(namespace);
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": metadata,
        "spec": template.get("spec").cloned().unwrap_or_else(|| json!({})),
    });
    out.push(ManifestPod {
        origin: format!("{kind}/{name}"),
        namespace,
        pod,
    });
}

/// The ServiceAccount admission plugin's part: default `serviceAccountName`, and unless
/// `automountServiceAccountToken: false`, a projected `kube-api-access-xxxxx` volume mounted
/// read-only at [`SA_MOUNT_PATH`] in every container lacking a mount there.
pub fn simulate_service_account_admission(pod: &mut Value) {
    let Some(spec) = pod.get_mut("spec").and_then(Value::as_object_mut) else {
        return;
    };
    if spec
        .get("serviceAccountName")
        .and_then(Value::as_str)
        .unwrap_or_default()
        .is_empty()
    {
        spec.insert("serviceAccountName".into(), json!("default"));
    }
    if spec.get("automountServiceAccountToken") == Some(&Value::Bool(false)) {
        return;
    }
    let seed = format!("{}", spec.get("serviceAccountName").unwrap_or(&Value::Null));
    let name = format!("kube-api-access-{}", suffix(&seed));
    let mut mounted = false;
    for list in ["initContainers", "containers"] {
        for container in spec
            .get_mut(list)
            .and_then(Value::as_array_mut)
            .into_iter()
            .flatten()
        {
            let Some(container) = container.as_object_mut() else {
                continue;
            };
            let mounts = container.entry("volumeMounts").or_insert_with(|| json!([]));
            let Some(mounts) = mounts.as_array_mut() else {
                continue;
            };
            if mounts.iter().any(|m| m["mountPath"] == SA_MOUNT_PATH) {
                continue;
            }
            mounts.push(json!({"name": name, "readOnly": true, "mountPath": SA_MOUNT_PATH}));
            mounted = true;
        }
    }
    if !mounted {
        return;
    }
    let volume = json!({
        "name": name,
        "projected": {
            "sources": [
                {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
                {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
                {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
            ],
            "defaultMode": 420
        }
    });
    match spec.get_mut("volumes").and_then(Value::as_array_mut) {
        Some(volumes) => volumes.push(volume),
        None => {
            spec.insert("volumes".into(), json!([volume]));
        }
    }
}

/// Five characters from the API server's name alphabet, derived from `seed` so that previews
/// are reproducible (the API server picks them at random).
fn suffix(seed: &str) -> String {
    const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
    // FNV-1a: tiny, stable across platforms and releases.
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for b in seed.bytes() {
        hash = (hash ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
    }
    (0..5)
        .map(|i| {
            let idx = (hash >> (i * 8)) % ALPHABET.len() as u64;
            char::from(ALPHABET[idx as usize])
        })
        .collect()
}

/// Admit `source` the way the API server and then the webhook would.
pub fn render(source: &ManifestPod, settings: &InjectorSettings) -> Result<Rendered, PreviewError> {
    let mut pod = source.pod.clone();
    simulate_service_account_admission(&mut pod);
    match vk_inject::mutate(&pod, &source.namespace, settings) {
        Decision::Skip(_) => Ok(Rendered::Skipped(pod)),
        Decision::Deny(reason) => Ok(Rendered::Denied(reason.message)),
        Decision::Inject {
            patch, warnings, ..
        } => {
            let bytes = vk_inject::patch_to_json(&patch);
            let ops: json_patch::Patch =
                serde_json::from_slice(&bytes).map_err(PreviewError::PatchDecode)?;
            json_patch::patch(&mut pod, &ops.0).map_err(|err| PreviewError::PatchApply {
                origin: source.origin.clone(),
                source: err,
            })?;
            Ok(Rendered::Injected {
                pod,
                patch: bytes,
                warnings,
            })
        }
    }
}

#[cfg(test)]
mod tests;
