//! A real, non-dev OpenBao server whose state lives on disk, so it can be stopped and started
//! again (fault tests: "Vault went away and came back").
//!
//! OpenBao 2.x no longer ships the `file` storage backend, so the state lives in integrated
//! storage (`storage "raft"`, one node), which is file-based too: the data directory survives a
//! restart, tokens and secrets included. The server is initialised with one unseal key and
//! unsealed after every start.

use std::fs::OpenOptions;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail};
use tempfile::TempDir;

use crate::bao::{bao_binary, check};
use crate::util::{free_port, tail_file};

/// How long a start (listener up, unsealed, active) may take.
const START_TIMEOUT: Duration = Duration::from_secs(60);

/// A `bao server -config=…` with on-disk storage on 127.0.0.1; stopped (and its directory
/// removed) on drop.
#[derive(Debug)]
pub struct FileServer {
    child: Option<Child>,
    bin: PathBuf,
    port: u16,
    addr: String,
    dir: TempDir,
    log: PathBuf,
    root_token: String,
    unseal_key: String,
}

impl FileServer {
    /// Creates the storage and configuration in a temp dir, starts the server on a free port,
    /// initialises it (`-key-shares=1 -key-threshold=1`) and unseals it.
    pub fn start_new() -> Result<Self> {
        let bin = bao_binary()?;
        let mut last_err = None;
        // A free port can be taken between probing and binding: retry a few times.
        for _ in 0..3 {
            match Self::start_new_once(&bin) {
                Ok(server) => return Ok(server),
                Err(e) => last_err = Some(e),
            }
        }
        Err(last_err.unwrap_or_else(|| anyhow!("OpenBao file-storage server did not start")))
    }

