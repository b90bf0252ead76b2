//! Listener options, the lease cache's renewal and init mode, through both agents.

use std::time::Duration;

use serde_json::json;
use vk_test_utils::TestCa;
use vk_test_utils::http::request;
use vk_test_utils::util::{eventually, free_port};

use super::support::*;

#[test]
fn require_request_header_refuses_requests_without_it() {
    let pair = approle_pair();
    both(
        &pair,
        |port, _| {
            format!(
                r#"listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
  require_request_header = true
}}"#
            )
        },
        |name, port, _| {
            let path = "/v1/secret/data/database/config";
            let r = call("GET", port, path, &[], "");
            assert_eq!(r.status, 412, "{name}");
            assert_eq!(
                r.json().unwrap(),
                json!({"errors": ["missing \"X-Vault-Request\" header"]}),
                "{name}"
            );
            let r = call("GET", port, path, &[("X-Vault-Request", "true")], "");
            assert_eq!(r.status, 200, "{name}: {}", r.text());
        },
    );
}

#[test]
fn metrics_only_role_serves_only_metrics_and_quit_needs_enable_quit() {
    let pair = approle_pair();
    both(
        &pair,
        |port, _| {
            format!(
                r#"listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
  role = "metrics_only"
}}
listener "tcp" {{
  address = "127.0.0.1:{}"
  tls_disable = true
}}"#,
                port + 1
            )
        },
        |name, port, _| {
            let r = call("GET", port, "/v1/secret/data/database/config", &[], "");
            assert_eq!(r.status, 404, "{name}");
            assert_eq!(r.text(), "404 page not found\n", "{name}");
            assert_eq!(
                call("POST", port, "/agent/v1/quit", &[], "").status,
                404,
                "{name}"
            );
            let m = call("GET", port, "/agent/v1/metrics", &[], "");
            assert_eq!(m.status, 200, "{name}");
            assert!(m.json().unwrap()["Counters"].is_array(), "{name}");
            // No telemetry stanza: the Prometheus format is off.
            let p = call("GET", port, "/agent/v1/metrics?format=prometheus", &[], "");
            assert_eq!(
                (p.status, p.text().as_str()),
                (400, "prometheus is not enabled"),
                "{name}"
            );
            // The default listener without agent_api: quit does not exist.
            assert_eq!(
                call("POST", port + 1, "/agent/v1/quit", &[], "").status,
                404,
                "{name}"
            );
        },
    );
}

#[test]
fn unix_socket_listener_serves_the_proxy() {
    let pair = approle_pair();
    both(
        &pair,
        |_, dir| {
            format!(
                r#"listener "unix" {{
  address = "{}/agent.sock"
  tls_disable = true
  socket_mode = "0600"
}}"#,
                dir.display()
            )
        },
        |name, _, dir| {
            let sock = dir.join("agent.sock");
            let ok = eventually(Duration::from_secs(30), || sock.exists());
            assert!(ok.is_ok(), "{name}: no socket");
            // bao agent 2.7.2 leaves the socket at 0755 despite socket_mode; ours applies it.
            if name == "ours" {
                assert_eq!(vk_agent::file_mode(&sock).unwrap() & 0o777, 0o600);
            }
            let resp = unix_get(&sock, "/v1/secret/data/database/config");
            assert!(resp.starts_with("HTTP/1.1 200 OK"), "{name}: {resp}");
            assert!(resp.contains("db-secret-password"), "{name}");
        },
    );
}

#[test]
fn tls_listener_serves_the_proxy_over_https() {
    let pair = approle_pair();
    let ca = TestCa::new().unwrap();
    let leaf = ca.leaf().unwrap();
    let files = ca
        .write_tls_dir(&pair.root.path().join("tls"), &leaf)
        .unwrap();
    let ca_pem = ca.ca_pem();
    both(
        &pair,
        |port, _| {
            format!(
                r#"listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_cert_file = "{}"
  tls_key_file = "{}"
}}"#,
                files.cert.display(),
                files.key.display()
            )
        },
        |name, port, _| {
            wait_port(port);
            let r = request(
                "GET",
                &format!("https://127.0.0.1:{port}/v1/secret/data/database/config"),
                Some(&ca_pem),
                &[],
                &[],
            )
            .unwrap();
            assert_eq!(r.status, 200, "{name}: {}", r.text());
            assert_eq!(
                r.json().unwrap()["data"]["data"]["username"],
                "db-readonly-user"
            );
            // Plain HTTP on the TLS port gets no answer from the proxy.
            let plain = request(
                "GET",
                &format!("http://127.0.0.1:{port}/v1/secret/data/database/config"),
                None,
                &[],
                &[],
            );
            assert!(plain.map(|r| r.status != 200).unwrap_or(true), "{name}");
        },
    );
}

