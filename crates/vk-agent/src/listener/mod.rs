//! The agent's API (spec §1.7): listeners serving the API proxy, the lease cache,
//! `/agent/v1/quit`, `/agent/v1/cache-clear` and `/agent/v1/metrics`. When a cache exists
//! the template engine reads through it too, over a loopback listener private to the agent
//! that passes requests with their own token only (no auto-auth token is added there), so
//! templates and the application share one set of leases.

mod cache;
mod http;
mod proxy;
mod renew;
mod router;
mod serve;
mod settings;

use std::sync::Arc;

use vk_agent_config::{AutoAuthToken, Config};
use vk_vault_client::VaultClient;

use cache::LeaseCache;
pub(crate) use cache::Selector;

use crate::error::AgentError;
use crate::metrics::AgentMetrics;

/// What every listener of the agent shares.
pub(crate) struct Api {
    /// The agent's client: Vault's address, TLS and namespace; its token is the current
    /// auto-auth token (the auth loop replaces it on re-auth).
    vault: VaultClient,
    cache: Option<Arc<LeaseCache>>,
    metrics: Arc<AgentMetrics>,
    /// Whether `?format=prometheus` is on (`telemetry.prometheus_retention_time` > 0).
    prometheus: bool,
    /// Requests the agent's shutdown (the SIGTERM path).
    quit: Box<dyn Fn() + Send + Sync>,
}

/// Per-listener behaviour.
#[derive(Debug, Clone)]
pub(crate) struct Route {
    auto_auth: AutoAuthToken,
    require_request_header: bool,
    metrics_only: bool,
    enable_quit: bool,
}

/// The running listeners; dropping it stops them (the lease cache stops renewing with them).
pub(crate) struct Running {
    tasks: Vec<tokio::task::JoinHandle<()>>,
    /// The address of the private loopback listener the templates read through.
    pub(crate) template_address: Option<String>,
}

impl Drop for Running {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

/// Validates the listener, cache, api_proxy and telemetry settings (before any I/O).
pub(crate) struct Plan {
    listeners: Vec<settings::ListenerSettings>,
    auto_auth: AutoAuthToken,
    prometheus: bool,
    cache: bool,
}

impl Plan {
    pub(crate) fn new(config: &Config, file: &str) -> Result<Self, AgentError> {
        let listeners = settings::listeners(config, file)?;
        let auto_auth = settings::auto_auth_token(config, file)?;
        let prometheus = !settings::prometheus_retention(config, file)?.is_zero();
        Ok(Self {
            listeners,
            auto_auth,
            prometheus,
            cache: config.cache.is_some(),
        })
    }

    /// Nothing to serve: no listener and no cache (a cache without listeners still serves
    /// the templates, as Vault Agent allows).
    pub(crate) fn is_empty(&self) -> bool {
        self.listeners.is_empty() && !self.cache
    }

    /// Binds every listener and starts serving. `with_template_listener` also opens the
    /// private loopback listener for the template engine (only when a cache exists).
    pub(crate) async fn start(
        self,
        vault: &VaultClient,
        metrics: Arc<AgentMetrics>,
        quit: Box<dyn Fn() + Send + Sync>,
        with_template_listener: bool,
    ) -> Result<Running, AgentError> {
        let api = Arc::new(Api {
            vault: vault.clone(),
            cache: self.cache.then(|| LeaseCache::new(vault.clone())),
            metrics,
            prometheus: self.prometheus,
            quit,
        });
        let mut tasks = Vec::new();
        let mut running = |bound, tls, route| {
            tasks.push(tokio::spawn(serve::serve(bound, tls, api.clone(), route)))
        };
        for l in &self.listeners {
            let tls = match &l.tls {
                Some((cert, key)) => Some(serve::tls_acceptor(cert, key)?),
                None => None,
            };
            let bound = serve::bind(l).await?;
            tracing::info!(address = %bound.address(), tls = tls.is_some(), metrics_only = l.metrics_only, "listener open");
            running(
                bound,
                tls,
                Route {
                    auto_auth: self.auto_auth,
                    require_request_header: l.require_request_header,
                    metrics_only: l.metrics_only,
                    enable_quit: l.enable_quit,
                },
            );
        }
        let mut template_address = None;
        if self.cache && with_template_listener {
            let bound = serve::bind(&settings::ListenerSettings {
                bind: settings::Bind::Tcp("127.0.0.1:0".to_owned()),
                tls: None,
                require_request_header: false,
                metrics_only: false,
                enable_quit: false,
            })
            .await?;
            template_address = Some(format!("http://{}", bound.address()));
            running(
                bound,
                None,
                Route {
                    auto_auth: AutoAuthToken::No,
                    require_request_header: false,
                    metrics_only: false,
                    enable_quit: false,
                },
            );
        }
        Ok(Running {
            tasks,
            template_address,
        })
    }
}
