//! What vault-helm 0.34.1 would give the upstream binary for `ci/vault-helm-values.yaml`, written
//! out by hand from the facts of its `templates/injector-deployment.yaml` (release `vault` in
//! namespace `vault`, so `vault.fullname` is `vault`), and the check that this chart gives our
//! binary the same container args and environment. docs/migration.md explains the differences
//! the check allows.
//!
//! The facts used, per variable: `AGENT_INJECT_LISTEN` is `:<injector.port>`; the Vault address
//! is `global.externalVaultAddr`, else `injector.externalVaultAddr`; the agent image is
//! `<agentImage.repository>:<agentImage.tag>`; with no `certs.secretName` it sets
//! `AGENT_INJECT_TLS_AUTO=<fullname>-agent-injector-cfg` and the three service host names;
//! `AGENT_INJECT_TELEMETRY_PATH=/metrics` when `metrics.enabled`; the leader elector pair
//! (`AGENT_INJECT_USE_LEADER_ELECTOR` and `NAMESPACE` from the downward API) only when
//! `leaderElector.enabled` and more than one replica; `agentDefaults.*` become the CPU, memory,
//! ephemeral, default-template and template-config variables (the ephemeral and the render
//! interval ones only when set); `extraEnvironmentVars` are added as given; `POD_NAME` comes
//! from the downward API; args are `agent-inject` and `2>&1`.

use std::collections::BTreeMap;
use std::path::Path;

use anyhow::{Context, Result, ensure};
use serde_norway::Value;

use super::render::documents;

/// One container env entry: a literal value or a downward-API field path.
#[derive(Debug, PartialEq, Eq, Clone)]
pub(crate) enum EnvSource {
    Value(String),
    FieldRef(String),
}

/// vault-helm 0.34.1's `sidecar-injector` env for ci/vault-helm-values.yaml (release `vault`,
/// namespace `vault`).
pub(crate) fn expected_env() -> BTreeMap<&'static str, EnvSource> {
    use EnvSource::{FieldRef, Value as V};
    let v = |s: &str| V(s.to_string());
    BTreeMap::from([
        ("AGENT_INJECT_LISTEN", v(":8080")),
        ("AGENT_INJECT_LOG_LEVEL", v("debug")),
        // global.externalVaultAddr wins over injector.externalVaultAddr.
        (
            "AGENT_INJECT_VAULT_ADDR",
            v("https://vault.platform.example.net:8200"),
        ),
        ("AGENT_INJECT_VAULT_AUTH_PATH", v("auth/k8s-prod")),
        ("AGENT_INJECT_VAULT_IMAGE", v("hashicorp/vault:2.0.4")),
        // certs.secretName is null: auto TLS on vault-helm's object names.
        ("AGENT_INJECT_TLS_AUTO", v("vault-agent-injector-cfg")),
        (
            "AGENT_INJECT_TLS_AUTO_HOSTS",
            v(
                "vault-agent-injector-svc,vault-agent-injector-svc.vault,vault-agent-injector-svc.vault.svc",
            ),
        ),
        ("AGENT_INJECT_LOG_FORMAT", v("json")),
        ("AGENT_INJECT_REVOKE_ON_SHUTDOWN", v("true")),
        ("AGENT_INJECT_TELEMETRY_PATH", v("/metrics")),
        // leaderElector.enabled with 3 replicas.
        ("AGENT_INJECT_USE_LEADER_ELECTOR", v("true")),
        ("NAMESPACE", FieldRef("metadata.namespace".to_string())),
        ("AGENT_INJECT_CPU_REQUEST", v("100m")),
        ("AGENT_INJECT_CPU_LIMIT", v("1")),
        ("AGENT_INJECT_MEM_REQUEST", v("96Mi")),
        ("AGENT_INJECT_MEM_LIMIT", v("256Mi")),
        ("AGENT_INJECT_EPHEMERAL_REQUEST", v("32Mi")),
        ("AGENT_INJECT_EPHEMERAL_LIMIT", v("256Mi")),
        ("AGENT_INJECT_DEFAULT_TEMPLATE", v("json")),
        (
            "AGENT_INJECT_TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE",
            v("false"),
        ),
        (
            "AGENT_INJECT_TEMPLATE_STATIC_SECRET_RENDER_INTERVAL",
            v("2m"),
        ),
        // injector.extraEnvironmentVars.
        ("AGENT_INJECT_TLS_MIN_VERSION", v("tls13")),
        ("POD_NAME", FieldRef("metadata.name".to_string())),
    ])
}

