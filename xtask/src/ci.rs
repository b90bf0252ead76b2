//! `cargo xtask ci`: the whole CI, the same locally and in `.ci/run`.
//!
//! Steps run in order and stop at the first failure, which is named with a hint to fix it, followed by a
//! summary of the steps with their durations. The test step runs last because it takes longest.
//! `cargo xtask ci STEP...` runs only the named steps (tools, fmt, clippy, tidy, deny, docs, test, images,
//! chart).

mod counts;

use std::io::{BufRead, BufReader, IsTerminal, Read, Write};
use std::process::{Command, ExitStatus, Stdio};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::cli::ImageBuildArgs;
use crate::util;
use counts::Counts;

/// Filled by the test step, printed as CI's very last line.
static TEST_COUNTS: OnceLock<Counts> = OnceLock::new();

/// Set this to skip the chart check (for machines without helm).
const SKIP_CHART_ENV: &str = "VK_CI_SKIP_CHART";

/// One CI step: a name, what to do when it fails, and how to run it.
struct Step {
    name: &'static str,
    hint: &'static str,
    run: fn() -> anyhow::Result<()>,
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    let mut steps = vec![
        Step {
            name: "tools",
            hint: "see the installer's message above",
            run: crate::tools::run,
        },
        Step {
            name: "fmt",
            hint: "run `cargo fmt --all`",
            run: fmt,
        },
        Step {
            name: "clippy",
            hint: "fix the warnings above (they are errors in CI)",
            run: clippy,
        },
        Step {
            name: "tidy",
            hint: "see docs/ARCHITECTURE.md, section Invariants",
            run: crate::tidy::run,
        },
        Step {
            name: "deny",
            hint: "see cargo-deny's report above and deny.toml",
            run: crate::deny::run,
        },
        Step {
            name: "docs",
            hint: "run `cargo xtask docs flags` and commit docs/configuration.md",
            run: || crate::docs::flags(true),
        },
    ];
    steps.push(Step {
        name: "test",
        hint: "see the failing tests above",
        run: test,
    });
    // Packaging runs after the tests: it needs the static release binary, and a broken build
    // should be reported by the cheaper steps first.
    steps.push(Step {
        name: "images",
        hint: "run `cargo xtask image` and `cargo xtask image check` for details",
        run: images,
    });
    if chart_check_enabled() {
        steps.push(Step {
            name: "chart",
            hint: "run `cargo xtask chart check` for details",
            run: chart_check,
        });
    }

    // `cargo xtask ci clippy test` re-runs chosen steps (still in CI order) while fixing something.
    if !args.is_empty() {
        let names: Vec<&str> = steps.iter().map(|s| s.name).collect();
        if let Some(unknown) = args.iter().find(|a| !names.contains(&a.as_str())) {
            bail!(
                "unknown ci step `{unknown}`; the steps are: {}",
                names.join(" ")
            );
        }
        steps.retain(|s| args.iter().any(|a| a == s.name));
    }

    let started = Instant::now();
    let mut done: Vec<(&str, Duration)> = Vec::new();
    for step in &steps {
        eprintln!("\n==> ci: {}", step.name);
        let t = Instant::now();
        let result = (step.run)();
        let took = t.elapsed();
        if let Err(err) = result {
            print_summary(&done, Some((step.name, took)), started.elapsed());
            return Err(err.context(format!("ci step `{}` failed: {}", step.name, step.hint)));
        }
        done.push((step.name, took));
    }
    print_summary(&done, None, started.elapsed());
    // Last, alone on its line: the plain `N passed, N failed` line CI reads.
    if let Some(counts) = TEST_COUNTS.get() {
        println!("{}", counts.closing_line());
    }
    Ok(())
}

/// `VK_CI_SKIP_CHART=1` skips the chart check on a machine without helm (never in CI).
fn chart_check_enabled() -> bool {
    std::env::var_os(SKIP_CHART_ENV).is_none()
}

/// The chart check, with the static binary the images step built, so that the check that the
/// binary accepts the rendered container arguments always runs.
fn chart_check() -> anyhow::Result<()> {
    let binary = static_binary();
    ensure!(
        binary.is_file(),
        "{} is missing: the images step builds it",
        binary.display()
    );
    crate::chart::check(&crate::cli::ChartCheckArgs {
        binary: Some(binary),
        skip_checkov: false,
    })
}

fn static_binary() -> std::path::PathBuf {
    crate::image::meta::target_dir()
        .join(crate::image::MUSL)
        .join("release")
        .join("vault-k8s")
}

/// Builds the runtime image twice from the same binary and requires identical digests
/// (reproducibility), then runs it under podman/skopeo/umoci (`image check`).
///
/// linux/amd64 only: the arm64 cross build (cargo-zigbuild) doubles the step's time, so it is
/// `cargo xtask image`'s default and `cargo xtask release`'s, not CI's.
fn images() -> anyhow::Result<()> {
    let amd64 = || vec![crate::image::arch::Arch::Amd64];
    crate::image::run(
        None,
        &ImageBuildArgs {
            arch: amd64(),
            ..ImageBuildArgs::default()
        },
    )?;
    let first = runtime_digest(&crate::image::default_out())?;
    let again = std::env::temp_dir().join(format!("vk-ci-image-{}", std::process::id()));
    let rebuilt = crate::image::run(
        None,
        &ImageBuildArgs {
            arch: amd64(),
            binary: Some(static_binary()),
            out: Some(again.clone()),
            ..ImageBuildArgs::default()
        },
    )
    .and_then(|()| runtime_digest(&again));
    let _ = std::fs::remove_dir_all(&again);
    let second = rebuilt?;
    ensure!(
        first == second,
        "the runtime image is not reproducible: {first} then {second}"
    );
    eprintln!("ci: runtime image rebuilt with the same digest {first}");
    crate::image::check::run(&crate::cli::ImageCheckArgs::default())
}

