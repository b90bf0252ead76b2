//! Small helpers shared by the fixtures: paths, ports, polling and child processes.

use std::io::{BufRead, BufReader, Read};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, ExitStatus, Stdio};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};

/// The workspace root: two levels above this crate's manifest directory.
pub fn workspace_root() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join("..");
    root.canonicalize().unwrap_or(root)
}

/// The project's shared directory (specs, seeds, test data): `VK_SHARED_DIR`, else
/// `<workspace root>/../shared`.
pub fn shared_dir() -> PathBuf {
    match std::env::var_os("VK_SHARED_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => workspace_root().join("..").join("shared"),
    }
}

/// The directory holding this crate's fixture files (`crates/vk-test-utils/fixtures`).
pub fn fixtures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures")
}

/// Reads a fixture file from [`fixtures_dir`] as text.
pub fn fixture(name: &str) -> Result<String> {
    let path = fixtures_dir().join(name);
    std::fs::read_to_string(&path).with_context(|| format!("reading fixture {}", path.display()))
}

/// A TCP port on 127.0.0.1 that was free a moment ago (bound to port 0, then released).
///
/// Another process may take it before the caller binds it; callers that can should bind port 0
/// themselves and ask the listener for its address instead.
pub fn free_port() -> Result<u16> {
    let listener =
        TcpListener::bind("127.0.0.1:0").context("binding 127.0.0.1:0 to find a free port")?;
    Ok(listener
        .local_addr()
        .context("reading the address of a port-0 listener")?
        .port())
}

/// Polls `condition` every 50 ms until it returns true; errors after `timeout`.
pub fn eventually(timeout: Duration, mut condition: impl FnMut() -> bool) -> Result<()> {
    let deadline = Instant::now() + timeout;
    loop {
        if condition() {
            return Ok(());
        }
        if Instant::now() >= deadline {
            bail!("condition still false after {timeout:?}");
        }
        thread::sleep(Duration::from_millis(50));
    }
}

