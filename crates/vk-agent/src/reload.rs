//! Reload on rotation: what the sidecar does after it rewrote a destination file, without a
//! shell (the injector's `agent-inject-reload-signal-<name>` / `agent-inject-reload-http-<name>`
//! annotations, passed as JSON in [`RELOAD_ENV`]).
//!
//! * signal: sent to every process of the pod whose name (`/proc/<pid>/comm`, or the file name
//!   of its `argv[0]`) equals the configured one; needs `shareProcessNamespace: true`, which the
//!   injector sets, and the right to signal it (same UID, the agent has no capabilities).
//! * HTTP: a request to `http://127.0.0.1|localhost|[::1][:port]/path`, bounded: each attempt
//!   has [`HTTP_TIMEOUT`], at most [`HTTP_ATTEMPTS`] attempts, a 2xx answer ends it.
//!
//! An action runs once per render round in which one of its files was *re*written, i.e. an
//! existing file was replaced by different bytes: unchanged output writes nothing, and a file
//! created for the first time has no reader to reload yet. A failed action is logged, the
//! agent carries on.

use std::path::{Path, PathBuf};
use std::time::Duration;

use rustix::process::Signal;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::error::AgentError;

/// The variable the injector sets on the sidecar.
pub const RELOAD_ENV: &str = "VAULT_K8S_AGENT_RELOAD";
/// Time limit of one HTTP attempt (connect, send, read the status line).
pub(crate) const HTTP_TIMEOUT: Duration = Duration::from_secs(10);
/// Attempts of an HTTP action (1 s, then 2 s between them).
pub(crate) const HTTP_ATTEMPTS: u32 = 3;
/// How much of an HTTP answer is read (the status line is all that matters).
const HTTP_MAX_READ: usize = 8 * 1024;

/// One entry of [`RELOAD_ENV`].
#[derive(Debug, serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Spec {
    destination: String,
    #[serde(default)]
    signal: Option<String>,
    #[serde(default)]
    process: Option<String>,
    #[serde(default)]
    method: Option<String>,
    #[serde(default)]
    url: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Action {
    Signal {
        name: String,
        process: String,
    },
    Http {
        method: String,
        /// `host:port` to connect to.
        address: String,
        /// The `Host` header.
        host: String,
        path: String,
        url: String,
    },
}

/// The configured actions, by destination.
#[derive(Debug, Default)]
pub(crate) struct Reloads {
    actions: Vec<(PathBuf, Action)>,
}

fn bad(reason: String) -> AgentError {
    AgentError::Setting {
        key: RELOAD_ENV.to_string(),
        file: "the environment".to_string(),
        reason,
    }
}

/// `SIGHUP`, `HUP` (any case) → the signal; only the ones an application may reasonably
/// reload on.
fn signal_of(name: &str) -> Option<(Signal, &'static str)> {
    let upper = name.to_ascii_uppercase();
    let bare = upper.strip_prefix("SIG").unwrap_or(&upper);
    Some(match bare {
        "HUP" => (Signal::HUP, "SIGHUP"),
        "USR1" => (Signal::USR1, "SIGUSR1"),
        "USR2" => (Signal::USR2, "SIGUSR2"),
        "INT" => (Signal::INT, "SIGINT"),
        "QUIT" => (Signal::QUIT, "SIGQUIT"),
        "TERM" => (Signal::TERM, "SIGTERM"),
        "WINCH" => (Signal::WINCH, "SIGWINCH"),
        _ => return None,
    })
}

