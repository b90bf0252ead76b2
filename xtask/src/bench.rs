//! `cargo xtask bench`: benchmarks.
//!
//! ```text
//! cargo xtask bench inject [--duration SECS] [--rounds N] [--connections N] [--no-micro]
//!                          [--tracing] [--vault-k8s-bin PATH] [--bare-bin PATH]
//! cargo xtask bench template
//! cargo xtask bench soak [--duration SECS] [--rate N] [--rotations N] [--window SECS]
//!                        [--connections N] [--vault-k8s-bin PATH]
//! cargo xtask bench agent [--rounds N] [--sidecar-secs S] [--templates 5,50] [--tracing]
//!                         [--vault-k8s-bin PATH]
//! ```
//!
//! `inject` runs the engine micro-benchmark (`cargo bench -p vk-inject --bench mutate`), then loads
//! `vault-k8s agent-inject` over TLS with wrk and compares it with a bare TLS server from the same stack
//! (`vk-injector`'s `bench_bare_server` example), so the ratio shows what the webhook itself costs.
//! `soak` holds the webhook at a fixed rate while its certificate files rotate (see `bench/soak.rs`).
//! `agent` compares `vault-k8s agent` with `bao agent` (see `bench/agent.rs`).
//! `--tracing` adds, in the same run, our side once more with OpenTelemetry export on, to a real
//! OTLP receiver (see `bench/otel.rs`).

pub(crate) mod agent;
mod inject;
mod otel;
pub(crate) mod procfs;
mod server;
mod soak;
mod webhook;
mod wrk;

use std::path::PathBuf;

use anyhow::{Context, bail};

use crate::cli::Bench;
use crate::util;

pub(crate) fn run(bench: Bench) -> anyhow::Result<()> {
    match bench {
        Bench::Inject(args) => inject::run(&args),
        Bench::Template => cargo_bench("vk-template", "render", "the template engine (issue [2])"),
        Bench::Agent(args) => agent::run(args),
        Bench::Soak(args) => soak::run(&args),
    }
}

/// Runs a library crate's `cargo bench` target and lets its output through.
fn cargo_bench(package: &str, bench: &str, what: &str) -> anyhow::Result<()> {
    let file = util::workspace_root()
        .join("crates")
        .join(package)
        .join("benches")
        .join(format!("{bench}.rs"));
    if !file.is_file() {
        bail!(
            "the benchmark {} for {what} does not exist yet; it comes with that crate's work",
            file.display()
        );
    }
    util::run(util::cargo().args(["bench", "-p", package, "--bench", bench]))
}

/// A temporary folder for certificates, the Lua script and server logs, removed at the end.
struct Scratch(PathBuf);

impl Scratch {
    fn new() -> anyhow::Result<Scratch> {
        let dir = std::env::temp_dir().join(format!("vk-bench-{}", std::process::id()));
        std::fs::create_dir_all(&dir)
            .with_context(|| format!("cannot create {}", dir.display()))?;
        Ok(Scratch(dir))
    }
}

impl Drop for Scratch {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}
