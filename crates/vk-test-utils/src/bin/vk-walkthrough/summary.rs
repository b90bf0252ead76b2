//! What the webhook added to the pod, in a few lines a person can read.

use base64::Engine as _;
use serde_json::Value;

/// The injected init container of `pod`: image, command as patched, mounts, and the agent
/// configuration it receives in `VAULT_CONFIG` (which holds no secret: paths, role, address).
pub(crate) fn init_container(pod: &Value, name: &str) -> anyhow::Result<Vec<String>> {
    let container = pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|c| c["name"] == name)
        .ok_or_else(|| anyhow::anyhow!("the webhook added no init container named {name:?}"))?;
    let strings = |v: &Value| -> Vec<String> {
        v.as_array()
            .into_iter()
            .flatten()
            .map(|s| s.as_str().map_or_else(|| s.to_string(), str::to_string))
            .collect()
    };
    let mut lines = vec![format!(
        "init container {name}: image {}",
        container["image"].as_str().unwrap_or("(none)")
    )];
    lines.push(format!(
        "  command: {}",
        shell_words(&[strings(&container["command"]), strings(&container["args"])].concat())
    ));
    let mounts: Vec<String> = container["volumeMounts"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|m| {
            let ro = if m["readOnly"] == true { ", ro" } else { "" };
            format!(
                "{} ({}{ro})",
                m["mountPath"].as_str().unwrap_or("?"),
                m["name"].as_str().unwrap_or("?")
            )
        })
        .collect();
    lines.push(format!("  mounts:  {}", mounts.join(", ")));
    if let Some(config) = vault_config(container)? {
        lines.push(format!(
            "  agent config (VAULT_CONFIG): {}",
            describe_config(&config)
        ));
    }
    Ok(lines)
}

/// The decoded `VAULT_CONFIG` of a container, if it has one.
fn vault_config(container: &Value) -> anyhow::Result<Option<Value>> {
    let Some(encoded) = container["env"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|e| e["name"] == "VAULT_CONFIG")
        .and_then(|e| e["value"].as_str())
    else {
        return Ok(None);
    };
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(encoded)
        .map_err(|e| anyhow::anyhow!("VAULT_CONFIG is not base64: {e}"))?;
    Ok(Some(serde_json::from_slice(&bytes).map_err(|e| {
        anyhow::anyhow!("VAULT_CONFIG is not JSON: {e}")
    })?))
}

fn describe_config(config: &Value) -> String {
    let method = &config["auto_auth"]["method"];
    let destinations: Vec<&str> = config["template"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|t| t["destination"].as_str())
        .collect();
    format!(
        "vault {}, {} auth (role {}), exit_after_auth {}, templates -> {}",
        config["vault"]["address"].as_str().unwrap_or("?"),
        method["type"].as_str().unwrap_or("?"),
        method["config"]["role"].as_str().unwrap_or("?"),
        config["exit_after_auth"],
        if destinations.is_empty() {
            "(none)".to_string()
        } else {
            destinations.join(", ")
        }
    )
}

/// Words joined as a shell would read them back (quoted when they hold spaces or quotes).
fn shell_words(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if w.is_empty() || w.contains(|c: char| c.is_whitespace() || "'\"$&|;<>".contains(c)) {
                format!("'{}'", w.replace('\'', r"'\''"))
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn summarises_command_mounts_and_config() {
        let config = json!({
            "vault": {"address": "http://127.0.0.1:8200"},
            "auto_auth": {"method": {"type": "kubernetes", "config": {"role": "webapp"}}},
            "exit_after_auth": true,
            "template": [{"destination": "/vault/secrets/database-config"}]
        });
        let encoded = base64::engine::general_purpose::STANDARD.encode(config.to_string());
        let pod = json!({"spec": {"initContainers": [{
            "name": "vault-agent-init",
            "image": "img:1",
            "command": ["/bin/sh", "-ec"],
            "args": ["echo ${VAULT_CONFIG?} | base64 -d"],
            "volumeMounts": [{"name": "home-init", "mountPath": "/home/vault"},
                             {"name": "sa", "mountPath": "/var/run/sa", "readOnly": true}],
            "env": [{"name": "VAULT_CONFIG", "value": encoded}]
        }]}});
        let lines = init_container(&pod, "vault-agent-init").unwrap();
        assert_eq!(
            lines,
            [
                "init container vault-agent-init: image img:1",
                "  command: /bin/sh -ec 'echo ${VAULT_CONFIG?} | base64 -d'",
                "  mounts:  /home/vault (home-init), /var/run/sa (sa, ro)",
                "  agent config (VAULT_CONFIG): vault http://127.0.0.1:8200, kubernetes auth \
                 (role webapp), exit_after_auth true, templates -> /vault/secrets/database-config",
            ]
        );
        assert!(init_container(&pod, "other").is_err());
    }
}
