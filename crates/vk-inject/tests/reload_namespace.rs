//! `agent-inject-reload-signal-<name>` needs the app's processes in the agent's view: the patch
//! sets `shareProcessNamespace: true` exactly once, whether or not upstream's
//! `agent-share-process-namespace` already adds it, and not when the pod already shares it.

use serde_json::{Value, json};
use vk_inject::{DEFAULT_AGENT_IMAGE, Decision, InjectorSettings, mutate, patch_to_json};

fn share_ops(annotations: Value, share: Option<bool>) -> Vec<Value> {
    let mut ann = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "app",
        "vault.hashicorp.com/agent-inject-secret-tls": "pki/issue/web",
    });
    for (k, v) in annotations.as_object().into_iter().flatten() {
        ann[format!("vault.hashicorp.com/{k}")] = v.clone();
    }
    let mut pod = json!({
        "metadata": {"name": "web", "annotations": ann},
        "spec": {"containers": [{
            "name": "nginx",
            "volumeMounts": [{"name": "sa", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]
        }]}
    });
    if let Some(s) = share {
        pod["spec"]["shareProcessNamespace"] = json!(s);
    }
    let settings = InjectorSettings {
        vault_address: "https://vault:8200".into(),
        vault_image: DEFAULT_AGENT_IMAGE.into(),
        ..InjectorSettings::default()
    };
    let Decision::Inject { patch, .. } = mutate(&pod, "default", &settings) else {
        panic!("not injected");
    };
    let ops: Vec<Value> = serde_json::from_slice(&patch_to_json(&patch)).unwrap();
    ops.into_iter()
        .filter(|op| op["path"] == "/spec/shareProcessNamespace")
        .map(|op| op["value"].clone())
        .collect()
}

#[test]
fn a_signal_reload_shares_the_process_namespace_once() {
    let signal = json!({"agent-inject-reload-signal-tls": "SIGHUP nginx"});
    assert_eq!(share_ops(signal.clone(), None), [json!(true)]);
    let mut both = signal.clone();
    both["agent-share-process-namespace"] = json!("true");
    assert_eq!(share_ops(both, None), [json!(true)]);
    assert!(share_ops(signal, Some(true)).is_empty());
    let http = json!({"agent-inject-reload-http-tls": "POST http://127.0.0.1:8080/reload"});
    assert!(share_ops(http, None).is_empty());
    assert!(share_ops(json!({}), None).is_empty());
}
