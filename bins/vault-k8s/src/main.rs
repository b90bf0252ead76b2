//! `vault-k8s`: the single binary. Parses the command line, dispatches to a subcommand and turns
//! the outcome into an exit code; everything else lives in the library crates.

mod cli;
mod cmd;

use std::process::ExitCode;

// musl's malloc serialises every call on one lock; see bins/vault-k8s/Cargo.toml.
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() -> ExitCode {
    // One crypto provider for the whole process; ignoring the error is right because it only
    // says a provider was already installed.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let args: Vec<String> = match std::env::args_os()
        .skip(1)
        .map(|a| a.into_string())
        .collect()
    {
        Ok(args) => args,
        Err(bad) => {
            eprintln!("argument {bad:?} is not valid UTF-8");
            return ExitCode::from(1);
        }
    };
    match cli::parse(&args) {
        cli::Invocation::TopHelp { exit } => {
            eprint!("{}", cli::TOP_HELP);
            ExitCode::from(exit)
        }
        cli::Invocation::TopVersion => {
            eprintln!("{}", cmd::version::VERSION);
            ExitCode::SUCCESS
        }
        cli::Invocation::FlagsBeforeSubcommand => {
            eprint!(
                "Invalid flags before the subcommand. If these flags are for\nthe subcommand, please put them after the subcommand.\n\n{}",
                cli::TOP_HELP
            );
            ExitCode::from(1)
        }
        cli::Invocation::SubcommandHelp(text) => {
            eprintln!("{text}");
            ExitCode::SUCCESS
        }
        cli::Invocation::Version => cmd::version::run(),
        cli::Invocation::AgentInject(rest) => cmd::agent_inject::run(rest),
        cli::Invocation::Render(rest) => cmd::render::run(rest),
        cli::Invocation::Agent(rest) => cmd::agent::run(rest),
    }
}
