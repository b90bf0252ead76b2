//! `cargo xtask bench agent`: `vault-k8s agent` against `bao agent`, same config file, same
//! server, same run, alternating. Init mode (`exit_after_auth = true`) with 5 and 50 templates:
//! wall time to exit, CPU time (user + sys) and peak RSS; then sidecar mode: `VmRSS` after
//! `--sidecar-secs`. The goal (issue [3]): at most a tenth of `bao agent` for time and memory.
//! `--tracing` adds a third side: our agent with OpenTelemetry export on, to a real OTLP receiver.

mod measure;
pub(crate) mod vault;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

use super::Scratch;
use super::otel::Receiver;
use crate::cli::AgentArgs;
use crate::util;
use measure::{Running, Sample};
use vault::DevServer;

/// Goal: ours / bao at most this, for every metric.
const GOAL_RATIO: f64 = 0.10;

#[derive(Clone, Copy, PartialEq)]
enum Side {
    Bao,
    Ours,
    /// Our agent with OpenTelemetry export on.
    Traced,
}

impl Side {
    fn name(self) -> &'static str {
        match self {
            Side::Bao => "bao",
            Side::Ours => "vault-k8s",
            Side::Traced => "vk+otel",
        }
    }
}

/// The two agents' binaries, and the export settings of the traced side.
struct Bins {
    bao: PathBuf,
    ours: PathBuf,
    otel_env: Vec<(&'static str, String)>,
}

impl Bins {
    /// The agent over `config`, in `cwd`, with nothing from the caller's Vault environment.
    fn command(&self, side: Side, config: &Path, cwd: &Path) -> Command {
        let mut cmd = Command::new(match side {
            Side::Bao => &self.bao,
            Side::Ours | Side::Traced => &self.ours,
        });
        cmd.arg("agent")
            .arg(format!("-config={}", config.display()))
            .current_dir(cwd);
        for var in [
            "VAULT_ADDR",
            "VAULT_TOKEN",
            "VAULT_CONFIG",
            "BAO_ADDR",
            "BAO_TOKEN",
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "OTEL_SDK_DISABLED",
        ] {
            cmd.env_remove(var);
        }
        if side == Side::Traced {
            cmd.envs(self.otel_env.iter().cloned());
        }
        cmd
    }
}

pub(crate) fn run(opts: AgentArgs) -> anyhow::Result<()> {
    if let Some(log) = &opts.measure_child {
        return measure::child_main(log, &opts.program);
    }
    let bao = match std::env::var_os("VK_BAO") {
        Some(p) => PathBuf::from(p),
        None => util::tools_bin().join("bao"),
    };
    ensure!(
        bao.is_file(),
        "{} not found: run `cargo xtask tools` or set VK_BAO",
        bao.display()
    );
    let ours = match &opts.vault_k8s_bin {
        Some(p) => p.clone(),
        None => {
            // The artifact the image ships (and so what runs in every pod): the static musl
            // build. It also maps no libc or loader, which is part of the memory it saves.
            let musl = crate::image::MUSL;
            eprintln!("\n==> bench agent: building vault-k8s (release, static {musl})");
            util::run(util::cargo().args([
                "build",
                "--release",
                "--locked",
                "--target",
                musl,
                "-p",
                "vault-k8s",
            ]))?;
            util::target_dir()
                .join(musl)
                .join("release")
                .join("vault-k8s")
        }
    };
    // Agents run in their own directories: relative paths would not resolve there.
    let absolute = |p: PathBuf| {
        std::fs::canonicalize(&p).with_context(|| format!("cannot find {}", p.display()))
    };
    let scratch = Scratch::new()?;
    let work = &scratch.0;
    let receiver = if opts.tracing {
        Some(Receiver::start(work)?)
    } else {
        None
    };
    let bins = Bins {
        bao: absolute(bao)?,
        ours: absolute(ours)?,
        otel_env: receiver.iter().flat_map(|r| r.env()).collect(),
    };
    let sides: &[Side] = if opts.tracing {
        &[Side::Bao, Side::Ours, Side::Traced]
    } else {
        &[Side::Bao, Side::Ours]
    };
    let max = opts.templates.iter().copied().max().unwrap_or(0);
    eprintln!("==> bench agent: starting bao server -dev and seeding {max} secrets");
    let server = DevServer::start(&bins.bao, &work.join("server.log"))?;
    server.seed(max)?;
    let token = work.join("token");
    std::fs::write(&token, vault::ROOT_TOKEN)?;

    let mut init_rows = Vec::new();
    for &n in &opts.templates {
        let config = work.join(format!("init-{n}.hcl"));
        std::fs::write(&config, config_text(&server.addr, &token, n, true))?;
        let mut samples: [Vec<Sample>; 3] = Default::default();
        for round in 1..=opts.rounds {
            // Rotate who goes first, so no side always runs right after the same other one.
            for k in 0..sides.len() {
                let side = sides[(k + round as usize) % sides.len()];
                let cwd = work.join(format!("init-{n}-{}-{round}", side.name()));
                std::fs::create_dir_all(&cwd)?;
                let cmd = bins.command(side, &config, &cwd);
                let sample = measure::measure(&cmd, &cwd.join("agent.log")).with_context(|| {
                    format!("{} agent, {n} templates, round {round}", side.name())
                })?;
                check_outputs(&cwd, n).with_context(|| {
                    format!("{} agent, {n} templates, round {round}", side.name())
                })?;
                samples[side as usize].push(sample);
            }
        }
        eprintln!(
            "bench agent: init mode with {n} templates: {} rounds done",
            opts.rounds
        );
        init_rows.push((n, samples));
    }

    let sidecar_rows = if opts.sidecar_secs > 0 {
        sidecar(&bins, sides, work, &server.addr, &token, &opts)?
    } else {
        Vec::new()
    };
    print_table(&opts, &init_rows, &sidecar_rows);
    if let Some(receiver) = &receiver {
        // Init runs flush at exit: each sent at least its cycle's spans before exiting.
        let runs = u64::from(opts.rounds) * opts.templates.len() as u64;
        let spans = receiver.wait_for(runs, Duration::from_secs(20));
        ensure!(
            spans >= runs,
            "the OTLP receiver got {spans} spans from {runs} traced agent runs; export did not work"
        );
        println!("OTLP receiver: {spans} spans received from the vk+otel agents");
    }
    Ok(())
}

/// Sidecar mode: every agent (each size, both sides) runs at once; after `--sidecar-secs` each
/// one's `VmRSS` is read, then all get SIGTERM and must exit cleanly.
fn sidecar(
    bins: &Bins,
    sides: &[Side],
    work: &Path,
    addr: &str,
    token: &Path,
    opts: &AgentArgs,
) -> anyhow::Result<Vec<(usize, [f64; 3])>> {
    eprintln!(
        "==> bench agent: sidecar mode, measuring VmRSS after {} s",
        opts.sidecar_secs
    );
    let mut running: Vec<(usize, Side, PathBuf, Running)> = Vec::new();
    for &n in &opts.templates {
        let config = work.join(format!("sidecar-{n}.hcl"));
        std::fs::write(&config, config_text(addr, token, n, false))?;
        for &side in sides {
            let cwd = work.join(format!("sidecar-{n}-{}", side.name()));
            std::fs::create_dir_all(&cwd)?;
            let label = format!("{} agent (sidecar, {n} templates)", side.name());
            let r = Running::start(
                label,
                &mut bins.command(side, &config, &cwd),
                &cwd.join("agent.log"),
            )?;
            running.push((n, side, cwd, r));
        }
    }
    let started = Instant::now();
    // Both must have rendered everything before the clock matters.
    for (n, _, cwd, r) in &running {
        let deadline = Instant::now() + Duration::from_secs(60);
        while check_outputs(cwd, *n).is_err() {
            ensure!(
                Instant::now() < deadline,
                "{} rendered nothing within 60 s; see {}",
                r.label,
                cwd.join("agent.log").display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }
    let wait = Duration::from_secs(opts.sidecar_secs).saturating_sub(started.elapsed());
    std::thread::sleep(wait);
    let mut rss = Vec::new();
    for (n, side, _, r) in &mut running {
        rss.push((*n, *side, r.rss_mib()?));
    }
    for (_, _, cwd, r) in running {
        let label = r.label.clone();
        let status = r.stop()?;
        // Killed by SIGTERM or exited 0 both count as a clean stop; anything else is a crash.
        ensure!(
            status.success() || status.code().is_none(),
            "{label} exited with {status} after SIGTERM; see {}",
            cwd.join("agent.log").display()
        );
    }
    Ok(opts
        .templates
        .iter()
        .map(|&n| {
            let get = |s: Side| {
                rss.iter()
                    .find(|(m, side, _)| *m == n && *side == s)
                    .map_or(0.0, |r| r.2)
            };
            (n, [get(Side::Bao), get(Side::Ours), get(Side::Traced)])
        })
        .collect())
}

/// One agent config used by both agents: token_file auth, `n` templates each reading its own
/// KV v2 secret, relative destinations (each agent runs in its own directory).
fn config_text(addr: &str, token: &Path, n: usize, exit_after_auth: bool) -> String {
    let mut text = format!(
        r#"exit_after_auth = {exit_after_auth}
vault {{
  address = "http://{addr}"
}}
auto_auth {{
  method "token_file" {{
    config {{
      token_file_path = "{}"
    }}
  }}
}}
template_config {{
  exit_on_retry_failure = true
}}
"#,
        token.display()
    );
    for i in 1..=n {
        text.push_str(&format!(
            r#"template {{
  contents    = "{{{{ with secret \"secret/data/bench/{i}\" }}}}{{{{ .Data.data.username }}}}:{{{{ .Data.data.password }}}}{{{{ end }}}}"
  destination = "out/secret-{i}"
}}
"#
        ));
    }
    text
}

/// Every destination holds what its template must render.
fn check_outputs(cwd: &Path, n: usize) -> anyhow::Result<()> {
    for i in 1..=n {
        let path = cwd.join(format!("out/secret-{i}"));
        let got = std::fs::read_to_string(&path)
            .with_context(|| format!("{} was not written", path.display()))?;
        ensure!(
            got == format!("user-{i}:pw-{i}"),
            "{} holds {got:?}, expected user-{i}:pw-{i}",
            path.display()
        );
    }
    Ok(())
}

fn mean(xs: &[f64]) -> f64 {
    xs.iter().sum::<f64>() / xs.len().max(1) as f64
}

fn median(xs: &[f64]) -> f64 {
    let mut v = xs.to_vec();
    v.sort_by(f64::total_cmp);
    match v.len() {
        0 => 0.0,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

fn verdict(ratio: f64) -> &'static str {
    if ratio <= GOAL_RATIO { "PASS" } else { "MISS" }
}

type InitRow = (usize, [Vec<Sample>; 3]);
type Metric = fn(&Sample) -> f64;

/// The init-mode figures every table shows, in order.
const INIT_METRICS: [(&str, Metric); 3] = [
    ("wall ms", |s| s.wall_ms),
    ("CPU ms", |s| s.cpu_ms),
    ("peak RSS MiB", |s| s.peak_rss_mib),
];

fn print_table(opts: &AgentArgs, init: &[InitRow], sidecar: &[(usize, [f64; 3])]) {
    println!(
        "\nvault-k8s agent vs bao agent: same config file and server, token_file auth, one KV v2 \
         secret per template"
    );
    println!(
        "init mode (exit_after_auth = true), {} rounds, alternating; ratio = ours/bao of the medians; goal <= {GOAL_RATIO:.2}",
        opts.rounds
    );
    println!(
        "{:>9} {:<14} {:>9} {:>9} {:>11} {:>11} {:>8} {:>5}",
        "templates", "metric", "bao mean", "bao med", "ours mean", "ours med", "ratio", "goal"
    );
    for (n, samples) in init {
        for (name, f) in INIT_METRICS {
            let [b, o] = [&samples[0], &samples[1]].map(|s| s.iter().map(f).collect::<Vec<_>>());
            let ratio = median(&o) / median(&b).max(f64::MIN_POSITIVE);
            println!(
                "{n:>9} {name:<14} {:>9.1} {:>9.1} {:>11.1} {:>11.1} {ratio:>8.3} {:>5}",
                mean(&b),
                median(&b),
                mean(&o),
                median(&o),
                verdict(ratio)
            );
        }
    }
    if !sidecar.is_empty() {
        println!(
            "sidecar mode (exit_after_auth = false), VmRSS after {} s",
            opts.sidecar_secs
        );
        for (n, [b, o, _]) in sidecar {
            let ratio = o / b.max(f64::MIN_POSITIVE);
            println!(
                "{n:>9} {:<14} {b:>9.1} {:>9} {o:>11.1} {:>11} {ratio:>8.3} {:>5}",
                "VmRSS MiB",
                "",
                "",
                verdict(ratio)
            );
        }
    }
    if opts.tracing {
        print_tracing_table(init, sidecar);
    }
    println!(
        "note: the agents, the server and the receiver share the machine's cores; compare ratios, not absolute numbers"
    );
}

/// Our agent with export on (vk+otel) against itself with export off, from the same rounds.
fn print_tracing_table(init: &[InitRow], sidecar: &[(usize, [f64; 3])]) {
    println!("tracing on vs off: ratio = vk+otel/vault-k8s of the medians");
    println!(
        "{:>9} {:<14} {:>11} {:>11} {:>8} {:>12}",
        "templates", "metric", "off med", "on med", "on/off", "on/bao"
    );
    for (n, samples) in init {
        for (name, f) in INIT_METRICS {
            let [b, off, on] = [&samples[0], &samples[1], &samples[2]]
                .map(|s| median(&s.iter().map(f).collect::<Vec<_>>()));
            println!(
                "{n:>9} {name:<14} {off:>11.1} {on:>11.1} {:>8.3} {:>12.3}",
                on / off.max(f64::MIN_POSITIVE),
                on / b.max(f64::MIN_POSITIVE)
            );
        }
    }
    for (n, [b, off, on]) in sidecar {
        println!(
            "{n:>9} {:<14} {off:>11.1} {on:>11.1} {:>8.3} {:>12.3}",
            "VmRSS MiB",
            on / off.max(f64::MIN_POSITIVE),
            on / b.max(f64::MIN_POSITIVE)
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_has_one_template_per_secret() {
        let text = config_text("127.0.0.1:1", Path::new("/t"), 3, true);
        assert_eq!(text.matches("template {").count(), 3);
        assert!(text.contains(r#"{{ with secret \"secret/data/bench/3\" }}"#));
        assert!(text.contains("exit_after_auth = true"));
    }

    #[test]
    fn median_of_even_and_odd() {
        assert_eq!(median(&[3.0, 1.0, 2.0]), 2.0);
        assert_eq!(median(&[4.0, 1.0, 2.0, 3.0]), 2.5);
    }
}