/// Splits a loopback `http://` URL into (connect address, Host header, path).
fn loopback_url(url: &str) -> Result<(String, String, String), String> {
    let rest = url
        .strip_prefix("http://")
        .ok_or_else(|| format!("{url:?}: only http:// URLs on the pod's loopback are allowed"))?;
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
        let (h, after) = v6
            .split_once(']')
            .ok_or_else(|| format!("{url:?}: unclosed [ in the host"))?;
        (format!("[{h}]"), after.strip_prefix(':').unwrap_or(""))
    } else {
        match authority.split_once(':') {
            Some((h, p)) => (h.to_string(), p),
            None => (authority.to_string(), ""),
        }
    };
    let ip = match host.to_ascii_lowercase().as_str() {
        "127.0.0.1" | "localhost" => "127.0.0.1",
        "[::1]" => "[::1]",
        _ => {
            return Err(format!(
                "{url:?}: the host must be 127.0.0.1, localhost or [::1] (the pod's loopback)"
            ));
        }
    };
    let port: u16 = if port.is_empty() {
        80
    } else {
        port.parse()
            .map_err(|_| format!("{url:?}: invalid port {port:?}"))?
    };
    if path
        .chars()
        .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
    {
        return Err(format!(
            "{url:?}: the path has spaces or control characters"
        ));
    }
    Ok((
        format!("{ip}:{port}"),
        authority.to_string(),
        path.to_string(),
    ))
}

impl Reloads {
    /// Reads [`RELOAD_ENV`] (absent or empty: no actions); a bad entry stops the agent with a
    /// message naming the variable and the entry.
    pub(crate) fn from_env(
        env: &std::collections::BTreeMap<String, String>,
    ) -> Result<Self, AgentError> {
        let Some(raw) = env.get(RELOAD_ENV).filter(|v| !v.trim().is_empty()) else {
            return Ok(Self::default());
        };
        let specs: Vec<Spec> = serde_json::from_str(raw)
            .map_err(|e| bad(format!("not a JSON list of actions: {e}")))?;
        let mut actions = Vec::with_capacity(specs.len());
        for (i, s) in specs.into_iter().enumerate() {
            if s.destination.is_empty() {
                return Err(bad(format!("entry {i}: destination is empty")));
            }
            let action = match (s.signal, s.process, s.method, s.url) {
                (Some(signal), Some(process), None, None) => {
                    let (_, name) = signal_of(&signal).ok_or_else(|| {
                        bad(format!(
                            "entry {i}: unsupported signal {signal:?} (use SIGHUP, SIGUSR1, SIGUSR2, SIGINT, SIGQUIT, SIGTERM or SIGWINCH)"
                        ))
                    })?;
                    if process.is_empty() || process.contains('/') {
                        return Err(bad(format!(
                            "entry {i}: process {process:?} must be a process name, not empty or a path"
                        )));
                    }
                    Action::Signal {
                        name: name.to_string(),
                        process,
                    }
                }
                (None, None, method, Some(url)) => {
                    let method = method.unwrap_or_else(|| "GET".into()).to_ascii_uppercase();
                    if !matches!(method.as_str(), "GET" | "POST" | "PUT") {
                        return Err(bad(format!(
                            "entry {i}: method {method:?} (use GET, POST or PUT)"
                        )));
                    }
                    let (address, host, path) =
                        loopback_url(&url).map_err(|e| bad(format!("entry {i}: {e}")))?;
                    Action::Http {
                        method,
                        address,
                        host,
                        path,
                        url,
                    }
                }
                _ => {
                    return Err(bad(format!(
                        "entry {i}: give either signal and process, or url (and method)"
                    )));
                }
            };
            actions.push((PathBuf::from(s.destination), action));
        }
        Ok(Self { actions })
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.actions.is_empty()
    }

    /// Runs, once each, the actions of the rewritten destinations (in configuration order).
    pub(crate) async fn run(&self, rewritten: &[PathBuf]) {
        let mut done: Vec<&Action> = Vec::new();
        for (dest, action) in &self.actions {
            if !rewritten.iter().any(|p| p == dest) || done.contains(&action) {
                continue;
            }
            done.push(action);
            run_one(dest, action).await;
        }
    }
}

