//! `cargo xtask bench inject`: the engine micro-benchmark, then `vault-k8s agent-inject` over TLS
//! under wrk next to a bare TLS server from the same stack that only parses the same body, so the
//! throughput ratio is what the webhook itself costs. A second bare server answers with the
//! webhook's own answer (same bytes, read once at start), which splits that cost into sending a
//! 6.5 kB answer instead of 2 bytes and the webhook's own work. With `--tracing`, the same binary
//! runs a second time with OpenTelemetry export on, to a real OTLP receiver, in the same rounds.

use std::process::Command;
use std::time::Duration;

use anyhow::ensure;

use super::otel::Receiver;
use super::server::Server;
use super::webhook::{
    POD_FIXTURE, admission_review_body, check_injects, make_certificates, mutate_url,
};
use super::wrk::{self, Load, WrkResult};
use super::{Scratch, cargo_bench, procfs};
use crate::cli::InjectArgs;
use crate::util;

/// The throughput ratio vault-k8s / bare server the project aims for.
const GOAL_RATIO: f64 = 0.8;

const OURS: &str = "vault-k8s";
const BARE: &str = "bare";
const BARE_ANSWER: &str = "bare+answer";
const TRACED: &str = "vk+otel";

/// One server's memory after the load.
struct Memory {
    label: &'static str,
    rss_kib: u64,
    peak_kib: u64,
}