/// The last `lines` lines of a text file (empty when it cannot be read).
pub fn tail_file(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// Output of a child process that was run with a time limit.
#[derive(Debug, Clone)]
pub struct TimedOutput {
    /// Exit status; `None` when the process was killed because it ran out of time.
    pub status: Option<ExitStatus>,
    /// Everything the process wrote to stdout.
    pub stdout: Vec<u8>,
    /// Everything the process wrote to stderr.
    pub stderr: Vec<u8>,
    /// True when the time limit was reached and the process group was killed.
    pub timed_out: bool,
}

impl TimedOutput {
    /// True when the process exited by itself with status 0.
    pub fn success(&self) -> bool {
        self.status.is_some_and(|s| s.success())
    }

    /// The exit code, if the process exited normally.
    pub fn code(&self) -> Option<i32> {
        self.status.and_then(|s| s.code())
    }

    /// Stdout as (lossy) UTF-8.
    pub fn stdout_str(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as (lossy) UTF-8.
    pub fn stderr_str(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

/// Sends SIGKILL to the whole process group `pgid` (a group this crate created with
/// `process_group(0)`, so its id is the leader's pid).
pub(crate) fn kill_process_group(pgid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{pgid}")])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

/// Direct children of `pid` (scanning `/proc/*/stat`).
pub(crate) fn child_pids(pid: u32) -> Vec<u32> {
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    entries
        .filter_map(|e| e.ok())
        .filter_map(|e| e.file_name().to_str()?.parse::<u32>().ok())
        .filter(|p| {
            let stat = std::fs::read_to_string(format!("/proc/{p}/stat")).unwrap_or_default();
            // Fields after the parenthesised command: state, ppid, …
            stat.rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|ppid| ppid.parse::<u32>().ok())
                == Some(pid)
        })
        .collect()
}

fn kill_pid(pid: u32) {
    let _ = Command::new("kill")
        .args(["-KILL", &pid.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

pub(crate) fn drain<R: Read + Send + 'static>(reader: Option<R>) -> thread::JoinHandle<Vec<u8>> {
    thread::spawn(move || {
        let mut buf = Vec::new();
        if let Some(mut r) = reader {
            let _ = r.read_to_end(&mut buf);
        }
        buf
    })
}

/// Runs `cmd` in its own process group with piped stdout/stderr; if it has not exited after
/// `timeout`, the whole group is killed and `timed_out` is set.
pub fn run_with_timeout(cmd: &mut Command, timeout: Duration) -> Result<TimedOutput> {
    use std::os::unix::process::CommandExt;
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0);
    let mut child = cmd.spawn().with_context(|| format!("spawning {cmd:?}"))?;
    let out = drain(child.stdout.take());
    let err = drain(child.stderr.take());
    let deadline = Instant::now() + timeout;
    let mut timed_out = false;
    let status = loop {
        match child.try_wait().context("waiting for child")? {
            Some(status) => break Some(status),
            None if Instant::now() >= deadline => {
                timed_out = true;
                // Kill the leader's children first so the leader itself reaps them (for the pod
                // sandbox the child is a PID namespace's init: killing it ends the namespace and
                // the kernel reaps everything inside). Only then the rest of the group.
                for pid in child_pids(child.id()) {
                    kill_pid(pid);
                }
                let grace = Instant::now() + Duration::from_secs(2);
                while Instant::now() < grace && matches!(child.try_wait(), Ok(None)) {
                    thread::sleep(Duration::from_millis(20));
                }
                kill_process_group(child.id());
                let _ = child.kill();
                let _ = child.wait();
                break None;
            }
            None => thread::sleep(Duration::from_millis(25)),
        }
    };
    // Leftover members of the group (grandchildren) would keep the pipes open: end them too.
    kill_process_group(child.id());
    let stdout = out.join().map_err(|_| anyhow!("stdout reader panicked"))?;
    let stderr = err.join().map_err(|_| anyhow!("stderr reader panicked"))?;
    Ok(TimedOutput {
        status,
        stdout,
        stderr,
        timed_out,
    })
}

/// A child process killed (with its whole process group) when dropped.
#[derive(Debug)]
pub struct ChildGuard {
    child: Child,
    name: String,
    stdout_lines: Option<mpsc::Receiver<String>>,
    stdout_log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
}

impl ChildGuard {
    /// Spawns `cmd` in its own process group. Stdout is captured line by line (see
    /// [`ChildGuard::wait_for_stdout_line`]); stderr is inherited so it shows in test output.
    pub fn spawn(name: &str, cmd: &mut Command) -> Result<Self> {
        use std::os::unix::process::CommandExt;
        cmd.stdin(Stdio::null())
            .stdout(Stdio::piped())
            .process_group(0);
        let mut child = cmd
            .spawn()
            .with_context(|| format!("spawning {name}: {cmd:?}"))?;
        let stdout_log = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let stdout_lines = child
            .stdout
            .take()
            .map(|s| forward_lines(s, stdout_log.clone()));
        Ok(Self {
            child,
            name: name.to_string(),
            stdout_lines,
            stdout_log,
        })
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.child.id()
    }

    /// Waits until a stdout line satisfies `pick` (which returns what to extract); errors after
    /// `timeout` or when the process exits first.
    pub fn wait_for_stdout_line<T>(
        &mut self,
        timeout: Duration,
        mut pick: impl FnMut(&str) -> Option<T>,
    ) -> Result<T> {
        let deadline = Instant::now() + timeout;
        let rx = self
            .stdout_lines
            .as_ref()
            .ok_or_else(|| anyhow!("{}: stdout is not captured", self.name))?;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match rx.recv_timeout(left.min(Duration::from_millis(100))) {
                Ok(line) => {
                    if let Some(v) = pick(&line) {
                        return Ok(v);
                    }
                }
                Err(mpsc::RecvTimeoutError::Disconnected) => {
                    let status = self.child.wait().ok();
                    bail!(
                        "{} exited ({status:?}) before printing the expected line; stdout was:\n{}",
                        self.name,
                        self.stdout_text()
                    );
                }
                Err(mpsc::RecvTimeoutError::Timeout) => {}
            }
            if Instant::now() >= deadline {
                bail!(
                    "{} did not print the expected line within {timeout:?}; stdout so far:\n{}",
                    self.name,
                    self.stdout_text()
                );
            }
        }
    }

    /// Everything printed on stdout so far.
    pub fn stdout_text(&self) -> String {
        self.stdout_log
            .lock()
            .map(|l| l.join("\n"))
            .unwrap_or_default()
    }

    /// True while the process has not exited.
    pub fn is_running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }
}

fn forward_lines(
    stdout: ChildStdout,
    log: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
) -> mpsc::Receiver<String> {
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            if let Ok(mut l) = log.lock() {
                l.push(line.clone());
            }
            // The receiver may be gone; keep draining so the child never blocks on a full pipe.
            let _ = tx.send(line);
        }
    });
    rx
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if matches!(self.child.try_wait(), Ok(None)) {
            kill_process_group(self.child.id());
            let _ = self.child.kill();
        }
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eventually_polls_until_true_or_times_out() {
        let mut n = 0;
        eventually(Duration::from_secs(5), || {
            n += 1;
            n >= 3
        })
        .unwrap();
        assert_eq!(n, 3);
        assert!(eventually(Duration::from_millis(120), || false).is_err());
    }

    #[test]
    fn paths_and_ports() {
        assert!(workspace_root().join("Cargo.toml").is_file());
        assert!(fixtures_dir().join("webapp-pod-admitted.json").is_file());
        assert_ne!(free_port().unwrap(), 0);
    }

    #[test]
    fn child_guard_reads_lines_and_kills_on_drop() {
        let mut guard = ChildGuard::spawn(
            "sh",
            Command::new("sh").args([
                "-c",
                "echo 'Listening on \"127.0.0.1:1\"...'; exec sleep 30",
            ]),
        )
        .unwrap();
        let addr = guard
            .wait_for_stdout_line(Duration::from_secs(5), |l| {
                l.strip_prefix("Listening on \"")?
                    .split('"')
                    .next()
                    .map(String::from)
            })
            .unwrap();
        assert_eq!(addr, "127.0.0.1:1");
        let pid = guard.id();
        drop(guard);
        assert!(!Path::new(&format!("/proc/{pid}")).exists());
    }
}
