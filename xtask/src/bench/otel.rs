//! The OTLP receiver of `bench … --tracing`: a real collector (`rotel-agent` from PyPI, installed
//! by `cargo xtask tools`) taking OTLP/HTTP on a free port and dropping what it receives
//! (`--exporter blackhole`). It logs one `Received traces. … spans=N` line per batch, which is how
//! the bench proves the spans arrived and counts them. It runs on the same cores as the code
//! under test, as a node-local collector would.

use std::fs::File;
use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail, ensure};

use crate::util;

pub(crate) struct Receiver {
    child: Child,
    http_port: u16,
    log: PathBuf,
}

impl Receiver {
    pub(crate) fn start(dir: &Path) -> anyhow::Result<Receiver> {
        let bin = util::tools_bin().join("rotel-agent");
        ensure!(
            bin.is_file(),
            "{} not found: run `cargo xtask tools` (it installs rotel from PyPI)",
            bin.display()
        );
        let grpc_port = util::free_port()?;
        let http_port = util::free_port()?;
        let log = dir.join("rotel.log");
        let file =
            File::create(&log).with_context(|| format!("cannot create {}", log.display()))?;
        let child = Command::new(&bin)
            .args([
                "start",
                "--otlp-grpc-endpoint",
                &format!("127.0.0.1:{grpc_port}"),
                "--otlp-http-endpoint",
                &format!("127.0.0.1:{http_port}"),
                "--exporter",
                "blackhole",
                "--debug-log",
                "traces",
                "--debug-log-verbosity",
                "basic",
                "--log-file",
                &dir.join("rotel-agent.log").display().to_string(),
            ])
            .env("NO_COLOR", "1")
            .stdin(Stdio::null())
            .stdout(file.try_clone()?)
            .stderr(file)
            .spawn()
            .with_context(|| format!("cannot start {}", bin.display()))?;
        let mut receiver = Receiver {
            child,
            http_port,
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", http_port)).is_err() {
            if let Some(status) = receiver.child.try_wait()? {
                bail!(
                    "rotel-agent exited at start ({status}): {}",
                    receiver.text()
                );
            }
            ensure!(
                Instant::now() < deadline,
                "rotel-agent did not listen within 20 s: {}",
                receiver.text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        eprintln!("bench: OTLP receiver (rotel-agent) on 127.0.0.1:{http_port}");
        Ok(receiver)
    }

    /// The environment that turns export on for a vault-k8s process (every span sampled).
    pub(crate) fn env(&self) -> [(&'static str, String); 3] {
        [
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                format!("http://127.0.0.1:{}", self.http_port),
            ),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf".to_owned()),
            ("OTEL_TRACES_SAMPLER", "always_on".to_owned()),
        ]
    }

    /// Spans received so far.
    pub(crate) fn spans(&self) -> u64 {
        count_spans(&self.text())
    }

    /// Waits up to `limit` for at least `at_least` spans; returns how many arrived.
    pub(crate) fn wait_for(&self, at_least: u64, limit: Duration) -> u64 {
        let deadline = Instant::now() + limit;
        loop {
            let n = self.spans();
            if n >= at_least || Instant::now() >= deadline {
                return n;
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    fn text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sums `spans=N` over the receiver's `Received traces.` lines.
fn count_spans(log: &str) -> u64 {
    log.lines()
        .filter(|l| l.contains("Received traces."))
        .filter_map(|l| {
            l.split_whitespace()
                .find_map(|w| w.strip_prefix("spans="))
                .and_then(|n| n.parse::<u64>().ok())
        })
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sums_the_batches() {
        let log = "2026-12-06T10:18:27Z  INFO Starting Rotel. grpc_endpoint=\"127.0.0.1:1\"\n\
                   2026-12-06T10:18:33Z  INFO Received traces. data_type=\"traces\" resource_spans=1 spans=3\n\
                   2026-12-06T10:18:34Z  INFO Received traces. data_type=\"traces\" resource_spans=2 spans=512\n\
                   2026-12-06T10:18:35Z  INFO Received metrics. data_type=\"metrics\" spans=9\n";
        assert_eq!(count_spans(log), 515);
        assert_eq!(count_spans(""), 0);
    }
}
