//! `cargo xtask demo --offline`: builds `vault-k8s` and shows, offline, what the webhook does to a sample pod.
//!
//! It runs `vault-k8s agent-inject render` (the same mutation the webhook performs, applied locally) on the
//! `webapp` pod of the guide, prints the mutated pod, then decodes the Vault Agent configuration that the
//! injected init container receives in `VAULT_CONFIG`. Needs no cluster, no Vault and no extra tools.

use std::process::Command;

use anyhow::Context;
use base64::Engine as _;
use serde_json::Value;

use crate::util;

const MANIFEST: &str = "crates/vk-test-utils/fixtures/webapp-pod.yaml";
const VAULT_ADDRESS: &str = "-vault-address=http://vault.vault.svc:8200";
/// The init container upstream injects; its agent config is the one with `exit_after_auth`.
const INIT_CONTAINER: &str = "vault-agent-init";

pub(super) fn run() -> anyhow::Result<()> {
    println!("vault-k8s demo: what the agent-inject webhook does to a pod, computed offline.");
    println!("  1. build the vault-k8s binary (debug profile)");
    println!("  2. `vault-k8s agent-inject render` the annotated pod in {MANIFEST}");
    println!("  3. show the mutated pod, then the Vault Agent config carried in VAULT_CONFIG");
    println!();

    util::run(util::cargo().args(["build", "-p", "vault-k8s"]))?;
    let binary = util::target_dir().join("debug").join("vault-k8s");
    let render = |output: &str| {
        let mut cmd = Command::new(&binary);
        cmd.current_dir(util::workspace_root()).args([
            "agent-inject",
            "render",
            "-f",
            MANIFEST,
            VAULT_ADDRESS,
            &format!("-o={output}"),
        ]);
        util::output(&mut cmd)
    };

    let pod = render("pod")?;
    println!("\n--- mutated pod (vault-k8s agent-inject render -f {MANIFEST} {VAULT_ADDRESS}) ---");
    println!("{}", pod.trim_end());

    let patch: Value =
        serde_json::from_str(&render("patch")?).context("`render -o=patch` did not print JSON")?;
    let config = init_agent_config(&patch)?;
    println!("\n--- Vault Agent config of {INIT_CONTAINER} (VAULT_CONFIG, base64-decoded) ---");
    println!("{}", serde_json::to_string_pretty(&config)?);
    println!(
        "\nNext: `cargo xtask demo` runs the whole walkthrough (webhook, OpenBao, agent) on this machine."
    );
    Ok(())
}

/// Finds the init container anywhere in the JSON Patch and decodes its `VAULT_CONFIG`.
fn init_agent_config(patch: &Value) -> anyhow::Result<Value> {
    let container = find_container(patch, INIT_CONTAINER).with_context(|| {
        format!("the patch adds no `{INIT_CONTAINER}` container; was the pod injected?")
    })?;
    let encoded = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "VAULT_CONFIG")
        .and_then(|e| e["value"].as_str())
        .with_context(|| format!("`{INIT_CONTAINER}` has no VAULT_CONFIG value"))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .context("VAULT_CONFIG is not valid base64")?;
    serde_json::from_slice(&bytes).context("VAULT_CONFIG does not decode to JSON")
}

/// Depth-first search for an object named `name` that has an `env` list (a container).
fn find_container<'a>(value: &'a Value, name: &str) -> Option<&'a Value> {
    match value {
        Value::Object(map)
            if map.get("name").and_then(Value::as_str) == Some(name) && map.contains_key("env") =>
        {
            Some(value)
        }
        Value::Object(map) => map.values().find_map(|v| find_container(v, name)),
        Value::Array(items) => items.iter().find_map(|v| find_container(v, name)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_the_init_containers_config_whatever_the_patch_shape() {
        let cfg = base64::engine::general_purpose::STANDARD.encode(r#"{"exit_after_auth":true}"#);
        let sidecar =
            base64::engine::general_purpose::STANDARD.encode(r#"{"exit_after_auth":false}"#);
        let env = |v: &str| serde_json::json!([{"name": "VAULT_CONFIG", "value": v}]);
        let patch = serde_json::json!([
            {"op": "add", "path": "/spec/containers/-", "value": {"name": "vault-agent", "env": env(&sidecar)}},
            {"op": "add", "path": "/spec/initContainers", "value": [{"name": "vault-agent-init", "env": env(&cfg)}]}
        ]);
        assert_eq!(
            init_agent_config(&patch).unwrap(),
            serde_json::json!({"exit_after_auth": true})
        );
    }

    #[test]
    fn a_patch_without_init_container_is_explained() {
        let err = init_agent_config(&serde_json::json!([])).unwrap_err();
        assert!(err.to_string().contains("was the pod injected?"), "{err}");
    }
}
