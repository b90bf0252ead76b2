//! Per-call cost of `mutate` on the admitted `webapp` pod and on a 20-secret variant, alone and
//! followed by `patch_to_json` (what the webhook does per admission before base64 and the HTTP
//! response). Plain std::time loop (no criterion); prints `mutate <scenario>: <µs>/call (<N>
//! calls)`. Arguments that are not flags select scenarios by substring (`cargo bench -p vk-inject
//! --bench mutate -- webapp`).
//!
//! The figure is on-CPU time of the benchmark thread (Linux `/proc/thread-self/schedstat`), so a
//! busy shared machine does not inflate it; where that file is missing, wall-clock time is used.
#![allow(clippy::disallowed_methods)] // Test code, not the pure library: benchmarks time themselves.

use std::hint::black_box;
use std::time::{Duration, Instant};

use serde_json::Value;
use vk_inject::{Decision, InjectorSettings, mutate, patch_to_json};

const FIXTURE: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../vk-test-utils/fixtures/webapp-pod-admitted.json"
);

/// Nanoseconds this thread has spent running on a CPU, if the kernel exposes it.
fn cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// One admission's engine work: the decision, plus the patch text when `json` is set.
fn once(pod: &Value, settings: &InjectorSettings, json: bool) -> usize {
    match mutate(black_box(pod), "default", settings) {
        Decision::Inject { patch, .. } if json => black_box(patch_to_json(&patch)).len(),
        other => {
            black_box(other);
            0
        }
    }
}

fn bench(name: &str, pod: &Value, settings: &InjectorSettings, json: bool) {
    let name = if json {
        format!("{name}+json")
    } else {
        name.to_owned()
    };
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    if !filters.is_empty() && !filters.iter().any(|f| name.contains(f.as_str())) {
        return;
    }
    // Sanity: the scenario must really inject, otherwise we would time a skip.
    assert!(
        matches!(mutate(pod, "default", settings), Decision::Inject { .. }),
        "{name} did not inject"
    );
    for _ in 0..200 {
        black_box(once(pod, settings, json));
    }
    let budget = Duration::from_secs(2);
    let start = Instant::now();
    let cpu_start = cpu_ns();
    let mut calls: u32 = 0;
    while start.elapsed() < budget {
        for _ in 0..100 {
            black_box(once(pod, settings, json));
        }
        calls += 100;
    }
    let wall_ns = start.elapsed().as_nanos() as f64;
    let elapsed_ns = match (cpu_start, cpu_ns()) {
        (Some(a), Some(b)) => (b - a) as f64,
        _ => wall_ns,
    };
    let per_call = elapsed_ns / 1e3 / f64::from(calls);
    // Wall-clock is printed too: on a loaded machine it shows how much the scheduler took away.
    let wall_per_call = wall_ns / 1e3 / f64::from(calls);
    println!(
        "mutate {name}: {per_call:.1} µs/call ({calls} calls; wall {wall_per_call:.1} µs/call)"
    );
}

fn main() {
    let text = std::fs::read_to_string(FIXTURE).unwrap_or_else(|e| panic!("{FIXTURE}: {e}"));
    let webapp: Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{FIXTURE}: {e}"));
    let settings = InjectorSettings {
        vault_address: "https://vault.vault.svc:8200".to_owned(),
        ..InjectorSettings::default()
    };
    bench("webapp", &webapp, &settings, false);
    bench("webapp", &webapp, &settings, true);

    let mut many = webapp.clone();
    if let Some(ann) = many
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        for i in 0..20 {
            ann.insert(
                format!("vault.hashicorp.com/agent-inject-secret-s{i}"),
                Value::String(format!("secret/data/app/s{i}")),
            );
            ann.insert(
                format!("vault.hashicorp.com/agent-inject-template-s{i}"),
                Value::String(format!("{{{{- with secret \"secret/data/app/s{i}\" -}}}}{{{{ .Data.data.value }}}}{{{{- end }}}}")),
            );
        }
    }
    bench("20-secrets", &many, &settings, false);
    bench("20-secrets", &many, &settings, true);
}
