//! The injected containers' `securityContext` (spec §3.8, plus the restricted profile of issue [9]).
//!
//! Upstream's context already drops all capabilities, forbids privilege escalation, makes the
//! root file system read-only and sets `runAsNonRoot` when neither id is 0. The restricted Pod
//! Security profile also wants `seccompProfile` `RuntimeDefault` (or `Localhost`) and
//! `runAsNonRoot: true`. With the restricted profile on (`agent-restricted-profile`, default
//! `auto`: on for this project's image (by name, as `command::is_own_image`), off for others so their output stays upstream's byte for
//! byte):
//!
//! * with `set-security-context` (the default): upstream's context plus `seccompProfile:
//!   RuntimeDefault`, and `runAsNonRoot` true whenever the uid is not 0 (gid 0 is allowed by the
//!   profile and common on OpenShift; upstream's rule also demands a non-zero gid);
//! * without it (`-set-security-context=false`, the chart's `global.openshift`): the same fields
//!   but no `runAsUser`/`runAsGroup`, so the platform assigns the ids (the image's own user
//!   otherwise: 65532 for this project's image; upstream's image runs as root and is refused
//!   by the kubelet under `runAsNonRoot`).

use serde_json::{Value, json};

use crate::agent::Agent;

fn seccomp() -> Value {
    json!({"type": "RuntimeDefault"})
}

/// The `securityContext` of an injected container, or `None` for none.
pub(crate) fn context(agent: &Agent<'_>) -> Option<Value> {
    let (uid, gid) = (agent.run_as_user, agent.run_as_group);
    match (agent.set_security_context, agent.restricted) {
        (true, false) => Some(json!({
            "capabilities": {"drop": ["ALL"]},
            "runAsUser": uid,
            "runAsGroup": gid,
            "runAsNonRoot": uid != 0 && gid != 0,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
        })),
        (true, true) => Some(json!({
            "capabilities": {"drop": ["ALL"]},
            "runAsUser": uid,
            "runAsGroup": gid,
            "runAsNonRoot": uid != 0,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
            "seccompProfile": seccomp(),
        })),
        (false, true) => Some(json!({
            "capabilities": {"drop": ["ALL"]},
            "runAsNonRoot": true,
            "readOnlyRootFilesystem": true,
            "allowPrivilegeEscalation": false,
            "seccompProfile": seccomp(),
        })),
        (false, false) => None,
    }
}
