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

use crate::agent::Agent;
use crate::jsonw::Obj;

/// Writes the `securityContext` member of an injected container, if it gets one.
pub(crate) fn context(c: &mut Obj<'_>, agent: &Agent<'_>) {
    let (uid, gid) = (agent.run_as_user, agent.run_as_group);
    let (ids, non_root) = match (agent.set_security_context, agent.restricted) {
        (true, false) => (true, uid != 0 && gid != 0),
        (true, true) => (true, uid != 0),
        (false, true) => (false, true),
        (false, false) => return,
    };
    c.obj("securityContext", |o| {
        o.obj("capabilities", |cap| {
            cap.arr("drop", |a| a.str_static("ALL"))
        });
        if ids {
            o.int("runAsUser", uid);
            o.int("runAsGroup", gid);
        }
        o.bool("runAsNonRoot", non_root);
        o.bool("readOnlyRootFilesystem", true);
        o.bool("allowPrivilegeEscalation", false);
        if agent.restricted {
            o.obj("seccompProfile", |p| p.str_static("type", "RuntimeDefault"));
        }
    });
}
