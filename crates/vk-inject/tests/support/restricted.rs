//! A restricted Pod Security Standard check (Kubernetes "restricted" profile, v1.29+ rules) of
//! one container, with the pod-level `securityContext` as fallback where the standard allows it.
//! Returns every violation, so a failing test names them.

use serde_json::Value;

pub(crate) fn violations(pod: &Value, container: &Value) -> Vec<String> {
    let name = container["name"].as_str().unwrap_or("?");
    let sc = &container["securityContext"];
    let pod_sc = &pod["spec"]["securityContext"];
    let mut out = Vec::new();
    if sc["privileged"].as_bool() == Some(true) {
        out.push(format!("{name}: privileged"));
    }
    if sc["allowPrivilegeEscalation"].as_bool() != Some(false) {
        out.push(format!("{name}: allowPrivilegeEscalation is not false"));
    }
    let drops_all = sc["capabilities"]["drop"]
        .as_array()
        .is_some_and(|d| d.iter().any(|c| c == "ALL"));
    if !drops_all {
        out.push(format!("{name}: capabilities.drop lacks ALL"));
    }
    for add in sc["capabilities"]["add"].as_array().into_iter().flatten() {
        if add != "NET_BIND_SERVICE" {
            out.push(format!("{name}: adds capability {add}"));
        }
    }
    let non_root = sc["runAsNonRoot"]
        .as_bool()
        .or_else(|| pod_sc["runAsNonRoot"].as_bool());
    if non_root != Some(true) {
        out.push(format!("{name}: runAsNonRoot is not true"));
    }
    let uid = sc["runAsUser"]
        .as_i64()
        .or_else(|| pod_sc["runAsUser"].as_i64());
    if uid == Some(0) {
        out.push(format!("{name}: runAsUser is 0"));
    }
    let seccomp = sc["seccompProfile"]["type"]
        .as_str()
        .or_else(|| pod_sc["seccompProfile"]["type"].as_str());
    if !matches!(seccomp, Some("RuntimeDefault" | "Localhost")) {
        out.push(format!(
            "{name}: seccompProfile.type is {seccomp:?}, not RuntimeDefault or Localhost"
        ));
    }
    for port in container["ports"].as_array().into_iter().flatten() {
        if port["hostPort"].as_i64().unwrap_or(0) != 0 {
            out.push(format!("{name}: hostPort"));
        }
    }
    out
}

/// Volume types the restricted profile allows.
pub(crate) fn volume_violations(pod: &Value) -> Vec<String> {
    const ALLOWED: &[&str] = &[
        "configMap",
        "csi",
        "downwardAPI",
        "emptyDir",
        "ephemeral",
        "persistentVolumeClaim",
        "projected",
        "secret",
    ];
    let mut out = Vec::new();
    for v in pod["spec"]["volumes"].as_array().into_iter().flatten() {
        let kinds: Vec<&String> = v
            .as_object()
            .into_iter()
            .flat_map(|o| o.keys())
            .filter(|k| *k != "name")
            .collect();
        for k in kinds {
            if !ALLOWED.contains(&k.as_str()) {
                out.push(format!("volume {}: type {k}", v["name"]));
            }
        }
    }
    out
}
