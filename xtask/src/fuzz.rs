//! `cargo xtask fuzz [TARGET] [SECONDS]`: runs the cargo-fuzz targets of `fuzz/` for a bounded time
//! each (all of them, one after the other, when no target is named). Not part of CI: it needs the
//! nightly toolchain (libFuzzer's sanitizer flags) and minutes of CPU per target.
//!
//! The sanitizer defaults to `none` (`cargo fuzz run -s none`): the targets are safe Rust, the
//! run stays coverage-guided and catches panics, overflows (debug assertions are on) and
//! aborts, and the build of the webhook's dependency tree (admission, goflag) takes minutes
//! instead of not finishing under AddressSanitizer on a 2-core machine. `--sanitizer address`
//! asks for ASan when a target gains `unsafe` code.
//!
//! Each target reads its committed seeds from `fuzz/corpus/TARGET` and writes what it discovers to
//! the git-ignored `fuzz/work/TARGET`, so runs build on each other without growing the repository.
//! A crash leaves its input in `fuzz/artifacts/TARGET/`; the fix keeps that input as a regression
//! test in the normal test suite.

use std::fs::{self, File};
use std::process::{Command, Stdio};

use anyhow::{Context, bail, ensure};

use crate::util;

/// Every target of `fuzz/Cargo.toml`, in the order `cargo xtask fuzz` runs them.
pub(crate) const TARGETS: &[&str] = &[
    "admission",
    "annotations",
    "agent_config",
    "goflag",
    "template",
];

pub(crate) fn run(target: Option<&str>, seconds: u64, sanitizer: &str) -> anyhow::Result<()> {
    ensure!(seconds > 0, "the run time must be at least one second");
    let targets: Vec<&str> = match target {
        Some(t) if TARGETS.contains(&t) => vec![t],
        Some(t) => bail!(
            "no fuzz target `{t}`; the targets are: {}",
            TARGETS.join(", ")
        ),
        None => TARGETS.to_vec(),
    };
    let mut summaries = Vec::new();
    for t in targets {
        summaries.push(run_one(t, seconds, sanitizer)?);
    }
    println!(
        "{:<14} {:>12} {:>10} {:>8}",
        "target", "runs", "exec/s", "seconds"
    );
    for s in &summaries {
        println!(
            "{:<14} {:>12} {:>10} {:>8}",
            s.target, s.runs, s.exec_per_sec, s.seconds
        );
    }
    Ok(())
}

struct Summary {
    target: String,
    runs: String,
    exec_per_sec: String,
    seconds: u64,
}

fn run_one(target: &str, seconds: u64, sanitizer: &str) -> anyhow::Result<Summary> {
    let root = util::workspace_root();
    let fuzz = root.join("fuzz");
    let work = fuzz.join("work").join(target);
    fs::create_dir_all(&work).with_context(|| format!("creating {}", work.display()))?;
    let log_path = fuzz.join("work").join(format!("{target}.log"));
    let log =
        File::create(&log_path).with_context(|| format!("creating {}", log_path.display()))?;
    // The rustup proxy (plain `cargo`), not `$CARGO`: `+nightly` must pick the toolchain.
    let mut cmd = Command::new("cargo");
    cmd.current_dir(&root)
        .env("PATH", util::path_with_tools())
        .env_remove("CARGO")
        .env_remove("RUSTUP_TOOLCHAIN")
        .env_remove("CARGO_MANIFEST_DIR")
        .args(["+nightly", "fuzz", "run", "--sanitizer", sanitizer, target])
        .arg(&work)
        .arg(fuzz.join("corpus").join(target))
        .args([
            "--".to_owned(),
            format!("-max_total_time={seconds}"),
            "-print_final_stats=1".to_owned(),
            // Inputs of a few kB are enough for every parser here and keep the runs fast.
            "-max_len=16384".to_owned(),
        ])
        .stdout(Stdio::inherit())
        .stderr(log.try_clone()?);
    eprintln!(
        "fuzz: {} (log: {})",
        util::display_cmd(&cmd),
        log_path.display()
    );
    let status = cmd.status().context(
        "cannot run `cargo +nightly fuzz`; run `cargo xtask tools` (installs cargo-fuzz) \
         and install the nightly toolchain",
    )?;
    let text = fs::read_to_string(&log_path).unwrap_or_default();
    if !status.success() {
        let tail: Vec<&str> = text.lines().rev().take(40).collect();
        for line in tail.iter().rev() {
            eprintln!("{line}");
        }
        bail!(
            "fuzz target `{target}` failed ({status}); the crashing input is under fuzz/artifacts/{target}/ \
             (full log: {})",
            log_path.display()
        );
    }
    Ok(Summary {
        target: target.to_owned(),
        runs: stat(&text, "stat::number_of_executed_units:"),
        exec_per_sec: stat(&text, "stat::average_exec_per_sec:"),
        seconds,
    })
}

/// The value of one of libFuzzer's `-print_final_stats` lines, `?` when missing.
fn stat(log: &str, key: &str) -> String {
    log.lines()
        .rev()
        .find_map(|l| l.trim().strip_prefix(key))
        .map_or_else(|| "?".to_owned(), |v| v.trim().to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_target_is_declared_and_seeded() {
        let manifest = fs::read_to_string(util::workspace_root().join("fuzz/Cargo.toml")).unwrap();
        for t in TARGETS {
            assert!(
                manifest.contains(&format!("name = \"{t}\"")),
                "{t} missing in fuzz/Cargo.toml"
            );
            assert!(
                util::workspace_root().join("fuzz/corpus").join(t).is_dir(),
                "fuzz/corpus/{t} missing"
            );
        }
    }

    #[test]
    fn final_stats_are_read() {
        let log =
            "#1 INITED\nstat::number_of_executed_units: 1234\nstat::average_exec_per_sec:     56\n";
        assert_eq!(stat(log, "stat::number_of_executed_units:"), "1234");
        assert_eq!(stat(log, "stat::average_exec_per_sec:"), "56");
        assert_eq!(stat("", "stat::x:"), "?");
    }
}
