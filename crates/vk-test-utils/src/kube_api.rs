//! A small HTTPS server standing in for the Kubernetes API, serving exactly one endpoint:
//! `POST /apis/authentication.k8s.io/v1/tokenreviews`.
//!
//! It behaves like the real API server for that call: the caller must present the reviewer
//! token as `Authorization: Bearer …` (else a 401 `Status`), the reviewed token is a JWT whose
//! ES256 signature is really verified against the issuer key generated at start, `exp`/`nbf`
//! (60 s leeway, like the API server) and `iss` are checked, audiences are intersected, and the
//! answer is a `TokenReview` with `status.authenticated`, `status.user` and `status.audiences`
//! (or `authenticated: false` with `status.error`).
//!
//! The server runs on its own thread with a current-thread tokio runtime, so the blocking API
//! works from sync and async tests alike. It stops when dropped.

use std::collections::BTreeMap;
use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::{Context, Result, anyhow, bail};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{
    ECDSA_P256_SHA256_FIXED, ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair as _,
    UnparsedPublicKey,
};
use serde_json::{Value, json};

use crate::certs::TestCa;

/// The issuer and default audience of the tokens, as on a kubeadm cluster.
pub const DEFAULT_ISSUER: &str = "https://kubernetes.default.svc.cluster.local";

const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";
const CLOCK_LEEWAY_SECS: i64 = 60;

fn now_secs() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn sha256_hex(parts: &[&str]) -> String {
    let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
    for p in parts {
        ctx.update(p.as_bytes());
        ctx.update(b"\0");
    }
    ctx.finish()
        .as_ref()
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A UUID-shaped id derived from `parts` (stable: the same service account keeps its uid).
fn stable_uid(parts: &[&str]) -> String {
    let h = sha256_hex(parts);
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

fn random_uid() -> String {
    let mut b = [0u8; 16];
    // SystemRandom only fails when the OS has no randomness; fall back to the clock then.
    if SystemRandom::new().fill(&mut b).is_err() {
        return stable_uid(&[&format!("{:?}", SystemTime::now())]);
    }
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Signs service-account tokens (ES256) with the claim set of a projected Kubernetes token.
pub struct ServiceAccountIssuer {
    key: EcdsaKeyPair,
    kid: String,
    issuer: String,
    audiences: Vec<String>,
}

impl std::fmt::Debug for ServiceAccountIssuer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceAccountIssuer")
            .field("kid", &self.kid)
            .field("issuer", &self.issuer)
            .field("audiences", &self.audiences)
            .finish_non_exhaustive()
    }
}

/// What to put in a minted token beyond namespace and service account.
#[derive(Debug, Clone)]
pub struct TokenOptions {
    /// Lifetime from now (negative durations are not representable: use `expired`).
    pub ttl: Duration,
    /// Make `exp` lie in the past (beyond the clock leeway).
    pub expired: bool,
    /// Make `nbf` lie in the future (beyond the clock leeway).
    pub not_yet_valid: bool,
    /// Audiences (`aud`); defaults to the issuer's audiences.
    pub audiences: Option<Vec<String>>,
    /// Override the `iss` claim.
    pub issuer: Option<String>,
    /// Bind the token to a pod of this name (default `<sa>-pod`).
    pub pod_name: Option<String>,
}

impl Default for TokenOptions {
    fn default() -> Self {
        Self {
            ttl: Duration::from_secs(3600),
            expired: false,
            not_yet_valid: false,
            audiences: None,
            issuer: None,
            pod_name: None,
        }
    }
}

impl ServiceAccountIssuer {
    /// A fresh P-256 key for issuer `issuer`, whose tokens carry `aud = [issuer]`.
    pub fn generate(issuer: &str) -> Result<Self> {
        let rng = SystemRandom::new();
        let pkcs8 = EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| anyhow!("generating a P-256 service-account signing key"))?;
        let key = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, pkcs8.as_ref(), &rng)
            .map_err(|_| anyhow!("loading the generated P-256 key"))?;
        let kid = URL_SAFE_NO_PAD.encode(
            ring::digest::digest(&ring::digest::SHA256, key.public_key().as_ref()).as_ref(),
        );
        Ok(Self {
            key,
            kid,
            issuer: issuer.to_string(),
            audiences: vec![issuer.to_string()],
        })
    }

    /// The `iss` claim.
    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The `kid` header (base64url SHA-256 of the public key).
    pub fn kid(&self) -> &str {
        &self.kid
    }

    fn public_key(&self) -> Vec<u8> {
        self.key.public_key().as_ref().to_vec()
    }

    /// A token for `system:serviceaccount:<namespace>:<sa_name>` valid for `ttl`.
    pub fn mint(&self, namespace: &str, sa_name: &str, ttl: Duration) -> Result<String> {
        self.mint_with(
            namespace,
            sa_name,
            &TokenOptions {
                ttl,
                ..TokenOptions::default()
            },
        )
    }

    /// The uid the service account `namespace/name` has in tokens from this issuer.
    pub fn service_account_uid(&self, namespace: &str, sa_name: &str) -> String {
        stable_uid(&[&self.issuer, "serviceaccount", namespace, sa_name])
    }

    /// A token with full control over the claims.
    pub fn mint_with(&self, namespace: &str, sa_name: &str, opts: &TokenOptions) -> Result<String> {
        let now = now_secs();
        let ttl = opts.ttl.as_secs() as i64;
        let (iat, exp) = if opts.expired {
            (now - ttl - 7200, now - 3600)
        } else {
            (now, now + ttl)
        };
        let nbf = if opts.not_yet_valid { now + 3600 } else { iat };
        let pod_name = opts
            .pod_name
            .clone()
            .unwrap_or_else(|| format!("{sa_name}-pod"));
        let claims = json!({
            "aud": opts.audiences.clone().unwrap_or_else(|| self.audiences.clone()),
            "exp": exp,
            "iat": iat,
            "iss": opts.issuer.clone().unwrap_or_else(|| self.issuer.clone()),
            "jti": random_uid(),
            "kubernetes.io": {
                "namespace": namespace,
                "node": {"name": "node-1", "uid": stable_uid(&[&self.issuer, "node", "node-1"])},
                "pod": {"name": pod_name, "uid": stable_uid(&[&self.issuer, "pod", namespace, &pod_name])},
                "serviceaccount": {"name": sa_name, "uid": self.service_account_uid(namespace, sa_name)},
                "warnafter": iat + 3607.min(ttl),
            },
            "nbf": nbf,
            "sub": format!("system:serviceaccount:{namespace}:{sa_name}"),
        });
        let header = json!({"alg": "ES256", "kid": self.kid});
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&header)?),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims)?)
        );
        let sig = self
            .key
            .sign(&SystemRandom::new(), signing_input.as_bytes())
            .map_err(|_| anyhow!("signing a service-account token"))?;
        Ok(format!(
            "{signing_input}.{}",
            URL_SAFE_NO_PAD.encode(sig.as_ref())
        ))
    }
}

