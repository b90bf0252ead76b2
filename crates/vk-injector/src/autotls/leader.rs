//! With leader election: the Lease holder manages the material in the shared Secret; every
//! replica serves what the Secret holds.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use vk_kube::{CERT_SECRET_NAME, KubeError, UPSTREAM_LOCK_NAME};
use vk_server::ReloadingCert;

use super::advance::{Issuer, Material};
use super::{Health, backoff};

/// Install each new version of the Secret's `cert`/`key` into the serving slot.
pub(crate) async fn serve_from_secret(
    client: vk_kube::KubeClient,
    namespace: String,
    slot: Arc<ReloadingCert>,
) {
    let mut secret = client.watch_cert_secret(&namespace, CERT_SECRET_NAME);
    loop {
        let current = secret.borrow_and_update().clone();
        if let Some(contents) = current {
            match slot.install(&contents.cert_pem, &contents.key_pem) {
                Ok(()) => tracing::info!(
                    "serving the certificate from Secret {namespace}/{CERT_SECRET_NAME}"
                ),
                Err(err) => tracing::error!(
                    "Secret {namespace}/{CERT_SECRET_NAME} holds an unusable cert/key ({}); keeping the current certificate",
                    vk_telemetry::ErrorChain(&err)
                ),
            }
        }
        if secret.changed().await.is_err() {
            return;
        }
    }
}

/// While leader: keep the Secret's material current and the bundle published.
pub(crate) async fn run(
    issuer: Issuer,
    namespace: String,
    mut is_leader: watch::Receiver<bool>,
    retry_period: Duration,
    health: Health,
) {
    let mut failures = 0u32;
    let mut upstream_logged = false;
    let mut check_upstream = true;
    loop {
        if is_leader.wait_for(|l| *l).await.is_err() {
            return;
        }
        let wait = match round(&issuer, &namespace, check_upstream).await {
            Ok(Step::Wait(wait)) => {
                health.clear();
                failures = 0;
                upstream_logged = false;
                wait
            }
            Ok(Step::UpstreamHolds) => {
                if !upstream_logged {
                    tracing::warn!(
                        "an upstream vault-k8s pod owns ConfigMap {namespace}/{UPSTREAM_LOCK_NAME}; not writing certificates until it is gone"
                    );
                    upstream_logged = true;
                }
                health.clear();
                retry_period
            }
            Ok(Step::UpstreamUnknown(err)) => {
                tracing::warn!(
                    "cannot check upstream's lock ConfigMap {namespace}/{UPSTREAM_LOCK_NAME} ({err}); assuming no upstream injector is running"
                );
                check_upstream = false;
                Duration::ZERO
            }
            Err(problem) => {
                health.report(problem);
                failures += 1;
                backoff(failures)
            }
        };
        // Wake early when leadership changes.
        let _ = tokio::time::timeout(wait, is_leader.changed()).await;
    }
}

enum Step {
    Wait(Duration),
    UpstreamHolds,
    UpstreamUnknown(String),
}

async fn round(issuer: &Issuer, namespace: &str, check_upstream: bool) -> Result<Step, String> {
    let client = &issuer.client;
    if check_upstream {
        match client.upstream_lock_held(namespace).await {
            Ok(true) => return Ok(Step::UpstreamHolds),
            Ok(false) => {}
            // Without the RBAC rule the check is skipped from then on (logged once).
            Err(err @ KubeError::Forbidden { .. }) => {
                return Ok(Step::UpstreamUnknown(err.to_string()));
            }
            Err(err) => return Err(vk_telemetry::ErrorChain(&err).to_string()),
        }
    }
    let secret = match client.read_cert_secret(namespace, CERT_SECRET_NAME).await {
        Ok(secret) => secret,
        Err(KubeError::Invalid { problem, .. }) => {
            tracing::warn!("Secret {namespace}/{CERT_SECRET_NAME}: {problem}; replacing it");
            None
        }
        Err(err) => return Err(vk_telemetry::ErrorChain(&err).to_string()),
    };
    let material = secret
        .as_ref()
        .map(Material::from_secret)
        .unwrap_or_default();
    let round = issuer.advance(material).await?;
    if round.changed {
        let Some(contents) = round.material.to_secret() else {
            return Err("internal error: no serving certificate after a round".to_owned());
        };
        match client
            .write_cert_secret(namespace, CERT_SECRET_NAME, &contents)
            .await
        {
            Ok(()) => {
                tracing::info!("wrote new certificates to Secret {namespace}/{CERT_SECRET_NAME}")
            }
            Err(err) if err.is_conflict() => return Ok(Step::Wait(Duration::ZERO)),
            Err(err) => return Err(vk_telemetry::ErrorChain(&err).to_string()),
        }
    }
    Ok(Step::Wait(round.wait))
}
