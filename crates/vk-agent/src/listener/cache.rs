//! The lease cache (spec §1.7; Vault Agent's behaviour as observed with `bao agent`): a
//! response that carries a renewable lease, or a login/token-create response carrying a token,
//! is kept under its request (method, path and query, body, token) and served again for the
//! identical request; the agent renews what it holds and drops an entry when its lease or
//! token ends, is revoked through the proxy, or is cleared through `/agent/v1/cache-clear`.
//! Everything else (KV reads, errors) is passed through and never stored.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use vk_vault_client::{ForwardResponse, VaultClient};

use super::renew::{self, Renewal};

/// What identifies a request for the cache. Kept whole (not hashed) so two requests can never
/// share an entry by collision.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub(crate) struct CacheKey {
    pub(crate) method: String,
    pub(crate) path_and_query: String,
    pub(crate) body: Vec<u8>,
    pub(crate) token: String,
}

/// One stored response and what it is indexed by.
#[derive(Debug)]
struct Entry {
    response: Arc<ForwardResponse>,
    stored_at: Instant,
    /// The path without the query (`request_path` of cache-clear).
    request_path: String,
    lease_id: String,
    /// The token of the request (the lease's owner).
    token: String,
    /// The token the response created, and its accessor.
    new_token: String,
    new_accessor: String,
    renewer: tokio::task::AbortHandle,
}

/// A cached answer and its age.
pub(crate) struct Hit {
    pub(crate) response: Arc<ForwardResponse>,
    pub(crate) age_secs: u64,
}

/// The lease cache of one agent.
#[derive(Debug)]
pub(crate) struct LeaseCache {
    entries: Mutex<HashMap<CacheKey, Entry>>,
    /// Striped locks: identical requests that miss together reach Vault once.
    stripes: Vec<tokio::sync::Mutex<()>>,
    hasher: std::hash::RandomState,
    vault: VaultClient,
}

const STRIPES: usize = 32;

/// What a cache-clear request selects.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Selector {
    All,
    RequestPath(String),
    Lease(String),
    Token(String),
    TokenAccessor(String),
}

/// What makes a response worth caching.
struct Leased {
    lease_id: String,
    new_token: String,
    new_accessor: String,
    renewal: Renewal,
}

impl LeaseCache {
    pub(crate) fn new(vault: VaultClient) -> Arc<Self> {
        Arc::new(Self {
            entries: Mutex::new(HashMap::new()),
            stripes: (0..STRIPES).map(|_| tokio::sync::Mutex::new(())).collect(),
            hasher: std::hash::RandomState::new(),
            vault,
        })
    }

    fn entries(&self) -> MutexGuard<'_, HashMap<CacheKey, Entry>> {
        match self.entries.lock() {
            Ok(g) => g,
            Err(p) => p.into_inner(),
        }
    }

    /// The lock that serialises misses of requests like `key`.
    pub(crate) fn stripe(&self, key: &CacheKey) -> &tokio::sync::Mutex<()> {
        use std::hash::BuildHasher;
        let h = self.hasher.hash_one(key);
        &self.stripes[usize::try_from(h % STRIPES as u64).unwrap_or(0)]
    }

    pub(crate) fn get(&self, key: &CacheKey) -> Option<Hit> {
        self.entries().get(key).map(|e| Hit {
            response: e.response.clone(),
            age_secs: e.stored_at.elapsed().as_secs(),
        })
    }

    /// Stores `response` if it carries a lease or a token, and starts renewing it.
    /// Returns whether it was stored.
    pub(crate) fn offer(self: &Arc<Self>, key: CacheKey, response: Arc<ForwardResponse>) -> bool {
        let Some(leased) = leased(&response) else {
            return false;
        };
        let renewer = tokio::spawn(renew::run(
            Arc::downgrade(self),
            self.vault.clone(),
            key.clone(),
            leased.renewal,
        ))
        .abort_handle();
        let request_path = key
            .path_and_query
            .split_once('?')
            .map_or(key.path_and_query.as_str(), |(p, _)| p)
            .to_owned();
        let entry = Entry {
            response,
            stored_at: Instant::now(),
            request_path,
            lease_id: leased.lease_id,
            token: key.token.clone(),
            new_token: leased.new_token,
            new_accessor: leased.new_accessor,
            renewer,
        };
        if let Some(old) = self.entries().insert(key, entry) {
            old.renewer.abort();
        }
        true
    }

    /// Drops the entry of `key` (its lease or token ended); the renewer is the caller.
    pub(crate) fn expire(&self, key: &CacheKey) {
        if self.entries().remove(key).is_some() {
            tracing::debug!("lease cache entry expired");
        }
    }

    /// Drops the entries `sel` selects and stops their renewal; returns how many.
    pub(crate) fn clear(&self, sel: &Selector) -> usize {
        let mut entries = self.entries();
        let before = entries.len();
        entries.retain(|_, e| {
            let hit = match sel {
                Selector::All => true,
                Selector::RequestPath(p) => e.request_path == *p,
                Selector::Lease(l) => e.lease_id == *l,
                Selector::Token(t) => e.token == *t || e.new_token == *t,
                Selector::TokenAccessor(a) => e.new_accessor == *a,
            };
            if hit {
                e.renewer.abort();
            }
            !hit
        });
        before - entries.len()
    }

    pub(crate) fn len(&self) -> usize {
        self.entries().len()
    }
}