/// One TokenReview call the server received.
#[derive(Debug, Clone)]
pub struct ReviewRecord {
    /// Whether the caller presented the reviewer token (else it got 401).
    pub caller_authorized: bool,
    /// `spec.audiences` of the request.
    pub requested_audiences: Vec<String>,
    /// The reviewed token's `sub` claim, when the payload could be decoded.
    pub subject: Option<String>,
    /// `status.authenticated` of the answer.
    pub authenticated: bool,
    /// `status.error` of the answer.
    pub error: Option<String>,
}

struct Verifier {
    public_key: Vec<u8>,
    issuer: String,
    api_audiences: Vec<String>,
}

/// Outcome of checking a token: the identity it proves, or why it does not.
struct Identity {
    namespace: String,
    sa_name: String,
    sa_uid: String,
    pod: Option<(String, String)>,
    audiences: Vec<String>,
}

impl Verifier {
    fn verify(&self, token: &str, requested: &[String]) -> std::result::Result<Identity, String> {
        let parts: Vec<&str> = token.trim().split('.').collect();
        let [h, p, s] = parts.as_slice() else {
            return Err("invalid bearer token, token is not a compact JWS".into());
        };
        let header: Value = URL_SAFE_NO_PAD
            .decode(h)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("invalid bearer token, malformed JWT header")?;
        if header["alg"] != "ES256" {
            return Err(format!(
                "invalid bearer token, unexpected signature algorithm {}",
                header["alg"]
            ));
        }
        let sig = URL_SAFE_NO_PAD
            .decode(s)
            .map_err(|_| "invalid bearer token, malformed signature")?;
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &self.public_key)
            .verify(format!("{h}.{p}").as_bytes(), &sig)
            .map_err(|_| "invalid bearer token, token signature is invalid".to_string())?;
        let claims: Value = URL_SAFE_NO_PAD
            .decode(p)
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok())
            .ok_or("invalid bearer token, malformed JWT claims")?;
        if claims["iss"] != self.issuer.as_str() {
            return Err(format!(
                "invalid bearer token, token issuer {} is not trusted",
                claims["iss"]
            ));
        }
        let now = now_secs();
        let exp = claims["exp"]
            .as_i64()
            .ok_or("invalid bearer token, token has no exp claim")?;
        if now > exp + CLOCK_LEEWAY_SECS {
            return Err("invalid bearer token, token has expired".into());
        }
        if let Some(nbf) = claims["nbf"].as_i64()
            && now + CLOCK_LEEWAY_SECS < nbf
        {
            return Err("invalid bearer token, token is not valid yet".into());
        }
        let token_aud: Vec<String> = match &claims["aud"] {
            Value::String(s) => vec![s.clone()],
            Value::Array(a) => a
                .iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect(),
            _ => Vec::new(),
        };
        let wanted = if requested.is_empty() {
            &self.api_audiences
        } else {
            requested
        };
        let audiences: Vec<String> = wanted
            .iter()
            .filter(|a| token_aud.contains(a))
            .cloned()
            .collect();
        if audiences.is_empty() {
            return Err(format!(
                "invalid bearer token, token audiences {token_aud:?} is invalid for the target audiences {wanted:?}"
            ));
        }
        let k = &claims["kubernetes.io"];
        let sub = claims["sub"].as_str().unwrap_or_default();
        let (namespace, sa_name) = match sub.strip_prefix("system:serviceaccount:") {
            Some(rest) => rest
                .split_once(':')
                .map(|(a, b)| (a.to_string(), b.to_string())),
            None => None,
        }
        .ok_or("invalid bearer token, subject is not a service account")?;
        if k["namespace"] != namespace.as_str() || k["serviceaccount"]["name"] != sa_name.as_str() {
            return Err("invalid bearer token, kubernetes.io claims do not match sub".into());
        }
        let pod = match (k["pod"]["name"].as_str(), k["pod"]["uid"].as_str()) {
            (Some(n), Some(u)) => Some((n.to_string(), u.to_string())),
            _ => None,
        };
        Ok(Identity {
            namespace,
            sa_name,
            sa_uid: k["serviceaccount"]["uid"]
                .as_str()
                .unwrap_or_default()
                .to_string(),
            pod,
            audiences,
        })
    }
}

