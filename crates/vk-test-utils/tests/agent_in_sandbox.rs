//! The fixtures together, without the webhook: a hand-written `vault-agent-init` container
//! (shaped as injector spec §3.5/§3.7/§4 describes) runs OpenBao's agent in the pod sandbox,
//! logs in through kubernetes auth (TokenReview against `KubeApi`) and renders the guide's
//! template. This pins down the fixtures' behaviour independently of the mutation engine.

use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use vk_test_utils::{DevServer, KubeApi, PodSandbox, configure_kubernetes_auth, fixture};

const POLICY: &str = "path \"secret/data/database/config\" {\n  capabilities = [\"read\"]\n}\n";

fn setup() -> (KubeApi, DevServer) {
    let kube = KubeApi::start().unwrap();
    let dev = DevServer::start().unwrap();
    configure_kubernetes_auth(&dev, &kube, "webapp", "webapp", "default", "webapp", POLICY)
        .unwrap();
    dev.cli_ok(&[
        "kv",
        "put",
        "secret/database/config",
        "username=db-user",
        "password=db-password",
    ])
    .unwrap();
    (kube, dev)
}

/// The admitted webapp pod with an init container added by hand.
fn hand_mutated_pod(vault_addr: &str, exit_on_err: bool) -> Value {
    let mut pod: Value =
        serde_json::from_str(&fixture("webapp-pod-admitted.json").unwrap()).unwrap();
    let template =
        pod["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-template-database-config"]
            .as_str()
            .unwrap()
            .to_string();
    let mut config = json!({
        "auto_auth": {
            "method": {
                "type": "kubernetes",
                "mount_path": "auth/kubernetes",
                "config": {"role": "webapp", "token_path": "/var/run/secrets/kubernetes.io/serviceaccount/token"}
            },
            "sink": [{"type": "file", "config": {"path": "/home/vault/.vault-token"}}]
        },
        "exit_after_auth": true,
        "pid_file": "/home/vault/.pid",
        "vault": {"address": vault_addr},
        "template": [{
            "destination": "/vault/secrets/database-config",
            "contents": template,
            "left_delimiter": "{{",
            "right_delimiter": "}}"
        }],
        "template_config": {"exit_on_retry_failure": true}
    });
    if exit_on_err {
        config["auto_auth"]["method"]["exit_on_err"] = json!(true);
    }
    let b64 = base64::engine::general_purpose::STANDARD.encode(config.to_string());
    pod["spec"]["volumes"].as_array_mut().unwrap().extend([
        json!({"name": "home-init", "emptyDir": {"medium": "Memory"}}),
        json!({"name": "vault-secrets", "emptyDir": {"medium": "Memory"}}),
    ]);
    pod["spec"]["initContainers"] = json!([{
        "name": "vault-agent-init",
        "image": "hashicorp/vault:1.21.1",
        "command": ["/bin/sh", "-ec"],
        "args": ["echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && vault agent -config=/home/vault/config.json"],
        "env": [
            {"name": "NAMESPACE", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
            {"name": "HOST_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.hostIP"}}},
            {"name": "POD_IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
            {"name": "VAULT_LOG_LEVEL", "value": "info"},
            {"name": "VAULT_LOG_FORMAT", "value": "standard"},
            {"name": "VAULT_CONFIG", "value": b64}
        ],
        "resources": {},
        "volumeMounts": [
            {"name": "home-init", "mountPath": "/home/vault"},
            {"name": "kube-api-access-7xk2p", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"},
            {"name": "vault-secrets", "mountPath": "/vault/secrets"}
        ],
        "securityContext": {
            "capabilities": {"drop": ["ALL"]},
            "runAsUser": 100, "runAsGroup": 1000, "runAsNonRoot": true,
            "readOnlyRootFilesystem": true, "allowPrivilegeEscalation": false
        }
    }]);
    pod["spec"]["containers"][0]["volumeMounts"]
        .as_array_mut()
        .unwrap()
        .push(json!({"name": "vault-secrets", "mountPath": "/vault/secrets"}));
    pod
}

#[test]
fn agent_renders_the_guide_template_in_the_sandbox() {
    let (kube, dev) = setup();
    let pod = hand_mutated_pod(dev.addr(), false);
    let mut sandbox = PodSandbox::new(&pod).unwrap();
    sandbox
        .set_service_account_token(
            &kube
                .mint("default", "webapp", Duration::from_secs(3600))
                .unwrap(),
        )
        .unwrap();
    let run = sandbox.run("vault-agent-init").unwrap();
    assert!(run.success(), "{}", run.describe());
    let rendered = std::fs::read(
        sandbox
            .host_path("vault-agent-init", "/vault/secrets/database-config")
            .unwrap(),
    )
    .unwrap();
    // `{{- end }}` trims the newline before it, the template's final "\n" (after `end`) stays.
    assert_eq!(
        rendered,
        b"postgresql://db-user:db-password@postgres:5432/mydb\n"
    );
    assert!(kube.reviews().iter().any(|r| r.authenticated));

    // The app container sees the same file through its own mount.
    let app = sandbox
        .run_with_command("webapp", &["cat", "/vault/secrets/database-config"])
        .unwrap();
    assert!(app.success(), "{}", app.describe());
    assert_eq!(app.output.stdout, rendered);
}

/// With the default config the agent keeps retrying auto-auth with backoff (1 s, 1.8 s,
/// 3.3 s, …; `exit_on_retry_failure` only concerns templates), like a pod stuck in Init: the
/// run is bounded and killed. With `exit_on_err` it exits non-zero after the first refusal.
#[test]
fn agent_with_a_foreign_token_fails_and_renders_nothing() {
    let (kube, dev) = setup();
    for exit_on_err in [true, false] {
        let pod = hand_mutated_pod(dev.addr(), exit_on_err);
        let mut sandbox = PodSandbox::new(&pod).unwrap();
        sandbox
            .set_service_account_token(
                &kube
                    .mint_foreign("default", "webapp", Duration::from_secs(3600))
                    .unwrap(),
            )
            .unwrap();
        sandbox.set_timeout(Duration::from_secs(4));
        let start = Instant::now();
        let run = sandbox.run("vault-agent-init").unwrap();
        eprintln!(
            "exit_on_err={exit_on_err}: {:?} {}",
            start.elapsed(),
            run.describe()
        );
        assert!(!run.success());
        assert_eq!(run.output.timed_out, !exit_on_err, "{}", run.describe());
        assert!(
            !sandbox
                .host_path("vault-agent-init", "/vault/secrets/database-config")
                .unwrap()
                .exists()
        );
    }
    let reviews = kube.reviews();
    assert!(
        reviews.len() >= 2
            && reviews
                .iter()
                .all(|r| r.caller_authorized && !r.authenticated)
    );
}
