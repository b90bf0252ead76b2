//! docs/metrics.md is the metrics contract: each binary serves exactly the series its tables
//! list, and `promtool check metrics` finds nothing beyond the two documented exceptions.

use std::collections::BTreeSet;
use std::io::Write as _;
use std::process::{Command, Stdio};

use super::support::{Agent, Injector, Side, debian_tool, documented, exposed};

/// Fails with both differences named.
fn assert_contract(side: Side, text: &str) {
    let doc = documented(side);
    let served = exposed(text);
    let undocumented: BTreeSet<_> = served.difference(&doc).collect();
    let missing: BTreeSet<_> = doc.difference(&served).collect();
    assert!(
        undocumented.is_empty() && missing.is_empty(),
        "{side:?}: served but not in docs/metrics.md: {undocumented:?}; \
         in docs/metrics.md but not served: {missing:?}\n{text}"
    );
}

/// `promtool check metrics` findings, one per line (empty when clean). Exit 1 (unparsable)
/// fails at once.
fn promtool_findings(text: &str) -> Option<Vec<String>> {
    let promtool = debian_tool("promtool")?;
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run promtool");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(text.as_bytes())
        .expect("write exposition");
    let out = child.wait_with_output().expect("promtool output");
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_ne!(
        out.status.code(),
        Some(1),
        "promtool cannot parse:\n{report}"
    );
    Some(
        report
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
    )
}

#[test]
fn injector_serves_exactly_the_documented_series() {
    let injector = Injector::start();
    injector.admit_each_outcome();
    let text = injector.scrape();
    assert_contract(Side::Injector, &text);
    // Upstream's four series, unchanged (names, types, buckets).
    for line in [
        "# TYPE vault_agent_injector_request_queue_length gauge",
        "# TYPE vault_agent_injector_request_processing_duration_ms histogram",
        "vault_agent_injector_request_processing_duration_ms_bucket{le=\"7500\"} 3",
        "vault_agent_injector_injections_by_namespace_total{injection_type=\"init_and_sidecar\",namespace=\"app\"} 1",
        "vault_agent_injector_failed_injections_by_namespace_total{namespace=\"kube-system\"} 1",
        // The project's own admission series: one per outcome, with its bounded reason.
        "vault_agent_injector_admissions_total{outcome=\"injected\",reason=\"init_and_sidecar\"} 1",
        "vault_agent_injector_admissions_total{outcome=\"skipped\",reason=\"not_annotated\"} 1",
        "vault_agent_injector_admissions_total{outcome=\"denied\",reason=\"system_namespace\"} 1",
        "vault_agent_injector_admissions_total{outcome=\"denied\",reason=\"patch\"} 0",
        "vault_agent_injector_admission_duration_seconds_count 3",
        "vault_agent_injector_leader 1",
        "vault_agent_injector_ready 1",
        "vault_agent_injector_tls_certificate_reloads_total 0",
        concat!(
            "vault_agent_injector_build_info{version=\"",
            env!("CARGO_PKG_VERSION"),
            "\"} 1"
        ),
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing line {line:?} in\n{text}"
        );
    }
    let expiry: f64 = value(
        &text,
        "vault_agent_injector_tls_certificate_expiry_timestamp_seconds",
    );
    let now = unix_now();
    assert!(
        expiry > now,
        "certificate expiry {expiry} not after now {now}"
    );
    let start = value(&text, "process_start_time_seconds");
    assert!(
        start <= now + 1.0 && start > now - 600.0,
        "start {start}, now {now}"
    );
    assert!(
        value(&text, "process_resident_memory_bytes") > 1e6,
        "{text}"
    );

    if let Some(findings) = promtool_findings(&text) {
        // Only upstream's `_ms` name is reported.
        assert!(
            findings.iter().all(|f| f
                .starts_with("vault_agent_injector_request_processing_duration_ms ")
                && f.contains("units")),
            "promtool check metrics: {findings:?}"
        );
    }
}

