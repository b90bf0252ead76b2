//! The `caBundle` of the MutatingWebhookConfiguration named by `-tls-auto`.

use k8s_openapi::ByteString;
use k8s_openapi::api::admissionregistration::v1::MutatingWebhookConfiguration;
use kube::api::{Api, Patch, PatchParams};

use crate::call::Call;
use crate::client::KubeClient;
use crate::error::KubeError;

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
        let value = serde_json::to_value(ByteString(bundle_pem.to_vec())).map_err(|e| {
            KubeError::Invalid {
                call: call.clone(),
                problem: format!("encoding the CA bundle: {e}"),
            }
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
        let patch: json_patch::Patch = serde_json::from_value(serde_json::Value::Array(ops))
            .map_err(|e| KubeError::Invalid {
                call: call.clone(),
                problem: format!("building the JSON patch: {e}"),
            })?;
        let api: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
        let params = PatchParams::default();
        let patch = Patch::<()>::Json(patch);
        self.run(call, || api.patch(mwc, &params, &patch)).await?;
        Ok(true)
    }

    async fn get_webhook_configuration(
        &self,
        mwc: &str,
    ) -> Result<MutatingWebhookConfiguration, KubeError> {
        let api: Api<MutatingWebhookConfiguration> = Api::all(self.client.clone());
        self.run(Call::new("get", RESOURCE, GROUP, None, mwc), || {
            api.get(mwc)
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
