//! Reload on rotation (not upstream): the per-secret annotations
//! `agent-inject-reload-signal-<name>: "SIGHUP nginx"` and
//! `agent-inject-reload-http-<name>: "POST http://127.0.0.1:8080/-/reload"` tell this project's
//! sidecar what to do after it rewrote the secret's file. They are checked here (a bad value is
//! a denial naming the annotation) and passed to the sidecar as JSON in
//! `VAULT_K8S_AGENT_RELOAD`; a signal action also sets `shareProcessNamespace: true` on the pod.

use crate::annotations as k;
use crate::pod::Pod;
use crate::secrets::Secret;

/// The sidecar's variable (`vk_agent::RELOAD_ENV`).
pub(crate) const RELOAD_ENV: &str = "VAULT_K8S_AGENT_RELOAD";

const SIGNALS: &[&str] = &[
    "SIGHUP", "SIGUSR1", "SIGUSR2", "SIGINT", "SIGQUIT", "SIGTERM", "SIGWINCH",
];

/// The reload actions of a pod.
#[derive(Debug, Default)]
pub(crate) struct Reloads {
    /// The JSON list for [`RELOAD_ENV`] (empty: no actions).
    pub(crate) env: String,
    /// Some action sends a signal (the pod needs a shared process namespace).
    pub(crate) signals: bool,
}

/// One entry, written as the agent reads it.
#[derive(serde::Serialize)]
struct Entry<'a> {
    destination: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    signal: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    process: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    method: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    url: Option<&'a str>,
}

fn signal_name(raw: &str) -> Option<String> {
    let upper = raw.to_ascii_uppercase();
    let full = if upper.starts_with("SIG") {
        upper
    } else {
        format!("SIG{upper}")
    };
    SIGNALS.contains(&full.as_str()).then_some(full)
}

/// A loopback `http://` URL (127.0.0.1, localhost or [::1], any port).
fn loopback(url: &str) -> bool {
    let Some(rest) = url.strip_prefix("http://") else {
        return false;
    };
    let authority = rest.split('/').next().unwrap_or("");
    let host = if authority.starts_with('[') {
        authority.split(']').next().map(|h| format!("{h}]"))
    } else {
        authority.split(':').next().map(str::to_owned)
    };
    matches!(
        host.as_deref().map(str::to_ascii_lowercase).as_deref(),
        Some("127.0.0.1" | "localhost" | "[::1]")
    ) && !url.chars().any(|c| c.is_ascii_whitespace())
}

/// Reads the reload annotations. `destination` maps a secret to its file. The error is a
/// denial message naming the annotation.
pub(crate) fn plan(
    pod: &Pod<'_>,
    secrets: &[Secret<'_>],
    destination: impl Fn(&Secret<'_>) -> String,
) -> Result<Reloads, String> {
    let prefix_signal = k::RELOAD_SIGNAL_PREFIX;
    let prefix_http = k::RELOAD_HTTP_PREFIX;
    let mut keys: Vec<(&str, &str)> = pod
        .annotations
        .iter()
        .filter(|(key, _)| key.starts_with(prefix_signal) || key.starts_with(prefix_http))
        .collect();
    if keys.is_empty() {
        return Ok(Reloads::default());
    }
    keys.sort_unstable();
    let destinations: Vec<String> = secrets.iter().map(&destination).collect();
    let mut entries = Vec::with_capacity(keys.len());
    let mut signals = false;
    for (key, value) in keys {
        let (raw, is_signal) = match key.strip_prefix(prefix_signal) {
            Some(raw) => (raw, true),
            None => (key.strip_prefix(prefix_http).unwrap_or(""), false),
        };
        let Some(i) = secrets.iter().position(|s| s.raw == raw) else {
            return Err(format!(
                "annotation \"{key}\" names secret {raw:?}, but the pod has no agent-inject-secret-{raw} or agent-inject-template-{raw} annotation"
            ));
        };
        let dest = destinations[i].as_str();
        let words: Vec<&str> = value.split_whitespace().collect();
        let entry = if is_signal {
            let [signal, process] = words.as_slice() else {
                return Err(format!(
                    "annotation \"{key}\": expected \"SIGNAL PROCESS\" (e.g. \"SIGHUP nginx\"), got {value:?}"
                ));
            };
            let signal = signal_name(signal).ok_or_else(|| {
                format!(
                    "annotation \"{key}\": unsupported signal {signal:?} (use one of {})",
                    SIGNALS.join(", ")
                )
            })?;
            if process.contains('/') {
                return Err(format!(
                    "annotation \"{key}\": {process:?} must be a process name, not a path"
                ));
            }
            signals = true;
            Entry {
                destination: dest,
                signal: Some(signal),
                process: Some(process),
                method: None,
                url: None,
            }
        } else {
            let (method, url) = match words.as_slice() {
                [url] => ("GET".to_owned(), *url),
                [method, url] => (method.to_ascii_uppercase(), *url),
                _ => {
                    return Err(format!(
                        "annotation \"{key}\": expected \"[METHOD] URL\" (e.g. \"POST http://127.0.0.1:8080/-/reload\"), got {value:?}"
                    ));
                }
            };
            if !matches!(method.as_str(), "GET" | "POST" | "PUT") {
                return Err(format!(
                    "annotation \"{key}\": method {method:?} is not GET, POST or PUT"
                ));
            }
            if !loopback(url) {
                return Err(format!(
                    "annotation \"{key}\": {url:?} must be an http:// URL on 127.0.0.1, localhost or [::1] (the pod's own loopback)"
                ));
            }
            Entry {
                destination: dest,
                signal: None,
                process: None,
                method: Some(method),
                url: Some(url),
            }
        };
        entries.push(entry);
    }
    let env = serde_json::to_string(&entries).map_err(|e| e.to_string())?;
    Ok(Reloads { env, signals })
}
