//! `vault-k8s agent`: the agent the injector runs in the init container and the sidecar, a
//! replacement for Vault Agent (spec `shared/spec/agent.md`).
//!
//! Wiring of the building blocks: configuration from `vk-agent-config`, Vault calls through
//! `vk-vault-client`, templates from `vk-template`. Modes:
//!
//! * init (`exit_after_auth = true`): authenticate, write the sinks, render every template
//!   once, exit 0; a template error with `exit_on_retry_failure` exits non-zero.
//! * sidecar: keep secrets fresh (re-fetch per spec §6.2; renew the leases of renewable
//!   secrets and fetch new ones at their max TTL, §6.3; re-render, write what changed),
//!   renew the token at ~⅔ of its TTL, re-authenticate when it cannot be renewed, exit 0 on
//!   SIGTERM/SIGINT (with `-revoke-on-exit`, revoking the token and so its leases first).
//!
//! In both modes a render that fails because Vault no longer accepts the token (a 403 on
//! `lookup-self`, e.g. after Vault lost its state) re-authenticates instead of retrying with
//! the dead token; while Vault is unreachable the last rendered files stay as they are.
//!
//! Secret values and tokens are never logged: only sizes, paths and outcomes.

mod args;
mod auth;
mod backoff;
mod command;
mod error;
mod files;
mod jwt;
mod lease;
mod listener;
mod metrics;
mod owner;
mod persist;
mod pki_cache;
pub mod readiness;
mod reload;
mod shutdown;
mod support;
mod templates;

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::time::Instant;
use tracing::Instrument as _;
use vk_agent_config::Config;
use vk_telemetry::ErrorChain;
use vk_vault_client::{ClientConfig, PemSource, VaultClient};

pub use args::{AgentArgs, AgentFlags, HANDOFF_DIR_ENV, VAULT_CONFIG_NAME};
pub use error::AgentError;
pub use reload::RELOAD_ENV;

use crate::auth::{Authenticator, Token};
use crate::backoff::{AuthBackoff, Jitter};
use crate::shutdown::Shutdown;
use crate::templates::{Engine, EngineSettings};

/// How the agent finished (both mean exit status 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exit {
    /// Init mode: sinks written and every template rendered once.
    Completed,
    /// SIGTERM/SIGINT.
    Shutdown,
}

fn client_config(cfg: &Config) -> ClientConfig {
    let v = &cfg.vault;
    let some = |s: &str| Some(s.to_string()).filter(|s| !s.is_empty());
    let mut c = ClientConfig::new(v.address.clone());
    c.ca_cert = some(&v.ca_cert).map(|p| PemSource::Path(p.into()));
    c.ca_path = some(&v.ca_path).map(PathBuf::from);
    c.client_cert = some(&v.client_cert).map(|p| PemSource::Path(p.into()));
    c.client_key = some(&v.client_key).map(|p| PemSource::Path(p.into()));
    c.tls_server_name = some(&v.tls_server_name);
    c.tls_skip_verify = v.tls_skip_verify;
    c.namespace = some(&v.namespace);
    c.max_in_flight = usize::try_from(cfg.template_config.max_connections_per_host).unwrap_or(0);
    c
}

/// The pid file (spec §1.2): mode 0600, the PID in decimal without a newline; removed on drop.
struct PidFile(Option<PathBuf>);

impl PidFile {
    fn create(path: &str) -> Result<Self, AgentError> {
        if path.is_empty() {
            return Ok(Self(None));
        }
        let p = PathBuf::from(path);
        files::write_atomic(&p, std::process::id().to_string().as_bytes(), 0o600).map_err(
            |source| AgentError::Write {
                what: "pid file",
                path: p.clone(),
                source,
            },
        )?;
        Ok(Self(Some(p)))
    }
}

impl Drop for PidFile {
    fn drop(&mut self) {
        if let Some(p) = &self.0 {
            let _ = std::fs::remove_file(p);
        }
    }
}

