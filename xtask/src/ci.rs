//! `cargo xtask ci`: the whole CI, the same locally and in `.ci/run`.
//!
//! Steps run in order and stop at the first failure, which is named with a hint to fix it, followed by a
//! summary of the steps with their durations. The test step runs last because it takes longest.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::bail;

use crate::util;

/// Set this to skip the chart check (for machines without helm).
const SKIP_CHART_ENV: &str = "VK_CI_SKIP_CHART";

/// One CI step: a name, what to do when it fails, and how to run it.
struct Step {
    name: &'static str,
    hint: &'static str,
    run: fn() -> anyhow::Result<()>,
}

pub(crate) fn run(args: &[String]) -> anyhow::Result<()> {
    if let Some(arg) = args.first() {
        bail!("`cargo xtask ci` takes no arguments (got `{arg}`)");
    }
    let mut steps = vec![
        Step { name: "tools", hint: "see the installer's message above", run: || crate::tools::run(&[]) },
        Step { name: "fmt", hint: "run `cargo fmt --all`", run: fmt },
        Step { name: "clippy", hint: "fix the warnings above (they are errors in CI)", run: clippy },
        Step { name: "tidy", hint: "see docs/ARCHITECTURE.md, section Invariants", run: || crate::tidy::run(&[]) },
    ];
    if chart_check_enabled() {
        steps.push(Step { name: "chart", hint: "run `cargo xtask chart check` for details", run: chart_check });
    }
    steps.push(Step { name: "test", hint: "see the failing tests above", run: test });

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
    Ok(())
}

/// The chart hook. The chart module's `check` action is still being written, so this stays off until the
/// coordinator flips it; when on, `VK_CI_SKIP_CHART=1` still skips it on a machine without helm.
fn chart_check_enabled() -> bool {
    const CHART_CHECK_READY: bool = false;
    CHART_CHECK_READY && std::env::var_os(SKIP_CHART_ENV).is_none()
}

fn chart_check() -> anyhow::Result<()> {
    crate::chart::run(&["check".into()])
}

fn fmt() -> anyhow::Result<()> {
    util::run(util::cargo().args(["fmt", "--all", "--", "--check"]))
}

fn clippy() -> anyhow::Result<()> {
    util::run(util::cargo().args(["clippy", "--workspace", "--all-targets", "--locked", "--", "-D", "warnings"]))
}

fn test() -> anyhow::Result<()> {
    // Tests that start OpenBao look for `bao` on PATH; `.tools/bin` holds the pinned one.
    let with_tools = |cmd: &mut Command| {
        cmd.env("PATH", util::path_with_tools());
    };
    if nextest_available() {
        let mut cmd = util::cargo();
        cmd.args(["nextest", "run", "--workspace", "--locked", "--no-fail-fast"]);
        with_tools(&mut cmd);
        util::run(&mut cmd)
    } else {
        eprintln!("ci: cargo-nextest is not installed; falling back to `cargo test`");
        let mut cmd = util::cargo();
        cmd.args(["test", "--workspace", "--locked", "--no-fail-fast"]);
        with_tools(&mut cmd);
        util::run(&mut cmd)
    }
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
