//! Runs the agent as a process: `cargo run -p vk-agent --example agent -- -config=agent.hcl`
//! (also accepts `agent -config=…`, so it can stand in for `vault agent`). The process wiring
//! is the binary's (`bins/vault-k8s/src/cmd/agent.rs`): environment, crypto provider, runtime,
//! exit status and the error on stderr.

use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use vk_agent::{AgentArgs, AgentError};

fn main() {
    let level = std::env::var("VAULT_LOG_LEVEL")
        .ok()
        .and_then(|l| l.parse().ok())
        .unwrap_or(tracing_subscriber::filter::LevelFilter::INFO);
    let filter = tracing_subscriber::filter::Targets::new().with_target("vk_agent", level);
    tracing_subscriber::registry()
        .with(tracing_subscriber::fmt::layer().with_writer(std::io::stderr))
        .with(filter)
        .init();
    // Ignoring the error is right: it only says a provider was already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = AgentArgs::parse(&args, std::env::vars().collect()).and_then(|a| {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(AgentError::Runtime)?
            .block_on(vk_agent::run(a))
    });
    if let Err(e) = result {
        let msg = vk_telemetry::ErrorChain(&e).to_string();
        tracing::error!(error = %msg, "agent stopped");
        eprintln!("error: {msg}");
        std::process::exit(1);
    }
}
