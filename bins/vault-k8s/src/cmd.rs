//! One module per subcommand, each with a `run` returning the exit code.

pub(crate) mod agent;
pub(crate) mod agent_inject;
pub(crate) mod render;
pub(crate) mod version;

/// Writes a command's whole output to stdout. Rust ignores SIGPIPE, so `println!` would panic
/// on a closed pipe (`vault-k8s version | head -1`) or a full disk; this reports the failure
/// on stderr and exits 1 instead.
pub(crate) fn write_stdout(text: &str) -> std::process::ExitCode {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("writing to standard output: {err}");
            std::process::ExitCode::from(1)
        }
    }
}
