//! A real OpenBao dev server (`bao server -dev`) per test, and its CLI.

use std::fs::File;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tempfile::TempDir;

use crate::util::{free_port, tail_file, workspace_root};

/// The root token every dev server is started with.
pub const ROOT_TOKEN: &str = "root";

/// Where the `bao` binary is: `VK_BAO` if set, else `<workspace root>/.tools/bin/bao`.
pub fn bao_binary() -> Result<PathBuf> {
    let path = match std::env::var_os("VK_BAO") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root().join(".tools").join("bin").join("bao"),
    };
    if !path.is_file() {
        bail!(
            "OpenBao not found at {}: run `cargo xtask tools` (or set VK_BAO)",
            path.display()
        );
    }
    Ok(path)
}

/// A running `bao server -dev` on 127.0.0.1, killed on drop.
#[derive(Debug)]
pub struct DevServer {
    child: Child,
    bin: PathBuf,
    addr: String,
    dir: TempDir,
    log: PathBuf,
}

impl DevServer {
    /// Starts a dev server with root token `root` on a free port and waits until
    /// `/v1/sys/health` answers 200 (30 s limit; the error carries the log tail).
    pub fn start() -> Result<Self> {
        let bin = bao_binary()?;
        let mut last_err = None;
        // A free port can be taken between probing and binding: retry a few times.
        for _ in 0..3 {
            match Self::start_once(&bin) {
                Ok(server) => return Ok(server),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("OpenBao dev server did not start")))
    }

    /// Starts a dev server on a given port of 127.0.0.1, e.g. to replace one that was stopped
    /// (a fresh server at the same address: all state lost, old tokens invalid).
    pub fn start_on_port(port: u16) -> Result<Self> {
        let bin = bao_binary()?;
        let mut last_err = None;
        // The old server's socket may take a moment to be released.
        for _ in 0..5 {
            match Self::start_once_on(&bin, port) {
                Ok(server) => return Ok(server),
                Err(e) => last_err = Some(e),
            }
            std::thread::sleep(Duration::from_millis(500));
        }
        Err(last_err.unwrap_or_else(|| anyhow!("OpenBao dev server did not start on {port}")))
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.addr
            .rsplit(':')
            .next()
            .and_then(|p| p.parse().ok())
            .unwrap_or(0)
    }

    fn start_once(bin: &Path) -> Result<Self> {
        Self::start_once_on(bin, free_port()?)
    }

