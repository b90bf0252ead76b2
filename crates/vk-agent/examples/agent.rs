//! Runs the agent as a process: `cargo run -p vk-agent --example agent -- -config=agent.hcl`
//! (also accepts `agent -config=…`, so it can stand in for `vault agent`). The process wiring
//! is the binary's (`bins/vault-k8s/src/cmd/agent.rs`): environment, crypto provider, runtime,
//! exit status and the error on stderr.

use vk_agent::{AgentArgs, AgentError};

fn main() {
    let level = std::env::var("VAULT_LOG_LEVEL").unwrap_or_else(|_| "info".to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(format!("vk_agent={level}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("vk_agent=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
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
