//! Debian's Prometheus scrapes a running injector (HTTPS, its test CA) and a running agent
//! (with a real OpenBao dev server); every expression of the chart's dashboards and alert
//! rules then runs through Prometheus' HTTP API and must return data. `promtool` checks and
//! unit-tests the rule files.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use vk_test_utils::ChildGuard;
use vk_test_utils::util::free_port;

use super::queries::{
    Query, alert_probe, chart_dir, concrete, dashboard_queries, rule_files, rule_queries,
};
use super::support::{Agent, Injector, debian_tool};

/// A Prometheus server scraping the injector and the agent every second.
struct Prometheus {
    _child: ChildGuard,
    base: String,
    _dir: tempfile::TempDir,
}

impl Prometheus {
    fn start(bin: &Path, injector: &Injector, agent: &Agent) -> Self {
        let dir = tempfile::tempdir().expect("temp dir");
        let port = free_port().expect("free port");
        let config = format!(
            r#"global:
  scrape_interval: 1s
  evaluation_interval: 1s
scrape_configs:
  - job_name: vault-agent-injector
    scheme: https
    metrics_path: /metrics
    tls_config:
      ca_file: {ca}
      server_name: localhost
    static_configs:
      - targets: ["{injector}"]
  - job_name: vault-agent-metrics
    metrics_path: /agent/v1/metrics
    params:
      format: [prometheus]
    static_configs:
      - targets: ["127.0.0.1:{agent}"]
"#,
            ca = injector.ca_file.display(),
            injector = injector.addr,
            agent = agent.port,
        );
        let config_path = dir.path().join("prometheus.yml");
        std::fs::write(&config_path, config).expect("write prometheus.yml");
        let mut cmd = Command::new(bin);
        cmd.arg(format!("--config.file={}", config_path.display()))
            .arg(format!(
                "--storage.tsdb.path={}",
                dir.path().join("data").display()
            ))
            .arg(format!("--web.listen-address=127.0.0.1:{port}"))
            .arg("--log.level=warn");
        let child = ChildGuard::spawn("prometheus", &mut cmd).expect("spawn prometheus");
        Self {
            _child: child,
            base: format!("http://127.0.0.1:{port}"),
            _dir: dir,
        }
    }

    /// `GET /api/v1/query`; the `data` of a successful answer.
    fn query(&self, expr: &str) -> Result<Value, String> {
        let url = format!("{}/api/v1/query?query={}", self.base, encode(expr));
        let resp = vk_test_utils::http::get(&url, None).map_err(|e| format!("{e:#}"))?;
        let body: Value = resp.json().map_err(|e| format!("{e:#}: {}", resp.text()))?;
        if body["status"] != "success" {
            return Err(format!("{}: {body}", resp.status));
        }
        Ok(body["data"].clone())
    }

    /// Polls `expr` until its result is non-empty (the first scrape takes about 5 s).
    fn wait_for(&self, expr: &str, timeout: Duration) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            if let Ok(data) = self.query(expr)
                && has_data(&data)
            {
                return data;
            }
            assert!(
                Instant::now() < deadline,
                "Prometheus had no result for {expr} after {timeout:?}: {:?}",
                self.query(expr)
            );
            std::thread::sleep(Duration::from_millis(250));
        }
    }
}

fn has_data(data: &Value) -> bool {
    data["result"].as_array().is_some_and(|r| !r.is_empty())
}

/// Percent-encoding of a query parameter value.
fn encode(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// What must return data for query `q` while everything is healthy: a dashboard query as it
/// is; an alert's expression without its threshold (the alert itself is quiet).
fn probe(q: &Query) -> String {
    let expr = concrete(&q.expr);
    if q.alert.is_some() {
        alert_probe(&expr)
    } else {
        expr
    }
}

#[test]
fn prometheus_evaluates_every_dashboard_and_rule_query() {
    let Some(prometheus_bin) = debian_tool("prometheus") else {
        return;
    };
    let injector = Injector::start();
    injector.admit_each_outcome();
    let agent = Agent::start();
    let prometheus = Prometheus::start(&prometheus_bin, &injector, &agent);

    // Both targets up (first scrape ≈ 5 s after start), then enough samples for 30 s rates.
    let up = prometheus.wait_for("sum(up) == 2", Duration::from_secs(40));
    assert!(has_data(&up));
    prometheus.wait_for(
        "count_over_time(vault_agent_injector_build_info[30s]) >= 4 and on() count_over_time(vault_agent_authenticated[30s]) >= 4",
        Duration::from_secs(40),
    );
    // A second round of admissions between scrapes, so rates are above zero.
    injector.admit_each_outcome();
    prometheus.wait_for(
        "increase(vault_agent_injector_admission_duration_seconds_count[30s]) > 0",
        Duration::from_secs(20),
    );

    let mut failures = Vec::new();
    let queries: Vec<Query> = dashboard_queries()
        .into_iter()
        .chain(rule_queries())
        .collect();
    for q in &queries {
        let expr = probe(q);
        match prometheus.query(&expr) {
            Ok(data) if has_data(&data) => {}
            Ok(data) => failures.push(format!("{}: `{expr}` returned no data: {data}", q.origin)),
            Err(e) => failures.push(format!("{}: `{expr}` failed: {e}", q.origin)),
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} queries failed:\n{}",
        failures.len(),
        queries.len(),
        failures.join("\n")
    );

    // The scenario denies one admission in three (kube-system) on purpose: the denial-rate
    // condition holds on that real data; every other condition stays quiet with healthy
    // components.
    let expected_to_hold = ["VaultK8sInjectorDenialRate"];
    for q in rule_queries() {
        let data = prometheus
            .query(&concrete(&q.expr))
            .expect("alert expression");
        let alert = q.alert.as_deref().unwrap_or_default();
        assert_eq!(
            has_data(&data),
            expected_to_hold.contains(&alert),
            "{}: condition result {data}",
            q.origin
        );
    }
    // A value Prometheus scraped matches what the agent rendered: one successful round.
    let renders = prometheus.wait_for(
        "vault_agent_template_renders_total{outcome=\"success\"}",
        Duration::from_secs(5),
    );
    assert_eq!(renders["result"][0]["value"][1], "1", "{renders}");
}

#[test]
fn promtool_checks_and_unit_tests_the_rules() {
    let Some(promtool) = debian_tool("promtool") else {
        return;
    };
    let rules = rule_files();
    let out = Command::new(&promtool)
        .args(["check", "rules"])
        .args(&rules)
        .output()
        .expect("promtool check rules");
    assert!(
        out.status.success(),
        "promtool check rules: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );

    // One unit-test file per alert, each named after it.
    let tests_dir = chart_dir().join("rules/tests");
    for q in rule_queries() {
        let alert = q.alert.expect("only alerting rules");
        let file = tests_dir.join(format!("{alert}.test.yaml"));
        assert!(file.exists(), "no rule unit test {}", file.display());
        let out = Command::new(&promtool)
            .args(["test", "rules"])
            .arg(&file)
            .current_dir(&tests_dir)
            .output()
            .expect("promtool test rules");
        let report = format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(out.status.success(), "{alert}: {report}");
        assert!(report.contains("SUCCESS"), "{alert}: {report}");
    }
}