    fn start_once_on(bin: &Path, port: u16) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("vk-bao-").tempdir()?;
        let log = dir.path().join("bao.log");
        let log_file = File::create(&log).context("creating the OpenBao log file")?;
        let child = Command::new(bin)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={ROOT_TOKEN}"),
                &format!("-dev-listen-address=127.0.0.1:{port}"),
                // Debug logs explain refused logins; they only go to the log file.
                "-log-level=debug",
            ])
            // The dev server writes a token helper file into $HOME: keep it in the temp dir.
            .env("HOME", dir.path())
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("spawning {}", bin.display()))?;
        let mut server = Self {
            child,
            bin: bin.to_path_buf(),
            addr: format!("http://127.0.0.1:{port}"),
            dir,
            log,
        };
        server.wait_healthy(Duration::from_secs(30))?;
        Ok(server)
    }

    fn wait_healthy(&mut self, timeout: Duration) -> Result<()> {
        let deadline = Instant::now() + timeout;
        let url = format!("{}/v1/sys/health", self.addr);
        loop {
            if let Some(status) = self.child.try_wait()? {
                bail!(
                    "OpenBao dev server exited ({status}) before becoming healthy; log tail:\n{}",
                    tail_file(&self.log, 30)
                );
            }
            if let Ok(r) = crate::http::get(&url, None)
                && r.status == 200
            {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "OpenBao dev server at {} not healthy after {timeout:?}; log tail:\n{}",
                    self.addr,
                    tail_file(&self.log, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The root token (`root`).
    pub fn root_token(&self) -> &str {
        ROOT_TOKEN
    }

    /// The `bao` binary this server runs.
    pub fn bin(&self) -> &Path {
        &self.bin
    }

    /// A scratch directory that lives as long as the server.
    pub fn scratch_dir(&self) -> &Path {
        self.dir.path()
    }

    /// The server log so far (last `lines` lines).
    pub fn log_tail(&self, lines: usize) -> String {
        tail_file(&self.log, lines)
    }

    /// A `bao` command with the address and root token set (both `VAULT_*` and `BAO_*`).
    pub fn command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("VAULT_ADDR", &self.addr)
            .env("BAO_ADDR", &self.addr)
            .env("VAULT_TOKEN", ROOT_TOKEN)
            .env("BAO_TOKEN", ROOT_TOKEN)
            .env("HOME", self.dir.path())
            .stdin(Stdio::null());
        cmd
    }

    /// A started server holding the KV secret `secret/database/config` (`username`,
    /// `password`) that the upstream examples and the agent tests render.
    pub fn start_seeded() -> Result<Self> {
        let dev = Self::start()?;
        dev.cli_ok(&[
            "kv",
            "put",
            "secret/database/config",
            "username=db-readonly-user",
            "password=db-secret-password",
        ])?;
        Ok(dev)
    }

    /// `bao agent -config=CONFIG` with this server's address but without its root token: the
    /// agent must log in through its own auto-auth.
    pub fn agent_command(&self, config: &Path) -> Command {
        let mut cmd = self.command();
        cmd.arg("agent")
            .arg(format!("-config={}", config.display()))
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN");
        cmd
    }

    /// Runs the CLI with `args` against this server.
    pub fn cli(&self, args: &[&str]) -> Result<Output> {
        self.command()
            .args(args)
            .output()
            .with_context(|| format!("running bao {args:?}"))
    }

    /// Runs the CLI with `args`, feeding `stdin` (for `-` arguments such as `policy write p -`).
    pub fn cli_with_stdin(&self, args: &[&str], stdin: &[u8]) -> Result<Output> {
        let mut child = self
            .command()
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("running bao {args:?}"))?;
        if let Some(mut input) = child.stdin.take() {
            input.write_all(stdin)?;
        }
        Ok(child.wait_with_output()?)
    }

    /// Runs the CLI and fails (with stdout and stderr) unless it exits 0; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> Result<String> {
        check(args, self.cli(args)?)
    }

    /// [`DevServer::cli_with_stdin`] that fails unless the command exits 0; returns stdout.
    pub fn cli_stdin_ok(&self, args: &[&str], stdin: &[u8]) -> Result<String> {
        check(args, self.cli_with_stdin(args, stdin)?)
    }

    /// Writes a policy from HCL text.
    pub fn write_policy(&self, name: &str, hcl: &str) -> Result<()> {
        self.cli_stdin_ok(&["policy", "write", name, "-"], hcl.as_bytes())
            .map(|_| ())
    }

    /// Runs the seed script of the template test data (shared/testdata/seed-openbao.sh, kept as
    /// a fixture so tests are hermetic) against this server: the data set the template-engine
    /// tests render.
    pub fn seed_template_data(&self) -> Result<()> {
        let script = crate::util::fixtures_dir().join("seed-openbao.sh");
        anyhow::ensure!(
            script.is_file(),
            "seed script not found at {}",
            script.display()
        );
        let out = Command::new("bash")
            .arg(&script)
            .env("VAULT_ADDR", &self.addr)
            .stdin(Stdio::null())
            .output()
            .context("running bash (needed for the seed script)")?;
        if !out.status.success() {
            bail!(
                "{} failed ({}) against {}: stdout:\n{}\nstderr:\n{}",
                script.display(),
                out.status,
                self.addr,
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
        Ok(())
    }
}

/// Fails (with stdout and stderr) unless the CLI exited 0; returns stdout.
pub(crate) fn check(args: &[&str], out: Output) -> Result<String> {
    if !out.status.success() {
        bail!(
            "bao {} failed ({}):\nstdout: {}\nstderr: {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dev_server_starts_and_serves_kv() {
        let dev = DevServer::start().unwrap();
        assert!(dev.addr().starts_with("http://127.0.0.1:"));
        dev.cli_ok(&["kv", "put", "secret/x", "a=b"]).unwrap();
        let out = dev.cli_ok(&["kv", "get", "-field=a", "secret/x"]).unwrap();
        assert_eq!(out.trim(), "b");
    }

    #[test]
    fn seed_script_runs() {
        let dev = DevServer::start().unwrap();
        dev.seed_template_data().unwrap();
        let out = dev
            .cli_ok(&["kv", "get", "-field=foo", "secret/simple"])
            .unwrap();
        assert_eq!(out.trim(), "bar");
    }
}
