//! Runs the agent as a process: `cargo run -p vk-agent --example agent -- -config=agent.hcl`
//! (also accepts `agent -config=…`, so it can stand in for `vault agent`).

fn main() {
    let level = std::env::var("VAULT_LOG_LEVEL").unwrap_or_else(|_| "info".to_string());
    let filter = tracing_subscriber::EnvFilter::try_new(format!("vk_agent={level}"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("vk_agent=info"));
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .init();
    let args: Vec<String> = std::env::args().skip(1).collect();
    std::process::exit(vk_agent::main_with_args(&args));
}
