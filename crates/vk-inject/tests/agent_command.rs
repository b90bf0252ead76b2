//! The command style changes `command` and `args` of the injected containers and, on a
//! revoke-on-shutdown sidecar, its shell `preStop` hook (the native sidecar revokes by itself),
//! and nothing else: for a range of pods, the native and the shell patches are identical once
//! those fields are set aside (env, mounts, resources, securityContext, volumes, annotations).
//! The native args are `agent`, then `-config=…` in config-map mode, then `-revoke-on-exit
//! -revoke-grace=N` on a sidecar with revoke-on-shutdown.

use serde_json::{Value, json};
use vk_inject::{
    AgentCommandStyle, DEFAULT_AGENT_IMAGE, Decision, InjectorSettings, UPSTREAM_AGENT_IMAGE,
    mutate, patch_to_json,
};

fn pod(annotations: Value) -> Value {
    let mut ann = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "app",
        "vault.hashicorp.com/agent-inject-secret-db": "database/creds/app",
    });
    for (k, v) in annotations.as_object().into_iter().flatten() {
        ann[format!("vault.hashicorp.com/{k}")] = v.clone();
    }
    json!({
        "metadata": {"name": "app", "annotations": ann},
        "spec": {
            "containers": [{
                "name": "app",
                "image": "app:1",
                "volumeMounts": [{
                    "name": "kube-api-access",
                    "readOnly": true,
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"
                }]
            }]
        }
    })
}

fn patch(pod: &Value, image: &str, style: AgentCommandStyle) -> Value {
    let settings = InjectorSettings {
        vault_address: "https://vault:8200".to_owned(),
        vault_image: image.to_owned(),
        agent_command_style: style,
        // The credential handoff (our agent only) adds env, a volume and mounts: not a
        // command-style difference, covered by tests/cases/10-credential-handoff.yaml.
        credential_handoff: false,
        ..InjectorSettings::default()
    };
    match mutate(pod, "default", &settings) {
        Decision::Inject { patch, .. } => {
            serde_json::from_slice(&patch_to_json(&patch)).expect("patch is JSON")
        }
        other => panic!("expected an injection, got {other:?}"),
    }
}

/// The injected agent containers in a patch (init and sidecar; the test pods have no other
/// init containers, and `/spec/containers/-` only ever adds the sidecar).
fn agents(patch: &mut Value) -> Vec<&mut Value> {
    let mut out = Vec::new();
    for op in patch.as_array_mut().into_iter().flatten() {
        let path = op["path"].as_str().unwrap_or_default().to_owned();
        if !(path.starts_with("/spec/initContainers") || path.starts_with("/spec/containers/-")) {
            continue;
        }
        match &mut op["value"] {
            Value::Array(list) => out.extend(list.iter_mut()),
            v @ Value::Object(_) => out.push(v),
            _ => {}
        }
    }
    out
}

/// Removes `command`, `args` and `lifecycle` from each agent container, returning them.
fn take_commands(patch: &mut Value) -> Vec<(Value, Value, Value)> {
    agents(patch)
        .into_iter()
        .map(|c| {
            let m = c.as_object_mut().expect("container object");
            (
                m.remove("command").unwrap_or_default(),
                m.remove("args").unwrap_or_default(),
                m.remove("lifecycle").unwrap_or_default(),
            )
        })
        .collect()
}

#[test]
fn only_command_and_args_differ_between_styles() {
    let pods = [
        ("plain", pod(json!({}))),
        (
            "config map",
            pod(json!({"agent-configmap": "cfg", "agent-extra-secret": "extra"})),
        ),
        (
            "revoke on shutdown, TLS, resources",
            pod(json!({
                "agent-revoke-on-shutdown": "true",
                "tls-secret": "vault-tls",
                "ca-cert": "/vault/tls/ca.crt",
                "agent-limits-cpu": "1",
                "agent-cache-enable": "true",
            })),
        ),
        (
            "json patches",
            pod(json!({
                "agent-json-patch": r#"[{"op":"replace","path":"/name","value":"renamed"}]"#,
                "agent-init-json-patch": r#"[{"op":"add","path":"/workingDir","value":"/tmp"}]"#,
            })),
        ),
        ("sidecar only", pod(json!({"agent-pre-populate": "false"}))),
    ];
    for (what, pod) in &pods {
        for image in [DEFAULT_AGENT_IMAGE, UPSTREAM_AGENT_IMAGE] {
            let mut native = patch(pod, image, AgentCommandStyle::Native);
            let mut shell = patch(pod, image, AgentCommandStyle::Shell);
            let native_cmds = take_commands(&mut native);
            let shell_cmds = take_commands(&mut shell);
            assert!(!native_cmds.is_empty(), "{what}: no agent container");
            assert_eq!(
                native, shell,
                "{what} ({image}): more than the command changed"
            );
            for ((n_cmd, n_args, n_hooks), (s_cmd, s_args, s_hooks)) in
                native_cmds.iter().zip(&shell_cmds)
            {
                assert_eq!(n_cmd, &json!(["/usr/local/bin/vault-k8s"]), "{what}");
                assert_eq!(n_args[0], "agent", "{what}");
                // The native sidecar has no hook; upstream's shell hook only with revoking.
                assert!(
                    n_hooks.is_null() || n_hooks == &json!({}),
                    "{what}: {n_hooks}"
                );
                let revokes = n_args
                    .as_array()
                    .is_some_and(|a| a.iter().any(|x| x == "-revoke-on-exit"));
                assert_eq!(
                    s_hooks.get("preStop").is_some(),
                    revokes,
                    "{what}: {s_hooks} vs {n_args}"
                );
                assert_eq!(s_cmd, &json!(["/bin/sh", "-ec"]), "{what}");
                assert!(
                    s_args[0]
                        .as_str()
                        .is_some_and(|a| a.contains("vault agent")),
                    "{what}: {s_args}"
                );
            }
        }
    }
}

#[test]
fn auto_equals_the_style_the_rule_picks() {
    let pod = pod(json!({}));
    for (image, native) in [
        (DEFAULT_AGENT_IMAGE, true),
        ("registry.example/team/vault-k8s:0.1.0", true),
        (UPSTREAM_AGENT_IMAGE, false),
        ("quay.io/openbao/openbao:2.2", false),
    ] {
        let forced = if native {
            AgentCommandStyle::Native
        } else {
            AgentCommandStyle::Shell
        };
        assert_eq!(
            patch(&pod, image, AgentCommandStyle::Auto),
            patch(&pod, image, forced),
            "{image}"
        );
    }
}

#[test]
fn the_default_settings_inject_our_image_natively() {
    assert!(DEFAULT_AGENT_IMAGE.starts_with("localhost/vault-k8s:"));
    assert!(DEFAULT_AGENT_IMAGE.ends_with(env!("CARGO_PKG_VERSION")));
    let settings = InjectorSettings {
        vault_address: "https://vault:8200".to_owned(),
        ..InjectorSettings::default()
    };
    let Decision::Inject { patch, .. } = mutate(&pod(json!({})), "default", &settings) else {
        panic!("no injection");
    };
    let mut patch: Value = serde_json::from_slice(&patch_to_json(&patch)).expect("JSON");
    let containers = agents(&mut patch);
    assert_eq!(containers.len(), 2);
    for c in containers {
        assert_eq!(c["image"], DEFAULT_AGENT_IMAGE);
        assert_eq!(c["command"], json!(["/usr/local/bin/vault-k8s"]));
        assert_eq!(c["args"], json!(["agent"]));
    }
}
