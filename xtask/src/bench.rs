//! `cargo xtask bench`: benchmarks.
//!
//! ```text
//! cargo xtask bench inject [--duration SECS] [--rounds N] [--connections N] [--no-micro]
//!                          [--vault-k8s-bin PATH] [--bare-bin PATH]
//! cargo xtask bench template
//! cargo xtask bench soak [--duration SECS] [--rate N] [--rotations N] [--window SECS]
//!                        [--connections N] [--vault-k8s-bin PATH]
//! cargo xtask bench agent [--rounds N] [--sidecar-secs S] [--templates 5,50] [--vault-k8s-bin PATH]
//! ```
//!
//! `inject` runs the engine micro-benchmark (`cargo bench -p vk-inject --bench mutate`), then loads
//! `vault-k8s agent-inject` over TLS with wrk and compares it with a bare TLS server from the same stack
//! (`vk-injector`'s `bench_bare_server` example), so the ratio shows what the webhook itself costs.
//! `soak` holds the webhook at a fixed rate while its certificate files rotate (see `bench/soak.rs`).
//! `agent` compares `vault-k8s agent` with `bao agent` (see `bench/agent.rs`).

pub(crate) mod agent;
mod server;
mod soak;
mod wrk;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use anyhow::{Context, bail, ensure};
use serde_json::{Value, json};

use crate::cli::{Bench, InjectArgs};
use crate::util;
use server::Server;
use wrk::{Load, WrkResult};

/// The throughput ratio vault-k8s / bare server the project aims for.
const GOAL_RATIO: f64 = 0.8;

/// The pod the load sends, as the API server would (defaults filled in).
const POD_FIXTURE: &str = "crates/vk-test-utils/fixtures/webapp-pod-admitted.json";

pub(crate) fn run(bench: Bench) -> anyhow::Result<()> {
    match bench {
        Bench::Inject(args) => inject(&InjectOpts::from(&args)),
        Bench::Template => cargo_bench("vk-template", "render", "the template engine (issue [2])"),
        Bench::Agent(args) => agent::run(args),
        Bench::Soak(args) => soak::run(&args),
    }
}

struct InjectOpts {
    duration: Duration,
    rounds: u32,
    connections: u32,
    micro: bool,
    /// Prebuilt binaries to load instead of building them (e.g. a release binary from `dist/`).
    vault_k8s_bin: Option<PathBuf>,
    bare_bin: Option<PathBuf>,
}