pub(super) fn run(args: &InjectArgs) -> anyhow::Result<()> {
    if !args.no_micro {
        eprintln!("\n==> bench inject: engine micro-benchmark");
        cargo_bench("vk-inject", "mutate", "the mutation engine")?;
    }

    ensure!(
        util::which("wrk").is_some(),
        "wrk is not installed; run `cargo xtask tools`"
    );
    let release = util::target_dir().join("release");
    let vk_bin = match &args.vault_k8s_bin {
        Some(path) => path.clone(),
        None => {
            eprintln!("\n==> bench inject: building vault-k8s (release)");
            util::run(util::cargo().args(["build", "--release", "-p", "vault-k8s"]))?;
            release.join("vault-k8s")
        }
    };
    let bare_bin = match &args.bare_bin {
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
    let webhook = || {
        let mut vk = Command::new(&vk_bin);
        vk.args([
            "agent-inject",
            "-listen=127.0.0.1:0",
            &format!("-tls-cert-file={cert_arg}"),
            &format!("-tls-key-file={key_arg}"),
            "-vault-address=http://127.0.0.1:8200",
        ]);
        // Export stays off unless this bench turns it on.
        for var in ["OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_SDK_DISABLED"] {
            vk.env_remove(var);
        }
        vk
    };
    let mut bare = Command::new(&bare_bin);
    bare.args([
        "--listen",
        "127.0.0.1:0",
        "--cert",
        &cert_arg,
        "--key",
        &key_arg,
    ]);

    // Servers (and the receiver) are dropped, so killed, when this function returns, on success
    // and on error alike.
    let mut servers = vec![Server::start(
        OURS,
        webhook(),
        &scratch.0.join("vault-k8s.log"),
    )?];
    // A load test of a server that answers the wrong thing fast proves nothing: check one answer
    // from the webhook first. The bare+answer server replies with exactly that answer.
    let answer = check_injects(&servers[0].addr, &body_file)?;
    let answer_file = scratch.0.join("answer.json");
    std::fs::write(&answer_file, &answer)?;
    let mut bare_answer = Command::new(&bare_bin);
    bare_answer.args(bare.get_args());
    bare_answer.arg("--answer").arg(&answer_file);
    servers.push(Server::start(BARE, bare, &scratch.0.join("bare.log"))?);
    servers.push(Server::start(
        BARE_ANSWER,
        bare_answer,
        &scratch.0.join("bare-answer.log"),
    )?);
    let receiver = if args.tracing {
        let receiver = Receiver::start(&scratch.0)?;
        let mut traced = webhook();
        traced.envs(receiver.env());
        servers.push(Server::start(
            TRACED,
            traced,
            &scratch.0.join("vk-otel.log"),
        )?);
        Some(receiver)
    } else {
        None
    };

    for s in servers.iter().filter(|s| s.label == TRACED) {
        check_injects(&s.addr, &body_file)?;
    }
    if let Some(receiver) = &receiver {
        ensure!(
            receiver.wait_for(1, Duration::from_secs(15)) >= 1,
            "the OTLP receiver got no span from the traced webhook's first admission"
        );
    }

    let load = Load {
        connections: args.connections,
        duration: Duration::from_secs(args.duration),
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
    for round in 1..=args.rounds {
        // Rotate who goes first, so no server always runs on a machine warmed (or heated) by another.
        let n = servers.len();
        for k in 0..n {
            let s = &mut servers[(k + round as usize) % n];
            eprintln!("bench: round {round}: {} for {}s", s.label, args.duration);
            let result = wrk::run(&load, &mutate_url(&s.addr))?;
            s.ensure_alive()?;
            rows.push((s.label, round, result));
        }
    }
    let memory = servers
        .iter()
        .map(|s| {
            Ok(Memory {
                label: s.label,
                rss_kib: procfs::status_kib(s.pid(), "VmRSS")?,
                peak_kib: procfs::status_kib(s.pid(), "VmHWM")?,
            })
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    print_table(&rows, &memory, args);

    if let Some(receiver) = &receiver {
        // Every admission the traced server answered is one `admission` span (+ the checks above).
        let admissions: u64 = rows
            .iter()
            .filter(|(l, _, _)| *l == TRACED)
            .map(|(_, _, r)| r.requests)
            .sum();
        let spans = receiver.wait_for(admissions, Duration::from_secs(20));
        println!(
            "OTLP receiver: {spans} spans received for {admissions} measured admissions of {TRACED} \
             (warm-up and checks add a few; fewer means the exporter's bounded queue dropped some)"
        );
    }

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

fn print_table(rows: &[(&str, u32, WrkResult)], memory: &[Memory], args: &InjectArgs) {
    let ms = |d: Duration| format!("{:.3}ms", d.as_secs_f64() * 1e3);
    println!(
        "\nwrk -t1 -c{} -d{}s, POST /mutate (AdmissionReview of {POD_FIXTURE}) over TLS",
        args.connections, args.duration
    );
    println!(
        "{:<11} {:>5} {:>11} {:>10} {:>10} {:>8} {:>8}",
        "server", "round", "req/s", "p50", "p99", "non-2xx", "sockerr"
    );
    for (label, round, r) in rows {
        println!(
            "{label:<11} {round:>5} {:>11.1} {:>10} {:>10} {:>8} {:>8}",
            r.requests_per_sec,
            ms(r.p50),
            ms(r.p99),
            r.non_2xx,
            r.socket_errors
        );
    }
    let mean = |label: &str, f: &dyn Fn(&WrkResult) -> f64| {
        let xs: Vec<f64> = rows
            .iter()
            .filter(|(l, _, _)| *l == label)
            .map(|(_, _, r)| f(r))
            .collect();
        xs.iter().sum::<f64>() / xs.len().max(1) as f64
    };
    println!(
        "{:<11} {:>5} {:>11} {:>10} {:>10} {:>12} {:>12}",
        "server", "", "req/s", "p50", "p99", "RSS MiB", "peak MiB"
    );
    for m in memory {
        let secs = |f: fn(&WrkResult) -> Duration| {
            ms(Duration::from_secs_f64(mean(m.label, &|r| {
                f(r).as_secs_f64()
            })))
        };
        println!(
            "{:<11} {:>5} {:>11.1} {:>10} {:>10} {:>12.1} {:>12.1}",
            m.label,
            "mean",
            mean(m.label, &|r| r.requests_per_sec),
            secs(|r| r.p50),
            secs(|r| r.p99),
            m.rss_kib as f64 / 1024.0,
            m.peak_kib as f64 / 1024.0,
        );
    }
    let rate = |label| mean(label, &|r| r.requests_per_sec);
    let ratio = |a, b| {
        let d = rate(b);
        if d > 0.0 { rate(a) / d } else { 0.0 }
    };
    let ours = ratio(OURS, BARE);
    let verdict = if ours >= GOAL_RATIO {
        "meets the goal"
    } else {
        "BELOW the goal"
    };
    println!("throughput ratio vault-k8s/bare: {ours:.2} ({verdict} of >= {GOAL_RATIO:.2})");
    println!(
        "throughput ratio bare+answer/bare: {:.2} (sending the webhook's answer instead of 2 bytes); \
         vault-k8s/bare+answer: {:.2} (the webhook's own work)",
        ratio(BARE_ANSWER, BARE),
        ratio(OURS, BARE_ANSWER)
    );
    if memory.iter().any(|m| m.label == TRACED) {
        println!(
            "throughput ratio vk+otel/bare: {:.2}; tracing on/off (vk+otel/vault-k8s): {:.2}",
            ratio(TRACED, BARE),
            ratio(TRACED, OURS)
        );
    }
    println!(
        "note: wrk and the servers share the machine's cores; compare ratios, not absolute numbers"
    );
}
