//! AdmissionReview (admission.k8s.io/v1) requests as the API server sends them, and applying
//! the JSON Patch a webhook answers with.

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::{Value, json};

/// An `AdmissionReview` v1 request for creating `pod` (as the API server sends for a pod
/// CREATE: uid, kind/resource, namespace, operation, userInfo, object, dryRun, options).
pub fn pod_create_review(pod: &Value, uid: &str) -> Value {
    let namespace = pod["metadata"]["namespace"].as_str().unwrap_or("default");
    let name = pod["metadata"]["name"].as_str().unwrap_or_default();
    json!({
        "kind": "AdmissionReview",
        "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
            "requestResource": {"group": "", "version": "v1", "resource": "pods"},
            "name": name,
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {
                "username": "system:serviceaccount:kube-system:replicaset-controller",
                "uid": "4a1e8f3c-0000-4000-8000-000000000001",
                "groups": ["system:serviceaccounts", "system:serviceaccounts:kube-system", "system:authenticated"]
            },
            "object": pod,
            "oldObject": null,
            "dryRun": false,
            "options": {"kind": "CreateOptions", "apiVersion": "meta.k8s.io/v1"}
        }
    })
}

/// Checks an `AdmissionReview` response for request `uid` (allowed, uid echoed) and returns
/// the decoded JSON Patch (an empty array when the response carries no patch).
pub fn response_patch(review: &Value, uid: &str) -> Result<Value> {
    if review["apiVersion"] != "admission.k8s.io/v1" || review["kind"] != "AdmissionReview" {
        bail!("not an admission.k8s.io/v1 AdmissionReview: {review}");
    }
    let resp = &review["response"];
    if resp["uid"] != uid {
        bail!(
            "response uid {} does not echo request uid {uid:?}",
            resp["uid"]
        );
    }
    if resp["allowed"] != true {
        bail!("pod was not allowed: {}", resp["status"]);
    }
    let Some(patch_b64) = resp["patch"].as_str() else {
        return Ok(json!([]));
    };
    if resp["patchType"] != "JSONPatch" {
        bail!("patchType is {} (want \"JSONPatch\")", resp["patchType"]);
    }
    let bytes = STANDARD
        .decode(patch_b64)
        .context("response.patch is not standard base64")?;
    serde_json::from_slice(&bytes).context("response.patch is not JSON")
}

/// Applies a JSON Patch (RFC 6902) to `doc`, returning the patched document.
pub fn apply_patch(doc: &Value, patch: &Value) -> Result<Value> {
    let patch: json_patch::Patch =
        serde_json::from_value(patch.clone()).context("not a JSON Patch document")?;
    let mut out = doc.clone();
    json_patch::patch(&mut out, &patch).map_err(|e| anyhow!("applying the JSON Patch: {e}"))?;
    Ok(out)
}

/// The webhook's answer applied to `pod`: checks the response and applies its patch.
pub fn mutate_with_response(pod: &Value, review: &Value, uid: &str) -> Result<Value> {
    apply_patch(pod, &response_patch(review, uid)?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn applies_a_response_patch() {
        let pod = json!({"metadata": {"name": "p"}, "spec": {"containers": []}});
        let patch =
            json!([{"op": "add", "path": "/spec/initContainers", "value": [{"name": "i"}]}]);
        let review = json!({
            "apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview",
            "response": {"uid": "u1", "allowed": true, "patchType": "JSONPatch",
                         "patch": STANDARD.encode(patch.to_string())}
        });
        let out = mutate_with_response(&pod, &review, "u1").unwrap();
        assert_eq!(out["spec"]["initContainers"][0]["name"], "i");
        assert!(response_patch(&review, "other").is_err());
        let req = pod_create_review(&pod, "u1");
        assert_eq!(req["request"]["object"], pod);
    }
}
