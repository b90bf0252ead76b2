//! `vault-k8s agent-inject`: validate the configuration, load the certificate, bind, serve the
//! webhook until SIGTERM/SIGINT, drain.

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use vk_injector::config::{INJECT_FLAGS, parse_go_flags};
use vk_injector::{AppState, InjectorConfig, InjectorMetrics, Purpose};
use vk_server::{CertWatcher, ShutdownSignals};

/// How long in-flight requests may take to finish after a stop signal. Below Kubernetes'
/// default 30 s termination grace period so that we exit before the kubelet's SIGKILL.
const DRAIN_GRACE: Duration = Duration::from_secs(20);

/// How often the certificate files are checked for changes.
const CERT_POLL: Duration = Duration::from_millis(250);

pub(crate) fn run(args: &[String]) -> ExitCode {
    let values = match parse_go_flags(args, &[INJECT_FLAGS]) {
        Ok(v) => v,
        Err(err) => {
            eprintln!("{err}\n{}", crate::cli::inject_help());
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
    match serve(config) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("{err:#}");
            ExitCode::from(1)
        }
    }
}

fn serve(config: InjectorConfig) -> anyhow::Result<()> {
    vk_telemetry::init_logging(config.log_level, config.log_format)
        .context("Error setting up logging")?;
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
    let app = vk_injector::router(AppState::new(config.settings.clone(), metrics, telemetry));

    let watcher =
        CertWatcher::load(tls.files.clone()).context("Error loading the serving certificate")?;
    let server_config = tls
        .settings
        .server_config(watcher.resolver())
        .context("Failed to configure TLS")?;

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .context("Error starting the async runtime")?;
    runtime.block_on(async move {
        let signals = ShutdownSignals::install().context("Error installing signal handlers")?;
        let bound = vk_server::bind(&config.listen).await.context("Error listening")?;
        tracing::info!("Starting handler..");
        println!("Listening on \"{}\"...", bound.local_addr());
        tokio::spawn(watcher.run(CERT_POLL));

        let (stop_tx, stop_rx) = tokio::sync::watch::channel(0u32);
        tokio::spawn(count_signals(signals, stop_tx));
        let first = wait_for_signals(stop_rx.clone(), 1);
        let second = wait_for_signals(stop_rx, 2);
        tokio::select! {
            served = bound.serve(app, Arc::new(server_config), first, DRAIN_GRACE) => {
                served.context("Error serving")?;
                tracing::info!("Drained, exiting");
                Ok(())
            }
            () = second => anyhow::bail!("second stop signal received, exiting without waiting for in-flight requests"),
        }
    })
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