async fn run_one(dest: &Path, action: &Action) {
    match action {
        Action::Signal { name, process } => {
            let (signal, _) = signal_of(name).unwrap_or((Signal::HUP, "SIGHUP"));
            match signal_processes(process, signal) {
                Ok(0) => tracing::error!(
                    destination = %dest.display(),
                    process = %process,
                    signal = %name,
                    "reload: no process with this name (is shareProcessNamespace on?)"
                ),
                Ok(n) => tracing::info!(
                    destination = %dest.display(),
                    process = %process,
                    signal = %name,
                    processes = n,
                    "reload: signal sent"
                ),
                Err(e) => tracing::error!(
                    destination = %dest.display(),
                    process = %process,
                    signal = %name,
                    error = %e,
                    "reload: sending the signal failed"
                ),
            }
        }
        Action::Http {
            method,
            address,
            host,
            path,
            url,
        } => {
            let mut attempt = 0;
            loop {
                attempt += 1;
                let outcome =
                    tokio::time::timeout(HTTP_TIMEOUT, http_call(method, address, host, path))
                        .await
                        .unwrap_or_else(|_| Err(format!("no answer within {HTTP_TIMEOUT:?}")));
                match outcome {
                    Ok(status) => {
                        tracing::info!(
                            destination = %dest.display(),
                            url = %url,
                            method = %method,
                            status,
                            "reload: endpoint called"
                        );
                        return;
                    }
                    Err(e) if attempt < HTTP_ATTEMPTS => {
                        tracing::warn!(
                            destination = %dest.display(),
                            url = %url,
                            attempt,
                            error = %e,
                            "reload: calling the endpoint failed; retrying"
                        );
                        tokio::time::sleep(Duration::from_secs(u64::from(attempt))).await;
                    }
                    Err(e) => {
                        tracing::error!(
                            destination = %dest.display(),
                            url = %url,
                            attempts = attempt,
                            error = %e,
                            "reload: calling the endpoint failed; giving up"
                        );
                        return;
                    }
                }
            }
        }
    }
}

/// One HTTP/1.1 request without a body; `Ok(status)` for a 2xx answer.
async fn http_call(method: &str, address: &str, host: &str, path: &str) -> Result<u16, String> {
    let mut stream = tokio::net::TcpStream::connect(address)
        .await
        .map_err(|e| format!("connecting to {address}: {e}"))?;
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {host}\r\nUser-Agent: vault-k8s-agent\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    );
    stream
        .write_all(request.as_bytes())
        .await
        .map_err(|e| format!("sending the request: {e}"))?;
    let mut buf = Vec::with_capacity(256);
    let mut chunk = [0u8; 1024];
    while !buf.contains(&b'\n') && buf.len() < HTTP_MAX_READ {
        let n = stream
            .read(&mut chunk)
            .await
            .map_err(|e| format!("reading the answer: {e}"))?;
        if n == 0 {
            break;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    let line = String::from_utf8_lossy(&buf);
    let status = line
        .lines()
        .next()
        .and_then(|l| l.strip_prefix("HTTP/1."))
        .and_then(|l| l.get(2..5))
        .and_then(|s| s.parse::<u16>().ok())
        .ok_or_else(|| "the answer is not HTTP/1.x".to_string())?;
    if (200..300).contains(&status) {
        Ok(status)
    } else {
        Err(format!("answered {status}"))
    }
}

/// The name of a process as the reload annotation means it: its `comm`, and the file name of
/// its `argv[0]`.
fn process_names(pid: &str) -> Vec<String> {
    let mut names = Vec::with_capacity(2);
    if let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) {
        names.push(comm.trim_end_matches('\n').to_string());
    }
    if let Ok(cmdline) = std::fs::read(format!("/proc/{pid}/cmdline")) {
        let argv0 = cmdline.split(|b| *b == 0).next().unwrap_or_default();
        let argv0 = String::from_utf8_lossy(argv0);
        if let Some(base) = argv0.rsplit('/').next().filter(|b| !b.is_empty()) {
            names.push(base.to_string());
        }
    }
    names
}

