//! Per-call cost of `mutate` on the admitted `webapp` pod and on a 20-secret variant, alone and
//! followed by `patch_to_json` (what the webhook does per admission before base64 and the HTTP
//! response). The `webhook` scenarios start from the AdmissionReview body bytes, as `/mutate`
//! does: `webhook` decodes it as the handler does (only the pod's read members, borrowed from the
//! body), `webhook-whole` decodes the whole review into a `serde_json::Value` first; both then
//! run `mutate` and `patch_to_json`. `webhook-decode` is the handler's decode alone
//! (its fast path), `webhook-serde-decode` the same by serde alone (the fallback), and the
//! `webhook-compact-…` pair the same on the compact text an API server sends. Plain std::time loop (no criterion); prints `mutate <scenario>: <µs>/call (<N>
//! calls)`. Arguments that are not flags select scenarios by substring (`cargo bench -p vk-inject
//! --bench mutate -- webapp`).
//!
//! The figure is on-CPU time of the benchmark thread (Linux `/proc/thread-self/schedstat`), so a
//! busy shared machine does not inflate it; where that file is missing, wall-clock time is used.
#![allow(clippy::disallowed_methods)] // Test code, not the pure library: benchmarks time themselves.

use std::hint::black_box;
use std::time::{Duration, Instant};

use std::borrow::Cow;

use std::fmt;

use bumpalo::Bump;
use serde::Deserialize;
use serde::de::{DeserializeSeed, Deserializer, IgnoredAny, MapAccess, Visitor};
use serde_json::Value;
use vk_inject::fastscan::Scanner;
use vk_inject::{AdmittedPod, Decision, InjectorSettings, mutate, mutate_admitted, patch_to_json};

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

/// The members of an AdmissionReview the webhook's handler decodes (`vk_injector::admission`,
/// whose hand-written seed this follows for the well-formed bodies timed here): strings
/// borrowed from the body, the pod's tree in a per-request arena.
#[derive(Default)]
struct Review<'a> {
    kind: Cow<'a, str>,
    api_version: Cow<'a, str>,
    request: Option<Request<'a>>,
}

#[derive(Default)]
struct Request<'a> {
    uid: Cow<'a, str>,
    namespace: Cow<'a, str>,
    operation: Cow<'a, str>,
    object: AdmittedPod<'a>,
}

struct ReviewSeed<'a>(&'a Bump);

impl<'de: 'a, 'a> DeserializeSeed<'de> for ReviewSeed<'a> {
    type Value = Review<'a>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Review<'a>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for ReviewSeed<'a> {
    type Value = Review<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct ReviewIn")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Review<'a>, A::Error> {
        let mut review = Review::default();
        while let Some(Borrowed(key)) = map.next_key::<Borrowed<'de>>()? {
            match &*key {
                "kind" => review.kind = map.next_value::<Borrowed<'de>>()?.0,
                "apiVersion" => review.api_version = map.next_value::<Borrowed<'de>>()?.0,
                "request" => review.request = Some(map.next_value_seed(RequestSeed(self.0))?),
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(review)
    }
}

struct RequestSeed<'a>(&'a Bump);

