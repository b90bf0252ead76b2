//! A server under test: started as a child process, found by its `Listening on "<addr>"...` line, and
//! always killed (the guard's `Drop` runs on errors too).

use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::Duration;

use anyhow::{Context, bail};

use crate::util;

/// How long a server may take to print its listen line.
const START_TIMEOUT: Duration = Duration::from_secs(30);

pub(crate) struct Server {
    pub(crate) label: &'static str,
    pub(crate) addr: String,
    child: Child,
    log: PathBuf,
}

impl Server {
    /// Starts `cmd`, copies its output to `log`, and waits for the listen line on stdout or stderr.
    pub(crate) fn start(
        label: &'static str,
        mut cmd: Command,
        log: &Path,
    ) -> anyhow::Result<Server> {
        let shown = util::display_cmd(&cmd);
        eprintln!("bench: starting {label}: {shown}");
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .with_context(|| format!("cannot start `{shown}`"))?;
        let file = File::create(log).with_context(|| format!("cannot create {}", log.display()))?;
        let (tx, rx) = mpsc::channel();
        // Both streams are drained until the child exits, so a chatty server never blocks on a full pipe.
        let streams: [Box<dyn Read + Send>; 2] = [
            Box::new(child.stdout.take().context("no stdout pipe")?),
            Box::new(child.stderr.take().context("no stderr pipe")?),
        ];
        for stream in streams {
            let tx = tx.clone();
            let mut file = file.try_clone()?;
            std::thread::spawn(move || {
                for line in BufReader::new(stream).lines().map_while(Result::ok) {
                    if let Some(addr) = listen_address(&line) {
                        let _ = tx.send(addr);
                    }
                    let _ = writeln!(file, "{line}");
                }
            });
        }
        // Only the reader threads hold senders now, so the wait below ends as soon as the child exits.
        drop(tx);
        let mut server = Server {
            label,
            addr: String::new(),
            child,
            log: log.to_owned(),
        };
        match rx.recv_timeout(START_TIMEOUT) {
            Ok(addr) => server.addr = addr,
            Err(_) => {
                let status = exit_status_soon(&mut server.child);
                let why = status.map_or_else(
                    || {
                        format!(
                            "printed no `Listening on \"<addr>\"...` line within {START_TIMEOUT:?}"
                        )
                    },
                    |s| format!("exited ({s}) before printing its `Listening on` line"),
                );
                bail!("{label} {why}; its output:\n{}", server.log_tail());
            }
        }
        eprintln!("bench: {label} listens on {}", server.addr);
        Ok(server)
    }

    pub(crate) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fails with the server's last log lines if it has died.
    pub(crate) fn ensure_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited during the benchmark ({status}); its output:\n{}",
                self.label,
                self.log_tail()
            );
        }
        Ok(())
    }

    fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        if lines.is_empty() {
            return "(it printed nothing)".to_owned();
        }
        lines[lines.len().saturating_sub(30)..].join("\n")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The child's exit status if it exits within a second (closed pipes usually mean it is exiting).
fn exit_status_soon(child: &mut Child) -> Option<std::process::ExitStatus> {
    for _ in 0..20 {
        if let Ok(Some(status)) = child.try_wait() {
            return Some(status);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    None
}

/// The address in a `Listening on "<addr>"...` line, wherever the logger put it on the line.
pub(crate) fn listen_address(line: &str) -> Option<String> {
    let rest = &line[line.find("Listening on ")? + "Listening on ".len()..];
    // Tolerate a JSON log line, where the quotes come escaped.
    let rest = rest.trim_start_matches('\\').strip_prefix('"')?;
    let end = rest.find(['"', '\\'])?;
    let addr = &rest[..end];
    (!addr.is_empty()).then(|| addr.to_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_address_in_plain_and_json_logs() {
        assert_eq!(
            listen_address(r#"Listening on "127.0.0.1:40123"..."#).as_deref(),
            Some("127.0.0.1:40123")
        );
        assert_eq!(
            listen_address(r#"2026-11-22T06:00:00Z  INFO vk_server: Listening on "[::1]:8443"..."#)
                .as_deref(),
            Some("[::1]:8443")
        );
        assert_eq!(
            listen_address(r#"{"level":"INFO","msg":"Listening on \"127.0.0.1:9\"..."}"#)
                .as_deref(),
            Some("127.0.0.1:9")
        );
        assert_eq!(listen_address("Listening on nothing"), None);
    }
}