fn runtime_digest(out: &std::path::Path) -> anyhow::Result<String> {
    let summary = out.join("vault-k8s-runtime.json");
    let text =
        std::fs::read(&summary).with_context(|| format!("cannot read {}", summary.display()))?;
    let value: serde_json::Value = serde_json::from_slice(&text)
        .with_context(|| format!("{} is not JSON", summary.display()))?;
    value["digest"]
        .as_str()
        .map(str::to_owned)
        .with_context(|| format!("{} has no `digest`", summary.display()))
}

fn fmt() -> anyhow::Result<()> {
    util::run(util::cargo().args(["fmt", "--all", "--", "--check"]))
}

fn clippy() -> anyhow::Result<()> {
    util::run(util::cargo().args([
        "clippy",
        "--workspace",
        "--all-targets",
        "--locked",
        "--",
        "-D",
        "warnings",
    ]))
}

fn test() -> anyhow::Result<()> {
    let mut cmd = util::cargo();
    if nextest_available() {
        cmd.args([
            "nextest",
            "run",
            "--workspace",
            "--locked",
            "--no-fail-fast",
        ]);
    } else {
        eprintln!("ci: cargo-nextest is not installed; falling back to `cargo test`");
        cmd.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
    }
    // Tests that start OpenBao look for `bao` on PATH; `.tools/bin` holds the pinned one.
    cmd.env("PATH", util::path_with_tools());
    let (status, counts) = run_counting(&mut cmd, std::io::stdout(), std::io::stderr())?;
    let _ = TEST_COUNTS.set(counts);
    let outcome = if counts == Counts::default() {
        "no test ran (did the build fail?)".to_owned()
    } else {
        counts.closing_line()
    };
    ensure!(
        status.success(),
        "`{}` failed ({status}): {outcome}",
        util::display_cmd(&cmd)
    );
    if counts.passed == 0 {
        // Not fatal: the runner succeeded, only its summary line was not understood.
        eprintln!("ci: warning: no `N passed` summary found in the test output");
    }
    Ok(())
}

/// Runs the test command with its output passed through to `out`/`err`, reading the summary lines
/// on the way.
fn run_counting(
    cmd: &mut Command,
    out: impl Write + Send + 'static,
    err: impl Write + Send + 'static,
) -> anyhow::Result<(ExitStatus, Counts)> {
    eprintln!("$ {}", util::display_cmd(cmd));
    // Keep the runner's colours when a person is watching; they are stripped before parsing.
    if std::io::stderr().is_terminal() {
        cmd.env("CARGO_TERM_COLOR", "always");
    }
    let mut child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .with_context(|| format!("cannot start `{}`", util::display_cmd(cmd)))?;
    let counts = Arc::new(Mutex::new(Counts::default()));
    let out = tee(child.stdout.take(), out, Arc::clone(&counts));
    let err = tee(child.stderr.take(), err, Arc::clone(&counts));
    let status = child.wait()?;
    for t in [out, err] {
        let _ = t.join();
    }
    let counts = *counts.lock().unwrap_or_else(|e| e.into_inner());
    Ok((status, counts))
}

fn tee(
    from: Option<impl Read + Send + 'static>,
    mut to: impl Write + Send + 'static,
    counts: Arc<Mutex<Counts>>,
) -> std::thread::JoinHandle<()> {
    std::thread::spawn(move || {
        let Some(from) = from else { return };
        for line in BufReader::new(from).lines().map_while(Result::ok) {
            let _ = writeln!(to, "{line}");
            counts
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .add_line(&line);
        }
    })
}

fn nextest_available() -> bool {
    util::output(util::cargo().args(["nextest", "--version"])).is_ok()
}

fn print_summary(done: &[(&str, Duration)], failed: Option<(&str, Duration)>, total: Duration) {
    eprintln!("\n==> ci summary");
    for (name, took) in done {
        eprintln!("  ok     {name:<8} {:>7.1}s", took.as_secs_f64());
    }
    if let Some((name, took)) = failed {
        eprintln!("  FAILED {name:<8} {:>7.1}s", took.as_secs_f64());
    }
    let verdict = if failed.is_some() { "failed" } else { "passed" };
    eprintln!("  ci {verdict} in {:.1}s", total.as_secs_f64());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counting_run_reads_both_streams_and_keeps_the_status() {
        let script = "echo 'test result: ok. 2 passed; 0 failed; 1 ignored;'; \
                      echo 'test result: ok. 3 passed; 0 failed; 0 ignored;' >&2; exit 3";
        // Sinks: printing those lines here would feed fake summaries to the runner running this test.
        let (status, counts) = run_counting(
            Command::new("sh").args(["-c", script]),
            std::io::sink(),
            std::io::sink(),
        )
        .unwrap();
        assert_eq!(status.code(), Some(3));
        assert_eq!(
            counts.closing_line(),
            "tests: 5 passed, 0 failed, 1 skipped"
        );
    }
}
