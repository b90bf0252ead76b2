//! The PromQL of the chart's dashboards and alert rules, and the check that it names only
//! series docs/metrics.md documents.

use std::collections::BTreeSet;
use std::path::PathBuf;

use serde_json::Value;
use vk_test_utils::workspace_root;

use super::support::all_documented;

/// Where a query comes from (for messages).
#[derive(Debug, Clone)]
pub(crate) struct Query {
    pub(crate) origin: String,
    pub(crate) expr: String,
    /// Alert rules: the name of the alert.
    pub(crate) alert: Option<String>,
}

pub(crate) fn chart_dir() -> PathBuf {
    workspace_root().join("charts/vault-k8s")
}

fn files(dir: &str, ext: &str) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(chart_dir().join(dir))
        .unwrap_or_else(|e| panic!("read charts/vault-k8s/{dir}: {e}"))
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == ext))
        .collect();
    out.sort();
    out
}

/// The rule files the chart packages (`rules/*.yaml`; the unit tests live in `rules/tests/`).
pub(crate) fn rule_files() -> Vec<PathBuf> {
    files("rules", "yaml")
}

/// Every `expr` of every panel target of `dashboards/*.json`.
pub(crate) fn dashboard_queries() -> Vec<Query> {
    let mut out = Vec::new();
    for path in files("dashboards", "json") {
        let text = std::fs::read_to_string(&path).expect("read dashboard");
        let dash: Value = serde_json::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not JSON: {e}", path.display()));
        for panel in dash["panels"].as_array().expect("panels") {
            for target in panel["targets"].as_array().into_iter().flatten() {
                out.push(Query {
                    origin: format!(
                        "{} panel {:?} target {}",
                        path.file_name().unwrap_or_default().to_string_lossy(),
                        panel["title"].as_str().unwrap_or_default(),
                        target["refId"].as_str().unwrap_or_default()
                    ),
                    expr: target["expr"].as_str().expect("target expr").to_owned(),
                    alert: None,
                });
            }
        }
    }
    assert!(!out.is_empty(), "no dashboard queries found");
    out
}

/// Every `expr` of the rule files.
pub(crate) fn rule_queries() -> Vec<Query> {
    let mut out = Vec::new();
    for path in rule_files() {
        let text = std::fs::read_to_string(&path).expect("read rules");
        let doc: serde_norway::Value = serde_norway::from_str(&text)
            .unwrap_or_else(|e| panic!("{}: not YAML: {e}", path.display()));
        for group in doc["groups"].as_sequence().expect("groups") {
            for rule in group["rules"].as_sequence().expect("rules") {
                let alert = rule["alert"].as_str().map(str::to_owned);
                out.push(Query {
                    origin: format!(
                        "{} {}",
                        path.file_name().unwrap_or_default().to_string_lossy(),
                        alert.as_deref().unwrap_or("record")
                    ),
                    expr: rule["expr"].as_str().expect("rule expr").to_owned(),
                    alert,
                });
            }
        }
    }
    assert!(!out.is_empty(), "no rules found");
    out
}

/// Grafana's built-in interval variables, made concrete for the Prometheus API.
pub(crate) fn concrete(expr: &str) -> String {
    expr.replace("$__rate_interval", "30s")
        .replace("$__interval", "30s")
}

/// The metric names a PromQL expression uses: identifiers starting with one of the
/// project's prefixes (or `process_`), with a histogram's `_bucket`/`_sum`/`_count` removed.
pub(crate) fn metric_names(expr: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = expr.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let c = bytes[i] as char;
        if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < bytes.len()
                && ((bytes[i] as char).is_ascii_alphanumeric()
                    || bytes[i] == b'_'
                    || bytes[i] == b':')
            {
                i += 1;
            }
            let word = &expr[start..i];
            let quoted = start > 0 && bytes[start - 1] == b'"';
            if !quoted && (word.starts_with("vault_") || word.starts_with("process_")) {
                names.insert(word.to_owned());
            }
        } else {
            i += 1;
        }
    }
    names
}

/// `name` itself or, for a histogram sample, its family.
fn family<'a>(name: &'a str, documented: &BTreeSet<String>) -> Option<&'a str> {
    if documented.contains(name) {
        return Some(name);
    }
    ["_bucket", "_sum", "_count"]
        .iter()
        .filter_map(|s| name.strip_suffix(s))
        .find(|base| documented.contains(*base))
}

/// For an alert, what must return data while nothing is wrong: the expression without its
/// last top-level comparison (`a > 1` → `a`).
pub(crate) fn alert_probe(expr: &str) -> String {
    let bytes = expr.as_bytes();
    let mut depth = 0i32;
    let mut in_braces = false;
    let mut in_quote = false;
    let mut cut = None;
    for (i, &b) in bytes.iter().enumerate() {
        match b {
            b'"' => in_quote = !in_quote,
            _ if in_quote => {}
            b'(' => depth += 1,
            b')' => depth -= 1,
            b'{' => in_braces = true,
            b'}' => in_braces = false,
            b'>' | b'<' | b'=' | b'!' if depth == 0 && !in_braces => {
                let prev = if i > 0 { bytes[i - 1] } else { b' ' };
                if prev == b' ' {
                    cut = Some(i);
                }
            }
            _ => {}
        }
    }
    match cut {
        Some(i) => expr[..i].trim().to_owned(),
        None => expr.to_owned(),
    }
}

/// Every metric of every dashboard and rule is documented in docs/metrics.md.
#[test]
fn dashboards_and_rules_use_only_documented_series() {
    let documented = all_documented();
    let mut undocumented = Vec::new();
    let queries: Vec<Query> = dashboard_queries()
        .into_iter()
        .chain(rule_queries())
        .collect();
    let mut used = BTreeSet::new();
    for q in &queries {
        for name in metric_names(&q.expr) {
            match family(&name, &documented) {
                Some(f) => {
                    used.insert(f.to_owned());
                }
                None => undocumented.push(format!("{}: {name}", q.origin)),
            }
        }
    }
    assert!(
        undocumented.is_empty(),
        "series not in docs/metrics.md: {undocumented:#?}"
    );
    // The check sees the names (a parser that found nothing would pass vacuously).
    assert!(used.contains("vault_agent_injector_admission_duration_seconds"));
    assert!(used.contains("vault_agent_template_renders_total"));
}

#[test]
fn name_extraction_and_alert_probes() {
    let names = metric_names(
        r#"sum by (le) (rate(vault_agent_x_bucket{job=~"vault_agent_not_a_metric"}[5m])) / process_open_fds"#,
    );
    assert_eq!(
        names.into_iter().collect::<Vec<_>>(),
        ["process_open_fds", "vault_agent_x_bucket"]
    );
    assert_eq!(alert_probe("up{job=~\"a\"} == 0"), "up{job=~\"a\"}");
    assert_eq!(alert_probe("(x > 0) - time() < 14400"), "(x > 0) - time()");
    assert_eq!(alert_probe("max(x) == 0"), "max(x)");
}
