//! The HTTP client: token handling, raw calls (logical, auth, leases) and their retries.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use serde::Deserialize;
use tracing::Instrument as _;

use crate::address::{BaseAddress, encode_path, encode_query};
use crate::config::{ClientConfig, tls_config};
use crate::error::{VaultError, is_certificate_error};
use crate::kv::MountInfo;
use crate::response::{Envelope, RawResponse};
use crate::secret::SecretString;

/// An async Vault client. Cheap to clone (shared state); the token can be replaced at any
/// time by the auth loop with [`VaultClient::set_token`].
#[derive(Clone)]
pub struct VaultClient {
    inner: Arc<Inner>,
}

struct Inner {
    base: BaseAddress,
    http: vk_http::HttpClient,
    namespace: Option<String>,
    max_retries: u32,
    retry_wait: Duration,
    token: RwLock<Option<SecretString>>,
    /// Mount lookups (`sys/internal/ui/mounts/…`), keyed by mount path (`secret/`).
    mounts: Mutex<HashMap<String, MountInfo>>,
    /// Held by the first mount lookup after a token change while it runs: the N reads of a
    /// render pass usually share one mount, so the others wait for that answer instead of
    /// sending N identical lookups. Later lookups (other mounts) run concurrently.
    first_mount_lookup: tokio::sync::Mutex<()>,
    /// Whether a mount lookup completed since the last token change.
    mounts_primed: AtomicBool,
    /// Bounds the requests in flight, and so the connections: a render pass with hundreds of
    /// secrets would otherwise open one connection (and its buffers) per secret, at once.
    in_flight: tokio::sync::Semaphore,
    observer: Option<crate::RequestObserver>,
}

/// Per-request switches of `exchange`.
#[derive(Debug, Clone, Copy, Default)]
struct ExchangeOptions {
    /// A 404 is a response, not an error (reads).
    allow_404: bool,
    /// Ask Vault to response-wrap the answer (`X-Vault-Wrap-TTL`).
    wrap_ttl: Option<Duration>,
}

/// At most this many requests of one client are in flight at a time, unless configured.
const MAX_IN_FLIGHT: usize = 16;

impl fmt::Debug for VaultClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("VaultClient")
            .field("address", &self.inner.base.display())
            .field("namespace", &self.inner.namespace)
            .field("has_token", &self.token().is_some())
            .finish_non_exhaustive()
    }
}

/// Which HTTP method a raw call uses (LIST is sent as `GET ?list=true`, like Vault's client).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verb {
    Get,
    List,
    Put,
    Post,
    Delete,
}

impl Verb {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Verb::Get => "GET",
            Verb::List => "LIST",
            Verb::Put => "PUT",
            Verb::Post => "POST",
            Verb::Delete => "DELETE",
        }
    }

    fn method(self) -> Method {
        match self {
            Verb::Get | Verb::List => Method::GET,
            Verb::Put => Method::PUT,
            Verb::Post => Method::POST,
            Verb::Delete => Method::DELETE,
        }
    }
}

/// Splits `path?query` and normalises the path (no leading `/`, no `v1/` prefix).
pub(crate) fn split_path(raw: &str) -> Result<(String, Option<String>), VaultError> {
    let (path, query) = match raw.split_once('?') {
        Some((p, q)) => (p, Some(q.to_string()).filter(|q| !q.is_empty())),
        None => (raw, None),
    };
    let path = path.trim_start_matches('/');
    let path = path.strip_prefix("v1/").unwrap_or(path);
    if path.is_empty() {
        return Err(VaultError::InvalidPath {
            path: raw.to_string(),
            reason: "empty path",
        });
    }
    if path.split('/').any(|s| s == ".." || s == ".") {
        return Err(VaultError::InvalidPath {
            path: raw.to_string(),
            reason: "dot segments are not allowed",
        });
    }
    Ok((path.to_string(), query))
}

#[derive(Deserialize)]
struct ErrorsWire {
    #[serde(default)]
    errors: Vec<String>,
}

pub(crate) fn vault_errors(body: &str) -> Vec<String> {
    match serde_json::from_str::<ErrorsWire>(body) {
        Ok(w) => w.errors,
        Err(_) => {
            let text = body.trim();
            if text.is_empty() {
                Vec::new()
            } else {
                // Not Vault's JSON (a proxy's page?): keep a short excerpt.
                vec![text.chars().take(200).collect()]
            }
        }
    }
}