/// Runs the agent until init mode completes, a fatal error, or a shutdown signal. The
/// caller owns the process: it reads the environment into [`AgentArgs`], installs a rustls
/// crypto provider, a `tracing` subscriber and the tokio runtime (with I/O and time enabled),
/// and turns the outcome into an exit status (`bins/vault-k8s`, `examples/agent.rs`).
pub async fn run(args: AgentArgs) -> Result<Exit, AgentError> {
    let (config, file) = args::load_config(&args)?;
    let Some(auto_auth) = &config.auto_auth else {
        return Err(AgentError::Setting {
            key: "auto_auth".into(),
            file,
            reason: "vault-k8s agent needs an auto_auth block".into(),
        });
    };
    let metrics = std::sync::Arc::new(metrics::AgentMetrics::new());
    let mut auth = Authenticator::new(auto_auth, &file)?;
    metrics.init_method(auth.kind_name());
    if !auto_auth.method.namespace.is_empty() {
        let mut cc = client_config(&config);
        cc.observer = Some(metrics.request_observer());
        cc.namespace = Some(auto_auth.method.namespace.clone());
        auth.set_namespace_client(VaultClient::new(&cc).map_err(|source| AgentError::Client {
            file: file.clone(),
            source,
        })?);
    }
    let templates = templates::prepare(&config.templates, &file)?;
    let reloads = reload::Reloads::from_env(&args.env)?;
    // `cache.persist` if configured, else the injector's credential handoff (same format).
    let mut persister = match persist::Persister::from_config(&config, &file)? {
        Some(p) => Some(p),
        None => args
            .handoff_dir
            .clone()
            .map(|dir| persist::Persister::new(dir, false, false).for_handoff()),
    };
    let client = VaultClient::new(&ClientConfig {
        observer: Some(metrics.request_observer()),
        ..client_config(&config)
    })
    .map_err(|source| AgentError::Client {
        file: file.clone(),
        source,
    })?;
    auth.check_sinks()?;
    let api_plan = listener::Plan::new(&config, &file)?;
    let _pid = PidFile::create(&config.pid_file)?;
    if let Some(ready) = &args.ready_file {
        readiness::clear(ready).map_err(|source| AgentError::Write {
            what: "readiness marker",
            path: ready.clone(),
            source,
        })?;
    }
    let mut shutdown = Shutdown::install().map_err(AgentError::Runtime)?;
    // Listeners open before the first login, in init mode too (as `bao agent` does).
    let _listeners = if api_plan.is_empty() {
        None
    } else {
        Some(
            api_plan
                .start(
                    &client,
                    metrics.clone(),
                    shutdown.requester(),
                    !templates.is_empty(),
                )
                .await?,
        )
    };
    // With a cache the templates read through it: their client talks to the agent's private
    // loopback listener and holds the auto-auth token itself.
    let template_client = match _listeners.as_ref().and_then(|l| l.template_address.clone()) {
        Some(address) => {
            VaultClient::new(&ClientConfig::new(address)).map_err(|source| AgentError::Client {
                file: file.clone(),
                source,
            })?
        }
        None => client.clone(),
    };
    let mirror = _listeners
        .as_ref()
        .and_then(|l| l.template_address.as_ref())
        .map(|_| template_client.clone());
    auth.observe(metrics.clone(), mirror);
    let tc = &config.template_config;
    let mut engine = Engine::new(
        templates,
        EngineSettings {
            retry: retry_policy(&config),
            static_interval: tc.static_secret_render_interval,
            threshold: tc.lease_renewal_threshold,
            quiescence: !config.exit_after_auth,
        },
        args.env.clone(),
    );
    // Reloads are for a running application: the sidecar's. An init agent renders before the
    // application starts.
    if !config.exit_after_auth {
        engine.set_reloads(reloads);
    }
    engine.set_metrics(metrics.clone());
    tracing::info!(
        config = %file,
        method = auth.kind_name(),
        templates = config.templates.len(),
        exit_after_auth = config.exit_after_auth,
        listeners = config.listeners.len(),
        "starting vault-k8s agent"
    );

    // The first cycle (auth, fetch, render, write) is one trace: its spans are children of
    // this one.
    let start_cycle = tracing::info_span!("agent_cycle", phase = "start");
    let Some(token) = persist::first_token(
        persister.as_mut(),
        &mut auth,
        &client,
        &mut engine,
        &mut shutdown,
    )
    .instrument(start_cycle.clone())
    .await?
    else {
        return Ok(Exit::Shutdown);
    };
    metrics.token_valid_for(token.ttl);
    let mut session = Session {
        auth,
        token,
        new_token: false,
    };
    let mut engine_backoff = AuthBackoff::engine();
    if !render_until_ok(
        &mut engine,
        Clients {
            agent: &client,
            templates: &template_client,
        },
        &config,
        &mut engine_backoff,
        &mut shutdown,
        &mut session,
    )
    .instrument(start_cycle.clone())
    .await?
    {
        return Ok(Exit::Shutdown);
    }
    drop(start_cycle);
    if let Some(p) = persister.as_mut() {
        p.save(&client, &session.token, &engine).await;
    }
    if let Some(ready) = &args.ready_file {
        let marker = readiness::contents(config.templates.len());
        files::write_atomic(ready, marker.as_bytes(), readiness::MODE).map_err(|source| {
            AgentError::Write {
                what: "readiness marker",
                path: ready.clone(),
                source,
            }
        })?;
        tracing::info!(path = %ready.display(), "every template rendered once; readiness marker written");
    }
    if config.exit_after_auth {
        tracing::info!("exit_after_auth: sinks written and templates rendered; exiting");
        return Ok(Exit::Completed);
    }

    // Sidecar mode.
    let mut jitter = Jitter::new();
    let mut watch = TokenWatch::start(&session.token, &mut jitter);
    session.new_token = false;
    loop {
        let next = [engine.next_due(), watch.at].into_iter().flatten().min();
        let stop = match next {
            Some(at) => {
                shutdown
                    .sleep(at.saturating_duration_since(Instant::now()))
                    .await
            }
            None => shutdown.sleep(Duration::from_secs(3600)).await,
        };
        if stop {
            break;
        }
        let mut changed = false;
        // Each later wake-up (token renewal, lease renewals, re-fetches, the render they
        // cause) is one trace.
        let cycle = tracing::info_span!("agent_cycle", phase = "refresh");
        if watch.at.is_some_and(|at| at <= Instant::now())
            && !watch
                .step(&client, &mut jitter, &metrics)
                .instrument(tracing::info_span!(parent: &cycle, "renew_token"))
                .await
        {
            tracing::info!("auth token lifetime ended; re-authenticating");
            metrics.token_lost();
            let Some(t) = session
                .auth
                .authenticate(&client, &mut shutdown)
                .instrument(cycle.clone())
                .await?
            else {
                break;
            };
            session.token = t;
            watch = TokenWatch::start(&session.token, &mut jitter);
            engine.reset();
            changed = true;
        }
        if engine
            .refresh_due(&template_client)
            .instrument(cycle.clone())
            .await
            > 0
            || engine.held_due()
        {
            changed = true;
        }
        if changed
            && !render_until_ok(
                &mut engine,
                Clients {
                    agent: &client,
                    templates: &template_client,
                },
                &config,
                &mut engine_backoff,
                &mut shutdown,
                &mut session,
            )
            .instrument(cycle.clone())
            .await?
        {
            break;
        }
        if std::mem::take(&mut session.new_token) {
            // Rendering re-authenticated: the old token's watcher is moot.
            watch = TokenWatch::start(&session.token, &mut jitter);
        }
        if let Some(p) = persister.as_mut() {
            p.save(&client, &session.token, &engine).await;
        }
    }
    if args.revoke_on_exit {
        if !args.revoke_grace.is_zero() {
            tracing::info!(
                grace_secs = args.revoke_grace.as_secs(),
                "waiting before revoking the auto-auth token"
            );
            tokio::time::sleep(args.revoke_grace).await;
        }
        match client.revoke_self().await {
            Ok(()) => {
                tracing::info!("auto-auth token revoked");
                // The cached token and its leases are gone with it.
                if let Some(p) = &persister {
                    p.discard();
                }
            }
            Err(e) => tracing::warn!(error = %e, "revoking the auto-auth token failed"),
        }
    }
    Ok(Exit::Shutdown)
}