struct State {
    reviewer_token: String,
    verifier: Verifier,
    records: Mutex<Vec<ReviewRecord>>,
}

/// The running TokenReview server. Dropping it stops the server thread.
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

impl KubeApi {
    /// Starts the server on `127.0.0.1:<ephemeral port>` with a fresh CA, serving certificate,
    /// issuer key (issuer [`DEFAULT_ISSUER`]) and reviewer token.
    pub fn start() -> Result<Self> {
        let ca = TestCa::named("vk-test-kubernetes-ca")?;
        let leaf = ca.leaf()?;
        let tls = Arc::new(crate::certs::server_config(&leaf)?);
        let issuer = ServiceAccountIssuer::generate(DEFAULT_ISSUER)?;
        // The reviewer's own credential is a service-account token too, as in a real cluster.
        let reviewer_token = issuer.mint("vault", "vault", Duration::from_secs(24 * 3600))?;
        let state = Arc::new(State {
            reviewer_token: reviewer_token.clone(),
            verifier: Verifier {
                public_key: issuer.public_key(),
                issuer: issuer.issuer().to_string(),
                api_audiences: vec![issuer.issuer().to_string()],
            },
            records: Mutex::new(Vec::new()),
        });
        let listener =
            std::net::TcpListener::bind("127.0.0.1:0").context("binding the kube-api listener")?;
        listener.set_nonblocking(true)?;
        let port = listener.local_addr()?.port();
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
                rt.block_on(serve(listener, tls, thread_state, rx));
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

    /// The bearer token TokenReview callers must present (the `token_reviewer_jwt`).
    pub fn reviewer_token(&self) -> &str {
        &self.reviewer_token
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
            .records
            .lock()
            .map(|r| r.clone())
            .unwrap_or_default()
    }

    /// Number of TokenReview calls received so far.
    pub fn review_count(&self) -> usize {
        self.state
            .records
            .lock()
            .map(|r| r.len())
            .unwrap_or_default()
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

async fn serve(
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kube-api: cannot register the listener: {e}");
            return;
        }
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    let Ok(stream) = acceptor.accept(tcp).await else { return };
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(handle(&state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}

fn json_response(code: StatusCode, body: &Value) -> Response<Full<Bytes>> {
    let mut resp = Response::new(Full::new(Bytes::from(body.to_string())));
    *resp.status_mut() = code;
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    resp
}

fn status(code: StatusCode, reason: &str, message: &str) -> Response<Full<Bytes>> {
    json_response(
        code,
        &json!({
            "kind": "Status",
            "apiVersion": "v1",
            "metadata": {},
            "status": "Failure",
            "message": message,
            "reason": reason,
            "code": code.as_u16(),
        }),
    )
}

async fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    if req.uri().path() != TOKEN_REVIEW_PATH {
        return status(
            StatusCode::NOT_FOUND,
            "NotFound",
            &format!(
                "the server could not find the requested resource ({})",
                req.uri().path()
            ),
        );
    }
    if req.method() != hyper::Method::POST {
        return status(
            StatusCode::METHOD_NOT_ALLOWED,
            "MethodNotAllowed",
            &format!(
                "the server does not allow this method on the requested resource ({})",
                req.method()
            ),
        );
    }
    let bearer = req
        .headers()
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)
        .map(String::from);
    let body = match req.into_body().collect().await {
        Ok(b) => b.to_bytes(),
        Err(e) => {
            return status(
                StatusCode::BAD_REQUEST,
                "BadRequest",
                &format!("reading body: {e}"),
            );
        }
    };
    if bearer.as_deref() != Some(state.reviewer_token.as_str()) {
        if let Ok(mut r) = state.records.lock() {
            r.push(ReviewRecord {
                caller_authorized: false,
                requested_audiences: Vec::new(),
                subject: None,
                authenticated: false,
                error: Some("Unauthorized".into()),
            });
        }
        return status(StatusCode::UNAUTHORIZED, "Unauthorized", "Unauthorized");
    }
    match review(state, &body) {
        Ok(v) => json_response(StatusCode::CREATED, &v),
        Err(e) => status(StatusCode::BAD_REQUEST, "BadRequest", &format!("{e:#}")),
    }
}

fn review(state: &State, body: &[u8]) -> Result<Value> {
    let req: Value = serde_json::from_slice(body).context("request body is not JSON")?;
    // Like the API server, an absent apiVersion/kind defaults from the URL (OpenBao's client
    // sends neither); a present but different one is refused.
    let api_version = req["apiVersion"].as_str().unwrap_or_default();
    let kind = req["kind"].as_str().unwrap_or_default();
    if !(api_version.is_empty() || api_version == "authentication.k8s.io/v1")
        || !(kind.is_empty() || kind == "TokenReview")
    {
        bail!(
            "expected apiVersion authentication.k8s.io/v1 kind TokenReview, got {} {}",
            req["apiVersion"],
            req["kind"]
        );
    }
    let token = req["spec"]["token"].as_str().unwrap_or_default();
    let requested: Vec<String> = req["spec"]["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let subject = token
        .split('.')
        .nth(1)
        .and_then(|p| URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|b| serde_json::from_slice::<Value>(&b).ok())
        .and_then(|c| c["sub"].as_str().map(String::from));
    let mut spec = serde_json::Map::new();
    spec.insert("token".into(), json!(token));
    if !requested.is_empty() {
        spec.insert("audiences".into(), json!(requested));
    }
    let (status_json, record) = if token.is_empty() {
        (
            json!({"authenticated": false, "user": {}, "error": "token is required"}),
            (false, Some("token is required".to_string())),
        )
    } else {
        match state.verifier.verify(token, &requested) {
            Ok(id) => {
                let mut extra = BTreeMap::new();
                if let Some((name, uid)) = &id.pod {
                    extra.insert("authentication.kubernetes.io/pod-name", json!([name]));
                    extra.insert("authentication.kubernetes.io/pod-uid", json!([uid]));
                }
                let mut user = json!({
                    "username": format!("system:serviceaccount:{}:{}", id.namespace, id.sa_name),
                    "uid": id.sa_uid,
                    "groups": [
                        "system:serviceaccounts",
                        format!("system:serviceaccounts:{}", id.namespace),
                        "system:authenticated",
                    ],
                });
                if !extra.is_empty() {
                    user["extra"] = json!(extra);
                }
                (
                    json!({"authenticated": true, "user": user, "audiences": id.audiences}),
                    (true, None),
                )
            }
            Err(e) => (
                json!({"authenticated": false, "user": {}, "error": e}),
                (false, Some(e)),
            ),
        }
    };
    if let Ok(mut r) = state.records.lock() {
        r.push(ReviewRecord {
            caller_authorized: true,
            requested_audiences: requested,
            subject,
            authenticated: record.0,
            error: record.1,
        });
    }
    Ok(json!({
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status_json,
    }))
}

/// Enables the kubernetes auth method on `dev` (mount `kubernetes`) pointed at `kube`, with
/// `kubernetes_host`, `kubernetes_ca_cert`, `token_reviewer_jwt` and `disable_local_ca_jwt=true`.
pub fn enable_kubernetes_auth(dev: &crate::bao::DevServer, kube: &KubeApi) -> Result<()> {
    dev.cli_ok(&["auth", "enable", "kubernetes"])?;
    let ca_path = dev.scratch_dir().join("kubernetes-ca.pem");
    std::fs::write(&ca_path, kube.ca_pem())
        .with_context(|| format!("writing {}", ca_path.display()))?;
    dev.cli_ok(&[
        "write",
        "auth/kubernetes/config",
        &format!("kubernetes_host={}", kube.url()),
        &format!("kubernetes_ca_cert=@{}", ca_path.display()),
        &format!("token_reviewer_jwt={}", kube.reviewer_token()),
        "disable_local_ca_jwt=true",
    ])?;
    Ok(())
}

/// Writes a kubernetes-auth role bound to service account `sa` in namespace `ns`.
pub fn write_kubernetes_role(
    dev: &crate::bao::DevServer,
    role: &str,
    sa: &str,
    ns: &str,
    policies: &[&str],
) -> Result<()> {
    dev.cli_ok(&[
        "write",
        &format!("auth/kubernetes/role/{role}"),
        &format!("bound_service_account_names={sa}"),
        &format!("bound_service_account_namespaces={ns}"),
        &format!("policies={}", policies.join(",")),
        "ttl=24h",
    ])?;
    Ok(())
}

/// The guide's setup in one call: kubernetes auth against `kube`, policy `policy_name` from
/// `policy_hcl`, and role `role` bound to `ns/sa` with that policy.
pub fn configure_kubernetes_auth(
    dev: &crate::bao::DevServer,
    kube: &KubeApi,
    role: &str,
    sa: &str,
    ns: &str,
    policy_name: &str,
    policy_hcl: &str,
) -> Result<()> {
    enable_kubernetes_auth(dev, kube)?;
    dev.write_policy(policy_name, policy_hcl)?;
    write_kubernetes_role(dev, role, sa, ns, &[policy_name])
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bao::DevServer;

    fn review_body(token: &str) -> Value {
        json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}})
    }

