//! The typed settings of `listener`, `cache`/`api_proxy` and `telemetry` that the agent's API
//! serves (spec §1.7). Keys the agent does not implement stop it with their name.

use std::path::PathBuf;
use std::time::Duration;

use serde_json::{Map, Value};
use vk_agent_config::{AutoAuthToken, Config, Listener};

use crate::auth::setting;
use crate::error::AgentError;

/// Where a listener binds.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Bind {
    Tcp(String),
    Unix {
        path: PathBuf,
        mode: Option<u32>,
        uid: Option<u32>,
        gid: Option<u32>,
    },
}

/// One `listener` stanza, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct ListenerSettings {
    pub(crate) bind: Bind,
    /// `tls_cert_file`, `tls_key_file` when TLS is on.
    pub(crate) tls: Option<(PathBuf, PathBuf)>,
    pub(crate) require_request_header: bool,
    pub(crate) metrics_only: bool,
    pub(crate) enable_quit: bool,
}

/// Keys of a listener stanza the agent implements.
const LISTENER_KEYS: &[&str] = &[
    "type",
    "address",
    "tls_disable",
    "tls_cert_file",
    "tls_key_file",
    "require_request_header",
    "role",
    "agent_api",
    "socket_mode",
    "socket_user",
    "socket_group",
];

pub(crate) fn listeners(config: &Config, file: &str) -> Result<Vec<ListenerSettings>, AgentError> {
    config.listeners.iter().map(|l| listener(l, file)).collect()
}

fn listener(l: &Listener, file: &str) -> Result<ListenerSettings, AgentError> {
    let key = |k: &str| format!("listener.{}.{k}", l.kind);
    if let Some(k) = l.raw.keys().find(|k| !LISTENER_KEYS.contains(&k.as_str())) {
        return Err(setting(
            file,
            &key(k),
            "vault-k8s agent does not implement this listener key; remove it, or annotate the pod \
             with vault.hashicorp.com/agent-image to run upstream's agent",
        ));
    }
    let text = |k: &str| -> Result<String, AgentError> {
        match l.raw.get(k) {
            None | Some(Value::Null) => Ok(String::new()),
            Some(Value::String(s)) => Ok(s.clone()),
            Some(Value::Number(n)) => Ok(n.to_string()),
            Some(_) => Err(setting(file, &key(k), "expected a string")),
        }
    };
    let bind = match l.kind.as_str() {
        "tcp" => {
            let a = if l.address.is_empty() {
                "127.0.0.1:8200".to_owned()
            } else {
                l.address.clone()
            };
            Bind::Tcp(a)
        }
        "unix" => {
            if l.address.is_empty() {
                return Err(setting(
                    file,
                    &key("address"),
                    "a unix listener needs the socket path",
                ));
            }
            let mode = match text("socket_mode")?.as_str() {
                "" => None,
                m => Some(u32::from_str_radix(m, 8).map_err(|_| {
                    setting(
                        file,
                        &key("socket_mode"),
                        format!("{m:?} is not an octal mode"),
                    )
                })?),
            };
            let id = |k: &str| -> Result<Option<u32>, AgentError> {
                match text(k)?.as_str() {
                    "" => Ok(None),
                    v => v.parse().map(Some).map_err(|_| {
                        setting(
                            file,
                            &key(k),
                            format!("{v:?}: vault-k8s agent takes a numeric id here, not a name"),
                        )
                    }),
                }
            };
            Bind::Unix {
                path: PathBuf::from(&l.address),
                mode,
                uid: id("socket_user")?,
                gid: id("socket_group")?,
            }
        }
        other => {
            return Err(setting(
                file,
                &format!("listener.{other}"),
                "unknown listener type; use \"tcp\" or \"unix\"",
            ));
        }
    };
    let tls = if l.tls_disable {
        None
    } else {
        let (cert, key_file) = (text("tls_cert_file")?, text("tls_key_file")?);
        if cert.is_empty() || key_file.is_empty() {
            return Err(setting(
                file,
                &key("tls_cert_file"),
                "TLS is on (tls_disable is not true): set tls_cert_file and tls_key_file, or tls_disable = true",
            ));
        }
        Some((PathBuf::from(cert), PathBuf::from(key_file)))
    };
    let metrics_only = match l.role.as_str() {
        "" | "default" => false,
        "metrics_only" => true,
        other => {
            return Err(setting(
                file,
                &key("role"),
                format!("unknown role {other:?}; use \"default\" or \"metrics_only\""),
            ));
        }
    };
    Ok(ListenerSettings {
        bind,
        tls,
        require_request_header: l.require_request_header,
        metrics_only,
        enable_quit: l.enable_quit,
    })
}