/// Variables this chart sets that vault-helm does not, with the value each must have here and
/// why it is safe (docs/migration.md lists them too).
pub(crate) const OURS_ONLY: &[(&str, &str, &str)] = &[
    (
        "AGENT_INJECT_AGENT_COMMAND_STYLE",
        "auto",
        "`auto` gives a hashicorp/vault agent image upstream's shell command, so pods are injected exactly as before",
    ),
    (
        "AGENT_INJECT_CREDENTIAL_HANDOFF",
        "true",
        "applies only to this project's agent image; a hashicorp/vault agent image is injected as before",
    ),
    (
        "AGENT_INJECT_NATIVE_SIDECAR",
        "false",
        "off: init container and sidecar, as upstream",
    ),
    (
        "AGENT_INJECT_DENY_TEMPLATE_ERRORS",
        "false",
        "a template that does not parse only adds an admission warning; the patch is unchanged",
    ),
    (
        "AGENT_INJECT_RESTRICTED_PROFILE",
        "auto",
        "`auto` leaves a hashicorp/vault agent image's containers exactly as upstream makes them",
    ),
    (
        "AGENT_INJECT_AGENT_METRICS",
        "false",
        "off: the agent configuration and containers are unchanged",
    ),
];

/// vault-helm's args for the injector container.
pub(crate) const EXPECTED_ARGS: [&str; 2] = ["agent-inject", "2>&1"];

/// The `sidecar-injector` container's env of a rendered manifest, by name.
pub(crate) fn rendered_env(
    text: &str,
    file: &Path,
) -> Result<(BTreeMap<String, EnvSource>, Vec<String>)> {
    let docs = documents(text, file)?;
    let deploy = docs
        .iter()
        .find(|d| d["kind"].as_str() == Some("Deployment"))
        .context("no Deployment rendered")?;
    let container = deploy["spec"]["template"]["spec"]["containers"]
        .as_sequence()
        .and_then(|cs| {
            cs.iter()
                .find(|c| c["name"].as_str() == Some("sidecar-injector"))
        })
        .context("no sidecar-injector container (vault-helm's name)")?;
    let mut env = BTreeMap::new();
    for e in container["env"].as_sequence().into_iter().flatten() {
        let name = e["name"].as_str().context("env entry without name")?;
        let source = match (&e["value"], &e["valueFrom"]["fieldRef"]["fieldPath"]) {
            (Value::String(s), _) => EnvSource::Value(s.clone()),
            (_, Value::String(p)) => EnvSource::FieldRef(p.clone()),
            other => {
                anyhow::bail!("env {name} has neither a string value nor a fieldRef: {other:?}")
            }
        };
        ensure!(
            env.insert(name.to_string(), source).is_none(),
            "env {name} is set twice (the later one would win silently)"
        );
    }
    let args = container["args"]
        .as_sequence()
        .into_iter()
        .flatten()
        .map(|a| a.as_str().map(str::to_string).context("non-string arg"))
        .collect::<Result<Vec<_>>>()?;
    Ok((env, args))
}

