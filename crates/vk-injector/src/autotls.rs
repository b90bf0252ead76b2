//! Self-generated serving certificates kept in step with the cluster (spec §5.4, §5.6): who
//! generates and rotates (every replica alone, or only the Lease holder), where the material is
//! shared (Secret `vault-injector-certs` in `NAMESPACE`), publication of the CA bundle to every
//! webhook entry of the `-tls-auto` MutatingWebhookConfiguration, and what `/health/ready` says.
//!
//! Invariants:
//! * nothing is served before a certificate is installed into the serving slot (handshakes fail,
//!   `/health/ready` is 503 with the reason);
//! * a leaf of a new CA is only issued after a bundle holding that CA was published; old CAs stay
//!   in the bundle until they expire, so no replica's leaf is untrusted during a rotation;
//! * with leader election only the Lease holder writes (the Secret and the webhook bundle), and
//!   not while upstream's ConfigMap lock `vault-k8s-leader` is owned by a running upstream pod;
//!   every replica, the leader included, serves what the Secret holds, so all serve one CA;
//! * a Secret in upstream's format (`cert` and `key` only) is served as is until its leaf is due
//!   for renewal; then the leader starts a CA of its own (the old CA stays in the bundle).

mod advance;
mod health;
mod leader;
mod solo;

use std::sync::Arc;
use std::time::Duration;

use vk_kube::{KubeClient, LeaderElector, LeaseSettings};
use vk_server::ReloadingCert;
use vk_server::autotls::Lifetimes;

use crate::config::AutoTlsConfig;
use crate::readiness::Readiness;

pub use health::Health;

/// The running certificate manager: its readiness and, with leader election, the elector to
/// release on shutdown.
#[derive(Debug)]
pub struct AutoTls {
    readiness: Readiness,
    elector: Option<LeaderElector>,
}

impl AutoTls {
    /// Start managing certificates into `slot`. Must run inside a tokio runtime.
    pub fn start(client: KubeClient, config: &AutoTlsConfig, slot: Arc<ReloadingCert>) -> Self {
        let defaults = Lifetimes::default();
        let lifetimes = Lifetimes {
            ca: config.ca_lifetime.unwrap_or(defaults.ca),
            leaf: config.leaf_lifetime.unwrap_or(defaults.leaf),
        };
        let health = Health::default();
        let issuer = advance::Issuer {
            client: client.clone(),
            webhook_config: config.webhook_config.clone(),
            hosts: config.hosts.clone(),
            lifetimes,
        };
        let waiting_for;
        let elector = match &config.leader {
            None => {
                waiting_for =
                    "no serving certificate yet (generating and publishing it)".to_owned();
                tokio::spawn(solo::run(issuer, slot.clone(), health.clone()));
                None
            }
            Some(leader) => {
                println!("Using internal leader elector logic for webhook certificate management");
                let settings = LeaseSettings {
                    namespace: config.namespace.clone(),
                    name: LeaseSettings::DEFAULT_NAME.to_owned(),
                    identity: leader.pod_name.clone(),
                    lease_duration: leader.lease_duration,
                    renew_deadline: leader.renew_deadline,
                    retry_period: leader.retry_period,
                };
                let elector = LeaderElector::spawn(client.clone(), settings);
                waiting_for = format!(
                    "no serving certificate yet (waiting for the leader to write Secret {}/{})",
                    config.namespace,
                    vk_kube::CERT_SECRET_NAME
                );
                tokio::spawn(leader::serve_from_secret(
                    client.clone(),
                    config.namespace.clone(),
                    slot.clone(),
                ));
                tokio::spawn(leader::run(
                    issuer,
                    config.namespace.clone(),
                    elector.is_leader(),
                    leader.retry_period,
                    health.clone(),
                ));
                Some(elector)
            }
        };
        let readiness = Readiness::from_fn(move || {
            if let Some(problem) = health.problem() {
                return Err(problem);
            }
            if slot.is_loaded() {
                Ok(())
            } else {
                Err(waiting_for.clone())
            }
        });
        Self { readiness, elector }
    }

    /// With leader election: whether this replica holds the Lease (`None` without election).
    pub fn is_leader(&self) -> Option<tokio::sync::watch::Receiver<bool>> {
        self.elector.as_ref().map(LeaderElector::is_leader)
    }

    /// What `/health/ready` reports.
    pub fn readiness(&self) -> Readiness {
        self.readiness.clone()
    }

    /// Stop competing for the Lease and hand it over at once if we hold it.
    pub async fn shutdown(self) {
        if let Some(elector) = self.elector {
            elector.release().await;
        }
    }
}

/// Backoff after a failed round: 1 s doubling to 30 s.
fn backoff(failures: u32) -> Duration {
    Duration::from_secs(1u64 << failures.min(5).saturating_sub(1)).min(Duration::from_secs(30))
}