#[test]
fn agent_serves_exactly_the_documented_series() {
    let agent = Agent::start();
    let text = agent.scrape();
    assert_contract(Side::Agent, &text);
    for line in [
        "vault_agent_authenticated 1",
        "vault_agent_auth_attempts_total{method=\"approle\"} 1",
        "vault_agent_auth_failures_total{method=\"approle\"} 0",
        "vault_agent_template_renders_total{outcome=\"success\"} 1",
        "vault_agent_template_renders_total{outcome=\"failure\"} 0",
        "vault_agent_lease_renewal_failures_total{kind=\"auth_token\"} 0",
        "vault_agent_vault_request_errors_total{status_class=\"5xx\"} 0",
    ] {
        assert!(
            text.lines().any(|l| l == line),
            "missing line {line:?} in\n{text}"
        );
    }
    // Login, mount lookup and read at least, all answered 2xx.
    let ok_requests = value(
        &text,
        "vault_agent_vault_request_duration_seconds_count{status_class=\"2xx\"}",
    );
    assert!(ok_requests >= 2.0, "{text}");
    let ttl = value(&text, "vault_agent_token_ttl_seconds");
    assert!(ttl > 3000.0 && ttl <= 3600.0, "token TTL left {ttl}");
    let rendered = value(&text, "vault_agent_template_last_success_timestamp_seconds");
    let now = unix_now();
    assert!(
        rendered > now - 120.0 && rendered <= now + 1.0,
        "{rendered} vs {now}"
    );

    if let Some(findings) = promtool_findings(&text) {
        // Only Vault Agent's seven counter names, which carry no `_total`.
        let vault_agent_names: Vec<String> = documented(Side::Agent)
            .into_iter()
            .filter(|n| !n.ends_with("_total") && !n.starts_with("process_"))
            .collect();
        assert!(
            findings.iter().all(|f| f.contains("\"_total\" suffix")
                && vault_agent_names
                    .iter()
                    .any(|n| f.starts_with(&format!("{n} ")))),
            "promtool check metrics: {findings:?}"
        );
        assert!(!findings.is_empty(), "the no-_total finding is expected");
    }
}

/// A refused login shows in the failure series: attempts and failures by method, Vault
/// Agent's `auth_failure`, `authenticated` 0, no token TTL, and 4xx answers from Vault.
#[test]
fn agent_counts_refused_logins() {
    let agent = Agent::start_refused();
    let mut text = agent.scrape();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while value(&text, "vault_agent_auth_failures_total{method=\"approle\"}") < 2.0 {
        assert!(
            std::time::Instant::now() < deadline,
            "no second failed login:\n{text}"
        );
        std::thread::sleep(std::time::Duration::from_millis(250));
        text = agent.scrape();
    }
    assert_contract(Side::Agent, &text);
    let failures = value(&text, "vault_agent_auth_failures_total{method=\"approle\"}");
    let attempts = value(&text, "vault_agent_auth_attempts_total{method=\"approle\"}");
    assert!(attempts >= failures, "{text}");
    assert!(
        value(&text, "vault_agent_auth_failure") >= failures,
        "{text}"
    );
    assert_eq!(value(&text, "vault_agent_auth_success"), 0.0, "{text}");
    assert_eq!(value(&text, "vault_agent_authenticated"), 0.0, "{text}");
    assert_eq!(value(&text, "vault_agent_token_ttl_seconds"), 0.0, "{text}");
    assert_eq!(
        value(&text, "vault_agent_template_last_success_timestamp_seconds"),
        0.0,
        "{text}"
    );
    // Each refused login is a 4xx answer from Vault.
    assert!(
        value(
            &text,
            "vault_agent_vault_request_errors_total{status_class=\"4xx\"}"
        ) >= failures,
        "{text}"
    );
}

/// The value of the sample line starting with `series ` (exact name and labels).
fn value(text: &str, series: &str) -> f64 {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or_else(|| panic!("no sample {series} in\n{text}"))
}

fn unix_now() -> f64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after epoch")
        .as_secs_f64()
}
