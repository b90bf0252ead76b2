//! The agent's own metrics (docs/metrics.md, "Agent"): Vault Agent's counters plus the
//! project's auth, token, render, lease and Vault request series, in a per-agent Prometheus
//! registry passed explicitly to whoever counts (no global registry).

use std::sync::Mutex;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use prometheus::{
    Gauge, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};
use vk_vault_client::{RequestObserver, StatusClass};

mod json;

/// Buckets of the Vault request latency, in seconds: 5 ms to 30 s.
const VAULT_REQUEST_BUCKETS: &[f64] = &[
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0,
];

/// The auth method label: the closed set of methods the agent implements.
pub(crate) fn method_label(kind: &str) -> &'static str {
    match kind {
        "kubernetes" => "kubernetes",
        "jwt" => "jwt",
        "approle" => "approle",
        "token_file" => "token_file",
        "cert" => "cert",
        _ => "other",
    }
}

/// What a renewal renewed (`kind` label of the lease renewal series).
#[derive(Debug, Clone, Copy)]
pub(crate) enum RenewalKind {
    /// The auto-auth token.
    AuthToken,
    /// A secret's lease (`sys/leases/renew`).
    Lease,
    /// A token a template created (`auth/token/renew-self` under that token).
    Token,
}

impl RenewalKind {
    fn label(self) -> &'static str {
        match self {
            Self::AuthToken => "auth_token",
            Self::Lease => "lease",
            Self::Token => "token",
        }
    }
}

/// The series of one agent and the registry that holds them.
#[derive(Debug)]
pub(crate) struct AgentMetrics {
    registry: Registry,
    pub(crate) auth_success: IntCounter,
    pub(crate) auth_failure: IntCounter,
    pub(crate) proxy_success: IntCounter,
    pub(crate) proxy_client_error: IntCounter,
    pub(crate) proxy_error: IntCounter,
    pub(crate) cache_hit: IntCounter,
    pub(crate) cache_miss: IntCounter,
    authenticated: IntGauge,
    auth_attempts: IntCounterVec,
    auth_failures: IntCounterVec,
    token_ttl: Gauge,
    /// When the auto-auth token expires (`None`: no token yet, or one without expiry).
    token_expiry: Mutex<TokenExpiry>,
    renders: IntCounterVec,
    last_render_success: Gauge,
    renewals: IntCounterVec,
    renewal_failures: IntCounterVec,
    vault_request_seconds: HistogramVec,
    vault_request_errors: IntCounterVec,
}

#[derive(Debug, Clone, Copy)]
enum TokenExpiry {
    None,
    Never,
    At(Instant),
}

/// Prometheus name and help of Vault Agent's counters, in field order.
const SERIES: [(&str, &str); 7] = [
    (
        "vault_agent_auth_success",
        "Successful auto-auth logins and auto-auth token renewals",
    ),
    (
        "vault_agent_auth_failure",
        "Failed auto-auth login attempts",
    ),
    (
        "vault_agent_proxy_success",
        "Requests the API proxy forwarded and Vault answered with a status below 400",
    ),
    (
        "vault_agent_proxy_client_error",
        "Requests the API proxy forwarded and Vault answered with a status of 400 or more",
    ),
    (
        "vault_agent_proxy_error",
        "Requests the API proxy could not forward (Vault unreachable, TLS failure)",
    ),
    (
        "vault_agent_cache_hit",
        "Requests answered from the lease cache",
    ),
    (
        "vault_agent_cache_miss",
        "Requests the lease cache did not hold and forwarded to Vault",
    ),
];

/// Registers `collector` in `registry` and returns it. Names and label sets are distinct
/// literals, so creating and registering cannot fail; a failure would be a programming error
/// caught by every test that builds the metrics.
fn registered<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    made: prometheus::Result<C>,
) -> C {
    match made.and_then(|c| registry.register(Box::new(c.clone())).map(|()| c)) {
        Ok(c) => c,
        Err(e) => panic!("agent metric definition is invalid: {e}"),
    }
}

/// Every status class, in label order.
const STATUS_CLASSES: [StatusClass; 5] = [
    StatusClass::Success,
    StatusClass::Redirect,
    StatusClass::ClientError,
    StatusClass::ServerError,
    StatusClass::Transport,
];

impl AgentMetrics {
    /// The series, with every closed label value present at zero from the start (so rates
    /// and alerts see a 0, not an absent series).
    pub(crate) fn new() -> Self {
        let m = Self::empty();
        for outcome in ["success", "failure"] {
            m.renders.with_label_values(&[outcome]);
        }
        for kind in [
            RenewalKind::AuthToken,
            RenewalKind::Lease,
            RenewalKind::Token,
        ] {
            m.renewals.with_label_values(&[kind.label()]);
            m.renewal_failures.with_label_values(&[kind.label()]);
        }
        for class in STATUS_CLASSES {
            m.vault_request_seconds.with_label_values(&[class.label()]);
            if class != StatusClass::Success && class != StatusClass::Redirect {
                m.vault_request_errors.with_label_values(&[class.label()]);
            }
        }
        m
    }

    /// Shows the auth series of `method` (the configured one) at zero from the start.
    pub(crate) fn init_method(&self, method: &str) {
        let method = method_label(method);
        self.auth_attempts.with_label_values(&[method]);
        self.auth_failures.with_label_values(&[method]);
    }

