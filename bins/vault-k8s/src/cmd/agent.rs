//! `vault-k8s agent`: the injected agent (crate `vk-agent`). Logging follows the variables the
//! injector sets on the agent containers (`VAULT_LOG_LEVEL`, `VAULT_LOG_FORMAT`).

use std::process::ExitCode;

use vk_telemetry::{LogFormat, LogLevel, init_logging};

pub(crate) fn run(args: &[String]) -> ExitCode {
    let raw_level = std::env::var("VAULT_LOG_LEVEL").unwrap_or_default();
    let level = match LogLevel::parse(&raw_level) {
        Ok(level) => level,
        Err(err) => {
            eprintln!("VAULT_LOG_LEVEL: {err}");
            return ExitCode::from(1);
        }
    };
    let format = LogFormat::parse(&std::env::var("VAULT_LOG_FORMAT").unwrap_or_default());
    if let Err(err) = init_logging(level, format) {
        eprintln!("{}", vk_telemetry::ErrorChain(&err));
        return ExitCode::from(1);
    }
    match vk_agent::main_with_args(args) {
        0 => ExitCode::SUCCESS,
        code => ExitCode::from(u8::try_from(code).unwrap_or(1)),
    }
}
