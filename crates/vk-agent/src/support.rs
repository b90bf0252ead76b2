//! What the agent refuses at start-up (nothing silent): configuration that Vault Agent
//! honours but vault-k8s agent does not implement stops it with a message naming the key and
//! the way out (upstream's agent image). Listener, cache, API proxy and telemetry stanzas are
//! not refused here: they are served by their own modules.

use vk_agent_config::{Config, Warning};

use crate::error::AgentError;

/// The auth methods vault-k8s agent implements.
pub(crate) const SUPPORTED_METHODS: &[&str] =
    &["kubernetes", "jwt", "approle", "token_file", "cert"];

/// Auth methods of Vault Agent that need a cloud or a directory service this project cannot
/// test against; they are refused with the reason.
const CLOUD_METHODS: &[(&str, &str)] = &[
    ("aws", "AWS"),
    ("gcp", "Google Cloud"),
    ("azure", "Azure"),
    ("alicloud", "Alibaba Cloud"),
    ("oci", "Oracle Cloud"),
    ("cf", "Cloud Foundry"),
    ("pcf", "Cloud Foundry"),
    ("kerberos", "a Kerberos KDC"),
    ("ldap", "an LDAP directory"),
];

/// The way out, appended to every refusal.
pub(crate) const USE_UPSTREAM: &str = "annotate the pod with vault.hashicorp.com/agent-image: hashicorp/vault:<version> to use upstream's agent";

/// Top-level stanzas of Vault Agent's process-supervisor mode.
const SUPERVISOR_KEYS: &[&str] = &["exec", "env_template"];

fn refuse(file: &str, key: &str, what: String) -> AgentError {
    AgentError::Unsupported {
        key: key.to_string(),
        file: file.to_string(),
        what,
    }
}

/// The refusal text for an auth method vault-k8s agent does not implement.
pub(crate) fn method_refusal(kind: &str) -> String {
    match CLOUD_METHODS.iter().find(|(m, _)| *m == kind) {
        Some((_, cloud)) => format!(
            "auth method {kind:?} (it logs in with {cloud} credentials, which cannot be tested in this project)"
        ),
        None => format!("auth method {kind:?}"),
    }
}

/// Checks the whole configuration; the first unsupported setting is the error.
pub(crate) fn check(config: &Config, warnings: &[Warning], file: &str) -> Result<(), AgentError> {
    for w in warnings {
        if w.section == "top level" && SUPERVISOR_KEYS.contains(&w.key.as_str()) {
            return Err(refuse(
                file,
                &w.key,
                format!(
                    "the '{}' stanza (Vault Agent's process supervisor mode)",
                    w.key
                ),
            ));
        }
    }
    if let Some(a) = &config.auto_auth {
        let m = &a.method;
        if !SUPPORTED_METHODS.contains(&m.kind.as_str()) {
            return Err(refuse(
                file,
                "auto_auth.method.type",
                method_refusal(&m.kind),
            ));
        }
        if m.wrap_ttl.is_some_and(|d| !d.is_zero()) {
            return Err(refuse(
                file,
                "auto_auth.method.wrap_ttl",
                "response-wrapping the login token (use 'wrap_ttl' on the sink to hand out a wrapped token)".into(),
            ));
        }
        if a.enable_reauth_on_new_credentials {
            return Err(refuse(
                file,
                "auto_auth.enable_reauth_on_new_credentials",
                "re-authenticating when the method signals new credentials".into(),
            ));
        }
        for s in &a.sinks {
            if !s.dh_type.is_empty() {
                return Err(refuse(
                    file,
                    "auto_auth.sink.dh_type",
                    format!(
                        "a Diffie-Hellman encrypted sink (dh_type {:?}, with dh_path, derive_key, aad)",
                        s.dh_type
                    ),
                ));
            }
        }
    }
    for (i, t) in config.templates.iter().enumerate() {
        if !t.function_denylist.is_empty() {
            return Err(refuse(
                file,
                &format!("template[{i}].function_denylist"),
                "disabling template functions".into(),
            ));
        }
        if !t.sandbox_path.is_empty() {
            return Err(refuse(
                file,
                &format!("template[{i}].sandbox_path"),
                "a sandbox for the 'file' template function".into(),
            ));
        }
        if !t.error_fatal {
            return Err(refuse(
                file,
                &format!("template[{i}].error_fatal"),
                "'error_fatal = false' (template errors logged and ignored)".into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The webhook's warnings and the agent's refusals agree on what is supported.
    #[test]
    fn the_injector_warns_about_exactly_the_methods_the_agent_refuses() {
        assert_eq!(SUPPORTED_METHODS, vk_inject::SUPPORTED_AUTH_METHODS);
        assert_eq!(USE_UPSTREAM, vk_inject::USE_UPSTREAM);
    }
}