/// Compares a manifest rendered from ci/vault-helm-values.yaml with vault-helm's.
pub(crate) fn check_against_vault_helm(file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file)?;
    let (mut env, args) = rendered_env(&text, file)?;
    ensure!(
        args == EXPECTED_ARGS,
        "args are {args:?}, vault-helm gives {EXPECTED_ARGS:?}"
    );
    for (name, value, _why) in OURS_ONLY {
        let got = env.remove(*name);
        ensure!(
            got == Some(EnvSource::Value((*value).to_string())),
            "{name} must be {value:?} for a vault-helm values file, got {got:?}"
        );
    }
    let want = expected_env();
    let mut problems = Vec::new();
    for (name, source) in &want {
        match env.get(*name) {
            Some(got) if got == source => {}
            Some(got) => problems.push(format!("{name}: vault-helm {source:?}, ours {got:?}")),
            None => problems.push(format!("{name}: vault-helm {source:?}, ours missing")),
        }
    }
    for name in env.keys() {
        if !want.contains_key(name.as_str()) {
            problems.push(format!("{name}: set by us, not by vault-helm"));
        }
    }
    ensure!(
        problems.is_empty(),
        "the injector's env differs from vault-helm's for ci/vault-helm-values.yaml:\n  {}",
        problems.join("\n  ")
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::process::Command;

    use super::*;
    use crate::image::meta;

    /// Renders ci/vault-helm-values.yaml with the real helm (from `cargo xtask tools`) and compares
    /// the injector's env and args with vault-helm's.
    #[test]
    fn vault_helm_values_give_vault_helms_env_and_args() {
        let helm = meta::need_tool("helm", "run `cargo xtask tools`").expect("helm");
        let dir = super::super::chart_dir();
        let out = meta::output(
            Command::new(helm)
                .args(["template", "vault"])
                .arg(&dir)
                .args(["--namespace", "vault", "-f"])
                .arg(dir.join("ci/vault-helm-values.yaml")),
        )
        .expect("helm template");
        let file = std::env::temp_dir().join(format!("vk-vault-helm-{}.yaml", std::process::id()));
        std::fs::write(&file, &out).expect("write");
        let result = check_against_vault_helm(&file);
        let _ = std::fs::remove_file(&file);
        result.expect("env and args as vault-helm");
    }

    /// The comparison notices a difference (a changed value, an extra and a missing variable).
    #[test]
    fn a_difference_is_reported() {
        let mut text = String::from(
            "kind: Deployment\nspec:\n  template:\n    spec:\n      containers:\n        - name: sidecar-injector\n          args: [agent-inject, 2>&1]\n          env:\n",
        );
        for (name, source) in expected_env() {
            let value = if name == "AGENT_INJECT_LOG_LEVEL" {
                EnvSource::Value("info".into())
            } else {
                source
            };
            if name == "POD_NAME" {
                continue;
            }
            match value {
                EnvSource::Value(v) => text.push_str(&format!(
                    "            - name: {name}\n              value: {}\n",
                    serde_json::to_string(&v).expect("json")
                )),
                EnvSource::FieldRef(p) => text.push_str(&format!(
                    "            - name: {name}\n              valueFrom:\n                fieldRef:\n                  fieldPath: {p}\n"
                )),
            }
        }
        for (name, value, _) in OURS_ONLY {
            text.push_str(&format!(
                "            - name: {name}\n              value: \"{value}\"\n"
            ));
        }
        text.push_str("            - name: EXTRA\n              value: x\n");
        let file =
            std::env::temp_dir().join(format!("vk-vault-helm-diff-{}.yaml", std::process::id()));
        std::fs::write(&file, &text).expect("write");
        let err = check_against_vault_helm(&file)
            .expect_err("differs")
            .to_string();
        let _ = std::fs::remove_file(&file);
        assert!(err.contains("AGENT_INJECT_LOG_LEVEL: vault-helm"), "{err}");
        assert!(err.contains("POD_NAME: vault-helm"), "{err}");
        assert!(err.contains("EXTRA: set by us"), "{err}");
    }
}