impl VaultClient {
    /// Builds the client (reads and parses the PEM files, builds TLS). No request is made.
    pub fn new(cfg: &ClientConfig) -> Result<Self, VaultError> {
        let base =
            BaseAddress::parse(&cfg.address).map_err(|source| VaultError::InvalidAddress {
                address: cfg.address.clone(),
                source,
            })?;
        let tls = tls_config(cfg)?;
        let http = vk_http::HttpClient::new(vk_http::HttpClientOptions {
            tls,
            http2_only: false,
            timeout: cfg.timeout,
            user_agent: cfg.user_agent.clone(),
            // Like Vault's own client (Go's `ProxyFromEnvironment`): the injector sets
            // `HTTPS_PROXY` on the agent for the `proxy-address` annotation.
            proxy: vk_http::ProxySetting::FromEnv,
        })
        .map_err(|source| VaultError::HttpClient { source })?;
        let namespace = cfg
            .namespace
            .as_deref()
            .map(|n| n.trim_matches('/'))
            .filter(|n| !n.is_empty())
            .map(|n| format!("{n}/"));
        Ok(Self {
            inner: Arc::new(Inner {
                base,
                http,
                namespace,
                max_retries: cfg.max_retries,
                retry_wait: cfg.retry_wait,
                token: RwLock::new(None),
                mounts: Mutex::new(HashMap::new()),
                first_mount_lookup: tokio::sync::Mutex::new(()),
                mounts_primed: AtomicBool::new(false),
                in_flight: tokio::sync::Semaphore::new(if cfg.max_in_flight == 0 {
                    MAX_IN_FLIGHT
                } else {
                    cfg.max_in_flight
                }),
                observer: cfg.observer.clone(),
            }),
        })
    }

    /// The request observer of the client's configuration, if any.
    pub(crate) fn observer(&self) -> Option<&crate::RequestObserver> {
        self.inner.observer.as_ref()
    }

    /// The server address (with a trailing `/` when it has no path).
    pub fn address(&self) -> &str {
        self.inner.base.display()
    }

    /// `scheme://host:port[/path]` without a trailing `/`.
    pub(crate) fn origin(&self) -> &str {
        self.inner.base.prefix()
    }

    /// The namespace sent as `X-Vault-Namespace` (canonical form with a trailing `/`).
    pub fn namespace(&self) -> Option<&str> {
        self.inner.namespace.as_deref()
    }

    /// Replaces the token used for every later request (the auth loop calls this after each
    /// login). Also forgets cached mount lookups, which depend on the token's permissions.
    pub fn set_token(&self, token: SecretString) {
        let token = Some(token).filter(|t| !t.is_empty());
        match self.inner.token.write() {
            Ok(mut guard) => *guard = token,
            Err(poisoned) => *poisoned.into_inner() = token,
        }
        self.clear_mount_cache();
    }

    /// Removes the token (requests are then sent unauthenticated).
    pub fn clear_token(&self) {
        match self.inner.token.write() {
            Ok(mut guard) => *guard = None,
            Err(poisoned) => *poisoned.into_inner() = None,
        }
    }

    /// The current token, if one is set.
    pub fn token(&self) -> Option<SecretString> {
        match self.inner.token.read() {
            Ok(guard) => guard.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The HTTP stack (TLS settings of the configuration).
    pub(crate) fn http(&self) -> &vk_http::HttpClient {
        &self.inner.http
    }

    /// Waits for a slot among the requests in flight (the semaphore is never closed).
    pub(crate) async fn in_flight_permit(&self) -> Option<tokio::sync::SemaphorePermit<'_>> {
        self.inner.in_flight.acquire().await.ok()
    }

    /// Drops every cached mount lookup.
    pub fn clear_mount_cache(&self) {
        match self.inner.mounts.lock() {
            Ok(mut m) => m.clear(),
            Err(poisoned) => poisoned.into_inner().clear(),
        }
        self.inner.mounts_primed.store(false, Ordering::Release);
    }

    /// Whether a mount lookup completed since the last token change.
    pub(crate) fn mounts_primed(&self) -> bool {
        self.inner.mounts_primed.load(Ordering::Acquire)
    }

    pub(crate) fn set_mounts_primed(&self) {
        self.inner.mounts_primed.store(true, Ordering::Release);
    }

    /// The gate of the first mount lookup after a token change.
    pub(crate) async fn first_mount_lookup(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.inner.first_mount_lookup.lock().await
    }

    pub(crate) fn mounts(&self) -> std::sync::MutexGuard<'_, HashMap<String, MountInfo>> {
        match self.inner.mounts.lock() {
            Ok(m) => m,
            Err(poisoned) => poisoned.into_inner(),
        }
    }

