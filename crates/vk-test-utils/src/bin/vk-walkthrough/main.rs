//! `vk-walkthrough`: the guide's walkthrough (seed 000) end to end on one machine, as
//! `cargo xtask demo` runs it.
//!
//! It starts OpenBao in dev mode and a Kubernetes TokenReview endpoint, configures kubernetes
//! auth with the guide's `webapp` policy and role, writes `secret/database/config`, starts the
//! real `vault-k8s agent-inject` webhook, sends it the guide's `webapp` pod, runs the injected
//! `vault-agent-init` container as patched in a pod sandbox, and prints the rendered
//! `/vault/secrets/database-config`. Everything it starts is stopped and removed on the way out,
//! on success, on error and on SIGINT/SIGTERM.
//!
//! A dev-only tool: the TokenReview endpoint is test code, so it lives here and never in the
//! product binary. Needs root (the pod sandbox uses mount namespaces and chroot) and OpenBao's
//! `bao` (`VK_BAO`, else `.tools/bin/bao`).

mod interrupt;
mod summary;
mod walkthrough;

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::{Context, bail};

const USAGE: &str = "usage: vk-walkthrough --vault-k8s PATH

Runs the guide's walkthrough end to end on this machine: OpenBao dev server, TokenReview
endpoint, kubernetes auth, the `webapp` policy, role and secret, the vault-k8s webhook, and the
injected init container in a pod sandbox; prints /vault/secrets/database-config.

  --vault-k8s PATH   the vault-k8s binary to run as the webhook and as the agent
environment:
  VK_BAO             OpenBao's bao binary (default: <workspace>/.tools/bin/bao)
needs root: the pod sandbox uses mount namespaces and chroot.";

fn main() -> ExitCode {
    let opts = match parse_args(std::env::args().skip(1)) {
        Ok(Some(opts)) => opts,
        Ok(None) => {
            println!("{USAGE}");
            return ExitCode::SUCCESS;
        }
        Err(err) => {
            eprintln!("vk-walkthrough: error: {err:#}\n\n{USAGE}");
            return ExitCode::from(2);
        }
    };
    if let Err(err) = interrupt::install() {
        eprintln!("vk-walkthrough: error: {err:#}");
        return ExitCode::FAILURE;
    }
    // Everything the walkthrough starts is owned by `run` and dropped when it returns, so the
    // cleanup line below is true on every path.
    let result = walkthrough::run(&opts);
    let cleaned = "cleanup: everything the walkthrough started was stopped (OpenBao, the \
                   TokenReview endpoint, the webhook, the pod sandbox) and its temp dirs removed";
    if let Some(signal) = interrupt::received() {
        eprintln!("\nvk-walkthrough: interrupted by {signal}\n{cleaned}");
        return ExitCode::from(130);
    }
    match result {
        Ok(()) => {
            println!("{cleaned}");
            ExitCode::SUCCESS
        }
        Err(err) => {
            eprintln!("\nvk-walkthrough: error: {err:#}\n{cleaned}");
            ExitCode::FAILURE
        }
    }
}

/// What the walkthrough runs.
pub(crate) struct Options {
    /// The `vault-k8s` binary: the webhook, and the agent the injected container runs.
    pub(crate) vault_k8s: PathBuf,
}

/// `None` for `--help`.
fn parse_args(mut args: impl Iterator<Item = String>) -> anyhow::Result<Option<Options>> {
    let mut vault_k8s = None;
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "-h" | "--help" => return Ok(None),
            "--vault-k8s" => {
                vault_k8s = Some(args.next().context("--vault-k8s needs a path")?);
            }
            _ => match arg.strip_prefix("--vault-k8s=") {
                Some(path) => vault_k8s = Some(path.to_string()),
                None => bail!("unknown argument {arg:?}"),
            },
        }
    }
    let vault_k8s = PathBuf::from(vault_k8s.context(
        "--vault-k8s PATH is required (build it with `cargo build -p vault-k8s`, or run \
         `cargo xtask demo`, which does both)",
    )?);
    if !vault_k8s.is_file() {
        bail!(
            "--vault-k8s {}: no such file (build it with `cargo build -p vault-k8s`)",
            vault_k8s.display()
        );
    }
    Ok(Some(Options { vault_k8s }))
}
