//! An HTTPS server standing in for the Kubernetes API server in tests (never in the product).
//!
//! [`KubeApi::start`] serves, on `https://127.0.0.1:<free port>` with its own CA:
//!
//! - **TokenReview** (`POST /apis/authentication.k8s.io/v1/tokenreviews`), answered like the
//!   API server: the caller must be the reviewer (its token, [`KubeApi::reviewer_token`]) or
//!   the admin, the reviewed token is a JWT whose ES256 signature is really verified against
//!   the issuer key generated at start, `exp`/`nbf` (60 s leeway) and `iss` are checked,
//!   audiences are intersected, and the answer carries `status.user` and `status.audiences`
//!   (or `authenticated: false` with `status.error`).
//! - **A generic object store** for core/v1 `secrets`, `configmaps`, `pods`,
//!   `coordination.k8s.io/v1` `leases` and `admissionregistration.k8s.io/v1`
//!   `mutatingwebhookconfigurations` (cluster-scoped), with the API server's REST verbs:
//!   create (409 AlreadyExists), get (404 NotFound), update (PUT; 409 Conflict on a stale
//!   `metadata.resourceVersion`, unconditional without one; no-op updates keep the
//!   resourceVersion), patch (JSON patch, merge patch, strategic merge patch, server-side
//!   apply; the `patch` module docs say where they differ from the real ones), delete (a `Success`
//!   Status), list (`labelSelector`, `fieldSelector` on `metadata.name`/`metadata.namespace`)
//!   and watch (the `watch` module docs say how). Objects get `uid`, `creationTimestamp`, `generation` and a
//!   `resourceVersion` from one increasing counter; Secrets get `stringData` folded into
//!   base64 `data`. Errors are `Status` objects with `reason`, `message`, `details` and `code`
//!   as the API server writes them. PUT never creates (404 for a missing object, whatever
//!   the type). Every namespace exists (`GET /api/v1/namespaces/<ns>` answers an active
//!   Namespace; kubectl asks it after a 404); there are no subresources
//!   (`/status`), no `deletecollection`, no `dryRun` (refused with 400), no field validation
//!   of unknown fields, and no admission.
//! - **Discovery** (`/version`, `/api`, `/api/v1`, `/apis`, `/apis/<g>`, `/apis/<g>/<v>`) so
//!   kubectl finds the resources; OpenAPI paths answer 404 (kubectl then skips
//!   client-side schema checks).
//!
//! Every API path needs a bearer token: [`KubeApi::admin_token`] (user `kubernetes-admin`,
//! allowed everything) or any service-account token the issuer mints (user
//! `system:serviceaccount:<ns>:<name>`); no or a bad token gets 401. [`KubeApi::forbid`]
//! denies a verb on a resource to every caller (the admin included) with the RBAC
//! authorizer's 403 text. [`KubeApi::compact`] expires every resourceVersion handed out so
//! far, to test clients' re-list on 410. [`KubeApi::fail_token_reviews`] makes every
//! TokenReview fail with a given status until cleared. Bodies
//! above 3 MiB get 413. [`KubeApi::requests`] lists every request seen.
//! [`KubeApi::write_kubeconfig`] writes a kubeconfig for kubectl and vk-kube.
//!
//! The server runs on its own thread with a current-thread tokio runtime, so the blocking API
//! works from sync and async tests alike. It stops when dropped (open watches end).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::Value;

use crate::certs::TestCa;

mod ids;
mod kubeconfig;
mod patch;
mod rbac;
mod resources;
mod routes;
mod selectors;
mod status;
mod store;
mod token_review;
mod tokens;
mod transport;
mod vault_auth;
mod watch;

#[cfg(test)]
mod token_review_tests;

pub use token_review::ReviewRecord;
pub use tokens::{DEFAULT_ISSUER, ServiceAccountIssuer, TokenOptions};
pub use vault_auth::{configure_kubernetes_auth, enable_kubernetes_auth, write_kubernetes_role};

/// The user the admin token authenticates as (kubeadm's admin user).
pub const ADMIN_USER: &str = "kubernetes-admin";

/// One request the server received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiRequest {
    /// HTTP method (`GET`, `POST`, `PUT`, `PATCH`, `DELETE`).
    pub method: String,
    /// URL path, e.g. `/api/v1/namespaces/ns/secrets/x`.
    pub path: String,
    /// Raw query string, if any.
    pub query: Option<String>,
    /// `Content-Type` of the request, if any (tells patch types apart).
    pub content_type: Option<String>,
    /// The authenticated user, `None` when the request carried no valid token.
    pub user: Option<String>,
    /// The HTTP status answered (200 for a watch that was started).
    pub status: u16,
}

/// State shared by the server thread and the test-side methods.
struct State {
    reviewer_user: String,
    admin_token: String,
    server_address: String,
    verifier: tokens::Verifier,
    reviews: Mutex<Vec<ReviewRecord>>,
    requests: Mutex<Vec<ApiRequest>>,
    store: store::Store,
    rbac: rbac::Rbac,
    /// The status every TokenReview gets while set ([`KubeApi::fail_token_reviews`]).
    review_failure: Mutex<Option<u16>>,
}

