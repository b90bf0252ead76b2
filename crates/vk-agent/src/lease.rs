//! Lifetime watchers of renewable template secrets (spec §6.3, algorithm §2.8): the I/O side.
//! `vk-lease` decides when to renew and when to give up; this module finds what to renew in a
//! response, makes the renewal call and turns the decisions into deadlines for the engine's
//! store.

use std::time::Duration;

use tokio::time::Instant;
use vk_lease::{EndReason, LeaseInfo, LifetimeWatcher, RenewMode, Timestamp, WatchAction};
use vk_vault_client::{SecretString, VaultClient, VaultError};

use crate::backoff::{self, Jitter};

/// How a renewable secret is renewed (§2.8).
#[derive(Debug, Clone)]
pub(crate) enum Target {
    /// `PUT sys/leases/renew` with this lease id (dynamic credentials, …).
    Lease(String),
    /// `PUT auth/token/renew-self` with the token the secret created (`auth/token/create`).
    Token(SecretString),
}

impl Target {
    /// What to renew in a response body: the `auth.client_token` of a renewable `auth`
    /// section, else a non-empty `lease_id`.
    pub(crate) fn of(body: &str) -> Option<Self> {
        let v: serde_json::Value = serde_json::from_str(body).ok()?;
        let auth_renewable = v
            .pointer("/auth/renewable")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        if auth_renewable
            && let Some(t) = v
                .pointer("/auth/client_token")
                .and_then(serde_json::Value::as_str)
                .filter(|t| !t.is_empty())
        {
            return Some(Self::Token(SecretString::new(t)));
        }
        v.get("lease_id")
            .and_then(serde_json::Value::as_str)
            .filter(|id| !id.is_empty())
            .map(|id| Self::Lease(id.to_string()))
    }

    /// `"lease"` or `"token"`, for logs (the id itself is not logged).
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Self::Lease(_) => "lease",
            Self::Token(_) => "token",
        }
    }

    /// Renews; returns the new lease duration.
    pub(crate) async fn renew(&self, client: &VaultClient) -> Result<Duration, RenewError> {
        match self {
            Self::Lease(id) => {
                let r = client.renew_lease(id, None).await?;
                let secs = r
                    .json()
                    .and_then(Result::ok)
                    .and_then(|v| v.get("lease_duration").and_then(serde_json::Value::as_u64))
                    .ok_or(RenewError::NoLease)?;
                Ok(Duration::from_secs(secs))
            }
            Self::Token(token) => {
                let a = client.renew_token_self(token, None).await?;
                Ok(Duration::from_secs(a.lease_duration))
            }
        }
    }
}

/// A renewal that did not extend the lease.
#[derive(Debug, thiserror::Error)]
pub(crate) enum RenewError {
    /// The call failed.
    #[error(transparent)]
    Vault(#[from] VaultError),
    /// The answer had no `lease_duration` (§2.8 treats it like a failure).
    #[error("the renewal response carried no lease_duration")]
    NoLease,
}

/// What the engine does with a dependency next.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Next {
    /// Renew (or, for a non-renewable lease, re-check) at this deadline.
    Renew(Instant),
    /// The watcher ended: fetch the secret again at this deadline (§6.3).
    Refetch(Instant),
}

/// One watched lease.
#[derive(Debug, Clone)]
pub(crate) struct LeaseWatch {
    watcher: LifetimeWatcher,
    target: Target,
    fetched_at: Timestamp,
    /// `false` after a `WakeAt`: the due action is a re-check, not a renewal call.
    renew: bool,
}

impl LeaseWatch {
    /// Starts watching the lease of a freshly fetched secret ("error on errors" mode, §6.3);
    /// the first renewal is due at once.
    pub(crate) fn start(lease: LeaseInfo, target: Target, jitter: &mut Jitter) -> (Self, Next) {
        let now = backoff::now();
        let (watcher, action) = LifetimeWatcher::start(
            lease,
            now,
            now,
            RenewMode::ErrorOnErrors,
            None,
            jitter.fraction(),
        );
        let mut w = Self {
            watcher,
            target,
            fetched_at: now,
            renew: true,
        };
        let next = w.apply(action);
        (w, next)
    }