    #[test]
    fn token_review_shapes() {
        let kube = KubeApi::start().unwrap();
        let url = format!("{}{TOKEN_REVIEW_PATH}", kube.url());
        let good = kube
            .mint("default", "webapp", Duration::from_secs(600))
            .unwrap();

        // No bearer: 401 Status.
        let r = crate::http::post_json(&url, Some(kube.ca_pem()), &review_body(&good)).unwrap();
        assert_eq!(r.status, 401);
        assert_eq!(r.json().unwrap()["kind"], "Status");

        let auth = format!("Bearer {}", kube.reviewer_token());
        let post = |token: &str| {
            let body = serde_json::to_vec(&review_body(token)).unwrap();
            let hdrs = [
                ("Authorization", auth.as_str()),
                ("Content-Type", "application/json"),
            ];
            crate::http::request("POST", &url, Some(kube.ca_pem()), &hdrs, &body).unwrap()
        };
        let r = post(&good);
        assert_eq!(r.status, 201);
        let v = r.json().unwrap();
        assert_eq!(v["kind"], "TokenReview");
        assert_eq!(v["status"]["authenticated"], true);
        assert_eq!(
            v["status"]["user"]["username"],
            "system:serviceaccount:default:webapp"
        );
        assert_eq!(
            v["status"]["user"]["groups"],
            json!([
                "system:serviceaccounts",
                "system:serviceaccounts:default",
                "system:authenticated"
            ])
        );
        assert_eq!(v["status"]["audiences"], json!([DEFAULT_ISSUER]));

        let foreign = kube
            .mint_foreign("default", "webapp", Duration::from_secs(600))
            .unwrap();
        let v = post(&foreign).json().unwrap();
        assert_eq!(v["status"]["authenticated"], false);
        assert!(v["status"]["error"].as_str().unwrap().contains("signature"));

        let expired = kube
            .issuer()
            .mint_with(
                "default",
                "webapp",
                &TokenOptions {
                    expired: true,
                    ..Default::default()
                },
            )
            .unwrap();
        let v = post(&expired).json().unwrap();
        assert_eq!(v["status"]["authenticated"], false);
        assert!(v["status"]["error"].as_str().unwrap().contains("expired"));

        let wrong_iss = kube
            .issuer()
            .mint_with(
                "default",
                "webapp",
                &TokenOptions {
                    issuer: Some("https://elsewhere".into()),
                    ..Default::default()
                },
            )
            .unwrap();
        assert_eq!(
            post(&wrong_iss).json().unwrap()["status"]["authenticated"],
            false
        );
        assert_eq!(kube.review_count(), 5);
    }

