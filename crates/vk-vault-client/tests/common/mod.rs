//! Shared set-up for the live tests: a real `bao server -dev` (plain or TLS) and clients.
#![allow(dead_code, unreachable_pub)]

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vk_test_utils::DevServer;
use vk_vault_client::{ClientConfig, SecretString, VaultClient};

pub fn install_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

pub fn dev() -> DevServer {
    install_provider();
    DevServer::start().expect("starting bao server -dev")
}

/// A client for `dev` holding the root token; client-level retries off (tests want the
/// first answer).
pub fn root_client(dev: &DevServer) -> VaultClient {
    let client = VaultClient::new(&ClientConfig {
        max_retries: 0,
        ..ClientConfig::new(dev.addr())
    })
    .expect("client");
    client.set_token(SecretString::new(dev.root_token()));
    client
}

pub fn anon_client(addr: &str) -> VaultClient {
    VaultClient::new(&ClientConfig {
        max_retries: 0,
        ..ClientConfig::new(addr)
    })
    .expect("client")
}

pub fn json_out(dev: &DevServer, args: &[&str]) -> serde_json::Value {
    let out = dev.cli_ok(args).expect("bao cli");
    serde_json::from_str(&out).expect("bao json output")
}

/// `bao server -dev -dev-tls` on a free port; killed on drop.
pub struct TlsDevServer {
    child: Child,
    pub addr: String,
    pub dir: tempfile::TempDir,
    log: PathBuf,
}

impl TlsDevServer {
    pub fn start() -> Self {
        install_provider();
        let bin = vk_test_utils::bao_binary().expect("bao binary");
        let dir = tempfile::Builder::new()
            .prefix("vk-bao-tls-")
            .tempdir()
            .expect("tempdir");
        let certs = dir.path().join("tls");
        std::fs::create_dir_all(&certs).expect("mkdir");
        let port = vk_test_utils::free_port().expect("port");
        let log = dir.path().join("bao.log");
        let log_file = File::create(&log).expect("log file");
        let child = Command::new(&bin)
            .args([
                "server",
                "-dev",
                "-dev-tls",
                &format!("-dev-tls-cert-dir={}", certs.display()),
                "-dev-root-token-id=root",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .env("HOME", dir.path())
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("dup log"))
            .stderr(log_file)
            .spawn()
            .expect("spawn bao -dev-tls");
        let server = Self {
            child,
            addr: format!("https://127.0.0.1:{port}"),
            dir,
            log,
        };
        server.wait_healthy();
        server
    }

    pub fn ca_path(&self) -> PathBuf {
        self.dir.path().join("tls").join("vault-ca.pem")
    }

    fn wait_healthy(&self) {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if self.ca_path().is_file() {
                let ca = std::fs::read_to_string(self.ca_path()).unwrap_or_default();
                if let Ok(r) =
                    vk_test_utils::http::get(&format!("{}/v1/sys/health", self.addr), Some(&ca))
                    && r.status == 200
                {
                    return;
                }
            }
            assert!(
                Instant::now() < deadline,
                "TLS dev server not healthy; log:\n{}",
                std::fs::read_to_string(&self.log).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Runs the CLI against this server with the root token and its CA.
    pub fn cli_ok(&self, args: &[&str]) -> String {
        let bin = vk_test_utils::bao_binary().expect("bao binary");
        let out = Command::new(bin)
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", "root")
            .env("BAO_CACERT", self.ca_path())
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .expect("bao cli");
        assert!(
            out.status.success(),
            "bao {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    pub fn scratch(&self) -> &Path {
        self.dir.path()
    }
}

impl Drop for TlsDevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