    fn url(&self, path: &str, query: Option<&str>, list: bool) -> String {
        let mut url = format!("{}/v1/", self.inner.base.prefix());
        encode_path(&mut url, path);
        let mut first = true;
        for part in query.into_iter().chain(list.then_some("list=true")) {
            url.push(if first { '?' } else { '&' });
            first = false;
            encode_query(&mut url, part);
        }
        url
    }

    /// One HTTP exchange, in a `vault_request` span whose trace context goes to Vault as a W3C
    /// `traceparent` header. Returns the response for 2xx and (when `allow_404`) 404; every
    /// other status becomes [`VaultError::Api`]. The span records the method, the path (no
    /// query, no body, no header) and the status: never a token or a secret.
    async fn exchange(
        &self,
        verb: Verb,
        path: &str,
        query: Option<&str>,
        body: Option<&serde_json::Value>,
        token: Option<&SecretString>,
        opts: ExchangeOptions,
    ) -> Result<RawResponse, VaultError> {
        let span = tracing::info_span!(
            "vault_request",
            http.request.method = verb.name(),
            url.path = path,
            http.response.status_code = tracing::field::Empty,
            otel.kind = "client",
            otel.status_code = tracing::field::Empty,
        );
        let result = self
            .exchange_in_span(verb, path, query, body, token, opts)
            .instrument(span.clone())
            .await;
        match &result {
            Ok(resp) => span.record("http.response.status_code", resp.status),
            Err(VaultError::Api { status, .. }) => {
                span.record("otel.status_code", "error");
                span.record("http.response.status_code", *status)
            }
            Err(_) => span.record("otel.status_code", "error"),
        };
        result
    }

    async fn exchange_in_span(
        &self,
        verb: Verb,
        path: &str,
        query: Option<&str>,
        body: Option<&serde_json::Value>,
        token: Option<&SecretString>,
        opts: ExchangeOptions,
    ) -> Result<RawResponse, VaultError> {
        let ExchangeOptions {
            allow_404,
            wrap_ttl,
        } = opts;
        let url = self.url(path, query, verb == Verb::List);
        let mut req = http::Request::builder()
            .method(verb.method())
            .uri(url)
            .header("X-Vault-Request", "true");
        for (name, value) in vk_telemetry::current_trace_headers() {
            req = req.header(name, value);
        }
        if let Some(token) = token.filter(|t| !t.is_empty()) {
            req = req.header("X-Vault-Token", token.expose());
        }
        if let Some(ns) = &self.inner.namespace {
            req = req.header("X-Vault-Namespace", ns.as_str());
        }
        if let Some(ttl) = wrap_ttl {
            req = req.header("X-Vault-Wrap-TTL", ttl.as_secs().max(1).to_string());
        }
        let payload = match body {
            Some(body) => {
                req = req.header(http::header::CONTENT_TYPE, "application/json");
                Bytes::from(
                    serde_json::to_vec(body).map_err(|source| VaultError::Decode {
                        method: verb.name(),
                        path: path.to_string(),
                        source,
                    })?,
                )
            }
            None => Bytes::new(),
        };
        let transport = |source: crate::error::BoxError| VaultError::Transport {
            method: verb.name(),
            path: path.to_string(),
            certificate_rejected: is_certificate_error(source.as_ref()),
            source,
        };
        // A header value that cannot be sent (a token or namespace with a line break) fails
        // like a request that never got an answer, as it did with the previous client.
        let req = req.body(payload).map_err(|e| transport(Box::new(e)))?;
        // The semaphore is never closed, so acquiring only waits.
        let permit = self.inner.in_flight.acquire().await.ok();
        let started = std::time::Instant::now();
        let answer = self
            .inner
            .http
            .send(req)
            .await
            .map(|a| (a.status.as_u16(), a.body));
        drop(permit);
        if let Some(observer) = &self.inner.observer {
            let class = match &answer {
                Ok((status, _)) => crate::StatusClass::of_status(*status),
                Err(_) => crate::StatusClass::Transport,
            };
            observer.record(class, started);
        }
        let (status, bytes) = answer.map_err(|e| transport(Box::new(e)))?;
        let text = String::from_utf8_lossy(&bytes).into_owned();
        tracing::debug!(
            method = verb.name(),
            path,
            status,
            body_len = text.len(),
            "vault response"
        );
        if (200..300).contains(&status) || (allow_404 && status == 404) {
            let envelope = if text.trim().is_empty() {
                None
            } else {
                match Envelope::parse(&text) {
                    Ok(env) => Some(env),
                    // A 404 body need not be an envelope (`{"errors":[]}` is, but be lenient).
                    Err(_) if status == 404 => None,
                    Err(source) => {
                        return Err(VaultError::Decode {
                            method: verb.name(),
                            path: path.to_string(),
                            source,
                        });
                    }
                }
            };
            return Ok(RawResponse {
                status,
                body: text,
                envelope,
            });
        }
        Err(VaultError::Api {
            method: verb.name(),
            path: path.to_string(),
            status,
            errors: vault_errors(&text),
        })
    }