impl<'de: 'a, 'a> DeserializeSeed<'de> for RequestSeed<'a> {
    type Value = Request<'a>;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Request<'a>, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de: 'a, 'a> Visitor<'de> for RequestSeed<'a> {
    type Value = Request<'a>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("struct Request")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Request<'a>, A::Error> {
        let mut req = Request::default();
        while let Some(Borrowed(key)) = map.next_key::<Borrowed<'de>>()? {
            match &*key {
                "uid" => req.uid = map.next_value::<Borrowed<'de>>()?.0,
                "namespace" => req.namespace = map.next_value::<Borrowed<'de>>()?.0,
                "operation" => req.operation = map.next_value::<Borrowed<'de>>()?.0,
                "object" => req.object = map.next_value_seed(AdmittedPod::seed(self.0))?,
                _ => {
                    map.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(req)
    }
}

/// A string borrowed from the body unless it carries escapes.
#[derive(Deserialize)]
struct Borrowed<'a>(#[serde(borrow)] Cow<'a, str>);

/// The arena as the handler sizes it per request.
fn arena_for(body: &[u8]) -> Bump {
    Bump::with_capacity(AdmittedPod::arena_capacity(body.len()))
}

/// Prints how much of the arena one decode of `body` uses, and how many chunks the handler's
/// sizing ends up with (one: no chunk added while decoding).
fn arena_use(name: &str, body: &[u8]) {
    if !selected(name) {
        return;
    }
    let mut grown = Bump::new();
    drop(decode_review(body, &grown));
    let used: usize = grown.iter_allocated_chunks().map(<[_]>::len).sum();
    let mut sized = arena_for(body);
    drop(decode_review(body, &sized));
    let chunks = sized.iter_allocated_chunks().count();
    println!(
        "{name}: body {} B, tree {used} B ({:.2} of the body); sized arena: {chunks} chunk(s)",
        body.len(),
        used as f64 / body.len() as f64
    );
}

/// Decodes the review body as the handler does: the fast path (`vk_inject::fastscan`, the
/// envelope walked as `vk_injector`'s `admission/decode/fast.rs` walks it), serde when it
/// does not handle the body.
fn decode_review<'a>(body: &'a [u8], arena: &'a Bump) -> Review<'a> {
    if let Ok(text) = std::str::from_utf8(body)
        && let Some(review) = fast_review(text, arena)
    {
        return review;
    }
    decode_review_by_serde(body, arena)
}

/// The handler's fast path (each field taken once; anything else left to serde).
fn fast_review<'a>(text: &'a str, arena: &'a Bump) -> Option<Review<'a>> {
    let mut scan = Scanner::new(text, arena);
    let mut review = Review::default();
    scan.object(|scan, key| {
        match key {
            "kind" => review.kind = scan.string()?,
            "apiVersion" => review.api_version = scan.string()?,
            "request" if !scan.null()? => {
                let mut req = Request::default();
                scan.object(|scan, key| {
                    match key {
                        "uid" => req.uid = scan.string()?,
                        "kind" => scan.object(|scan, key| match key {
                            "kind" => scan.string().map(|kind| drop(black_box(kind))),
                            _ => scan.skip_value(),
                        })?,
                        "namespace" => req.namespace = scan.string()?,
                        "operation" => req.operation = scan.string()?,
                        "object" => req.object = scan.pod()?,
                        _ => scan.skip_value()?,
                    }
                    Some(())
                })?;
                review.request = Some(req);
            }
            _ => scan.skip_value()?,
        }
        Some(())
    })?;
    scan.end()?;
    Some(review)
}

/// Decodes the review body by serde alone, as the handler's fallback does (the body checked
/// as UTF-8 once, then decoded from the `str`).
fn decode_review_by_serde<'a>(body: &'a [u8], arena: &'a Bump) -> Review<'a> {
    let text = std::str::from_utf8(body).unwrap_or_else(|e| panic!("{e}"));
    let mut de = serde_json::Deserializer::from_str(text);
    ReviewSeed(arena)
        .deserialize(&mut de)
        .and_then(|r| de.end().map(|()| r))
        .unwrap_or_else(|e| panic!("{e}"))
}

/// A review as the API server sends it, around `pod`.
fn review_body(pod: &str) -> Vec<u8> {
    format!(
        r#"{{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{{"uid":"0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0","kind":{{"group":"","version":"v1","kind":"Pod"}},"resource":{{"group":"","version":"v1","resource":"pods"}},"requestKind":{{"group":"","version":"v1","kind":"Pod"}},"requestResource":{{"group":"","version":"v1","resource":"pods"}},"namespace":"default","operation":"CREATE","userInfo":{{"username":"system:serviceaccount:kube-system:replicaset-controller","uid":"5d3c2b1a-0f9e-8d7c-6b5a-493827161504","groups":["system:serviceaccounts","system:serviceaccounts:kube-system","system:authenticated"]}},"object":{pod},"oldObject":null,"dryRun":false,"options":{{"kind":"CreateOptions","apiVersion":"meta.k8s.io/v1"}}}}}}"#
    )
    .into_bytes()
}

/// The webhook's path from the body: decode, decide, and the patch text when `run` is set.
fn webhook_once(body: &[u8], settings: &InjectorSettings, run: bool) -> usize {
    let arena = arena_for(body);
    let review = decode_review(black_box(body), &arena);
    let Some(req) = &review.request else {
        panic!("no request");
    };
    black_box((&review.kind, &review.api_version, &req.uid, &req.operation));
    if !run {
        black_box(&req.object);
        return req.namespace.len();
    }
    match mutate_admitted(&req.object, &req.namespace, settings) {
        Decision::Inject { patch, .. } => black_box(patch_to_json(&patch)).len(),
        other => panic!("did not inject: {other:?}"),
    }
}

/// The handler's decode of `body` by serde alone.
fn serde_decode_once(body: &[u8]) -> usize {
    let arena = arena_for(body);
    let review = decode_review_by_serde(black_box(body), &arena);
    black_box(&review.request.as_ref().map(|r| &r.object));
    review.kind.len()
}

/// The same from a whole `serde_json::Value` of the review.
fn webhook_whole_once(body: &[u8], settings: &InjectorSettings) -> usize {
    let review: Value = serde_json::from_slice(black_box(body)).unwrap_or_else(|e| panic!("{e}"));
    let namespace = review["request"]["namespace"].as_str().unwrap_or("");
    match mutate(&review["request"]["object"], namespace, settings) {
        Decision::Inject { patch, .. } => black_box(patch_to_json(&patch)).len(),
        other => panic!("did not inject: {other:?}"),
    }
}

fn selected(name: &str) -> bool {
    let filters: Vec<String> = std::env::args()
        .skip(1)
        .filter(|a| !a.starts_with('-'))
        .collect();
    filters.is_empty() || filters.iter().any(|f| name.contains(f.as_str()))
}

fn bench(name: &str, pod: &Value, settings: &InjectorSettings, json: bool) {
    let name = if json {
        format!("{name}+json")
    } else {
        name.to_owned()
    };
    if !selected(&name) {
        return;
    }
    // Sanity: the scenario must really inject, otherwise we would time a skip.
    assert!(
        matches!(mutate(pod, "default", settings), Decision::Inject { .. }),
        "{name} did not inject"
    );
    time(&name, || once(pod, settings, json));
}

/// Runs `f` for about two seconds and prints its on-CPU time per call.
fn time(name: &str, mut f: impl FnMut() -> usize) {
    for _ in 0..200 {
        black_box(f());
    }
    let budget = Duration::from_secs(2);
    let start = Instant::now();
    let cpu_start = cpu_ns();
    let mut calls: u32 = 0;
    while start.elapsed() < budget {
        for _ in 0..100 {
            black_box(f());
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

    let body = review_body(&text);
    arena_use("arena-webhook", &body);
    // The timed decode must be the fast path, not its fallback.
    let arena = Bump::new();
    let text = std::str::from_utf8(&body).unwrap_or_else(|e| panic!("{e}"));
    assert!(
        fast_review(text, &arena).is_some(),
        "the fast path does not handle the bench's review"
    );
    if selected("webhook-decode") {
        time("webhook-decode", || webhook_once(&body, &settings, false));
    }
    // The same decode by serde alone (the fast path's fallback), and both on the compact
    // text an API server sends (the fixture is pretty-printed).
    if selected("webhook-serde-decode") {
        time("webhook-serde-decode", || serde_decode_once(&body));
    }
    let compact = review_body(&webapp.to_string());
    if selected("webhook-compact-decode") {
        time("webhook-compact-decode", || {
            webhook_once(&compact, &settings, false)
        });
    }
    if selected("webhook-compact-serde-decode") {
        time("webhook-compact-serde-decode", || {
            serde_decode_once(&compact)
        });
    }
    if selected("webhook+json") {
        time("webhook+json", || webhook_once(&body, &settings, true));
    }
    if selected("webhook-whole+json") {
        time("webhook-whole+json", || {
            webhook_whole_once(&body, &settings)
        });
    }

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
    arena_use("arena-20-secrets", &review_body(&many.to_string()));
    bench("20-secrets", &many, &settings, false);
    bench("20-secrets", &many, &settings, true);
}