    #[test]
    fn openbao_kubernetes_login_uses_the_token_review() {
        let kube = KubeApi::start().unwrap();
        let dev = DevServer::start().unwrap();
        configure_kubernetes_auth(
            &dev,
            &kube,
            "webapp",
            "webapp",
            "default",
            "webapp",
            "path \"secret/data/database/config\" {\n  capabilities = [\"read\"]\n}\n",
        )
        .unwrap();
        dev.cli_ok(&[
            "kv",
            "put",
            "secret/database/config",
            "username=db-user",
            "password=db-password",
        ])
        .unwrap();

        let good = kube
            .mint("default", "webapp", Duration::from_secs(600))
            .unwrap();
        let out = dev
            .cli_ok(&[
                "write",
                "-field=token",
                "auth/kubernetes/login",
                "role=webapp",
                &format!("jwt={good}"),
            ])
            .map_err(|e| {
                anyhow!(
                    "{e:#}\nreviews: {:?}\nlog: {}",
                    kube.reviews(),
                    dev.log_tail(20)
                )
            })
            .unwrap();
        let token = out.trim();
        assert!(!token.is_empty());
        let read = dev
            .command()
            .env("VAULT_TOKEN", token)
            .env("BAO_TOKEN", token)
            .args(["kv", "get", "-field=username", "secret/database/config"])
            .output()
            .unwrap();
        assert!(
            read.status.success(),
            "{}",
            String::from_utf8_lossy(&read.stderr)
        );
        assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "db-user");
        let reviews = kube.reviews();
        assert_eq!(reviews.len(), 1);
        assert!(reviews[0].caller_authorized && reviews[0].authenticated);

        let foreign = kube
            .mint_foreign("default", "webapp", Duration::from_secs(600))
            .unwrap();
        let out = dev
            .cli(&[
                "write",
                "auth/kubernetes/login",
                "role=webapp",
                &format!("jwt={foreign}"),
            ])
            .unwrap();
        assert!(!out.status.success());
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("permission denied"), "{err}");
        let reviews = kube.reviews();
        assert_eq!(reviews.len(), 2);
        assert!(reviews[1].caller_authorized && !reviews[1].authenticated);
    }
}