    /// Runs `op` and repeats it on transient errors, up to `max_retries` more times.
    pub(crate) async fn retrying<T, F, Fut>(&self, mut op: F) -> Result<T, VaultError>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<T, VaultError>>,
    {
        let mut attempt = 0u32;
        loop {
            match op().await {
                Err(e) if e.is_transient() && attempt < self.inner.max_retries => {
                    attempt += 1;
                    let wait = jittered(self.inner.retry_wait);
                    tracing::debug!(error = %e, attempt, ?wait, "transient Vault error, retrying");
                    tokio::time::sleep(wait).await;
                }
                other => return other,
            }
        }
    }

    pub(crate) async fn call(
        &self,
        verb: Verb,
        raw_path: &str,
        body: Option<&serde_json::Value>,
        allow_404: bool,
    ) -> Result<RawResponse, VaultError> {
        let (path, query) = split_path(raw_path)?;
        let token = self.token();
        self.retrying(|| {
            self.exchange(
                verb,
                &path,
                query.as_deref(),
                body,
                token.as_ref(),
                ExchangeOptions {
                    allow_404,
                    wrap_ttl: None,
                },
            )
        })
        .await
    }

    /// A call with `token` (or none) instead of the client's current one, retried like
    /// [`VaultClient::read`].
    pub(crate) async fn call_with_token(
        &self,
        verb: Verb,
        raw_path: &str,
        body: Option<&serde_json::Value>,
        token: Option<&SecretString>,
    ) -> Result<RawResponse, VaultError> {
        let (path, query) = split_path(raw_path)?;
        self.retrying(|| {
            self.exchange(
                verb,
                &path,
                query.as_deref(),
                body,
                token,
                ExchangeOptions::default(),
            )
        })
        .await
    }

    /// A login-style call: no token, no client-level retry (the auth loop retries).
    pub(crate) async fn call_unauthenticated(
        &self,
        verb: Verb,
        path: &str,
        body: &serde_json::Value,
    ) -> Result<RawResponse, VaultError> {
        let (path, query) = split_path(path)?;
        self.exchange(
            verb,
            &path,
            query.as_deref(),
            Some(body),
            None,
            ExchangeOptions::default(),
        )
        .await
    }

    /// `GET /v1/<path>` (a `?query` is passed through, e.g. `?version=1`). A 404 is returned as
    /// a response with `status = 404` (Vault's own client does the same: the body may still
    /// carry data, e.g. KV v2 metadata of a deleted version); see
    /// [`VaultClient::read_secret`] for the agent's "no secret exists" rule.
    pub async fn read(&self, path: &str) -> Result<RawResponse, VaultError> {
        self.call(Verb::Get, path, None, true).await
    }

