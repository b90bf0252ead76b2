//! RBAC denial: the test says which verb on which resource is forbidden, and requests for it
//! get the 403 the RBAC authorizer gives (see [`super::status::ApiError::forbidden`]).

use std::collections::BTreeSet;
use std::sync::Mutex;

/// The (verb, resource) pairs currently denied to every caller.
#[derive(Default)]
pub(super) struct Rbac {
    denied: Mutex<BTreeSet<(String, String)>>,
}

/// The verbs the Kubernetes RBAC model knows for the served resources.
pub(super) const VERBS: &[&str] = &[
    "get", "list", "watch", "create", "update", "patch", "delete",
];

impl Rbac {
    pub(super) fn forbid(&self, verb: &str, resource: &str) {
        self.denied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert((verb.to_string(), resource.to_string()));
    }

    pub(super) fn allow_all(&self) {
        self.denied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    pub(super) fn allowed(&self, verb: &str, resource: &str) -> bool {
        !self
            .denied
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&(verb.to_string(), resource.to_string()))
    }
}
