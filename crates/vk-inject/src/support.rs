//! Admission warnings: annotations that ask vault-k8s agent for something it does not
//! implement. The agent refuses such a configuration at start-up; the webhook says so at
//! admission (AdmissionReview `warnings`, shown by kubectl) and `agent-inject render` prints
//! the same text. Upstream's agent image has no such limits, so nothing is said for it.

use crate::agent::Agent;
use crate::annotations::{self as k, known};

/// The auth methods vault-k8s agent implements (`auth-type` values).
pub const SUPPORTED_AUTH_METHODS: &[&str] = &["kubernetes", "jwt", "approle", "token_file", "cert"];

/// The way out, appended to every warning (the agent's refusals end with the same text).
pub const USE_UPSTREAM: &str = "annotate the pod with vault.hashicorp.com/agent-image: hashicorp/vault:<version> to use upstream's agent";

/// The warnings for one pod; empty when the pod runs upstream's agent image or needs
/// nothing vault-k8s agent lacks.
pub(crate) fn warnings(agent: &Agent<'_>) -> Vec<String> {
    if !agent.native_command {
        return Vec::new();
    }
    let mut out = Vec::new();
    let configmap = agent.configmap();
    if !configmap.is_empty() {
        out.push(format!(
            "{}: the agent configuration in config map {configmap:?} cannot be checked at admission; vault-k8s agent stops at start-up, naming the setting, if it uses one it does not support (see its README); to be sure, {USE_UPSTREAM}",
            k::AGENT_CONFIGMAP
        ));
        return out;
    }
    let auth_type = agent.get(known::AUTH_TYPE);
    if !SUPPORTED_AUTH_METHODS.contains(&auth_type) {
        out.push(format!(
            "{}: auth method {auth_type:?} is not supported by vault-k8s agent (it supports {}); the agent will stop at start-up; {USE_UPSTREAM}",
            k::AUTH_TYPE,
            SUPPORTED_AUTH_METHODS.join(", ")
        ));
    }
    out
}
