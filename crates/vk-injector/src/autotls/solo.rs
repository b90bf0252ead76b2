//! Without leader election: this replica keeps its own CA and leaf in memory (upstream's
//! behaviour), publishes the bundle and serves the leaf.

use std::sync::Arc;

use vk_server::ReloadingCert;

use super::advance::{Issuer, Material};
use super::{Health, backoff};

pub(crate) async fn run(issuer: Issuer, slot: Arc<ReloadingCert>, health: Health) {
    let mut material = Material::default();
    let mut failures = 0u32;
    loop {
        match issuer.advance(material.clone()).await {
            Ok(round) => {
                material = round.material;
                if round.changed || !slot.is_loaded() {
                    install(&slot, &material, &health);
                }
                if slot.is_loaded() {
                    health.clear();
                }
                failures = 0;
                tokio::time::sleep(round.wait).await;
            }
            Err(problem) => {
                health.report(problem);
                failures += 1;
                tokio::time::sleep(backoff(failures)).await;
            }
        }
    }
}

fn install(slot: &ReloadingCert, material: &Material, health: &Health) {
    let Some(leaf) = &material.leaf else {
        return;
    };
    match slot.install(&leaf.cert_pem, &leaf.key_pem) {
        Ok(()) => tracing::info!("serving a new self-generated certificate"),
        Err(err) => health.report(format!(
            "installing the generated certificate: {}",
            vk_telemetry::ErrorChain(&err)
        )),
    }
}