    fn start_new_once(bin: &Path) -> Result<Self> {
        let dir = tempfile::Builder::new().prefix("vk-bao-file-").tempdir()?;
        let port = free_port()?;
        let cluster_port = free_port()?;
        let data = dir.path().join("data");
        std::fs::create_dir(&data).context("creating the OpenBao data directory")?;
        let config = format!(
            r#"storage "raft" {{
  path    = "{data}"
  node_id = "vk-test"
}}
listener "tcp" {{
  address         = "127.0.0.1:{port}"
  cluster_address = "127.0.0.1:{cluster_port}"
  tls_disable     = true
}}
api_addr     = "http://127.0.0.1:{port}"
cluster_addr = "http://127.0.0.1:{cluster_port}"
"#,
            data = data.display()
        );
        std::fs::write(dir.path().join("server.hcl"), config)
            .context("writing the OpenBao configuration")?;
        let log = dir.path().join("bao.log");
        let mut server = Self {
            child: None,
            bin: bin.to_path_buf(),
            port,
            addr: format!("http://127.0.0.1:{port}"),
            dir,
            log,
            root_token: String::new(),
            unseal_key: String::new(),
        };
        server.spawn()?;
        server.wait_listening()?;
        server.initialise()?;
        server.unseal_and_wait()?;
        Ok(server)
    }

    fn spawn(&mut self) -> Result<()> {
        let log_file = OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .context("opening the OpenBao log file")?;
        let child = Command::new(&self.bin)
            .arg("server")
            .arg(format!(
                "-config={}",
                self.dir.path().join("server.hcl").display()
            ))
            .arg("-log-level=debug")
            .env("HOME", self.dir.path())
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("spawning {}", self.bin.display()))?;
        self.child = Some(child);
        Ok(())
    }

    /// `/v1/sys/health`'s status, or `None` when nothing answers.
    fn health(&self) -> Option<u16> {
        crate::http::get(&format!("{}/v1/sys/health", self.addr), None)
            .ok()
            .map(|r| r.status)
    }

    fn wait_until(&mut self, what: &str, mut ok: impl FnMut(Option<u16>) -> bool) -> Result<()> {
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Some(child) = self.child.as_mut()
                && let Some(status) = child.try_wait()?
            {
                self.child = None;
                bail!(
                    "OpenBao exited ({status}) before {what}; log tail:\n{}",
                    tail_file(&self.log, 30)
                );
            }
            if ok(self.health()) {
                return Ok(());
            }
            if Instant::now() >= deadline {
                bail!(
                    "OpenBao at {} not {what} after {START_TIMEOUT:?}; log tail:\n{}",
                    self.addr,
                    tail_file(&self.log, 30)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    fn wait_listening(&mut self) -> Result<()> {
        self.wait_until("listening", |s| s.is_some())
    }

    fn initialise(&mut self) -> Result<()> {
        let out = self.cli_without_token(&[
            "operator",
            "init",
            "-key-shares=1",
            "-key-threshold=1",
            "-format=json",
        ])?;
        let text = check(&["operator", "init"], out)?;
        let v: serde_json::Value =
            serde_json::from_str(&text).context("parsing `bao operator init` output")?;
        self.unseal_key = v["unseal_keys_b64"][0]
            .as_str()
            .ok_or_else(|| anyhow!("`bao operator init` returned no unseal key"))?
            .to_string();
        self.root_token = v["root_token"]
            .as_str()
            .ok_or_else(|| anyhow!("`bao operator init` returned no root token"))?
            .to_string();
        Ok(())
    }

    fn unseal_and_wait(&mut self) -> Result<()> {
        // Sealed is 503; wait for the listener to answer at all, then unseal.
        self.wait_listening()?;
        let key = self.unseal_key.clone();
        check(
            &["operator", "unseal"],
            self.cli_without_token(&["operator", "unseal", &key])?,
        )?;
        // 200 = unsealed and active (429 = standby, which a single node passes through).
        self.wait_until("active", |s| s == Some(200))
    }

    /// Stops the server (SIGTERM, then waits for it to exit; SIGKILL after 30 s).
    pub fn stop(&mut self) -> Result<()> {
        let Some(mut child) = self.child.take() else {
            return Ok(());
        };
        let _ = Command::new("kill")
            .args(["-TERM", &child.id().to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status();
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait()?.is_none() {
            if Instant::now() >= deadline {
                let _ = child.kill();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        child.wait().context("waiting for OpenBao to exit")?;
        Ok(())
    }

    /// Starts the stopped server again on the same port with the same storage, and unseals it.
    pub fn start(&mut self) -> Result<()> {
        if self.child.is_some() {
            bail!("OpenBao at {} is already running", self.addr);
        }
        self.spawn()?;
        self.unseal_and_wait()
    }

    /// True while the server process runs.
    pub fn is_running(&mut self) -> bool {
        self.child
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    /// `http://127.0.0.1:PORT` (the same across restarts).
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// The port (the same across restarts).
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The root token from `operator init`.
    pub fn root_token(&self) -> &str {
        &self.root_token
    }

    /// The single unseal key from `operator init`.
    pub fn unseal_key(&self) -> &str {
        &self.unseal_key
    }

    /// The server log so far (last `lines` lines).
    pub fn log_tail(&self, lines: usize) -> String {
        tail_file(&self.log, lines)
    }

    fn base_command(&self) -> Command {
        let mut cmd = Command::new(&self.bin);
        cmd.env("VAULT_ADDR", &self.addr)
            .env("BAO_ADDR", &self.addr)
            .env("HOME", self.dir.path())
            .env_remove("VAULT_TOKEN")
            .env_remove("BAO_TOKEN")
            .stdin(Stdio::null());
        cmd
    }

    fn cli_without_token(&self, args: &[&str]) -> Result<Output> {
        self.base_command()
            .args(args)
            .output()
            .with_context(|| format!("running bao {}", args.join(" ")))
    }

    /// A `bao` command with the address and the root token set.
    pub fn command(&self) -> Command {
        let mut cmd = self.base_command();
        cmd.env("VAULT_TOKEN", &self.root_token)
            .env("BAO_TOKEN", &self.root_token);
        cmd
    }

    /// Runs the CLI with `args` and the root token; fails unless it exits 0; returns stdout.
    pub fn cli_ok(&self, args: &[&str]) -> Result<String> {
        let out = self
            .command()
            .args(args)
            .output()
            .with_context(|| format!("running bao {args:?}"))?;
        check(args, out)
    }

    /// Writes a policy from HCL text.
    pub fn write_policy(&self, name: &str, hcl: &str) -> Result<()> {
        let path = self.dir.path().join(format!("policy-{name}.hcl"));
        std::fs::write(&path, hcl).context("writing the policy file")?;
        let file = path.display().to_string();
        self.cli_ok(&["policy", "write", name, &file]).map(|_| ())
    }
}

impl Drop for FileServer {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_survives_a_restart_on_the_same_port() {
        let mut bao = FileServer::start_new().unwrap();
        assert!(bao.addr().starts_with("http://127.0.0.1:"));
        bao.cli_ok(&["secrets", "enable", "-path=secret", "kv-v2"])
            .unwrap();
        bao.cli_ok(&["kv", "put", "secret/x", "a=b"]).unwrap();
        let addr = bao.addr().to_string();
        bao.stop().unwrap();
        assert!(!bao.is_running());
        assert!(crate::http::get(&format!("{addr}/v1/sys/health"), None).is_err());
        bao.start().unwrap();
        assert_eq!(bao.addr(), addr);
        let out = bao.cli_ok(&["kv", "get", "-field=a", "secret/x"]).unwrap();
        assert_eq!(out.trim(), "b");
    }
}