/// Which token the proxy adds: `api_proxy.use_auto_auth_token`, else the cache's; not both.
pub(crate) fn auto_auth_token(config: &Config, file: &str) -> Result<AutoAuthToken, AgentError> {
    let proxy = config
        .api_proxy
        .as_ref()
        .and_then(|p| p.use_auto_auth_token);
    let cache = config.cache.as_ref().and_then(|c| c.use_auto_auth_token);
    match (proxy, cache) {
        (Some(_), Some(_)) => Err(setting(
            file,
            "use_auto_auth_token",
            "set use_auto_auth_token in api_proxy or in cache, not in both",
        )),
        (Some(v), None) | (None, Some(v)) => Ok(v),
        (None, None) => Ok(AutoAuthToken::No),
    }
}

/// Telemetry keys that configure an external sink the agent does not send to.
const SINK_KEY_PREFIXES: &[&str] = &[
    "statsite_",
    "statsd_",
    "circonus_",
    "dogstatsd_",
    "stackdriver_",
];

/// `telemetry`: how long Prometheus keeps series (0 = Prometheus format off).
pub(crate) fn prometheus_retention(config: &Config, file: &str) -> Result<Duration, AgentError> {
    let Some(t) = &config.telemetry else {
        return Ok(Duration::ZERO);
    };
    check_telemetry_keys(t, file)?;
    match t.get("prometheus_retention_time") {
        None | Some(Value::Null) => Ok(Duration::ZERO),
        Some(Value::Number(n)) => Ok(Duration::from_secs(n.as_u64().unwrap_or(0))),
        Some(Value::String(s)) => parse_duration(s).ok_or_else(|| {
            setting(
                file,
                "telemetry.prometheus_retention_time",
                format!("{s:?} is not a duration"),
            )
        }),
        Some(_) => Err(setting(
            file,
            "telemetry.prometheus_retention_time",
            "expected a duration",
        )),
    }
}

fn check_telemetry_keys(t: &Map<String, Value>, file: &str) -> Result<(), AgentError> {
    let set = |v: &Value| {
        !matches!(v, Value::Null | Value::Bool(false))
            && v.as_str() != Some("")
            && v.as_array().is_none_or(|a| !a.is_empty())
    };
    for (k, v) in t {
        if SINK_KEY_PREFIXES.iter().any(|p| k.starts_with(p)) && set(v) {
            return Err(setting(
                file,
                &format!("telemetry.{k}"),
                "vault-k8s agent serves metrics only at /agent/v1/metrics and sends them to no \
                 external sink; remove the key, or annotate the pod with \
                 vault.hashicorp.com/agent-image to run upstream's agent",
            ));
        }
    }
    Ok(())
}

/// `parseutil.ParseDurationSecond` (Vault's reading of `prometheus_retention_time`): digits are
/// seconds, `<n>d` days, anything else a Go duration.
fn parse_duration(s: &str) -> Option<Duration> {
    vk_agent_config::values::duration_second_json(&Value::String(s.to_owned())).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations() {
        assert_eq!(parse_duration("30s"), Some(Duration::from_secs(30)));
        assert_eq!(parse_duration("1h30m"), Some(Duration::from_secs(5400)));
        assert_eq!(parse_duration("12"), Some(Duration::from_secs(12)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("x"), None);
        assert_eq!(parse_duration("5"), Some(Duration::from_secs(5)));
        assert_eq!(parse_duration("5q"), None);
    }
}