impl From<&InjectArgs> for InjectOpts {
    fn from(args: &InjectArgs) -> InjectOpts {
        InjectOpts {
            duration: Duration::from_secs(args.duration),
            rounds: args.rounds,
            connections: args.connections,
            micro: !args.no_micro,
            vault_k8s_bin: args.vault_k8s_bin.clone(),
            bare_bin: args.bare_bin.clone(),
        }
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

// === bench inject ===

fn inject(opts: &InjectOpts) -> anyhow::Result<()> {
    if opts.micro {
        eprintln!("\n==> bench inject: engine micro-benchmark");
        cargo_bench("vk-inject", "mutate", "the mutation engine")?;
    }

    ensure!(
        util::which("wrk").is_some(),
        "wrk is not installed; run `cargo xtask tools`"
    );
    let release = util::target_dir().join("release");
    let vk_bin = match &opts.vault_k8s_bin {
        Some(path) => path.clone(),
        None => {
            eprintln!("\n==> bench inject: building vault-k8s (release)");
            util::run(util::cargo().args(["build", "--release", "-p", "vault-k8s"]))?;
            release.join("vault-k8s")
        }
    };
    let bare_bin = match &opts.bare_bin {
        Some(path) => path.clone(),
        None => {
            eprintln!("\n==> bench inject: building the bare TLS server (release)");
            util::run(util::cargo().args([
                "build",
                "--release",
                "-p",
                "vk-injector",
                "--example",
                "bench_bare_server",
            ]))?;
            release.join("examples").join("bench_bare_server")
        }
    };

    let scratch = Scratch::new()?;
    let (cert, key) = make_certificates(&scratch.0)?;
    let script = scratch.0.join("post.lua");
    let body = admission_review_body()?;
    wrk::write_post_script(&script, &body)?;
    let body_file = scratch.0.join("review.json");
    std::fs::write(&body_file, &body)?;

    let cert_arg = cert.display().to_string();
    let key_arg = key.display().to_string();
    let mut vk = Command::new(&vk_bin);
    vk.args([
        "agent-inject",
        "-listen=127.0.0.1:0",
        &format!("-tls-cert-file={cert_arg}"),
        &format!("-tls-key-file={key_arg}"),
        "-vault-address=http://127.0.0.1:8200",
    ]);
    let mut bare = Command::new(&bare_bin);
    bare.args([
        "--listen",
        "127.0.0.1:0",
        "--cert",
        &cert_arg,
        "--key",
        &key_arg,
    ]);

    // Servers are dropped (killed) when this function returns, on success and on error alike.
    let mut servers = [
        Server::start("vault-k8s", vk, &scratch.0.join("vault-k8s.log"))?,
        Server::start("bare", bare, &scratch.0.join("bare.log"))?,
    ];

    // A load test of a server that answers the wrong thing fast proves nothing: check one answer first.
    check_injects(&servers[0].addr, &body_file)?;

    let load = Load {
        connections: opts.connections,
        duration: opts.duration,
        script: &script,
    };
    let warmup = Load {
        duration: Duration::from_secs(1),
        ..load
    };
    for s in &servers {
        wrk::run(&warmup, &mutate_url(&s.addr))?;
    }

    let mut rows: Vec<(&'static str, u32, WrkResult)> = Vec::new();
    for round in 1..=opts.rounds {
        // Alternate who goes first, so neither always runs on a machine warmed (or heated) by the other.
        let order: [usize; 2] = if round % 2 == 1 { [0, 1] } else { [1, 0] };
        for i in order {
            let s = &mut servers[i];
            eprintln!(
                "bench: round {round}: {} for {}s",
                s.label,
                opts.duration.as_secs()
            );
            let result = wrk::run(&load, &mutate_url(&s.addr))?;
            s.ensure_alive()?;
            rows.push((s.label, round, result));
        }
    }
    print_table(&rows, opts);

    let failures: u64 = rows
        .iter()
        .map(|(_, _, r)| r.non_2xx + r.socket_errors)
        .sum();
    ensure!(
        failures == 0,
        "{failures} requests failed (non-2xx or socket errors); see the table above"
    );
    Ok(())
}

/// Sends the review once with curl and checks that vault-k8s allows it with a patch.
fn check_injects(addr: &str, body_file: &Path) -> anyhow::Result<()> {
    let out = util::output(
        Command::new("curl")
            .args([
                "-sS",
                "--fail",
                "-k",
                "-H",
                "Content-Type: application/json",
                "--data-binary",
            ])
            .arg(format!("@{}", body_file.display()))
            .arg(mutate_url(addr)),
    )
    .context("the pre-flight request to vault-k8s failed")?;
    let review: Value = serde_json::from_str(&out)
        .with_context(|| format!("vault-k8s did not answer with JSON: {out}"))?;
    let response = &review["response"];
    ensure!(
        response["allowed"] == true && response["patch"].is_string(),
        "vault-k8s did not inject the bench pod (expected allowed=true and a patch): {out}"
    );
    Ok(())
}

fn mutate_url(addr: &str) -> String {
    format!("https://{addr}/mutate")
}

/// An AdmissionReview v1 for creating the fixture pod, compact, as the API server sends it.
fn admission_review_body() -> anyhow::Result<String> {
    let path = util::workspace_root().join(POD_FIXTURE);
    let text = std::fs::read_to_string(&path)
        .with_context(|| format!("cannot read {}", path.display()))?;
    let pod: Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let namespace = pod["metadata"]["namespace"]
        .as_str()
        .unwrap_or("default")
        .to_owned();
    let gvk = json!({"group": "", "version": "v1", "kind": "Pod"});
    let gvr = json!({"group": "", "version": "v1", "resource": "pods"});
    let review = json!({
        "apiVersion": "admission.k8s.io/v1",
        "kind": "AdmissionReview",
        "request": {
            "uid": "00000000-0000-4000-8000-00000000b3c4",
            "kind": gvk, "resource": gvr, "requestKind": gvk, "requestResource": gvr,
            "namespace": namespace,
            "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller"},
            "object": pod,
            "oldObject": null,
            "dryRun": false,
            "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}
        }
    });
    Ok(serde_json::to_string(&review)?)
}

/// A CA and a leaf for 127.0.0.1 signed by it, made with the openssl CLI (P-256 keys).
fn make_certificates(dir: &Path) -> anyhow::Result<(PathBuf, PathBuf)> {
    let openssl =
        |args: &[&str]| util::output(Command::new("openssl").args(args).current_dir(dir)).map(drop);
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    openssl(
        &[
            &["req", "-x509"],
            &ec[..],
            &[
                "-keyout",
                "ca.key",
                "-out",
                "ca.crt",
                "-days",
                "1",
                "-subj",
                "/CN=vk-bench-ca",
            ],
        ]
        .concat(),
    )?;
    openssl(
        &[
            &["req"],
            &ec[..],
            &[
                "-keyout",
                "tls.key",
                "-out",
                "tls.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat(),
    )?;
    std::fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\nbasicConstraints=critical,CA:FALSE\n",
    )?;
    openssl(&[
        "x509",
        "-req",
        "-in",
        "tls.csr",
        "-CA",
        "ca.crt",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "tls.crt",
        "-days",
        "1",
        "-extfile",
        "leaf.ext",
    ])
    .context("openssl could not sign the bench certificate")?;
    Ok((dir.join("tls.crt"), dir.join("tls.key")))
}

fn print_table(rows: &[(&str, u32, WrkResult)], opts: &InjectOpts) {
    let ms = |d: Duration| format!("{:.3}ms", d.as_secs_f64() * 1e3);
    println!(
        "\nwrk -t1 -c{} -d{}s, POST /mutate (AdmissionReview of {POD_FIXTURE}) over TLS",
        opts.connections,
        opts.duration.as_secs()
    );
    println!(
        "{:<10} {:>5} {:>11} {:>10} {:>10} {:>8} {:>8}",
        "server", "round", "req/s", "p50", "p99", "non-2xx", "sockerr"
    );
    for (label, round, r) in rows {
        println!(
            "{label:<10} {round:>5} {:>11.1} {:>10} {:>10} {:>8} {:>8}",
            r.requests_per_sec,
            ms(r.p50),
            ms(r.p99),
            r.non_2xx,
            r.socket_errors
        );
    }
    let mean = |label: &str, f: fn(&WrkResult) -> f64| {
        let xs: Vec<f64> = rows
            .iter()
            .filter(|(l, _, _)| *l == label)
            .map(|(_, _, r)| f(r))
            .collect();
        xs.iter().sum::<f64>() / xs.len().max(1) as f64
    };
    let vk = mean("vault-k8s", |r| r.requests_per_sec);
    let bare = mean("bare", |r| r.requests_per_sec);
    let ratio = if bare > 0.0 { vk / bare } else { 0.0 };
    for label in ["vault-k8s", "bare"] {
        println!(
            "{label:<10} {:>5} {:>11.1} {:>10} {:>10}",
            "mean",
            mean(label, |r| r.requests_per_sec),
            ms(Duration::from_secs_f64(mean(label, |r| r
                .p50
                .as_secs_f64()))),
            ms(Duration::from_secs_f64(mean(label, |r| r
                .p99
                .as_secs_f64()))),
        );
    }
    let verdict = if ratio >= GOAL_RATIO {
        "meets the goal"
    } else {
        "BELOW the goal"
    };
    println!("throughput ratio vault-k8s/bare: {ratio:.2} ({verdict} of >= {GOAL_RATIO:.2})");
    println!("note: wrk and the server share 2 cores; compare ratios, not absolute numbers");
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn review_wraps_the_fixture_pod() {
        let body: Value = serde_json::from_str(&admission_review_body().unwrap()).unwrap();
        assert_eq!(body["kind"], "AdmissionReview");
        assert_eq!(body["request"]["operation"], "CREATE");
        assert_eq!(body["request"]["object"]["metadata"]["name"], "webapp");
    }
}
