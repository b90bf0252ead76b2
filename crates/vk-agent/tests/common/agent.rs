//! The agent example (`vault-k8s agent` as the binary wires it) as a process under test.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use vk_test_utils::util::eventually;

/// `agent -config=FILE` at debug level without colours, with no `VAULT_ADDR`/`VAULT_CONFIG`
/// from the caller's environment. Debug level: nothing secret may show up at any level.
pub(crate) fn agent_command(config: &Path) -> Command {
    let mut cmd = Command::new(vk_test_utils::agent_example());
    cmd.arg(format!("-config={}", config.display()))
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_CONFIG")
        .env("VAULT_LOG_LEVEL", "debug")
        .env("NO_COLOR", "1");
    cmd
}

/// A running agent whose stderr goes to a file; killed on drop.
pub(crate) struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    /// Starts `cmd` (an agent command line the caller built), its stderr to `log`.
    pub(crate) fn spawn_command(cmd: &mut Command, log: PathBuf) -> Self {
        let child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    /// Starts `cmd` with both its stdout and its stderr going to `log` (for agents that log to
    /// stdout, such as `bao agent`).
    pub(crate) fn spawn_command_with_stdout(cmd: &mut Command, log: PathBuf) -> Self {
        let out = File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        Self { child, log }
    }

    /// Starts the agent on `config`, logging to `log`.
    pub(crate) fn spawn_logging_to(config: &Path, log: PathBuf) -> Self {
        Self::spawn_command(&mut agent_command(config), log)
    }

    /// Starts the agent on `config`, logging to the same path with extension `log`.
    pub(crate) fn spawn(config: &Path) -> Self {
        Self::spawn_logging_to(config, config.with_extension("log"))
    }

    /// The log so far, without terminal colour codes.
    pub(crate) fn log(&self) -> String {
        strip_ansi(&std::fs::read_to_string(&self.log).unwrap_or_default())
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Waits up to `timeout` for the process to exit; its status, or `None` if still running.
    pub(crate) fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let start = std::time::Instant::now();
        while start.elapsed() < timeout {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }

    /// Waits up to 60 s for a log line containing `needle`.
    pub(crate) fn wait_for_log(&self, needle: &str) {
        eventually(Duration::from_secs(60), || self.log().contains(needle))
            .unwrap_or_else(|e| panic!("{e}: no {needle:?} in the agent log:\n{}", self.log()));
    }

    /// `None` while running; once exited, its exit code (`None` when killed by a signal).
    pub(crate) fn try_exit(&mut self) -> Option<Option<i32>> {
        self.child.try_wait().ok().flatten().map(|s| s.code())
    }

    pub(crate) fn running(&mut self) -> bool {
        matches!(self.child.try_wait(), Ok(None))
    }

    /// SIGTERM, then the exit code.
    pub(crate) fn terminate(&mut self) -> Option<i32> {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .unwrap();
        assert!(status.success());
        let mut code = None;
        eventually(Duration::from_secs(20), || {
            code = self.try_exit();
            code.is_some()
        })
        .unwrap();
        code.flatten()
    }

    /// Resident set size in kB, from /proc.
    pub(crate) fn rss_kb(&self) -> u64 {
        let status = std::fs::read_to_string(format!("/proc/{}/status", self.child.id())).unwrap();
        status
            .lines()
            .find_map(|l| l.strip_prefix("VmRSS:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// `s` without ANSI CSI sequences (`ESC [ … final byte in @..~`).
pub(crate) fn strip_ansi(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            if chars.next() == Some('[') {
                for f in chars.by_ref() {
                    if ('@'..='~').contains(&f) {
                        break;
                    }
                }
            }
            continue;
        }
        out.push(c);
    }
    out
}
