//! `vault-k8s agent-inject`: validate the configuration, load the certificate, bind, serve the
//! webhook until SIGTERM/SIGINT, drain.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use vk_injector::autotls::AutoTls;
use vk_injector::config::{AutoTlsConfig, TlsSource, parse_inject_flags};
use vk_injector::{AppState, InjectorConfig, InjectorMetrics, Purpose, ServingState};
use vk_server::{CertWatcher, ReloadingCert, ShutdownSignals};

/// How long in-flight requests may take to finish after a stop signal. Below Kubernetes'
/// default 30 s termination grace period so that we exit before the kubelet's SIGKILL.
const DRAIN_GRACE: Duration = Duration::from_secs(20);

/// How often the certificate files are checked for changes.
const CERT_POLL: Duration = Duration::from_millis(250);

pub(crate) fn run(args: &[String]) -> ExitCode {
    let values = match parse_inject_flags(args) {
        Ok(v) => v,
        Err(err) => {
            eprintln!("{err}\n{}", crate::cli::inject_help());
            return ExitCode::from(1);
        }
    };
    let tracing = match vk_telemetry::OtelConfig::from_lookup(
        &|name| std::env::var(name).ok(),
        "vault-k8s-injector",
    ) {
        Ok(t) => t,
        Err(err) => {
            eprintln!("Error in the OpenTelemetry settings: {err}");
            return ExitCode::from(1);
        }
    };
    let config =
        match InjectorConfig::resolve(values, &|name| std::env::var(name).ok(), Purpose::Serve) {
            Ok(c) => c,
            Err(err) => {
                eprintln!("{:#}", anyhow::Error::from(err));
                return ExitCode::from(1);
            }
        };
    match serve(config, tracing.as_ref()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err:#}");
            ExitCode::from(1)
        }
    }
}

fn serve(config: InjectorConfig, tracing: Option<&vk_telemetry::OtelConfig>) -> anyhow::Result<()> {
    let telemetry = vk_telemetry::init_telemetry(config.log_level, config.log_format, tracing)
        .context("Error setting up logging")?;
    let result = serve_logged(config);
    // Spans of the last admissions are still queued: flush them before exiting.
    telemetry.shutdown();
    result
}

fn serve_logged(config: InjectorConfig) -> anyhow::Result<()> {
    for warning in &config.warnings {
        tracing::warn!("{warning}");
    }
    let Some(tls) = config.tls.clone() else {
        anyhow::bail!("internal error: serving configuration without TLS settings");
    };

    let registry = prometheus::Registry::new();
    let metrics = InjectorMetrics::register(&registry)?;
    let telemetry = config.telemetry_path.clone().map(|path| {
        println!("Registering telemetry path on {path:?}");
        (path, registry.clone())
    });
    let state = AppState::new(config.settings.clone(), metrics, telemetry);

    // Certificate source; everything that can fail on bad configuration fails here, before
    // anything is bound.
    let (resolver, watcher, auto) = match &tls.source {
        TlsSource::Files(files) => {
            let watcher = CertWatcher::load(files.clone())
                .context("Error loading the serving certificate")?;
            (watcher.resolver(), Some(watcher), None)
        }
        TlsSource::Auto(auto) => (Arc::new(ReloadingCert::empty()), None, Some(auto.clone())),
    };
    let server_config = tls
        .settings
        .server_config(resolver.clone())
        .context("Failed to configure TLS")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Error starting the async runtime")?;
    runtime.block_on(async move {
        let signals = ShutdownSignals::install().context("Error installing signal handlers")?;
        let (manager, state) = match auto {
            None => (None, state),
            Some(auto) => {
                let manager = start_auto_tls(&auto, resolver.clone()).await?;
                let state = state.with_readiness(manager.readiness());
                (Some(manager), state)
            }
        };
        let state = state.with_serving_state(ServingState {
            certificate: Some(resolver.clone()),
            is_leader: manager.as_ref().and_then(vk_injector::autotls::AutoTls::is_leader),
        });
        let app = vk_injector::router(state);
        // In auto mode the listener binds at once; TLS handshakes fail ("no certificate") and
        // /health/ready cannot be reached until a certificate is installed.
        let bound = vk_server::bind(&config.listen).await.context("Error listening")?;
        tracing::info!("Starting handler..");
        println!("Listening on \"{}\"...", bound.local_addr());
        if let Some(watcher) = watcher {
            tokio::spawn(watcher.run(CERT_POLL));
        }

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(0u32);
        tokio::spawn(count_signals(signals, stop_tx));
        // On the first stop signal hand the Lease over at once, while draining.
        let release = manager.map(|manager| {
            let first = wait_for_signals(stop_rx.clone(), 1);
            tokio::spawn(async move {
                first.await;
                manager.shutdown().await;
            })
        });
        let first = wait_for_signals(stop_rx.clone(), 1);
        let second = wait_for_signals(stop_rx, 2);
        let result = tokio::select! {
            served = bound.serve(app, Arc::new(server_config), first, DRAIN_GRACE) => {
                served.context("Error serving").map(|()| tracing::info!("Drained, exiting"))
            }
            () = second => Err(anyhow::anyhow!("second stop signal received, exiting without waiting for in-flight requests")),
        };
        if let Some(release) = release
            && tokio::time::timeout(Duration::from_secs(6), release).await.is_err()
        {
            tracing::warn!("the leader Lease was not released in time");
        }
        result
    })
}

async fn start_auto_tls(auto: &AutoTlsConfig, slot: Arc<ReloadingCert>) -> anyhow::Result<AutoTls> {
    let user_agent = concat!("vault-k8s/", env!("CARGO_PKG_VERSION"));
    let client = vk_kube::KubeClient::infer(user_agent)
        .await
        .context("Error creating the Kubernetes client for -tls-auto")?;
    if let Some(leader) = &auto.leader {
        tracing::info!(
            namespace = %auto.namespace,
            identity = %leader.pod_name,
            lease_duration = ?leader.lease_duration,
            renew_deadline = ?leader.renew_deadline,
            retry_period = ?leader.retry_period,
            "leader election on Lease {}", vk_kube::LeaseSettings::DEFAULT_NAME
        );
    }
    Ok(AutoTls::start(client, auto, slot))
}

async fn count_signals(mut signals: ShutdownSignals, tx: tokio::sync::watch::Sender<u32>) {
    loop {
        let signal = signals.recv().await;
        tracing::info!(?signal, "Stop signal received, draining");
        tx.send_modify(|n| *n += 1);
    }
}

async fn wait_for_signals(mut rx: tokio::sync::watch::Receiver<u32>, count: u32) {
    if rx.wait_for(|n| *n >= count).await.is_err() {
        // The counter task never ends on its own; if it is gone, never stop because of it.
        std::future::pending::<()>().await;
    }
}