/// The engine's fetch retry policy (spec §6.6): `vault.retry.num_retries`, the method's
/// backoff only when it differs from the auth defaults (the config crate applies those).
fn retry_policy(config: &Config) -> vk_lease::RetryPolicy {
    let method = config.auto_auth.as_ref().map(|a| &a.method);
    let min = method
        .map(|m| m.min_backoff)
        .filter(|d| *d != vk_agent_config::DEFAULT_MIN_BACKOFF);
    let max = method
        .map(|m| m.max_backoff)
        .filter(|d| *d != vk_agent_config::DEFAULT_MAX_BACKOFF);
    // `num_retries` is already effective (0 → 12, −1 → 0): map 0 back to "disabled".
    let n = i64::from(config.vault.num_retries);
    vk_lease::RetryPolicy::from_config(if n == 0 { -1 } else { n }, min, max)
}

/// The auth token's lifetime watcher (spec §2.8, `vk-lease`): renew at ⅔ of the lease,
/// retry renewal errors with backoff, end (→ re-auth) inside the grace window.
struct TokenWatch {
    watcher: vk_lease::LifetimeWatcher,
    renew: bool,
    at: Option<Instant>,
}

impl TokenWatch {
    fn start(token: &Token, jitter: &mut Jitter) -> Self {
        let now = backoff::now();
        let (watcher, action) = vk_lease::LifetimeWatcher::start(
            vk_lease::LeaseInfo {
                ttl: token.ttl,
                renewable: token.renewable,
            },
            now,
            now,
            vk_lease::RenewMode::RetryErrors,
            None,
            jitter.fraction(),
        );
        let mut w = Self {
            watcher,
            renew: false,
            at: None,
        };
        w.apply(action);
        w
    }

