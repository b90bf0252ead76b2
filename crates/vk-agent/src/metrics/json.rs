//! The JSON summary served at `/agent/v1/metrics` without `?format=`, in the shape of
//! go-metrics' in-memory sink (dotted names, cumulative counts since start). Only Vault
//! Agent's own counters appear there, as in `bao agent`'s summary.

use std::time::{SystemTime, UNIX_EPOCH};

use super::{AgentMetrics, SERIES};

/// The summary of `m`'s Vault Agent counters.
pub(super) fn summary(m: &AgentMetrics) -> serde_json::Value {
    let counters: Vec<serde_json::Value> = [
        &m.auth_success,
        &m.auth_failure,
        &m.proxy_success,
        &m.proxy_client_error,
        &m.proxy_error,
        &m.cache_hit,
        &m.cache_miss,
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

/// go-metrics' key of a series: `vault_agent_proxy_client_error` → `vault.agent.proxy.client_error`.
fn dotted(name: &str) -> String {
    let rest = name.strip_prefix("vault_agent_").unwrap_or(name);
    match rest.split_once('_') {
        Some((group, key)) => format!("vault.agent.{group}.{key}"),
        None => format!("vault.agent.{rest}"),
    }
}

/// Now as Go prints a `time.Time` in UTC: `2006-01-02 15:04:05 +0000 UTC`.
fn utc_now_go() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = vk_go::civil_from_days(i64::try_from(days).unwrap_or(0));
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02}:{:02} +0000 UTC",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

#[cfg(test)]
mod tests {
    use super::super::AgentMetrics;
    use super::*;

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
        let json = summary(&m);
        assert_eq!(json["Counters"][0]["Name"], "vault.agent.cache.hit");
        assert_eq!(json["Counters"][0]["Count"], 2);
        assert_eq!(
            dotted("vault_agent_proxy_client_error"),
            "vault.agent.proxy.client_error"
        );
    }
}
