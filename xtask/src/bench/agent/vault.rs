//! The benchmark's own `bao server -dev` on a free 127.0.0.1 port: started, seeded over HTTP and
//! killed when dropped (on errors too).

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, ensure};

/// The dev server's root token (a throw-away server bound to 127.0.0.1).
pub(crate) const ROOT_TOKEN: &str = "root";

pub(crate) struct DevServer {
    /// `127.0.0.1:PORT`.
    pub(crate) addr: String,
    child: Child,
}

impl DevServer {
    pub(crate) fn start(bao: &Path, log: &Path) -> anyhow::Result<DevServer> {
        let port = TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .context("cannot find a free port on 127.0.0.1")?
            .port();
        let addr = format!("127.0.0.1:{port}");
        let log_file = std::fs::File::create(log)
            .with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(bao)
            .args([
                "server",
                "-dev",
                &format!("-dev-root-token-id={ROOT_TOKEN}"),
                &format!("-dev-listen-address={addr}"),
            ])
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .stdin(Stdio::null())
            .stdout(log_file.try_clone()?)
            .stderr(log_file)
            .spawn()
            .with_context(|| format!("cannot start {} server -dev", bao.display()))?;
        let server = DevServer { addr, child };
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok((200, _)) = server.call("GET", "sys/health", None) {
                return Ok(server);
            }
            ensure!(
                Instant::now() < deadline,
                "bao server -dev did not become healthy within 30 s; see {}",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Writes `secret/bench/<i>` (KV v2, mounted by the dev server) for `i` in `1..=n`.
    pub(crate) fn seed(&self, n: usize) -> anyhow::Result<()> {
        for i in 1..=n {
            let body = format!(r#"{{"data":{{"username":"user-{i}","password":"pw-{i}"}}}}"#);
            let (status, text) =
                self.call("POST", &format!("secret/data/bench/{i}"), Some(&body))?;
            ensure!(
                status == 200,
                "seeding secret/bench/{i} failed: HTTP {status}: {text}"
            );
        }
        Ok(())
    }

    /// One HTTP/1.1 request with `Connection: close`; returns the status and the body.
    fn call(&self, method: &str, path: &str, body: Option<&str>) -> anyhow::Result<(u16, String)> {
        let mut stream = TcpStream::connect(&self.addr)?;
        stream.set_read_timeout(Some(Duration::from_secs(10)))?;
        let body = body.unwrap_or("");
        write!(
            stream,
            "{method} /v1/{path} HTTP/1.1\r\nHost: {}\r\nX-Vault-Token: {ROOT_TOKEN}\r\n\
             Content-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.addr,
            body.len()
        )?;
        let mut answer = String::new();
        stream.read_to_string(&mut answer)?;
        let status = answer
            .split(' ')
            .nth(1)
            .and_then(|s| s.parse().ok())
            .with_context(|| format!("not an HTTP answer from {}", self.addr))?;
        let text = answer
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b)
            .to_string();
        Ok((status, text))
    }
}

impl Drop for DevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