    /// The renewal target (cloned into the renewal task).
    pub(crate) fn target(&self) -> &Target {
        &self.target
    }

    /// Whether the due action calls Vault.
    pub(crate) fn renews(&self) -> bool {
        self.renew
    }

    /// Records the outcome of the due action (`None` when no call was made).
    pub(crate) fn on_outcome(
        &mut self,
        outcome: Option<&Result<Duration, RenewError>>,
        jitter: &mut Jitter,
    ) -> Next {
        let now = backoff::now();
        let action = match outcome {
            Some(Ok(lease)) => self.watcher.on_renewed(now, *lease, jitter.fraction()),
            Some(Err(_)) => self.watcher.on_renew_error(now, jitter.fraction()),
            None => self.watcher.on_wake(now),
        };
        self.apply(action)
    }

    fn apply(&mut self, action: WatchAction) -> Next {
        match action {
            WatchAction::RenewAt(t) => {
                self.renew = true;
                Next::Renew(backoff::deadline(t))
            }
            WatchAction::WakeAt(t) => {
                self.renew = false;
                Next::Renew(backoff::deadline(t))
            }
            // Only auth tokens in RetryErrors mode get this; a secret is fetched again.
            WatchAction::Unlimited => Next::Refetch(Instant::now()),
            WatchAction::End(reason) => {
                let at = vk_lease::refetch_at(reason, self.fetched_at, backoff::now());
                if reason == EndReason::RenewalFailed {
                    tracing::debug!("lease watcher ended after a failed renewal");
                }
                Next::Refetch(backoff::deadline(at))
            }
        }
    }
}

/// The body with `lease_duration` replaced by the renewed value, so templates see the current
/// lease; the data is untouched. The body is returned unchanged if it is not a JSON object.
pub(crate) fn with_lease_duration(body: &str, lease: Duration) -> String {
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut m)) if m.contains_key("lease_duration") => {
            m.insert("lease_duration".into(), lease.as_secs().into());
            serde_json::Value::Object(m).to_string()
        }
        _ => body.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn targets() {
        let db = r#"{"lease_id":"database/creds/app/abc","renewable":true,"lease_duration":6}"#;
        assert!(
            matches!(Target::of(db), Some(Target::Lease(id)) if id == "database/creds/app/abc")
        );
        let token = r#"{"lease_id":"","auth":{"client_token":"s.x","renewable":true}}"#;
        let t = Target::of(token).unwrap();
        assert_eq!(t.kind(), "token");
        assert!(
            !format!("{t:?}").contains("s.x"),
            "the token is never printed"
        );
        assert!(Target::of(r#"{"lease_id":"","data":{}}"#).is_none());
        assert!(Target::of("not json").is_none());
    }

    #[test]
    fn lease_duration_is_updated_and_data_kept() {
        let body = r#"{"request_id":"r","lease_id":"l","renewable":true,"lease_duration":6,"data":{"username":"u","password":"p"}}"#;
        let got = with_lease_duration(body, Duration::from_secs(9));
        assert_eq!(
            got,
            r#"{"request_id":"r","lease_id":"l","renewable":true,"lease_duration":9,"data":{"username":"u","password":"p"}}"#
        );
        assert_eq!(with_lease_duration("x", Duration::from_secs(1)), "x");
    }

    #[tokio::test]
    async fn first_renewal_is_due_at_once() {
        let mut j = Jitter::new();
        let before = Instant::now();
        let (w, next) = LeaseWatch::start(
            LeaseInfo {
                ttl: Duration::from_secs(60),
                renewable: true,
            },
            Target::Lease("l".into()),
            &mut j,
        );
        assert!(w.renews());
        match next {
            Next::Renew(at) => assert!(at <= Instant::now() && at >= before),
            other => panic!("expected an immediate renewal, got {other:?}"),
        }
    }
}