/// A cached token is renewed by the agent while cached, and evicted when renewal ends at its
/// max TTL, so the next identical request creates a new one.
#[test]
fn cached_token_is_renewed_then_evicted_at_max_ttl() {
    let pair = approle_pair();
    let dir = pair.root.path().join("ours");
    let port = free_port().unwrap();
    let cfg = approle_hcl(
        &pair.dev,
        &dir,
        &format!("listener \"tcp\" {{\n address = \"127.0.0.1:{port}\"\n tls_disable = true\n}}"),
    );
    let agent = ours(&cfg, dir.join("log"));
    wait_listening(port, &agent);
    let body = r#"{"ttl":"4s","explicit_max_ttl":"9s"}"#;
    let create = || call("POST", port, "/v1/auth/token/create", &[], body);
    let ok = eventually(Duration::from_secs(30), || create().status == 200);
    assert!(ok.is_ok(), "{}", agent.log());
    let first = create().json().unwrap()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Past the first TTL the token still works: the cache renewed it.
    std::thread::sleep(Duration::from_secs(5));
    let lookup = pair
        .dev
        .cli(&["token", "lookup", "-format=json", &first])
        .unwrap();
    assert!(
        lookup.status.success(),
        "cached token expired unrenewed: {}",
        agent.log()
    );
    let again = create();
    assert_eq!(again.header("x-cache"), Some("HIT"));
    assert_eq!(again.json().unwrap()["auth"]["client_token"], json!(first));
    // After the max TTL the entry is gone: a new token.
    let evicted = eventually(Duration::from_secs(30), || {
        let r = create();
        r.json().unwrap()["auth"]["client_token"] != json!(first)
    });
    assert!(evicted.is_ok(), "never evicted:\n{}", agent.log());
}

/// Init mode (`exit_after_auth`) with a listener: the listener is open while the agent works
/// and the agent exits 0 when done, as `bao agent` does.
#[test]
fn init_mode_with_a_listener_exits_zero() {
    let pair = approle_pair();
    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = pair.root.path().join(name);
        let port = free_port().unwrap();
        let cfg = approle_hcl(
            &pair.dev,
            &dir,
            &format!(
                "exit_after_auth = true\nlistener \"tcp\" {{\n address = \"127.0.0.1:{port}\"\n tls_disable = true\n}}"
            ),
        );
        let mut agent = if reference {
            bao_agent(&pair.dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        let status = agent.wait_exit(Duration::from_secs(60));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{name}:\n{}",
            agent.log()
        );
        assert!(dir.join("sink").exists(), "{name}");
    }
}

/// `api_proxy { use_auto_auth_token = "force" }`: the agent's token replaces the one the
/// request carries, so a request with a bogus token still reads the secret.
#[test]
fn force_replaces_the_request_token() {
    let pair = approle_pair();
    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = pair.root.path().join(name);
        let port = free_port().unwrap();
        let cfg = approle_hcl(
            &pair.dev,
            &dir,
            &format!(
                "listener \"tcp\" {{\n address = \"127.0.0.1:{port}\"\n tls_disable = true\n}}"
            ),
        );
        let text = std::fs::read_to_string(&cfg).unwrap().replace(
            "cache { use_auto_auth_token = true }",
            "api_proxy { use_auto_auth_token = \"force\" }",
        );
        std::fs::write(&cfg, text).unwrap();
        let agent = if reference {
            bao_agent(&pair.dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        let sink = dir.join("sink");
        assert!(
            eventually(Duration::from_secs(30), || sink.exists()).is_ok(),
            "{name}:\n{}",
            agent.log()
        );
        let path = "/v1/secret/data/database/config";
        let r = call("GET", port, path, &[("X-Vault-Token", "s.bogus")], "");
        assert_eq!(r.status, 200, "{name}: {}", r.text());
    }
}