    /// Records the next action; `false` when the watcher ended.
    fn apply(&mut self, action: vk_lease::WatchAction) -> bool {
        match action {
            vk_lease::WatchAction::RenewAt(t) => {
                self.renew = true;
                self.at = Some(backoff::deadline(t));
            }
            vk_lease::WatchAction::WakeAt(t) => {
                self.renew = false;
                self.at = Some(backoff::deadline(t));
            }
            vk_lease::WatchAction::Unlimited => {
                tracing::info!("not starting token renewal process, as token has unlimited TTL");
                self.at = None;
            }
            vk_lease::WatchAction::End(reason) => {
                tracing::info!(reason = ?reason, "auth token watcher ended");
                self.at = None;
                return false;
            }
        }
        true
    }

    /// Runs the due action; `false` means re-authenticate.
    async fn step(
        &mut self,
        client: &VaultClient,
        jitter: &mut Jitter,
        metrics: &metrics::AgentMetrics,
    ) -> bool {
        let action = if self.renew {
            match client.renew_self(None).await {
                Ok(a) => {
                    // Vault Agent counts a renewal of its token as an auth success too.
                    metrics.auth_success.inc();
                    metrics.renewal(metrics::RenewalKind::AuthToken, true);
                    metrics.token_valid_for(Duration::from_secs(a.lease_duration));
                    tracing::info!(ttl_secs = a.lease_duration, "renewed auth token");
                    self.watcher.on_renewed(
                        backoff::now(),
                        Duration::from_secs(a.lease_duration),
                        jitter.fraction(),
                    )
                }
                Err(e) => {
                    metrics.renewal(metrics::RenewalKind::AuthToken, false);
                    tracing::warn!(error = %e, "auth token renewal failed");
                    self.watcher
                        .on_renew_error(backoff::now(), jitter.fraction())
                }
            }
        } else {
            self.watcher.on_wake(backoff::now())
        };
        self.apply(action)
    }
}

