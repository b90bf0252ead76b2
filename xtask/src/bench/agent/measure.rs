//! Measuring one agent run. `getrusage(RUSAGE_CHILDREN)` reports the CPU time and peak RSS of a
//! process's reaped children taken together, so each run goes through a fresh copy of xtask
//! (`cargo xtask bench agent --measure-child LOG -- PROGRAM ARGS…`) whose only child is the agent:
//! its figures are exactly the agent's. The copy prints them as one line on stdout.

use std::path::Path;
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};
use nix::sys::resource::{UsageWho, getrusage};
use nix::sys::signal::{Signal, kill};
use nix::unistd::Pid;

/// How long an init-mode agent may run before it is killed.
const RUN_TIMEOUT: Duration = Duration::from_secs(120);

/// What one run cost.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Sample {
    pub(crate) wall_ms: f64,
    pub(crate) cpu_ms: f64,
    pub(crate) peak_rss_mib: f64,
}

/// Runs `cmd` (program, args, cwd, env already set) through the measuring copy of xtask.
pub(crate) fn measure(cmd: &Command, log: &Path) -> anyhow::Result<Sample> {
    let exe = std::env::current_exe().context("cannot find the xtask binary")?;
    let mut wrapper = Command::new(exe);
    wrapper
        .args(["bench", "agent", "--measure-child"])
        .arg(log)
        .arg("--")
        .arg(cmd.get_program())
        .args(cmd.get_args());
    if let Some(dir) = cmd.get_current_dir() {
        wrapper.current_dir(dir);
    }
    for (k, v) in cmd.get_envs() {
        match v {
            Some(v) => wrapper.env(k, v),
            None => wrapper.env_remove(k),
        };
    }
    let out = wrapper
        .stdin(Stdio::null())
        .output()
        .context("cannot start the measuring xtask")?;
    let stdout = String::from_utf8_lossy(&out.stdout);
    if !out.status.success() {
        bail!(
            "{}: {}{}",
            crate::util::display_cmd(cmd),
            stdout.trim(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    parse_line(stdout.trim())
}

fn parse_line(line: &str) -> anyhow::Result<Sample> {
    let field = |name: &str| -> anyhow::Result<f64> {
        line.split_whitespace()
            .find_map(|kv| kv.strip_prefix(name)?.strip_prefix('='))
            .with_context(|| format!("no {name} in the measurement `{line}`"))?
            .parse()
            .with_context(|| format!("bad {name} in the measurement `{line}`"))
    };
    Ok(Sample {
        wall_ms: field("wall_us")? / 1e3,
        cpu_ms: (field("user_us")? + field("sys_us")?) / 1e3,
        peak_rss_mib: field("maxrss_kib")? / 1024.0,
    })
}

/// The measuring copy: runs `PROGRAM ARGS…` with its output in LOG, waits, prints the figures.
/// Fails (non-zero, message on stdout) if the agent fails or outlives [`RUN_TIMEOUT`].
pub(crate) fn child_main(log: &str, rest: &[String]) -> anyhow::Result<()> {
    if rest.is_empty() {
        bail!("usage: bench agent --measure-child LOG -- PROGRAM ARGS…");
    }
    let log_file = std::fs::File::create(log).with_context(|| format!("cannot create {log}"))?;
    let started = Instant::now();
    let mut child = Command::new(&rest[0])
        .args(&rest[1..])
        .stdin(Stdio::null())
        .stdout(log_file.try_clone()?)
        .stderr(log_file)
        .spawn()
        .with_context(|| format!("cannot start {}", rest[0]))?;
    // A watchdog, so the blocking wait below (which keeps the wall time exact) cannot hang.
    let pid = Pid::from_raw(i32::try_from(child.id())?);
    let (done, finished) = mpsc::channel::<()>();
    let watchdog = std::thread::spawn(move || {
        if finished.recv_timeout(RUN_TIMEOUT).is_err() {
            let _ = kill(pid, Signal::SIGKILL);
        }
    });
    let status = child.wait()?;
    let wall = started.elapsed();
    let _ = done.send(());
    let _ = watchdog.join();
    ensure!(
        status.success(),
        "{} exited with {status}; its log is {log}",
        rest[0]
    );
    let usage = getrusage(UsageWho::RUSAGE_CHILDREN)?;
    let us = |t: nix::sys::time::TimeVal| t.tv_sec() * 1_000_000 + t.tv_usec();
    println!(
        "wall_us={} user_us={} sys_us={} maxrss_kib={}",
        wall.as_micros(),
        us(usage.user_time()),
        us(usage.system_time()),
        usage.max_rss()
    );
    Ok(())
}

/// A long-running agent (sidecar mode), killed when dropped.
pub(crate) struct Running {
    pub(crate) label: String,
    child: std::process::Child,
}

impl Running {
    pub(crate) fn start(label: String, cmd: &mut Command, log: &Path) -> anyhow::Result<Running> {
        let file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = cmd
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {label}"))?;
        Ok(Running { label, child })
    }

    /// `VmRSS` from `/proc/<pid>/status`, in MiB; fails if the agent has exited.
    pub(crate) fn rss_mib(&mut self) -> anyhow::Result<f64> {
        if let Some(status) = self.child.try_wait()? {
            bail!("{} exited early ({status})", self.label);
        }
        let kib = crate::bench::procfs::status_kib(self.child.id(), "VmRSS")?;
        Ok(kib as f64 / 1024.0)
    }

    /// SIGTERM, then up to 10 s for a clean exit; SIGKILL after that.
    pub(crate) fn stop(mut self) -> anyhow::Result<std::process::ExitStatus> {
        let pid = Pid::from_raw(i32::try_from(self.child.id())?);
        let _ = kill(pid, Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            if let Some(status) = self.child.try_wait()? {
                return Ok(status);
            }
            if Instant::now() > deadline {
                bail!("{} did not exit within 10 s of SIGTERM", self.label);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_measurement_line() {
        let s = parse_line("wall_us=12500 user_us=3000 sys_us=1000 maxrss_kib=10240").unwrap();
        assert_eq!((s.wall_ms, s.cpu_ms, s.peak_rss_mib), (12.5, 4.0, 10.0));
        assert!(parse_line("wall_us=1").is_err());
    }
}