    /// `PUT /v1/<path>` with a JSON body (`204 No Content` gives an empty `body`).
    pub async fn write(
        &self,
        path: &str,
        data: &serde_json::Value,
    ) -> Result<RawResponse, VaultError> {
        self.call(Verb::Put, path, Some(data), false).await
    }

    /// `PUT /v1/<path>` asking Vault to response-wrap the answer for `ttl`
    /// (`X-Vault-Wrap-TTL`); the wrapping token is in the envelope's `wrap_info`.
    pub async fn write_wrapped(
        &self,
        path: &str,
        data: &serde_json::Value,
        ttl: Duration,
    ) -> Result<RawResponse, VaultError> {
        let (path, query) = split_path(path)?;
        let token = self.token();
        self.retrying(|| {
            self.exchange(
                Verb::Put,
                &path,
                query.as_deref(),
                Some(data),
                token.as_ref(),
                ExchangeOptions {
                    allow_404: false,
                    wrap_ttl: Some(ttl),
                },
            )
        })
        .await
    }

    /// `DELETE /v1/<path>`.
    pub async fn delete(&self, path: &str) -> Result<RawResponse, VaultError> {
        self.call(Verb::Delete, path, None, false).await
    }

    /// `LIST /v1/<path>` (sent as `GET ?list=true`). A 404 (nothing under the path) is returned
    /// with `status = 404` and no keys.
    pub async fn list(&self, path: &str) -> Result<RawResponse, VaultError> {
        self.call(Verb::List, path, None, true).await
    }

    /// `PUT /v1/sys/leases/renew` for a secret's lease.
    pub async fn renew_lease(
        &self,
        lease_id: &str,
        increment: Option<Duration>,
    ) -> Result<RawResponse, VaultError> {
        let mut body = serde_json::json!({ "lease_id": lease_id });
        if let Some(inc) = increment {
            body["increment"] = serde_json::json!(inc.as_secs());
        }
        self.call(Verb::Put, "sys/leases/renew", Some(&body), false)
            .await
    }

    /// `PUT /v1/sys/leases/revoke`.
    pub async fn revoke_lease(&self, lease_id: &str) -> Result<(), VaultError> {
        let body = serde_json::json!({ "lease_id": lease_id });
        self.call(Verb::Put, "sys/leases/revoke", Some(&body), false)
            .await
            .map(|_| ())
    }
}

/// `base` plus up to 50 % (cheap jitter from the clock; no RNG dependency needed).
fn jittered(base: Duration) -> Duration {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    base + base.mul_f64(f64::from(nanos % 1000) / 2000.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_are_normalised() {
        assert_eq!(
            split_path("/v1/secret/data/x?version=1").unwrap(),
            ("secret/data/x".to_string(), Some("version=1".to_string()))
        );
        assert_eq!(split_path("kv1/a").unwrap(), ("kv1/a".to_string(), None));
        assert!(split_path("").is_err());
        assert!(split_path("secret/../sys/seal").is_err());
    }

    #[test]
    fn urls_and_namespace() {
        let _ = rustls::crypto::ring::default_provider().install_default();
        let c = VaultClient::new(&ClientConfig {
            namespace: Some("team-a".into()),
            ..ClientConfig::new("http://127.0.0.1:8200/")
        })
        .unwrap();
        assert_eq!(c.namespace(), Some("team-a/"));
        let u = c.url("secret/data/a b", Some("version=2"), false);
        assert_eq!(u, "http://127.0.0.1:8200/v1/secret/data/a%20b?version=2");
        let u = c.url("secret/metadata/dir", None, true);
        assert_eq!(u, "http://127.0.0.1:8200/v1/secret/metadata/dir?list=true");
        c.set_token(SecretString::new("hvs.secret"));
        let shown = format!("{c:?}");
        assert!(
            shown.contains("has_token: true") && !shown.contains("hvs.secret"),
            "{shown}"
        );
    }

    #[test]
    fn errors_array_or_excerpt() {
        assert_eq!(vault_errors(r#"{"errors":["a","b"]}"#), vec!["a", "b"]);
        assert!(vault_errors("").is_empty());
        assert_eq!(
            vault_errors("<html>bad gateway</html>"),
            vec!["<html>bad gateway</html>"]
        );
    }
}
