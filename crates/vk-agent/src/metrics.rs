//! The agent's own metrics (docs/metrics.md, "Agent"): counters in a per-agent Prometheus
//! registry, passed explicitly to whoever counts (no global registry).

use std::time::{SystemTime, UNIX_EPOCH};

use prometheus::{IntCounter, Registry};
use vk_go::civil_from_days;

/// The counters of one agent and the registry that holds them.
#[derive(Debug)]
pub(crate) struct AgentMetrics {
    registry: Registry,
    pub(crate) auth_success: IntCounter,
    pub(crate) auth_failure: IntCounter,
    pub(crate) proxy_success: IntCounter,
    pub(crate) proxy_client_error: IntCounter,
    pub(crate) proxy_error: IntCounter,
    pub(crate) cache_hit: IntCounter,
    pub(crate) cache_miss: IntCounter,
}

/// Prometheus name and help of every series, in field order.
const SERIES: [(&str, &str); 7] = [
    (
        "vault_agent_auth_success",
        "Successful auto-auth logins and auto-auth token renewals",
    ),
    (
        "vault_agent_auth_failure",
        "Failed auto-auth login attempts",
    ),
    (
        "vault_agent_proxy_success",
        "Requests the API proxy forwarded and Vault answered with a status below 400",
    ),
    (
        "vault_agent_proxy_client_error",
        "Requests the API proxy forwarded and Vault answered with a status of 400 or more",
    ),
    (
        "vault_agent_proxy_error",
        "Requests the API proxy could not forward (Vault unreachable, TLS failure)",
    ),
    (
        "vault_agent_cache_hit",
        "Requests answered from the lease cache",
    ),
    (
        "vault_agent_cache_miss",
        "Requests the lease cache did not hold and forwarded to Vault",
    ),
];

impl AgentMetrics {
    pub(crate) fn new() -> Self {
        let registry = Registry::new();
        let make = |i: usize| {
            let (name, help) = SERIES[i];
            let c = IntCounter::new(name, help).unwrap_or_else(|_| unreachable_metric(name));
            // Names are distinct constants: registering cannot collide.
            let _ = registry.register(Box::new(c.clone()));
            c
        };
        Self {
            auth_success: make(0),
            auth_failure: make(1),
            proxy_success: make(2),
            proxy_client_error: make(3),
            proxy_error: make(4),
            cache_hit: make(5),
            cache_miss: make(6),
            registry,
        }
    }

    /// The Prometheus text exposition.
    pub(crate) fn prometheus_text(&self) -> Result<Vec<u8>, vk_telemetry::EncodeError> {
        vk_telemetry::encode_text(&self.registry)
    }

    /// The JSON summary served without `?format=` (go-metrics' in-memory sink shape:
    /// dotted names, cumulative counts since start).
    pub(crate) fn json(&self) -> serde_json::Value {
        let counters: Vec<serde_json::Value> = [
            &self.auth_success,
            &self.auth_failure,
            &self.proxy_success,
            &self.proxy_client_error,
            &self.proxy_error,
            &self.cache_hit,
            &self.cache_miss,
        ]
        .iter()
        .zip(SERIES)
        .filter(|(c, _)| c.get() > 0)
        .map(|(c, (name, _))| {
            let v = c.get();
            serde_json::json!({
                "Name": dotted(name),
                "Count": v,
                "Sum": v,
                "Labels": {},
            })
        })
        .collect();
        serde_json::json!({
            "Timestamp": utc_now_go(),
            "Gauges": [],
            "Points": [],
            "Counters": counters,
            "Samples": [],
        })
    }
}

/// go-metrics' key of a series: `vault_agent_proxy_client_error` → `vault.agent.proxy.client_error`.
fn dotted(name: &str) -> String {
    let rest = name.strip_prefix("vault_agent_").unwrap_or(name);
    match rest.split_once('_') {
        Some((group, key)) => format!("vault.agent.{group}.{key}"),
        None => format!("vault.agent.{rest}"),
    }
}

fn unreachable_metric(name: &str) -> IntCounter {
    // `IntCounter::new` only fails on an invalid name; the names above are valid literals.
    panic!("invalid metric name {name}")
}

/// Now as Go prints a `time.Time` in UTC: `2006-01-02 15:04:05 +0000 UTC`.
fn utc_now_go() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000 UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn civil_dates() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(20_428), (2025, 12, 6));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn counters_reach_both_formats() {
        let m = AgentMetrics::new();
        m.cache_hit.inc();
        m.cache_hit.inc();
        let text = String::from_utf8(m.prometheus_text().unwrap()).unwrap();
        assert!(
            text.contains("# TYPE vault_agent_cache_hit counter"),
            "{text}"
        );
        assert!(text.contains("vault_agent_cache_hit 2"), "{text}");
        assert!(text.contains("vault_agent_auth_failure 0"), "{text}");
        let json = m.json();
        assert_eq!(json["Counters"][0]["Name"], "vault.agent.cache.hit");
        assert_eq!(json["Counters"][0]["Count"], 2);
        assert_eq!(
            dotted("vault_agent_proxy_client_error"),
            "vault.agent.proxy.client_error"
        );
    }
}