impl State {
    fn push_review(&self, r: ReviewRecord) {
        self.reviews
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(r);
    }

    fn push_request(&self, r: ApiRequest) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(r);
    }
}

/// The running endpoint. Dropping it stops the server thread.
pub struct KubeApi {
    url: String,
    ca_pem: String,
    issuer: ServiceAccountIssuer,
    reviewer_token: String,
    state: Arc<State>,
    shutdown: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for KubeApi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KubeApi")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

fn random_token() -> String {
    use ring::rand::SecureRandom as _;
    let mut b = [0u8; 32];
    // Without OS randomness a fresh uid (clock based) still makes a usable test token.
    if ring::rand::SystemRandom::new().fill(&mut b).is_err() {
        return ids::random_uid();
    }
    URL_SAFE_NO_PAD.encode(b)
}

/// `(resource type, namespace)` for an object's `apiVersion`/`kind`, checked against its scope.
fn locate<'a>(
    api_version: &str,
    kind: &str,
    namespace: Option<&'a str>,
) -> Result<(&'static resources::ResourceType, Option<&'a str>)> {
    let rt = resources::by_kind(api_version, kind)
        .ok_or_else(|| anyhow!("{api_version} {kind} is not a resource this test API serves"))?;
    match (rt.namespaced, namespace) {
        (true, None) => bail!("{kind} is namespaced: give a namespace"),
        (false, Some(ns)) => bail!("{kind} is cluster-scoped: no namespace ({ns:?} given)"),
        _ => Ok((rt, namespace)),
    }
}

