//! Admission warnings: a pod whose annotations need something vault-k8s agent does not
//! implement gets a warning naming the annotation, when (and only when) our agent image runs.

use serde_json::{Value, json};
use vk_inject::{
    DEFAULT_AGENT_IMAGE, Decision, InjectorSettings, SUPPORTED_AUTH_METHODS, UPSTREAM_AGENT_IMAGE,
    USE_UPSTREAM, mutate,
};

fn pod(annotations: Value) -> Value {
    let mut ann = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "app",
        "vault.hashicorp.com/agent-inject-secret-db": "secret/data/db",
    });
    for (k, v) in annotations.as_object().into_iter().flatten() {
        ann[format!("vault.hashicorp.com/{k}")] = v.clone();
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

fn warnings(annotations: Value) -> Vec<String> {
    let settings = InjectorSettings {
        vault_address: "https://vault:8200".to_owned(),
        vault_image: DEFAULT_AGENT_IMAGE.to_owned(),
        ..InjectorSettings::default()
    };
    match mutate(&pod(annotations), "default", &settings) {
        Decision::Inject { warnings, .. } => warnings,
        other => panic!("expected an injection, got {other:?}"),
    }
}

#[test]
fn supported_auth_methods_get_no_warning() {
    for method in SUPPORTED_AUTH_METHODS {
        assert_eq!(
            warnings(json!({"auth-type": method, "auth-config-role": "app"})),
            Vec::<String>::new(),
            "{method}"
        );
    }
    assert!(warnings(json!({})).is_empty());
}

#[test]
fn unsupported_auth_methods_are_named_with_the_way_out() {
    for method in ["aws", "gcp", "azure", "alicloud", "userpass"] {
        let w = warnings(json!({"auth-type": method}));
        assert_eq!(w.len(), 1, "{method}: {w:?}");
        assert!(
            w[0].starts_with("vault.hashicorp.com/auth-type: "),
            "{}",
            w[0]
        );
        assert!(
            w[0].contains(&format!(
                "auth method \"{method}\" is not supported by vault-k8s agent"
            )),
            "{}",
            w[0]
        );
        assert!(w[0].ends_with(USE_UPSTREAM), "{}", w[0]);
    }
}

#[test]
fn a_config_map_is_flagged_as_unchecked() {
    let w = warnings(json!({"agent-configmap": "my-agent-config"}));
    assert_eq!(w.len(), 1, "{w:?}");
    assert!(
        w[0].starts_with("vault.hashicorp.com/agent-configmap: "),
        "{}",
        w[0]
    );
    assert!(
        w[0].contains("\"my-agent-config\" cannot be checked at admission"),
        "{}",
        w[0]
    );
}

#[test]
fn upstream_agent_image_gets_no_warning() {
    for extra in [
        json!({"auth-type": "aws", "agent-image": UPSTREAM_AGENT_IMAGE}),
        json!({"agent-configmap": "cm", "agent-image": "hashicorp/vault:1.18.0"}),
    ] {
        assert!(warnings(extra.clone()).is_empty(), "{extra}");
    }
}

#[test]
fn an_explicit_native_style_warns_even_for_another_image_name() {
    let w = warnings(json!({
        "auth-type": "gcp",
        "agent-image": "registry.example/renamed-vault-k8s:1",
        "agent-command-style": "native"
    }));
    assert_eq!(w.len(), 1, "{w:?}");
}
