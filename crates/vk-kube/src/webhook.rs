//! The `caBundle` of the MutatingWebhookConfiguration named by `-tls-auto`.

use http::Method;

use crate::api::{Body, path};
use crate::call::Call;
use crate::client::KubeClient;
use crate::error::KubeError;
use crate::objects::{Base64, MutatingWebhookConfiguration};

const RESOURCE: &str = "mutatingwebhookconfigurations";
const GROUP: &str = "admissionregistration.k8s.io";

impl KubeClient {
    /// The `caBundle` of each webhook entry, in order (empty when unset).
    pub async fn webhook_ca_bundles(&self, mwc: &str) -> Result<Vec<Vec<u8>>, KubeError> {
        let config = self.get_webhook_configuration(mwc).await?;
        Ok(ca_bundles(&config))
    }

    /// Set `caBundle` of every webhook entry that differs from `bundle_pem` with one JSON patch;
    /// `Ok(true)` when something was patched. A configuration without entries is an error.
    pub async fn publish_ca_bundle(&self, mwc: &str, bundle_pem: &[u8]) -> Result<bool, KubeError> {
        let config = self.get_webhook_configuration(mwc).await?;
        let current = ca_bundles(&config);
        let call = Call::new("patch", RESOURCE, GROUP, None, mwc);
        if current.is_empty() {
            return Err(KubeError::Invalid {
                call,
                problem: "the configuration has no webhooks entries to publish the CA bundle to"
                    .to_owned(),
            });
        }
        let value =
            serde_json::to_value(Base64(bundle_pem.to_vec())).map_err(|e| KubeError::Invalid {
                call: call.clone(),
                problem: format!("encoding the CA bundle: {e}"),
            })?;
        let mut ops = Vec::new();
        // Guard against a concurrent change of the entry list: the patch applies only to the
        // version we looked at.
        if let Some(rv) = &config.metadata.resource_version {
            ops.push(
                serde_json::json!({"op": "test", "path": "/metadata/resourceVersion", "value": rv}),
            );
        }
        for (index, bundle) in current.iter().enumerate() {
            if bundle.as_slice() != bundle_pem {
                ops.push(serde_json::json!({
                    "op": "add",
                    "path": format!("/webhooks/{index}/clientConfig/caBundle"),
                    "value": value,
                }));
            }
        }
        if ops.len() <= 1 {
            return Ok(false);
        }
        let patch = serde_json::to_vec(&ops).map_err(|e| KubeError::Invalid {
            call: call.clone(),
            problem: format!("building the JSON patch: {e}"),
        })?;
        let at = path(GROUP, RESOURCE, None, mwc);
        self.run(call, || {
            self.api
                .call::<serde_json::Value>(Method::PATCH, &at, Body::JsonPatch(patch.clone()))
        })
        .await?;
        Ok(true)
    }

    async fn get_webhook_configuration(
        &self,
        mwc: &str,
    ) -> Result<MutatingWebhookConfiguration, KubeError> {
        let at = path(GROUP, RESOURCE, None, mwc);
        self.run(Call::new("get", RESOURCE, GROUP, None, mwc), || {
            self.api
                .call::<MutatingWebhookConfiguration>(Method::GET, &at, Body::Empty)
        })
        .await
    }
}

fn ca_bundles(config: &MutatingWebhookConfiguration) -> Vec<Vec<u8>> {
    config
        .webhooks
        .iter()
        .flatten()
        .map(|w| {
            w.client_config
                .ca_bundle
                .as_ref()
                .map(|b| b.0.clone())
                .unwrap_or_default()
        })
        .collect()
}