    fn empty() -> Self {
        let registry = Registry::new();
        if let Err(e) = registry.register(Box::new(vk_telemetry::ProcessCollector::new())) {
            panic!("process metrics cannot be registered: {e}");
        }
        let r = &registry;
        let counter = |i: usize| {
            let (name, help) = SERIES[i];
            registered(r, IntCounter::new(name, help))
        };
        let vec = |name: &str, help: &str, label: &str| {
            registered(r, IntCounterVec::new(Opts::new(name, help), &[label]))
        };
        Self {
            auth_success: counter(0),
            auth_failure: counter(1),
            proxy_success: counter(2),
            proxy_client_error: counter(3),
            proxy_error: counter(4),
            cache_hit: counter(5),
            cache_miss: counter(6),
            authenticated: registered(
                r,
                IntGauge::new(
                    "vault_agent_authenticated",
                    "1 while the agent holds a valid auto-auth token, else 0",
                ),
            ),
            auth_attempts: vec(
                "vault_agent_auth_attempts_total",
                "Auto-auth login attempts by auth method",
                "method",
            ),
            auth_failures: vec(
                "vault_agent_auth_failures_total",
                "Failed auto-auth login attempts by auth method",
                "method",
            ),
            token_ttl: registered(
                r,
                Gauge::new(
                    "vault_agent_token_ttl_seconds",
                    "Seconds until the auto-auth token expires (+Inf: it never does)",
                ),
            ),
            token_expiry: Mutex::new(TokenExpiry::None),
            renders: vec(
                "vault_agent_template_renders_total",
                "Template render rounds by outcome",
                "outcome",
            ),
            last_render_success: registered(
                r,
                Gauge::new(
                    "vault_agent_template_last_success_timestamp_seconds",
                    "Unix time of the last render round that succeeded (0: none yet)",
                ),
            ),
            renewals: vec(
                "vault_agent_lease_renewals_total",
                "Successful renewals by kind of lease",
                "kind",
            ),
            renewal_failures: vec(
                "vault_agent_lease_renewal_failures_total",
                "Failed renewals by kind of lease",
                "kind",
            ),
            vault_request_seconds: registered(
                r,
                HistogramVec::new(
                    HistogramOpts::new(
                        "vault_agent_vault_request_duration_seconds",
                        "Duration of the agent's requests to Vault by status class",
                    )
                    .buckets(VAULT_REQUEST_BUCKETS.to_vec()),
                    &["status_class"],
                ),
            ),
            vault_request_errors: vec(
                "vault_agent_vault_request_errors_total",
                "Requests to Vault answered with 4xx or 5xx, or not answered",
                "status_class",
            ),
            registry,
        }
    }

    /// The Prometheus text exposition (the token TTL is computed now).
    pub(crate) fn prometheus_text(&self) -> Result<Vec<u8>, vk_telemetry::EncodeError> {
        let expiry = *self
            .token_expiry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match expiry {
            TokenExpiry::None => self.token_ttl.set(0.0),
            TokenExpiry::Never => self.token_ttl.set(f64::INFINITY),
            TokenExpiry::At(at) => self
                .token_ttl
                .set(at.saturating_duration_since(Instant::now()).as_secs_f64()),
        }
        vk_telemetry::encode_text(&self.registry)
    }

    /// The JSON summary served without `?format=`.
    pub(crate) fn json(&self) -> serde_json::Value {
        json::summary(self)
    }

    /// One login attempt of `method` (the auth loop's `kind`) ended.
    pub(crate) fn auth_attempt(&self, method: &str, ok: bool) {
        let method = method_label(method);
        self.auth_attempts.with_label_values(&[method]).inc();
        if ok {
            self.auth_success.inc();
            self.authenticated.set(1);
        } else {
            self.auth_failure.inc();
            self.auth_failures.with_label_values(&[method]).inc();
            self.authenticated.set(0);
        }
    }

    /// The agent now holds a token valid for `ttl` (zero: without expiry).
    pub(crate) fn token_valid_for(&self, ttl: Duration) {
        let expiry = if ttl.is_zero() {
            TokenExpiry::Never
        } else {
            TokenExpiry::At(Instant::now() + ttl)
        };
        *self
            .token_expiry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = expiry;
        self.authenticated.set(1);
    }

    /// The auto-auth token ended (lifetime over, or Vault rejects it).
    pub(crate) fn token_lost(&self) {
        *self
            .token_expiry
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = TokenExpiry::None;
        self.authenticated.set(0);
    }

    /// A render round ended.
    pub(crate) fn render(&self, ok: bool) {
        let outcome = if ok { "success" } else { "failure" };
        self.renders.with_label_values(&[outcome]).inc();
        if ok {
            let now = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map(|d| d.as_secs_f64())
                .unwrap_or(0.0);
            self.last_render_success.set(now);
        }
    }

    /// A renewal call ended.
    pub(crate) fn renewal(&self, kind: RenewalKind, ok: bool) {
        let series = if ok {
            &self.renewals
        } else {
            &self.renewal_failures
        };
        series.with_label_values(&[kind.label()]).inc();
    }

    /// Records one request to Vault.
    fn vault_request(&self, class: StatusClass, took: Duration) {
        self.vault_request_seconds
            .with_label_values(&[class.label()])
            .observe(took.as_secs_f64());
        if matches!(
            class,
            StatusClass::ClientError | StatusClass::ServerError | StatusClass::Transport
        ) {
            self.vault_request_errors
                .with_label_values(&[class.label()])
                .inc();
        }
    }

    /// The hook that feeds the Vault request series from a client.
    pub(crate) fn request_observer(self: &std::sync::Arc<Self>) -> RequestObserver {
        let me = std::sync::Arc::clone(self);
        RequestObserver::new(move |class, took| me.vault_request(class, took))
    }
}