/// Sends `signal` to every other process named `name`; returns how many got it. Processes that
/// end during the scan are skipped; a refused signal (another UID) is an error naming the PID.
fn signal_processes(name: &str, signal: Signal) -> Result<usize, String> {
    let own = std::process::id();
    let entries = std::fs::read_dir("/proc").map_err(|e| format!("reading /proc: {e}"))?;
    let mut sent = 0;
    let mut refused = Vec::new();
    for entry in entries.flatten() {
        let file_name = entry.file_name();
        let Some(pid_text) = file_name.to_str() else {
            continue;
        };
        let Ok(pid) = pid_text.parse::<i32>() else {
            continue;
        };
        if u32::try_from(pid).ok() == Some(own) {
            continue;
        }
        // `comm` is cut at 15 bytes: a longer name matches its first 15 bytes there.
        let short = &name.as_bytes()[..name.len().min(15)];
        let matches = process_names(pid_text)
            .iter()
            .enumerate()
            .any(|(i, n)| n == name || (i == 0 && name.len() > 15 && n.as_bytes() == short));
        if !matches {
            continue;
        }
        let Some(pid) = rustix::process::Pid::from_raw(pid) else {
            continue;
        };
        match rustix::process::kill_process(pid, signal) {
            Ok(()) => sent += 1,
            Err(rustix::io::Errno::SRCH) => {}
            Err(e) => refused.push(format!("pid {}: {e}", pid.as_raw_nonzero())),
        }
    }
    if sent == 0 && !refused.is_empty() {
        return Err(format!(
            "{} (the agent can only signal processes of its own UID)",
            refused.join(", ")
        ));
    }
    if !refused.is_empty() {
        tracing::warn!(refused = %refused.join(", "), "reload: some processes could not be signalled");
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(json: &str) -> Result<Reloads, String> {
        let env = [(RELOAD_ENV.to_string(), json.to_string())].into();
        Reloads::from_env(&env).map_err(|e| e.to_string())
    }

    #[test]
    fn entries_are_checked_with_their_index() {
        let r = parse(
            r#"[{"destination":"/s/a","signal":"hup","process":"nginx"},
                {"destination":"/s/b","method":"post","url":"http://localhost:8080/-/reload"}]"#,
        )
        .unwrap();
        assert_eq!(
            r.actions[0].1,
            Action::Signal {
                name: "SIGHUP".into(),
                process: "nginx".into()
            }
        );
        assert_eq!(
            r.actions[1].1,
            Action::Http {
                method: "POST".into(),
                address: "127.0.0.1:8080".into(),
                host: "localhost:8080".into(),
                path: "/-/reload".into(),
                url: "http://localhost:8080/-/reload".into()
            }
        );
        for (json, needle) in [
            (
                r#"[{"destination":"/a","signal":"KILL","process":"x"}]"#,
                "unsupported signal \"KILL\"",
            ),
            (
                r#"[{"destination":"/a","signal":"HUP","process":"/bin/x"}]"#,
                "process name",
            ),
            (
                r#"[{"destination":"/a","url":"http://example.com/x"}]"#,
                "loopback",
            ),
            (
                r#"[{"destination":"/a","url":"https://127.0.0.1/x"}]"#,
                "only http://",
            ),
            (
                r#"[{"destination":"/a","url":"http://127.0.0.1:99999/"}]"#,
                "invalid port",
            ),
            (
                r#"[{"destination":"/a","method":"DELETE","url":"http://[::1]/"}]"#,
                "method",
            ),
            (r#"[{"destination":"/a"}]"#, "either signal"),
            (
                r#"[{"destination":"","url":"http://[::1]/"}]"#,
                "destination is empty",
            ),
            (r#"{"x":1}"#, "JSON list"),
        ] {
            let e = parse(json).unwrap_err();
            assert!(e.contains(RELOAD_ENV) && e.contains(needle), "{json}: {e}");
        }
        assert!(parse("").unwrap().is_empty());
        let ipv6 = parse(r#"[{"destination":"/a","url":"http://[::1]:81"}]"#).unwrap();
        assert!(
            matches!(&ipv6.actions[0].1, Action::Http { address, path, .. } if address == "[::1]:81" && path == "/")
        );
    }

    #[test]
    fn signal_names() {
        assert_eq!(signal_of("SIGusr1").map(|s| s.1), Some("SIGUSR1"));
        assert_eq!(signal_of("WINCH").map(|s| s.1), Some("SIGWINCH"));
        assert!(signal_of("SIGKILL").is_none() && signal_of("9").is_none());
    }
}
