//! `vault-k8s agent`: the injected agent (crate `vk-agent`). The process side lives here:
//! logging from the variables the injector sets on the agent containers (`VAULT_LOG_LEVEL`,
//! `VAULT_LOG_FORMAT`), trace export from the standard `OTEL_*` variables, the environment handed to the agent, its tokio runtime, and the exit
//! status with the error on stderr.

use std::process::ExitCode;

use vk_agent::{AgentArgs, AgentError};
use vk_telemetry::{ErrorChain, LogFormat, LogLevel, OtelConfig, init_telemetry};

pub(crate) fn run(args: &[String]) -> ExitCode {
    if args.first().is_some_and(|a| a == "probe") {
        return probe(&args[1..]);
    }
    let raw_level = std::env::var("VAULT_LOG_LEVEL").unwrap_or_default();
    let level = match LogLevel::parse(&raw_level) {
        Ok(level) => level,
        Err(err) => {
            eprintln!("VAULT_LOG_LEVEL: {err}");
            return ExitCode::from(1);
        }
    };
    let format = LogFormat::parse(&std::env::var("VAULT_LOG_FORMAT").unwrap_or_default());
    let tracing = match OtelConfig::from_lookup(&|name| std::env::var(name).ok(), "vault-k8s-agent")
    {
        Ok(t) => t,
        Err(err) => {
            eprintln!("error: OpenTelemetry settings: {err}");
            return ExitCode::from(1);
        }
    };
    // The rustls provider is installed by `main` for the whole process (the exporter's TLS
    // needs it too).
    let telemetry = match init_telemetry(level, format, tracing.as_ref()) {
        Ok(guard) => guard,
        Err(err) => {
            eprintln!("{}", ErrorChain(&err));
            return ExitCode::from(1);
        }
    };
    let env = std::env::vars().collect();
    let code = match AgentArgs::parse(args, env).and_then(run_to_end) {
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            let msg = ErrorChain(&e).to_string();
            tracing::error!(error = %msg, "agent stopped");
            eprintln!("error: {msg}");
            ExitCode::from(1)
        }
    };
    // Both exits (done, failed) flush the spans still queued, after the runtime has stopped.
    telemetry.shutdown();
    code
}

/// Runs the agent on a single-threaded runtime: the agent is I/O bound and small.
fn run_to_end(args: AgentArgs) -> Result<vk_agent::Exit, AgentError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AgentError::Runtime)?
        .block_on(vk_agent::run(args))
}

/// `vault-k8s agent probe -ready-file=PATH`: the native sidecar's startup probe (exec, so no
/// shell is needed). Exit 0 once the agent wrote its readiness marker, 1 with the reason on
/// stderr before (the kubelet records it in the probe's event), 2 for a usage error.
fn probe(args: &[String]) -> ExitCode {
    let path = match args {
        [one] => one
            .strip_prefix("--ready-file=")
            .or_else(|| one.strip_prefix("-ready-file=")),
        _ => None,
    };
    let Some(path) = path.filter(|p| !p.is_empty()) else {
        eprintln!("usage: vault-k8s agent probe -ready-file=PATH");
        return ExitCode::from(2);
    };
    match vk_agent::readiness::probe(std::path::Path::new(path)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("not ready: {}", ErrorChain(&e));
            ExitCode::from(1)
        }
    }
}
