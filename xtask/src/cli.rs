//! The command line of `cargo xtask`: every subcommand and its typed options, in one place.
//! The modules receive these values already parsed and validated.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

#[derive(Parser, Debug)]
#[command(
    name = "cargo xtask",
    bin_name = "cargo xtask",
    about = "vault-k8s project automation"
)]
pub(crate) struct Cli {
    #[command(subcommand)]
    pub(crate) command: Command,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Command {
    /// Run the guide's walkthrough end to end on this machine (`--offline`: render-only preview).
    Demo(DemoArgs),
    /// Install what builds and tests need (OpenBao, helm, Debian packages) into `.tools/`.
    Tools,
    /// Run the whole CI: fmt check, clippy -D warnings, tidy, docs, all tests, images, chart.
    Ci(CiArgs),
    /// Dependency and workspace checks (pure crates stay pure).
    Tidy,
    /// Benchmarks: `bench inject`, `bench template`, `bench agent`.
    Bench {
        #[command(subcommand)]
        bench: Bench,
    },
    /// Build the OCI images into `dist/images/` (`image check` runs them).
    #[command(args_conflicts_with_subcommands = true)]
    Image {
        #[command(subcommand)]
        action: Option<ImageAction>,
        #[command(flatten)]
        build: ImageBuildArgs,
    },
    /// Lint, template and package the Helm chart.
    Chart {
        #[command(subcommand)]
        action: ChartAction,
    },
    /// Build every release artifact into `dist/`.
    Release(ReleaseArgs),
    /// Generated documentation: `docs flags` writes docs/configuration.md's flag table.
    Docs {
        #[command(subcommand)]
        action: DocsAction,
    },
    /// Run the cargo-fuzz targets of `fuzz/` for a bounded time (nightly; not in CI).
    Fuzz(FuzzArgs),
    /// cargo-deny: licenses, bans, duplicate versions, sources (advisories when a database copy exists).
    Deny,
    /// Write the third-party license notices of the release binary (`dist/THIRD_PARTY_LICENSES`).
    Notices(NoticesArgs),
}

#[derive(Args, Debug)]
pub(crate) struct FuzzArgs {
    /// One target (admission, annotations, agent_config, goflag, template); all of them when absent.
    #[arg(value_name = "TARGET")]
    pub(crate) target: Option<String>,
    /// Seconds per target (at least 1).
    #[arg(value_name = "SECONDS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) seconds: u64,
    /// cargo-fuzz's sanitizer: `none` (default; coverage-guided, builds the webhook's dependency
    /// tree in minutes) or `address` (ASan; far slower to build for admission and goflag).
    #[arg(long, value_name = "NAME", default_value = "none", value_parser = ["none", "address"])]
    pub(crate) sanitizer: String,
}

#[derive(Args, Debug)]
pub(crate) struct NoticesArgs {
    /// Where to write the notices (default: `dist/THIRD_PARTY_LICENSES`).
    #[arg(long, value_name = "FILE")]
    pub(crate) output: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct DemoArgs {
    /// Only the offline preview (render-only: no Vault, no root).
    #[arg(long)]
    pub(crate) offline: bool,
}

#[derive(Args, Debug)]
pub(crate) struct CiArgs {
    /// Run only these steps (still in CI order), e.g. `clippy test`; all of them when none.
    #[arg(value_name = "STEP")]
    pub(crate) steps: Vec<String>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum Bench {
    /// Engine micro-benchmark, then the webhook over TLS under wrk against a bare TLS server.
    Inject(InjectArgs),
    /// The template engine micro-benchmark.
    Template,
    /// `vault-k8s agent` against `bao agent`: init-mode time, CPU and peak RSS, sidecar RSS.
    Agent(AgentArgs),
    /// The webhook at a fixed rate over TLS while its certificate files are replaced.
    Soak(SoakArgs),
}

#[derive(Args, Debug)]
pub(crate) struct SoakArgs {
    /// Seconds of load in total (at least 1).
    #[arg(long, value_name = "SECS", default_value_t = 60, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) duration: u64,
    /// Admission requests per second asked of wrk (at least 1).
    #[arg(long, value_name = "N", default_value_t = 2000, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rate: u32,
    /// Certificate/key replacements spread evenly over the run (at least 1).
    #[arg(long, value_name = "N", default_value_t = 100, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rotations: u32,
    /// Seconds per reported window (one wrk run each; at least 1).
    #[arg(long, value_name = "SECS", default_value_t = 10, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) window: u64,
    /// wrk connections (at least 1).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) connections: u32,
    /// Load this vault-k8s binary instead of building a release one.
    #[arg(long, value_name = "PATH")]
    pub(crate) vault_k8s_bin: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct InjectArgs {
    /// Seconds of load per round (at least 1).
    #[arg(long, value_name = "SECS", default_value_t = 5, value_parser = clap::value_parser!(u64).range(1..))]
    pub(crate) duration: u64,
    /// Rounds per server (at least 1).
    #[arg(long, value_name = "N", default_value_t = 2, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rounds: u32,
    /// wrk connections (at least 1).
    #[arg(long, value_name = "N", default_value_t = 16, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) connections: u32,
    /// Skip the engine micro-benchmark.
    #[arg(long)]
    pub(crate) no_micro: bool,
    /// Also run the webhook with OpenTelemetry export on (to a local rotel-agent), in the same rounds.
    #[arg(long)]
    pub(crate) tracing: bool,
    /// Load this vault-k8s binary instead of building it (e.g. a release binary from `dist/`).
    #[arg(long, value_name = "PATH")]
    pub(crate) vault_k8s_bin: Option<PathBuf>,
    /// Load this bare server binary instead of building the `bench_bare_server` example.
    #[arg(long, value_name = "PATH")]
    pub(crate) bare_bin: Option<PathBuf>,
}

#[derive(Args, Debug)]
pub(crate) struct AgentArgs {
    /// Alternating rounds per template count (at least 1).
    #[arg(long, value_name = "N", default_value_t = 10, value_parser = clap::value_parser!(u32).range(1..))]
    pub(crate) rounds: u32,
    /// Seconds before reading the sidecar's RSS (0 skips sidecar mode).
    #[arg(long, value_name = "S", default_value_t = 60)]
    pub(crate) sidecar_secs: u64,
    /// Template counts for init mode, each between 1 and 1000.
    #[arg(long, value_name = "N,N…", value_delimiter = ',', default_values_t = [5, 50], value_parser = template_count)]
    pub(crate) templates: Vec<usize>,
    /// Also run our agent with OpenTelemetry export on (to a local rotel-agent), in the same rounds.
    #[arg(long)]
    pub(crate) tracing: bool,
    /// Run this vault-k8s binary instead of building it.
    #[arg(long, value_name = "PATH")]
    pub(crate) vault_k8s_bin: Option<PathBuf>,
    /// Internal: measure one agent run (`--measure-child LOG -- PROGRAM ARGS…`).
    #[arg(long, value_name = "LOG", hide = true, requires = "program")]
    pub(crate) measure_child: Option<String>,
    /// The measured program and its arguments (after `--`, with `--measure-child` only).
    #[arg(last = true, hide = true, requires = "measure_child")]
    pub(crate) program: Vec<String>,
}

fn template_count(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(n) if (1..=1000).contains(&n) => Ok(n),
        _ => Err(format!(
            "`{text}` is not a template count between 1 and 1000 (e.g. 5,50)"
        )),
    }
}

#[derive(Subcommand, Debug)]
pub(crate) enum ImageAction {
    /// Build the images (the default).
    Build(ImageBuildArgs),
    /// Run the built images under podman/skopeo/umoci.
    Check(ImageCheckArgs),
    /// Run the linux/arm64 binary under qemu-aarch64-static against the amd64 one.
    Qemu(ImageQemuArgs),
}

#[derive(Args, Debug, Default)]
pub(crate) struct ImageQemuArgs {
    /// The linux/amd64 binary (default: build it).
    #[arg(long, value_name = "PATH")]
    pub(crate) binary: Option<PathBuf>,
    /// The linux/arm64 binary (default: cross-compile it).
    #[arg(long, value_name = "PATH")]
    pub(crate) binary_arm64: Option<PathBuf>,
}

#[derive(Args, Debug, Default, Clone)]
pub(crate) struct ImageBuildArgs {
    /// Also build the Debian-based dev image.
    #[arg(long)]
    pub(crate) dev: bool,
    /// Build only the dev image.
    #[arg(long)]
    pub(crate) dev_only: bool,
    /// Platforms to build (repeatable; default: amd64 and arm64).
    #[arg(long, value_enum, value_name = "ARCH")]
    pub(crate) arch: Vec<crate::image::arch::Arch>,
    /// Package this static linux/amd64 binary instead of building it.
    #[arg(long, value_name = "PATH")]
    pub(crate) binary: Option<PathBuf>,
    /// Package this static linux/arm64 binary instead of cross-compiling it.
    #[arg(long, value_name = "PATH")]
    pub(crate) binary_arm64: Option<PathBuf>,
    /// Output directory (default dist/images).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
    /// opt-level of the release build, e.g. z.
    #[arg(long, value_name = "LEVEL")]
    pub(crate) opt_level: Option<String>,
    /// Rebuild the dev image's Debian root filesystem instead of reusing the cached one.
    #[arg(long)]
    pub(crate) refresh_rootfs: bool,
}

#[derive(Args, Debug, Default)]
pub(crate) struct ImageCheckArgs {
    /// Also check the dev image.
    #[arg(long)]
    pub(crate) dev: bool,
    /// Where the images are (default dist/images).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum ChartAction {
    /// Set Chart.yaml's version and appVersion to the workspace version.
    Sync,
    /// Lint, expected failures, kubernetes-validate, wiring, checkov, binary.
    Check(ChartCheckArgs),
    /// Package the chart reproducibly as DIR/vault-k8s-<version>.tgz.
    Package {
        /// Output directory (default dist).
        #[arg(long, value_name = "DIR")]
        out: Option<PathBuf>,
    },
}

#[derive(Args, Debug, Default)]
pub(crate) struct ChartCheckArgs {
    /// Start this vault-k8s binary with the rendered container args and env.
    #[arg(long, value_name = "PATH")]
    pub(crate) binary: Option<PathBuf>,
    /// Skip checkov.
    #[arg(long)]
    pub(crate) skip_checkov: bool,
}

#[derive(Args, Debug)]
pub(crate) struct ReleaseArgs {
    /// Platforms to release (repeatable; default: amd64 and arm64).
    #[arg(long, value_enum, value_name = "ARCH")]
    pub(crate) arch: Vec<crate::image::arch::Arch>,
    /// Package this static linux/amd64 binary instead of building it.
    #[arg(long, value_name = "PATH")]
    pub(crate) binary: Option<PathBuf>,
    /// Package this static linux/arm64 binary instead of cross-compiling it.
    #[arg(long, value_name = "PATH")]
    pub(crate) binary_arm64: Option<PathBuf>,
    /// Skip the Debian-based dev image (debootstrap, minutes) for a quick local run.
    #[arg(long, overrides_with = "dev")]
    pub(crate) no_dev: bool,
    /// Build the dev image (the default; accepted for compatibility with earlier usage).
    #[arg(long, hide = true, overrides_with = "no_dev")]
    pub(crate) dev: bool,
    /// opt-level of the release build, e.g. z.
    #[arg(long, value_name = "LEVEL")]
    pub(crate) opt_level: Option<String>,
    /// Output directory (default dist).
    #[arg(long, value_name = "DIR")]
    pub(crate) out: Option<PathBuf>,
}

#[derive(Subcommand, Debug)]
pub(crate) enum DocsAction {
    /// Write the `agent-inject` flag table into docs/configuration.md from the flag table in
    /// crates/vk-injector/src/config/flags.rs.
    Flags {
        /// Write nothing; fail, naming the difference, when the page is not up to date.
        #[arg(long)]
        check: bool,
    },
    /// Run docs/install.md's kind walkthrough up to where a cluster is needed (files written,
    /// chart rendered, manifests validated with kubernetes-validate).
    Walkthrough,
}

#[cfg(test)]
mod tests;