/// The auth method and the token the agent currently holds.
struct Session {
    auth: Authenticator,
    token: Token,
    /// Set when rendering had to re-authenticate (the caller restarts the token watcher).
    new_token: bool,
}

/// Whether Vault no longer accepts the agent's token (revoked, expired early, or the server
/// lost its state). Vault says "invalid token" in a 403, OpenBao only "permission denied", so
/// the test is a 403 on `lookup-self`, which every token's default policy allows.
pub(crate) async fn token_rejected(client: &VaultClient) -> bool {
    matches!(client.lookup_self().await, Err(e) if e.is_forbidden())
}

/// Renders until a round succeeds (spec §6.6): with `exit_on_retry_failure` an error is
/// returned; otherwise the engine restarts after a backoff. A round that failed because Vault
/// rejects the token re-authenticates first and tries again at once (spec §2.1, §6.6), once
/// per failure streak so a token rejected right after login cannot loop. `false` on shutdown.
/// The agent's own client (auth, token checks) and the one the templates read with (the
/// same client, or one through the lease cache).
#[derive(Clone, Copy)]
struct Clients<'a> {
    agent: &'a VaultClient,
    templates: &'a VaultClient,
}

async fn render_until_ok(
    engine: &mut Engine,
    clients: Clients<'_>,
    config: &Config,
    engine_backoff: &mut AuthBackoff,
    shutdown: &mut Shutdown,
    session: &mut Session,
) -> Result<bool, AgentError> {
    if engine.is_empty() {
        return Ok(true);
    }
    let client = clients.agent;
    let mut reauthenticated = false;
    loop {
        let err = match engine.round(clients.templates).await {
            Ok(mut report) => {
                engine.metrics().inspect(|m| m.render(true));
                tracing::debug!(
                    written = report.written.len(),
                    fetched = report.fetched,
                    "render round done"
                );
                engine_backoff.reset();
                command_outcome(config, std::mem::take(&mut report.command_errors))?;
                return Ok(true);
            }
            Err(e) => e,
        };
        engine.metrics().inspect(|m| m.render(false));
        if !reauthenticated && token_rejected(client).await {
            engine.metrics().inspect(|m| m.token_lost());
            tracing::warn!(
                error = %ErrorChain(&err),
                "Vault rejected the auth token while rendering; re-authenticating"
            );
            let Some(t) = session.auth.authenticate(client, shutdown).await? else {
                return Ok(false);
            };
            session.token = t;
            session.new_token = true;
            reauthenticated = true;
            engine.reset();
            continue;
        }
        if config.template_config.exit_on_retry_failure {
            return Err(err);
        }
        let wait = engine_backoff.next_delay();
        tracing::error!(
            error = %ErrorChain(&err),
            backoff_ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX),
            "template engine failed; restarting"
        );
        engine.reset();
        reauthenticated = false;
        if shutdown.sleep(wait).await {
            return Ok(false);
        }
    }
}

/// What failed template commands mean (spec §6.8, as `bao agent`): the files are written
/// either way. In init mode a failed or timed-out command is not a failed init (logged only);
/// in sidecar mode it stops the agent with `exit_on_retry_failure`, else it is logged and the
/// agent carries on.
fn command_outcome(config: &Config, errors: Vec<AgentError>) -> Result<(), AgentError> {
    let mut errors = errors.into_iter();
    let Some(first) = errors.next() else {
        return Ok(());
    };
    for e in std::iter::once(&first).chain(errors.as_slice()) {
        tracing::error!(error = %ErrorChain(e), "template command failed");
    }
    if !config.exit_after_auth && config.template_config.exit_on_retry_failure {
        return Err(first);
    }
    Ok(())
}

/// Reads the mode bits of a file (tests and diagnostics).
pub fn file_mode(path: &Path) -> std::io::Result<u32> {
    Ok(std::fs::metadata(path)?.permissions().mode() & 0o7777)
}
