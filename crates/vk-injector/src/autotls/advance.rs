//! One round of certificate management: from the current material, decide (with
//! `vk_server::autotls::next_action`), generate what is due, publish the CA bundle, and say when
//! to look again.

use std::time::{Duration, SystemTime};

use vk_kube::{CertSecret, KubeClient, KubeError};
use vk_server::autotls::{
    AutoTlsAction, AutoTlsHosts, CaBundle, CaMaterial, LeafMaterial, Lifetimes, next_action,
};

/// The longest wait between rounds, so a reset `caBundle` is repaired within it.
const MAX_WAIT: Duration = Duration::from_secs(30);
const MIN_WAIT: Duration = Duration::from_millis(200);

#[derive(Debug, Clone)]
pub(crate) struct Issuer {
    pub(crate) client: KubeClient,
    pub(crate) webhook_config: Option<String>,
    pub(crate) hosts: AutoTlsHosts,
    pub(crate) lifetimes: Lifetimes,
}

/// The CA (ours, when we have its key), the serving leaf and the published bundle.
#[derive(Clone, Default)]
pub(crate) struct Material {
    pub(crate) ca: Option<CaMaterial>,
    pub(crate) leaf: Option<LeafMaterial>,
    pub(crate) bundle: CaBundle,
}

/// The outcome of a round.
pub(crate) struct Round {
    pub(crate) material: Material,
    /// Whether the leaf or CA changed (the new material must be stored/installed).
    pub(crate) changed: bool,
    pub(crate) wait: Duration,
}

impl Material {
    /// Read what a Secret holds; unusable parts are dropped with a warning (they get replaced).
    pub(crate) fn from_secret(secret: &CertSecret) -> Self {
        let leaf = LeafMaterial::from_pem(&secret.cert_pem, &secret.key_pem)
            .map_err(|e| {
                tracing::warn!(
                    "the certificate Secret's cert/key cannot be used ({e}); issuing a new one"
                )
            })
            .ok();
        let ca = match (&secret.ca_cert_pem, &secret.ca_key_pem) {
            (Some(cert), Some(key)) => CaMaterial::from_pem(cert, key)
                .map_err(|e| tracing::warn!("the certificate Secret's ca-cert/ca-key cannot be used ({e}); generating a new CA"))
                .ok(),
            _ => None,
        };
        let bundle = secret
            .ca_bundle_pem
            .as_deref()
            .map(|b| CaBundle::parse(b.as_bytes()))
            .unwrap_or_default();
        Self { ca, leaf, bundle }
    }

    /// The Secret contents for this material (leaf must be present).
    pub(crate) fn to_secret(&self) -> Option<CertSecret> {
        let leaf = self.leaf.as_ref()?;
        Some(CertSecret {
            cert_pem: leaf.cert_pem.clone(),
            key_pem: leaf.key_pem.clone(),
            ca_cert_pem: self.ca.as_ref().map(|c| c.cert_pem.clone()),
            ca_key_pem: self.ca.as_ref().map(|c| c.key_pem.clone()),
            ca_bundle_pem: Some(self.bundle.to_pem()).filter(|b| !b.is_empty()),
        })
    }
}

impl Issuer {
    pub(crate) async fn advance(&self, mut m: Material) -> Result<Round, String> {
        let now = SystemTime::now();
        let mut changed = false;
        let ca = match m.ca.take() {
            Some(ca) => ca,
            None => {
                // A leaf without our CA (upstream's Secret format): serve it as is until due.
                if let Some(leaf) = &m.leaf
                    && now < leaf.renew_at()
                {
                    let wait = leaf.renew_at().duration_since(now).unwrap_or_default();
                    return Ok(Round {
                        material: m,
                        changed: false,
                        wait: wait.clamp(MIN_WAIT, MAX_WAIT),
                    });
                }
                let ca = CaMaterial::generate(now, &self.lifetimes)
                    .map_err(|e| format!("generating the CA: {e}"))?;
                let old = match m.bundle.is_empty() {
                    false => m.bundle.to_pem().into_bytes(),
                    true => self.current_bundle().await?,
                };
                m.bundle = CaBundle::last_old_plus_new(&old, &ca);
                m.leaf = None;
                changed = true;
                ca
            }
        };
        let mut ca = ca;
        // Each action makes the next one `Nothing` (a fresh CA is never due, a fresh leaf is
        // current); the bound only guards against material that never becomes current.
        for _ in 0..4 {
            match next_action(now, &ca, m.leaf.as_ref(), &self.hosts, &self.lifetimes) {
                AutoTlsAction::Nothing { until } => {
                    m.bundle = m.bundle.clone().with_added(&ca).without_expired(now);
                    self.publish(&m.bundle).await?;
                    m.ca = Some(ca);
                    let wait = until.duration_since(now).unwrap_or_default();
                    return Ok(Round {
                        material: m,
                        changed,
                        wait: wait.clamp(MIN_WAIT, MAX_WAIT),
                    });
                }
                AutoTlsAction::RenewLeaf => {
                    m.leaf = Some(
                        ca.issue_leaf(&self.hosts, now, &self.lifetimes)
                            .map_err(|e| format!("issuing the serving certificate: {e}"))?,
                    );
                    // Publish before anyone serves the leaf (it may be the first of this CA).
                    m.bundle = m.bundle.clone().with_added(&ca).without_expired(now);
                    self.publish(&m.bundle).await?;
                    changed = true;
                }
                AutoTlsAction::RotateCa => {
                    let next = CaMaterial::generate(now, &self.lifetimes)
                        .map_err(|e| format!("generating the next CA: {e}"))?;
                    tracing::info!(
                        "rotating the CA; the old one stays in the bundle until it expires"
                    );
                    m.bundle = m
                        .bundle
                        .clone()
                        .with_added(&ca)
                        .with_added(&next)
                        .without_expired(now);
                    self.publish(&m.bundle).await?;
                    ca = next;
                    m.leaf = None;
                    changed = true;
                }
            }
        }
        Err("internal error: freshly issued certificates are not current; check the test lifetime knobs".to_owned())
    }

    /// Bundle of the first webhook entry (for the old-plus-new rule); empty without `-tls-auto`.
    async fn current_bundle(&self) -> Result<Vec<u8>, String> {
        let Some(mwc) = &self.webhook_config else {
            return Ok(Vec::new());
        };
        let bundles = self
            .client
            .webhook_ca_bundles(mwc)
            .await
            .map_err(|e| webhook_problem(mwc, &e))?;
        Ok(bundles.into_iter().next().unwrap_or_default())
    }

    async fn publish(&self, bundle: &CaBundle) -> Result<(), String> {
        let Some(mwc) = &self.webhook_config else {
            return Ok(());
        };
        let changed = self
            .client
            .publish_ca_bundle(mwc, bundle.to_pem().as_bytes())
            .await
            .map_err(|e| webhook_problem(mwc, &e))?;
        if changed {
            tracing::info!(
                webhook_configuration = %mwc,
                cas = bundle.cas().len(),
                "published the CA bundle to every webhook entry"
            );
        }
        Ok(())
    }
}

fn webhook_problem(mwc: &str, err: &KubeError) -> String {
    let hint = if err.is_not_found() {
        "; create it (vault-helm and our chart do) or fix -tls-auto (AGENT_INJECT_TLS_AUTO)"
    } else {
        ""
    };
    format!(
        "publishing the CA bundle to MutatingWebhookConfiguration {mwc:?} (-tls-auto): {}{hint}",
        vk_telemetry::ErrorChain(err)
    )
}
