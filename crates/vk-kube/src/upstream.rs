//! Upstream's "leader for life" lock: ConfigMap `vault-k8s-leader` owned by the leader's Pod.
//! While a running upstream pod owns it, that pod writes the certificate Secret, so we must not.

use crate::api::path;
use crate::call::Call;
use crate::client::KubeClient;
use crate::error::KubeError;
use crate::objects::{ConfigMap, Pod};

/// Name of upstream's lock ConfigMap.
pub const UPSTREAM_LOCK_NAME: &str = "vault-k8s-leader";

impl KubeClient {
    /// Whether upstream's lock exists and its owner Pod exists and has not finished, is not
    /// being deleted. A lock whose owner is our own identity does not count.
    pub async fn upstream_lock_held(&self, ns: &str) -> Result<bool, KubeError> {
        let call = Call::new("get", "configmaps", "", Some(ns), UPSTREAM_LOCK_NAME);
        let at = path("", "configmaps", Some(ns), UPSTREAM_LOCK_NAME);
        let Some(lock) = self
            .run(call, || self.api.get_opt::<ConfigMap>(&at))
            .await?
        else {
            return Ok(false);
        };
        if lock.metadata.deletion_timestamp.is_some() {
            return Ok(false);
        }
        for owner in lock.metadata.owner_references.iter().flatten() {
            if owner.kind != "Pod" {
                continue;
            }
            let call = Call::new("get", "pods", "", Some(ns), &owner.name);
            let at = path("", "pods", Some(ns), &owner.name);
            let Some(pod) = self.run(call, || self.api.get_opt::<Pod>(&at)).await? else {
                continue;
            };
            let finished = matches!(
                pod.status.as_ref().and_then(|s| s.phase.as_deref()),
                Some("Failed" | "Succeeded")
            );
            let same_pod = pod.metadata.uid.as_deref() == Some(owner.uid.as_str());
            if same_pod && !finished && pod.metadata.deletion_timestamp.is_none() {
                return Ok(true);
            }
        }
        Ok(false)
    }
}
