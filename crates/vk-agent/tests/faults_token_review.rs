//! Fault test of kubernetes auto-auth: the Kubernetes TokenReview API that OpenBao's kubernetes
//! auth method calls is broken (the test API server answers 500, then refuses the reviewer
//! with 403), while the agent (the `agent` example) runs against a real `bao server -dev`.
//!
//! Expected: the agent retries the login with backoff (no tight loop), logs each failure as
//! one line naming the kubernetes login and Vault's answer (never the service-account JWT),
//! counts every failed attempt in `vault_agent_auth_failure` and
//! `vault_agent_auth_failures_total{method="kubernetes"}` (docs/metrics.md), keeps running, and
//! logs in and renders as soon as TokenReview works again.

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use common::{Agent, assert_not_logged, count};
use vk_test_utils::http::request;
use vk_test_utils::util::{eventually, free_port};
use vk_test_utils::{DevServer, KubeApi, configure_kubernetes_auth};

const POLICY: &str = r#"path "secret/data/app/*" { capabilities = ["read"] }"#;
const PASSWORD: &str = "pw-token-review-9d41";

/// Sidecar configuration: kubernetes auth (1–2 s backoff) with the JWT at `d/sa-token`, a sink,
/// one template, and a metrics-only listener on `port` with the Prometheus exposition on.
fn config(addr: &str, d: &Path, port: u16) -> String {
    format!(
        r#"
vault {{ address = "{addr}" }}
auto_auth {{
  method "kubernetes" {{
    min_backoff = "1s"
    max_backoff = "2s"
    config {{
      role = "app"
      token_path = "{d}/sa-token"
    }}
  }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
template {{
  contents = "{{{{ with secret \"secret/data/app/config\" }}}}pass={{{{ .Data.data.password }}}}{{{{ end }}}}"
  destination = "{d}/app.env"
}}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
  role = "metrics_only"
}}
telemetry {{
  prometheus_retention_time = "30s"
  disable_hostname = true
}}
"#,
        d = d.display()
    )
}

/// The value of the series `name` (with its labels, if any) in a Prometheus exposition.
fn sample(text: &str, name: &str) -> Option<f64> {
    text.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

fn scrape(port: u16) -> String {
    let url = format!("http://127.0.0.1:{port}/agent/v1/metrics?format=prometheus");
    let r = request("GET", &url, None, &[], b"").unwrap();
    assert_eq!(r.status, 200, "{}", r.text());
    r.text()
}

/// TokenReview calls that failed with `reason` so far.
fn failed_reviews(kube: &KubeApi, reason: &str) -> usize {
    kube.reviews()
        .iter()
        .filter(|r| r.error.as_deref() == Some(reason))
        .count()
}

#[test]
fn token_review_failing_is_retried_with_backoff_and_counted_then_logs_in() {
    let dev = DevServer::start().unwrap();
    dev.cli_ok(&[
        "kv",
        "put",
        "secret/app/config",
        &format!("password={PASSWORD}"),
    ])
    .unwrap();
    let kube = KubeApi::start().unwrap();
    configure_kubernetes_auth(&dev, &kube, "app", "webapp", "default", "app", POLICY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jwt = kube
        .mint("default", "webapp", Duration::from_secs(600))
        .unwrap();
    std::fs::write(d.join("sa-token"), &jwt).unwrap();
    let port = free_port().unwrap();
    let cfg = d.join("agent.hcl");
    std::fs::write(&cfg, config(dev.addr(), d, port)).unwrap();

    // The API server fails every TokenReview with 500 from before the agent starts.
    kube.fail_token_reviews(Some(500));
    let started = Instant::now();
    let mut agent = Agent::spawn(&cfg);
    eventually(Duration::from_secs(60), || {
        failed_reviews(&kube, "InternalError") >= 3
    })
    .unwrap_or_else(|e| panic!("{e}; log:\n{}", agent.log()));
    let log = agent.log();
    let failed_lines: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("auto-auth attempt failed"))
        .collect();
    assert!(!failed_lines.is_empty(), "{log}");
    for line in &failed_lines {
        assert!(
            line.contains("ERROR")
                && line.contains("method=kubernetes")
                && line.contains("kubernetes login")
                && line.contains("backoff_ms="),
            "the failure line does not name the login and its backoff: {line}"
        );
    }
    eprintln!("first failure line: {}", failed_lines[0]);

    // Then the reviewer itself is refused (RBAC: 403 from the API server).
    kube.fail_token_reviews(None);
    kube.forbid("create", "tokenreviews");
    let denied_before = failed_reviews(&kube, "Forbidden");
    eventually(Duration::from_secs(60), || {
        failed_reviews(&kube, "Forbidden") >= denied_before + 2
    })
    .unwrap_or_else(|e| panic!("{e}; log:\n{}", agent.log()));

    // Backoff, not a tight loop: with a 1 s minimum (less at most a quarter of jitter), no
    // more than about one attempt per 0.75 s can have happened.
    let attempts = kube.review_count();
    let elapsed = started.elapsed().as_secs_f64();
    assert!(
        (attempts as f64) <= elapsed / 0.75 + 2.0,
        "{attempts} TokenReview calls in {elapsed:.1} s: the login is retried without backoff"
    );
    assert!(agent.running(), "the agent exited:\n{}", agent.log());
    assert!(!d.join("app.env").exists(), "rendered without a login");
    assert!(!d.join("sink").exists(), "a sink without a login");

    let text = scrape(port);
    let failures = sample(&text, "vault_agent_auth_failure").unwrap_or(0.0);
    let by_method = sample(
        &text,
        "vault_agent_auth_failures_total{method=\"kubernetes\"}",
    )
    .unwrap_or(0.0);
    let logged = count(&agent.log(), "auto-auth attempt failed");
    assert!(
        failures >= 5.0,
        "vault_agent_auth_failure {failures}:\n{text}"
    );
    assert_eq!(failures, by_method, "{text}");
    // The scrape and the log are read a moment apart: at most one attempt in between.
    assert!(
        (failures - logged as f64).abs() <= 1.0,
        "{failures} failures counted, {logged} logged"
    );
    assert_eq!(sample(&text, "vault_agent_authenticated"), Some(0.0));
    assert_eq!(sample(&text, "vault_agent_auth_success"), Some(0.0));

    // TokenReview works again: the next attempt logs in and the template renders.
    kube.allow_all();
    eventually(Duration::from_secs(30), || {
        std::fs::read_to_string(d.join("app.env")).is_ok_and(|s| s == format!("pass={PASSWORD}"))
    })
    .unwrap_or_else(|e| panic!("{e}; not rendered after recovery; log:\n{}", agent.log()));
    assert!(kube.reviews().iter().any(|r| r.authenticated));
    let text = scrape(port);
    assert_eq!(
        sample(&text, "vault_agent_authenticated"),
        Some(1.0),
        "{text}"
    );
    assert!(sample(&text, "vault_agent_auth_success").is_some_and(|n| n >= 1.0));
    assert!(agent.running());

    assert_eq!(agent.terminate(), Some(0));
    let log = agent.log();
    assert_eq!(count(&log, "authentication successful"), 1, "{log}");
    let token = std::fs::read_to_string(d.join("sink")).unwrap();
    assert_not_logged(&log, &[&jwt, kube.reviewer_token(), &token, PASSWORD]);
}
