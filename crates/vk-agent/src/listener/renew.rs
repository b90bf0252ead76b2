//! Renewal of what the lease cache holds (spec §2.8 timing, `vk-lease`'s lifetime watcher):
//! a secret's lease with `sys/leases/renew` under the token that requested it, a created token
//! with `auth/token/renew-self` under itself. When renewal ends (max TTL, revoked, refused)
//! the entry leaves the cache, so the next identical request gets a fresh secret.

use std::sync::Weak;
use std::time::Duration;

use vk_lease::{LeaseInfo, LifetimeWatcher, RenewMode, WatchAction};
use vk_vault_client::{ForwardRequest, VaultClient};

use super::cache::{CacheKey, LeaseCache};
use crate::backoff::{self, Jitter};

/// What one cache entry renews.
#[derive(Debug, Clone)]
pub(crate) enum Renewal {
    Lease {
        lease_id: String,
        ttl: u64,
    },
    Token {
        token: String,
        ttl: u64,
        renewable: bool,
    },
}

impl Renewal {
    fn info(&self) -> LeaseInfo {
        match self {
            Renewal::Lease { ttl, .. } => LeaseInfo {
                ttl: Duration::from_secs(*ttl),
                renewable: true,
            },
            Renewal::Token { ttl, renewable, .. } => LeaseInfo {
                ttl: Duration::from_secs(*ttl),
                renewable: *renewable,
            },
        }
    }

    fn request(&self, owner: &str) -> ForwardRequest {
        let (path, token, body) = match self {
            Renewal::Lease { lease_id, .. } => (
                "/v1/sys/leases/renew",
                owner,
                serde_json::json!({ "lease_id": lease_id }),
            ),
            Renewal::Token { token, .. } => (
                "/v1/auth/token/renew-self",
                token.as_str(),
                serde_json::json!({}),
            ),
        };
        let mut headers = vec![("x-vault-request".to_owned(), b"true".to_vec())];
        if !token.is_empty() {
            headers.push(("x-vault-token".to_owned(), token.as_bytes().to_vec()));
        }
        ForwardRequest {
            method: "PUT".to_owned(),
            path_and_query: path.to_owned(),
            headers,
            body: body.to_string().into_bytes(),
        }
    }
}

/// The new lease duration of a successful renewal.
async fn renew_once(vault: &VaultClient, what: &Renewal, owner: &str) -> Option<Duration> {
    let resp = vault.forward(what.request(owner)).await.ok()?;
    if resp.status != 200 {
        tracing::info!(status = resp.status, "renewing a cached lease was refused");
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&resp.body).ok()?;
    let secs = match what {
        Renewal::Lease { .. } => v.get("lease_duration"),
        Renewal::Token { .. } => v.get("auth").and_then(|a| a.get("lease_duration")),
    }
    .and_then(serde_json::Value::as_u64)?;
    Some(Duration::from_secs(secs))
}

/// Renews until the watcher ends, then evicts the entry. Ends early if the cache is gone.
pub(crate) async fn run(cache: Weak<LeaseCache>, vault: VaultClient, key: CacheKey, what: Renewal) {
    let mut jitter = Jitter::new();
    let now = backoff::now();
    let (mut watcher, mut action) = LifetimeWatcher::start(
        what.info(),
        now,
        now,
        RenewMode::ErrorOnErrors,
        None,
        jitter.fraction(),
    );
    loop {
        action = match action {
            WatchAction::Unlimited => return,
            WatchAction::End(reason) => {
                tracing::info!(?reason, "cached lease ended; evicting it");
                if let Some(c) = cache.upgrade() {
                    c.expire(&key);
                }
                return;
            }
            WatchAction::WakeAt(t) => {
                tokio::time::sleep_until(backoff::deadline(t)).await;
                watcher.on_wake(backoff::now())
            }
            WatchAction::RenewAt(t) => {
                tokio::time::sleep_until(backoff::deadline(t)).await;
                if cache.strong_count() == 0 {
                    return;
                }
                match renew_once(&vault, &what, &key.token).await {
                    Some(lease) => {
                        tracing::debug!(ttl_secs = lease.as_secs(), "renewed a cached lease");
                        watcher.on_renewed(backoff::now(), lease, jitter.fraction())
                    }
                    None => watcher.on_renew_error(backoff::now(), jitter.fraction()),
                }
            }
        };
    }
}
