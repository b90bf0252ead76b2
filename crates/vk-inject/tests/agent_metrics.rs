//! `-agent-metrics` / annotation `agent-metrics` (not upstream): the sidecar gets the
//! container port `agent-metrics` (9102) and both agent configs a metrics-only listener with
//! Prometheus telemetry; off, the patch is exactly what it was without the feature.

use serde_json::{Value, json};
use vk_inject::{
    AGENT_METRICS_PORT, AGENT_METRICS_PORT_NAME, Decision, DenyStage, InjectorSettings, mutate,
    patch_to_json,
};

fn pod(extra: &[(&str, &str)]) -> Value {
    let mut ann = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "app",
        "vault.hashicorp.com/agent-inject-secret-db": "database/creds/app",
    });
    for (k, v) in extra {
        ann[format!("vault.hashicorp.com/{k}")] = json!(v);
    }
    json!({
        "metadata": {"name": "app", "annotations": ann},
        "spec": {"containers": [{
            "name": "app",
            "image": "app:1",
            "volumeMounts": [{
                "name": "kube-api-access",
                "readOnly": true,
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"
            }]
        }]}
    })
}

fn settings(agent_metrics: bool) -> InjectorSettings {
    InjectorSettings {
        vault_address: "https://vault:8200".to_owned(),
        agent_metrics,
        ..InjectorSettings::default()
    }
}

fn patch(pod: &Value, settings: &InjectorSettings) -> Value {
    match mutate(pod, "default", settings) {
        Decision::Inject { patch, .. } => {
            serde_json::from_slice(&patch_to_json(&patch)).expect("patch is JSON")
        }
        other => panic!("expected an injection, got {other:?}"),
    }
}

/// The container a patch operation adds under `prefix` (`/spec/containers/-` or the init
/// containers' array).
fn container<'a>(patch: &'a Value, prefix: &str) -> &'a Value {
    patch
        .as_array()
        .into_iter()
        .flatten()
        .find(|op| op["path"].as_str().is_some_and(|p| p.starts_with(prefix)))
        .map(|op| match &op["value"] {
            Value::Array(items) => &items[0],
            v => v,
        })
        .unwrap_or_else(|| panic!("no {prefix} in {patch}"))
}

fn config(container: &Value) -> Value {
    use base64::Engine as _;
    let b64 = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "VAULT_CONFIG")
        .and_then(|e| e["value"].as_str())
        .expect("VAULT_CONFIG");
    serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(b64)
            .expect("base64"),
    )
    .expect("config JSON")
}

#[test]
fn flag_turns_metrics_on_and_the_annotation_overrides_it() {
    for (flag, annotation, on) in [
        (true, None, true),
        (false, Some("true"), true),
        (true, Some("false"), false),
        (false, None, false),
    ] {
        let extra: Vec<(&str, &str)> = annotation
            .map(|a| ("agent-metrics", a))
            .into_iter()
            .collect();
        let p = patch(&pod(&extra), &settings(flag));
        let sidecar = container(&p, "/spec/containers/-");
        let init = container(&p, "/spec/initContainers");
        assert_eq!(sidecar["name"], "vault-agent");
        assert_eq!(init["name"], "vault-agent-init");
        if on {
            assert_eq!(
                sidecar["ports"],
                json!([{"name": AGENT_METRICS_PORT_NAME, "containerPort": AGENT_METRICS_PORT, "protocol": "TCP"}]),
                "{sidecar}"
            );
            let cfg = config(sidecar);
            assert_eq!(
                cfg["listener"],
                json!([{"type": "tcp", "address": "0.0.0.0:9102", "tls_disable": true, "role": "metrics_only"}])
            );
            assert_eq!(cfg["telemetry"]["prometheus_retention_time"], "24h");
        } else {
            assert!(sidecar.get("ports").is_none(), "{sidecar}");
            let cfg = config(sidecar);
            assert!(
                cfg.get("listener").is_none() && cfg.get("telemetry").is_none(),
                "{cfg}"
            );
        }
        // The init container never gets the port (it exits before anyone scrapes).
        assert!(init.get("ports").is_none(), "{init}");
    }
}

#[test]
fn metrics_listener_joins_the_cache_listener() {
    let p = patch(
        &pod(&[
            ("agent-cache-enable", "true"),
            ("agent-pre-populate", "false"),
        ]),
        &settings(true),
    );
    let cfg = config(container(&p, "/spec/containers/-"));
    let listeners = cfg["listener"].as_array().expect("listeners");
    assert_eq!(listeners.len(), 2, "{cfg}");
    assert_eq!(listeners[0]["address"], "127.0.0.1:8200");
    assert_eq!(listeners[1]["role"], "metrics_only");
}

#[test]
fn off_by_default_the_patch_is_unchanged() {
    let base = patch(
        &pod(&[]),
        &InjectorSettings {
            vault_address: "https://vault:8200".to_owned(),
            ..InjectorSettings::default()
        },
    );
    let explicit_off = patch(&pod(&[]), &settings(false));
    assert_eq!(base, explicit_off);
    assert!(!base.to_string().contains("agent-metrics"));
}

#[test]
fn a_bad_value_is_denied_naming_the_annotation() {
    match mutate(
        &pod(&[("agent-metrics", "maybe")]),
        "default",
        &settings(false),
    ) {
        Decision::Deny(reason) => {
            assert_eq!(reason.stage, DenyStage::AgentConfig);
            assert!(
                reason.message.contains("vault.hashicorp.com/agent-metrics")
                    || reason.message.contains("\"agent-metrics\""),
                "{}",
                reason.message
            );
        }
        other => panic!("expected a denial, got {other:?}"),
    }
}
