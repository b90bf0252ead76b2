//! The injector's generated configurations through both agents.

use std::time::Duration;

use serde_json::json;
use vk_test_utils::util::{eventually, free_port};

use super::support::*;

/// The injector's cache config (+ a template creating a child token) through both agents:
/// the application reads a KV secret with no token; the child token is one lease shared by
/// the template and the application (OpenBao holds one), until the cache is cleared.
#[test]
fn injector_cache_config_proxies_with_auto_auth_token_and_shares_leases() {
    let dev = seeded();
    let kube = kube_setup(&dev);
    let root = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let mut config = injector_sidecar_config(&[
        ("agent-cache-enable", "true"),
        ("agent-cache-listener-port", &port.to_string()),
    ]);
    assert_eq!(
        config["cache"]["use_auto_auth_token"],
        json!("true"),
        "{config}"
    );
    assert_eq!(config["listener"][0]["type"], "tcp", "{config}");
    let tmpl = config["template"][0].clone();
    let mut child = tmpl.clone();
    child["destination"] = json!("/vault/secrets/child-token");
    child["contents"] = json!(CHILD_TOKEN_TEMPLATE);
    config["template"].as_array_mut().unwrap().push(child);

    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = root.path().join(name);
        write_sa_token(&kube, &dir);
        let port = if reference {
            free_port().unwrap()
        } else {
            port
        };
        let cfg = localise(&config, &dev, &dir, port);
        let agent = if reference {
            bao_agent(&dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        wait_listening(port, &agent);
        let child_file = dir.join("secrets/child-token");
        let rendered = eventually(Duration::from_secs(60), || {
            std::fs::read_to_string(&child_file).is_ok_and(|t| !t.is_empty())
        });
        assert!(rendered.is_ok(), "{name}: no child token:\n{}", agent.log());

        // The application: no token, the agent adds its own.
        let r = call("GET", port, "/v1/secret/data/database/config", &[], "");
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(
            r.json().unwrap()["data"]["data"]["username"],
            "db-readonly-user"
        );
        let no_header = call(
            "GET",
            port,
            "/v1/secret/data/database/config",
            &[("X-Vault-Token", "")],
            "",
        );
        assert_eq!(no_header.status, 200, "{name}");

        // Ours: the template's child token is the one the application gets for the same
        // request (one lease). bao agent's template requests do not share its cache key, so
        // there the first request creates a token, and the second is a hit.
        let tpl_token = std::fs::read_to_string(&child_file).unwrap();
        let first = call("PUT", port, "/v1/auth/token/create", &[], r#"{"ttl":"1h"}"#);
        assert_eq!(first.status, 200, "{name}: {}", first.text());
        let first_token = first.json().unwrap()["auth"]["client_token"].clone();
        if !reference {
            assert_eq!(first.header("x-cache"), Some("HIT"), "{name}");
            assert_eq!(first_token, json!(tpl_token), "{name}");
        }
        let before = token_count(&dev);
        let r = call("PUT", port, "/v1/auth/token/create", &[], r#"{"ttl":"1h"}"#);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.header("x-cache"), Some("HIT"), "{name}");
        assert_eq!(
            r.json().unwrap()["auth"]["client_token"],
            first_token,
            "{name}"
        );
        assert_eq!(
            token_count(&dev),
            before,
            "{name}: the cache hit created a token"
        );

        if !reference {
            // After a cache-clear the same request creates a new token (and is cached again).
            let r = call(
                "POST",
                port,
                "/agent/v1/cache-clear",
                &[],
                r#"{"type":"all"}"#,
            );
            assert_eq!(r.status, 200);
            let fresh = call("PUT", port, "/v1/auth/token/create", &[], r#"{"ttl":"1h"}"#);
            assert_eq!(fresh.header("x-cache"), Some("MISS"));
            let t = fresh.json().unwrap()["auth"]["client_token"].clone();
            assert_ne!(t, json!(tpl_token));
            assert_eq!(token_count(&dev), before + 1);
            let again = call("PUT", port, "/v1/auth/token/create", &[], r#"{"ttl":"1h"}"#);
            assert_eq!(again.json().unwrap()["auth"]["client_token"], t);
            assert_eq!(token_count(&dev), before + 1);
            // A KV v2 read carries no lease: passed through, never cached.
            let kv = call("GET", port, "/v1/secret/data/database/config", &[], "");
            assert_eq!(kv.header("x-cache"), Some("MISS"));
            let log = agent.log();
            assert!(!log.contains(&tpl_token), "token leaked to the log");
        }
    }
}

/// The injector's quit config: `POST /agent/v1/quit` stops both sidecars with status 0; other
/// methods are refused with 405.
#[test]
fn quit_stops_the_sidecar_with_status_zero() {
    let dev = seeded();
    let kube = kube_setup(&dev);
    let root = tempfile::tempdir().unwrap();
    let config = injector_sidecar_config(&[("agent-enable-quit", "true")]);
    assert_eq!(
        config["listener"][0]["agent_api"]["enable_quit"],
        json!(true),
        "{config}"
    );
    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = root.path().join(name);
        write_sa_token(&kube, &dir);
        let port = free_port().unwrap();
        let cfg = localise(&config, &dev, &dir, port);
        let mut agent = if reference {
            bao_agent(&dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        wait_listening(port, &agent);
        let ok = eventually(Duration::from_secs(60), || {
            dir.join("secrets/database-config").exists()
        });
        assert!(ok.is_ok(), "{name}: not rendered:\n{}", agent.log());
        assert_eq!(
            call("GET", port, "/agent/v1/quit", &[], "").status,
            405,
            "{name}"
        );
        assert_eq!(
            call("POST", port, "/agent/v1/quit", &[], "").status,
            200,
            "{name}"
        );
        let status = agent.wait_exit(Duration::from_secs(30));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{name}:\n{}",
            agent.log()
        );
    }
}

/// The injector's telemetry annotations: `/agent/v1/metrics?format=prometheus` is valid
/// Prometheus text (promtool) with every series docs/metrics.md lists for the agent.
#[test]
fn telemetry_prometheus_exposition_parses_and_lists_the_documented_series() {
    let dev = seeded();
    let kube = kube_setup(&dev);
    let root = tempfile::tempdir().unwrap();
    let config = injector_sidecar_config(&[
        ("agent-cache-enable", "true"),
        ("agent-telemetry-prometheus_retention_time", "30s"),
        ("agent-telemetry-disable_hostname", "true"),
    ]);
    assert_eq!(
        config["telemetry"],
        json!({"disable_hostname": true, "prometheus_retention_time": "30s"}),
        "{config}"
    );
    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = root.path().join(name);
        write_sa_token(&kube, &dir);
        let port = free_port().unwrap();
        let cfg = localise(&config, &dev, &dir, port);
        let agent = if reference {
            bao_agent(&dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        wait_listening(port, &agent);
        let ok = eventually(Duration::from_secs(60), || {
            dir.join("secrets/database-config").exists()
        });
        assert!(ok.is_ok(), "{name}: not rendered:\n{}", agent.log());
        assert_eq!(
            call("GET", port, "/v1/secret/data/database/config", &[], "").status,
            200
        );
        let r = call("GET", port, "/agent/v1/metrics?format=prometheus", &[], "");
        assert_eq!(r.status, 200, "{name}");
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = r.text();
        let logins = text
            .lines()
            .find(|l| !l.starts_with('#') && l.contains("_agent_auth_success "))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
        assert!(logins.is_some_and(|n| n >= 1.0), "{name}: {text}");
        assert!(text.contains("_agent_proxy_success"), "{name}: {text}");
        assert!(text.contains("_agent_cache_miss"), "{name}: {text}");
        promtool_parses(&text);
        if !reference {
            let docs = std::fs::read_to_string(
                vk_test_utils::util::workspace_root().join("docs/metrics.md"),
            )
            .unwrap();
            let section = docs.split("\n## Agent\n").nth(1).expect("an Agent section");
            let mut documented = 0;
            let mut in_table = false;
            for line in section.lines() {
                if line.starts_with("| Name | Type |") {
                    in_table = true;
                    continue;
                }
                if !line.starts_with('|') {
                    in_table = false;
                }
                if !in_table || !line.starts_with("| `") {
                    continue;
                }
                let series = line.split('`').nth(1).unwrap();
                assert!(
                    text.contains(&format!("# TYPE {series} ")),
                    "{series} documented but not served:\n{text}"
                );
                documented += 1;
            }
            assert_eq!(documented, text.matches("# TYPE ").count(), "{text}");
        }
    }
}

/// `agent-metrics: "true"`: the injector's config adds Prometheus telemetry and a
/// metrics-only listener; our agent and `bao agent` both serve the exposition there and
/// nothing else.
#[test]
fn agent_metrics_annotation_adds_a_metrics_only_listener() {
    let dev = seeded();
    let kube = kube_setup(&dev);
    let root = tempfile::tempdir().unwrap();
    let config = injector_sidecar_config(&[("agent-metrics", "true")]);
    assert_eq!(
        config["listener"],
        json!([{"type": "tcp", "address": "0.0.0.0:9102", "tls_disable": true, "role": "metrics_only"}]),
        "{config}"
    );
    assert_eq!(
        config["telemetry"],
        json!({"prometheus_retention_time": "24h", "disable_hostname": true}),
        "{config}"
    );
    // The pod's own telemetry annotations win.
    let own = injector_sidecar_config(&[
        ("agent-metrics", "true"),
        ("agent-telemetry-prometheus_retention_time", "5m"),
    ]);
    assert_eq!(own["telemetry"]["prometheus_retention_time"], "5m", "{own}");
    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = root.path().join(name);
        write_sa_token(&kube, &dir);
        let port = free_port().unwrap();
        let cfg = localise(&config, &dev, &dir, port);
        let agent = if reference {
            bao_agent(&dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        wait_listening(port, &agent);
        let ok = eventually(Duration::from_secs(60), || {
            dir.join("secrets/database-config").exists()
        });
        assert!(ok.is_ok(), "{name}: not rendered:\n{}", agent.log());
        let r = call("GET", port, "/agent/v1/metrics?format=prometheus", &[], "");
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert!(
            r.text().contains("_agent_auth_success"),
            "{name}: {}",
            r.text()
        );
        let proxied = call("GET", port, "/v1/secret/data/database/config", &[], "");
        assert_ne!(
            proxied.status, 200,
            "{name}: a metrics-only listener proxied"
        );
    }
}