impl Drop for LeaseCache {
    fn drop(&mut self) {
        for e in self.entries().values() {
            e.renewer.abort();
        }
    }
}

/// The lease or token a successful response carries, if any.
fn leased(resp: &ForwardResponse) -> Option<Leased> {
    if resp.status != 200 {
        return None;
    }
    let v: serde_json::Value = serde_json::from_slice(&resp.body).ok()?;
    let text =
        |v: &serde_json::Value, k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
    let secs = |v: &serde_json::Value| {
        v.get("lease_duration")
            .and_then(serde_json::Value::as_u64)
            .unwrap_or(0)
    };
    let renewable = |v: &serde_json::Value| {
        v.get("renewable")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    };
    if let Some(auth) = v.get("auth").filter(|a| !a.is_null()) {
        let token = text(auth, "client_token");
        if !token.is_empty() {
            return Some(Leased {
                lease_id: String::new(),
                new_accessor: text(auth, "accessor"),
                renewal: Renewal::Token {
                    token: token.clone(),
                    ttl: secs(auth),
                    renewable: renewable(auth),
                },
                new_token: token,
            });
        }
    }
    let lease_id = text(&v, "lease_id");
    if lease_id.is_empty() || !renewable(&v) {
        return None;
    }
    Some(Leased {
        renewal: Renewal::Lease {
            lease_id: lease_id.clone(),
            ttl: secs(&v),
        },
        lease_id,
        new_token: String::new(),
        new_accessor: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resp(body: &str) -> ForwardResponse {
        ForwardResponse {
            status: 200,
            headers: Vec::new(),
            body: body.as_bytes().to_vec(),
        }
    }

    #[test]
    fn what_is_cached() {
        assert!(
            leased(&resp(
                r#"{"lease_id":"","renewable":false,"data":{"a":1},"auth":null}"#
            ))
            .is_none()
        );
        assert!(
            leased(&resp(
                r#"{"lease_id":"db/creds/x/1","renewable":false,"lease_duration":60}"#
            ))
            .is_none()
        );
        let l = leased(&resp(
            r#"{"lease_id":"db/creds/x/1","renewable":true,"lease_duration":60}"#,
        ))
        .unwrap();
        assert_eq!(l.lease_id, "db/creds/x/1");
        let t = leased(&resp(r#"{"lease_id":"","auth":{"client_token":"s.x","accessor":"acc","lease_duration":60,"renewable":true}}"#)).unwrap();
        assert_eq!(
            (t.new_token.as_str(), t.new_accessor.as_str()),
            ("s.x", "acc")
        );
        let mut err = resp(r#"{"lease_id":"l","renewable":true}"#);
        err.status = 400;
        assert!(leased(&err).is_none());
    }
}