impl KubeApi {
    /// Starts the server on `127.0.0.1:<ephemeral port>` with a fresh CA, serving certificate,
    /// issuer key (issuer [`DEFAULT_ISSUER`]), reviewer token and admin token.
    pub fn start() -> Result<Self> {
        let ca = TestCa::named("vk-test-kubernetes-ca")?;
        let leaf = ca.leaf()?;
        let tls = Arc::new(crate::certs::server_config(&leaf)?);
        let issuer = ServiceAccountIssuer::generate(DEFAULT_ISSUER)?;
        // The reviewer's own credential is a service-account token too, as in a real cluster.
        let reviewer_token = issuer.mint("vault", "vault", Duration::from_secs(24 * 3600))?;
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding the kube-api listener")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(State {
            reviewer_user: "system:serviceaccount:vault:vault".to_string(),
            admin_token: random_token(),
            server_address: format!("127.0.0.1:{port}"),
            verifier: issuer.verifier(),
            reviews: Mutex::new(Vec::new()),
            requests: Mutex::new(Vec::new()),
            store: store::Store::new(),
            rbac: rbac::Rbac::default(),
            review_failure: Mutex::new(None),
        });
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread_state = state.clone();
        let thread = std::thread::Builder::new()
            .name("vk-kube-api".into())
            .spawn(move || {
                let rt = match tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                {
                    Ok(rt) => rt,
                    Err(e) => {
                        eprintln!("kube-api: cannot build a tokio runtime: {e}");
                        return;
                    }
                };
                rt.block_on(transport::serve(listener, tls, thread_state, rx));
            })
            .context("spawning the kube-api thread")?;
        Ok(Self {
            url: format!("https://127.0.0.1:{port}"),
            ca_pem: ca.ca_pem(),
            issuer,
            reviewer_token,
            state,
            shutdown: Some(tx),
            thread: Some(thread),
        })
    }

    /// `https://127.0.0.1:PORT` (the `kubernetes_host` to configure).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// PEM of the CA that signed the serving certificate (the `kubernetes_ca_cert`).
    pub fn ca_pem(&self) -> &str {
        &self.ca_pem
    }

    /// The bearer token TokenReview callers present (the `token_reviewer_jwt`); it is the
    /// token of service account `vault/vault`.
    pub fn reviewer_token(&self) -> &str {
        &self.reviewer_token
    }

    /// A bearer token allowed everything not [`forbid`](Self::forbid)den (user
    /// [`ADMIN_USER`]).
    pub fn admin_token(&self) -> &str {
        &self.state.admin_token
    }

    /// The issuer whose signatures the server accepts.
    pub fn issuer(&self) -> &ServiceAccountIssuer {
        &self.issuer
    }

    /// A valid token for `system:serviceaccount:<namespace>:<sa_name>`.
    pub fn mint(&self, namespace: &str, sa_name: &str, ttl: Duration) -> Result<String> {
        self.issuer.mint(namespace, sa_name, ttl)
    }

    /// A token with the same claims and issuer name but signed by an unrelated key: the server
    /// answers `authenticated: false` for it.
    pub fn mint_foreign(&self, namespace: &str, sa_name: &str, ttl: Duration) -> Result<String> {
        ServiceAccountIssuer::generate(self.issuer.issuer())?.mint(namespace, sa_name, ttl)
    }

    /// Every TokenReview call received so far.
    pub fn reviews(&self) -> Vec<ReviewRecord> {
        self.state
            .reviews
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Number of TokenReview calls received so far.
    pub fn review_count(&self) -> usize {
        self.state
            .reviews
            .lock()
            .map(|r| r.len())
            .unwrap_or_default()
    }

    /// Writes `dir/kubeconfig` (server, `certificate-authority-data`, the admin token as user,
    /// current context with `namespace`) and returns its path; usable by `kubectl
    /// --kubeconfig` and by vk-kube (`KubeClient::from_kubeconfig`, or through `KUBECONFIG`).
    pub fn write_kubeconfig(&self, dir: &Path, namespace: &str) -> Result<PathBuf> {
        kubeconfig::write(dir, &self.url, &self.ca_pem, self.admin_token(), namespace)
    }

    /// Like [`write_kubeconfig`](Self::write_kubeconfig) with another bearer token (e.g. a
    /// service-account token from [`mint`](Self::mint)).
    pub fn write_kubeconfig_with_token(
        &self,
        dir: &Path,
        namespace: &str,
        token: &str,
    ) -> Result<PathBuf> {
        kubeconfig::write(dir, &self.url, &self.ca_pem, token, namespace)
    }

    /// Creates an object directly in the store (no RBAC), as a POST would; `apiVersion`,
    /// `kind` and (for namespaced kinds) `metadata.namespace` say where. Returns the stored
    /// object with its server-set fields.
    pub fn create_object(&self, obj: Value) -> Result<Value> {
        let api_version = obj["apiVersion"].as_str().unwrap_or_default().to_string();
        let kind = obj["kind"].as_str().unwrap_or_default().to_string();
        let ns = obj["metadata"]["namespace"].as_str().map(String::from);
        let (rt, ns) =
            locate(&api_version, &kind, ns.as_deref()).or_else(|e| match ns.as_deref() {
                // A cluster-scoped object given a namespace: the API server drops it.
                Some(_) => locate(&api_version, &kind, None).map_err(|_| e),
                None => Err(e),
            })?;
        self.state
            .store
            .create(rt, ns, obj)
            .map_err(|e| anyhow!("creating {kind}: {}", e.message))
    }

    /// The stored object, or `None`.
    pub fn get_object(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> Option<Value> {
        let (rt, ns) = locate(api_version, kind, namespace).ok()?;
        self.state.store.get(rt, ns, name).ok()
    }

    /// Deletes the stored object; `false` if there was none.
    pub fn delete_object(
        &self,
        api_version: &str,
        kind: &str,
        namespace: Option<&str>,
        name: &str,
    ) -> bool {
        locate(api_version, kind, namespace)
            .ok()
            .is_some_and(|(rt, ns)| self.state.store.delete(rt, ns, name).is_ok())
    }

    /// From now on, requests with `verb` (get, list, watch, create, update, patch, delete)
    /// on `resource` (plural, e.g. `secrets`) get 403 with the RBAC authorizer's `Status`
    /// (naming user, verb, resource, API group and namespace), whoever asks.
    ///
    /// # Panics
    /// If `verb` is not one of those seven (a mistake in the test).
    pub fn forbid(&self, verb: &str, resource: &str) {
        assert!(
            rbac::VERBS.contains(&verb),
            "forbid: unknown verb {verb:?}; expected one of {:?}",
            rbac::VERBS
        );
        self.state.rbac.forbid(verb, resource);
    }

    /// From now on every TokenReview from an authorized caller fails with `code` (500, 503,
    /// 429 or 401) and the API server's `Status` for it, as when the API server or its
    /// authenticator is broken; `None` makes TokenReview work again. Each failed call is in
    /// [`reviews`](Self::reviews) with the reason as its `error`.
    pub fn fail_token_reviews(&self, code: Option<u16>) {
        *self
            .state
            .review_failure
            .lock()
            .unwrap_or_else(|e| e.into_inner()) = code;
    }

    /// Lifts every [`forbid`](Self::forbid).
    pub fn allow_all(&self) {
        self.state.rbac.allow_all();
    }

    /// Every request seen so far (method, path, query, content type, user, status).
    pub fn requests(&self) -> Vec<ApiRequest> {
        self.state
            .requests
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// The store's current resourceVersion.
    pub fn resource_version(&self) -> u64 {
        self.state.store.current_rv()
    }

    /// Forgets the event history and moves the resourceVersion on by one, so that every
    /// resourceVersion handed out so far is too old: open watches end with, and new watches
    /// from an old resourceVersion get, an `ERROR` event with a 410 Expired `Status` (as after
    /// an etcd compaction or a re-initialised watch cache); clients then re-list.
    pub fn compact(&self) {
        self.state.store.compact();
    }
}

impl Drop for KubeApi {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
