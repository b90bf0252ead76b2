//! Assertions on rendered manifests: the wiring between objects that neither helm lint nor
//! a schema validator sees (the TLS mode's env matches the webhook configuration, RBAC names
//! the right objects, vault-helm values have vault-helm's effect).

use std::path::Path;

use anyhow::{Context, Result, bail, ensure};
use serde_norway::Value;

/// The YAML documents of a rendered manifest (empty ones dropped).
pub(crate) fn documents(text: &str, file: &Path) -> Result<Vec<Value>> {
    let mut docs = Vec::new();
    for doc in text.split("\n---") {
        let v: Value =
            serde_norway::from_str(doc).with_context(|| format!("parsing {}", file.display()))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

fn find<'a>(docs: &'a [Value], kind: &str) -> Option<&'a Value> {
    docs.iter().find(|d| d["kind"].as_str() == Some(kind))
}

fn env<'a>(container: &'a Value, name: &str) -> Option<&'a Value> {
    container["env"]
        .as_sequence()?
        .iter()
        .find(|e| e["name"].as_str() == Some(name))
}

fn env_value<'a>(container: &'a Value, name: &str) -> Option<&'a str> {
    env(container, name)?["value"].as_str()
}

/// Checks every rendered set; returns a one-line summary of the TLS mode found.
pub(crate) fn check_wiring(file: &Path) -> Result<String> {
    let text = std::fs::read_to_string(file)?;
    let docs = documents(&text, file)?;
    let deploy = find(&docs, "Deployment").context("no Deployment")?;
    let pod = &deploy["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let mwc = find(&docs, "MutatingWebhookConfiguration").context("no webhook configuration")?;
    let mwc_name = mwc["metadata"]["name"]
        .as_str()
        .context("webhook without name")?;
    let svc = find(&docs, "Service").context("no Service")?;
    let svc_name = svc["metadata"]["name"]
        .as_str()
        .context("Service without name")?;
    let ns = svc["metadata"]["namespace"]
        .as_str()
        .context("Service without namespace")?;
    for webhook in mwc["webhooks"].as_sequence().context("no webhooks")? {
        let target = &webhook["clientConfig"]["service"];
        ensure!(
            target["name"].as_str() == Some(svc_name) && target["namespace"].as_str() == Some(ns),
            "webhook {:?} does not call Service {ns}/{svc_name}",
            webhook["name"]
        );
    }
    for name in ["NAMESPACE", "POD_NAME"] {
        ensure!(
            env(c, name).is_some_and(|e| e["valueFrom"]["fieldRef"].is_mapping()),
            "env {name} must come from the downward API"
        );
    }
    let rbac: Vec<&Value> = docs
        .iter()
        .filter(|d| {
            matches!(
                d["kind"].as_str(),
                Some("ClusterRole" | "Role" | "ClusterRoleBinding" | "RoleBinding")
            )
        })
        .collect();
    match env_value(c, "AGENT_INJECT_TLS_AUTO") {
        Some(auto) => {
            ensure!(
                auto == mwc_name,
                "AGENT_INJECT_TLS_AUTO={auto} but the chart's webhook configuration is {mwc_name}"
            );
            let hosts = env_value(c, "AGENT_INJECT_TLS_AUTO_HOSTS").unwrap_or_default();
            let want = format!("{svc_name},{svc_name}.{ns},{svc_name}.{ns}.svc");
            ensure!(
                hosts == want,
                "AGENT_INJECT_TLS_AUTO_HOSTS={hosts:?}, want {want:?}"
            );
            ensure!(
                env(c, "AGENT_INJECT_TLS_CERT_FILE").is_none(),
                "auto TLS and a certificate file at once"
            );
            ensure!(
                pod["automountServiceAccountToken"].as_bool() == Some(true),
                "auto TLS needs the service-account token"
            );
            let cluster_role =
                find(&docs, "ClusterRole").context("auto TLS without ClusterRole")?;
            let rule = &cluster_role["rules"][0];
            ensure!(
                rule["resourceNames"].as_sequence().map(Vec::len) == Some(1)
                    && rule["resourceNames"][0].as_str() == Some(mwc_name),
                "the ClusterRole must be limited to {mwc_name}: {rule:?}"
            );
            let elector = env_value(c, "AGENT_INJECT_USE_LEADER_ELECTOR") == Some("true");
            let role = find(&docs, "Role");
            ensure!(
                elector == role.is_some(),
                "leader election env and the Role must come together (env {elector}, Role {})",
                role.is_some()
            );
            if let Some(role) = role {
                let text = serde_norway::to_string(&role["rules"])?;
                for needle in [
                    "coordination.k8s.io",
                    "leases",
                    "vault-injector-certs",
                    "vault-k8s-leader",
                ] {
                    ensure!(
                        text.contains(needle),
                        "the Role does not mention {needle}:\n{text}"
                    );
                }
                ensure!(
                    docs.iter().any(|d| d["kind"].as_str() == Some("Secret")
                        && d["metadata"]["name"].as_str() == Some("vault-injector-certs")),
                    "leader election without the vault-injector-certs Secret"
                );
            }
            Ok(format!(
                "auto TLS for {mwc_name}{}",
                if elector { " with leader election" } else { "" }
            ))
        }
        None => {
            ensure!(
                env_value(c, "AGENT_INJECT_TLS_CERT_FILE").is_some(),
                "neither auto TLS nor a certificate file"
            );
            ensure!(
                rbac.is_empty(),
                "certificate-file mode renders RBAC the injector never uses"
            );
            ensure!(
                pod["automountServiceAccountToken"].as_bool() == Some(false),
                "certificate-file mode mounts a token it never uses"
            );
            Ok("certificate from a Secret, no RBAC".to_string())
        }
    }
}

/// The effect ci/vault-helm-values.yaml asks for, as vault-helm would give it.
pub(crate) fn check_vault_helm_effect(file: &Path) -> Result<()> {
    let text = std::fs::read_to_string(file)?;
    let docs = documents(&text, file)?;
    let deploy = find(&docs, "Deployment").context("no Deployment")?;
    let pod = &deploy["spec"]["template"]["spec"];
    let c = &pod["containers"][0];
    let addr = env_value(c, "AGENT_INJECT_VAULT_ADDR");
    ensure!(
        addr == Some("https://vault.platform.example.net:8200"),
        "global.externalVaultAddr must win over injector.externalVaultAddr, got {addr:?}"
    );
    let webhook =
        &find(&docs, "MutatingWebhookConfiguration").context("no webhook")?["webhooks"][0];
    ensure!(
        webhook["failurePolicy"].as_str() == Some("Fail"),
        "injector.webhook.failurePolicy must win over the deprecated injector.failurePolicy"
    );
    ensure!(
        webhook["namespaceSelector"]["matchLabels"]["vault-injection"].as_str() == Some("enabled"),
        "the deprecated injector.namespaceSelector must apply when webhook.namespaceSelector is empty"
    );
    let exprs = webhook["objectSelector"]["matchExpressions"]
        .as_sequence()
        .context("no objectSelector")?;
    ensure!(
        exprs.len() == 1,
        "vault-helm's default objectSelector and the chart's self-exclusion must be one expression: {exprs:?}"
    );
    let pod_name = pod["affinity"]["podAntiAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][0]
        ["labelSelector"]["matchLabels"]["app.kubernetes.io/name"]
        .as_str();
    let label = deploy["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"].as_str();
    ensure!(
        pod_name.is_some() && pod_name == label && exprs[0]["values"][0].as_str() == label,
        "the vault.name templates must select this chart's pods ({label:?}): affinity {pod_name:?}, objectSelector {:?}",
        exprs[0]["values"][0]
    );
    ensure!(
        pod["imagePullSecrets"][0]["name"].as_str() == Some("corp-registry"),
        "imagePullSecrets given as names must become {{name: ...}}"
    );
    let scheme = pod["securityContext"]["seccompProfile"]["type"].as_str();
    if scheme != Some("RuntimeDefault") {
        bail!("the templated securityContext.pod string was not applied");
    }
    Ok(())
}
