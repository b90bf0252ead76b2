use axum::body::Body;
use axum::http::{Method, Request, StatusCode};
use base64::Engine as _;
use http_body_util::BodyExt as _;
use prometheus::Registry;
use serde_json::{Value, json};
use tower::ServiceExt as _;

use super::*;

struct Harness {
    registry: Registry,
    state: AppState,
}

fn harness() -> Harness {
    let registry = Registry::new();
    let metrics = InjectorMetrics::register(&registry).expect("register");
    let settings = InjectorSettings {
        vault_address: "https://vault:8200".into(),
        vault_auth_path: "kubernetes".into(),
        vault_image: "vault".into(),
        ..InjectorSettings::default()
    };
    let state = AppState::new(
        settings,
        metrics,
        Some(("/metrics".into(), registry.clone())),
    );
    Harness { registry, state }
}

// Pod PH of spec §7.0.
fn pod(annotations: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "foo", "annotations": annotations},
        "spec": {
            "initContainers": [{"name": "web-init", "volumeMounts": [{"name": "foobar", "mountPath": "serviceaccount/somewhere"}]}],
            "containers": [{"name": "web", "volumeMounts": [{"name": "foobar", "mountPath": "serviceaccount/somewhere"}]}]
        }
    })
}

fn review(api_version: &str, namespace: &str, object: Value) -> Vec<u8> {
    serde_json::to_vec(&json!({
        "kind": "AdmissionReview",
        "apiVersion": api_version,
        "request": {
            "uid": "0a1b2c",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "namespace": namespace,
            "operation": "CREATE",
            "object": object
        }
    }))
    .expect("json")
}

async fn call(
    h: &Harness,
    method: Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> (StatusCode, HeaderMap, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(path);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let resp = router(h.state.clone())
        .oneshot(req.body(Body::from(body)).expect("request"))
        .await
        .expect("infallible");
    let status = resp.status();
    let headers = resp.headers().clone();
    let bytes = resp
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    (status, headers, bytes)
}

async fn post_review(h: &Harness, body: Vec<u8>) -> Value {
    let (status, headers, bytes) = call(
        h,
        Method::POST,
        "/mutate?timeout=10s",
        Some("application/json"),
        body,
    )
    .await;
    assert_eq!(
        status,
        StatusCode::OK,
        "{}",
        String::from_utf8_lossy(&bytes)
    );
    assert_eq!(headers["content-type"], "application/json");
    serde_json::from_slice(&bytes).expect("json response")
}

fn text(bytes: &[u8]) -> &str {
    std::str::from_utf8(bytes).expect("utf-8")
}

fn scrape(h: &Harness) -> String {
    String::from_utf8(vk_telemetry::encode_text(&h.registry).expect("encode")).expect("utf-8")
}

#[tokio::test]
async fn wrong_content_type_is_400() {
    // Case 20.
    let h = harness();
    let (status, headers, body) =
        call(&h, Method::POST, "/mutate", Some("text/plain"), vec![]).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(text(&body), "Invalid content-type: \"text/plain\"\n");
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    let (_, _, body) = call(&h, Method::POST, "/mutate", None, vec![]).await;
    assert_eq!(text(&body), "Invalid content-type: \"\"\n");
    let (status, _, body) = call(
        &h,
        Method::POST,
        "/mutate",
        Some("application/json; charset=utf-8"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        text(&body),
        "Invalid content-type: \"application/json; charset=utf-8\"\n"
    );
}

#[tokio::test]
async fn empty_body_is_400() {
    // Case 21.
    let h = harness();
    let (status, _, body) = call(
        &h,
        Method::POST,
        "/mutate",
        Some("application/json"),
        vec![],
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(text(&body), "Empty request body\n");
}

#[tokio::test]
async fn undecodable_body_is_500_and_missing_request_is_400() {
    let h = harness();
    let (status, _, body) = call(
        &h,
        Method::POST,
        "/mutate",
        Some("application/json"),
        b"{not json".to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert!(
        text(&body).starts_with("error decoding admission request: "),
        "{}",
        text(&body)
    );
    let (status, _, body) = call(
        &h,
        Method::POST,
        "/mutate",
        Some("application/json"),
        br#"{"kind":"AdmissionReview"}"#.to_vec(),
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(
        text(&body),
        "error decoding admission request: missing request\n"
    );
    // The server is still answering after bad input.
    let (status, _, _) = call(&h, Method::GET, "/health/ready", None, vec![]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
}

#[tokio::test]
async fn v1beta1_injection_is_echoed() {
    // Case 22.
    let h = harness();
    let annotations =
        json!({"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "demo"});
    let out = post_review(
        &h,
        review("admission.k8s.io/v1beta1", "test", pod(annotations)),
    )
    .await;
    assert_eq!(out["apiVersion"], "admission.k8s.io/v1beta1");
    assert_eq!(out["kind"], "AdmissionReview");
    assert_eq!(out["response"]["uid"], "0a1b2c");
    assert_eq!(out["response"]["allowed"], true);
    assert_eq!(out["response"]["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(out["response"]["patch"].as_str().expect("patch string"))
        .expect("standard base64");
    let ops: Vec<Value> = serde_json::from_slice(&patch).expect("json patch");
    let paths: Vec<&str> = ops.iter().filter_map(|op| op["path"].as_str()).collect();
    // Case 10's op list.
    assert_eq!(
        paths,
        [
            "/spec/volumes",
            "/spec/volumes/-",
            "/spec/volumes",
            "/spec/containers/0/volumeMounts/-",
            "/spec/initContainers/-",
            "/spec/initContainers/0/volumeMounts/-",
            "/spec/containers/-",
            "/metadata/annotations/vault.hashicorp.com~1agent-inject-status"
        ]
    );
}

#[tokio::test]
async fn response_key_order_is_upstreams() {
    let h = harness();
    let annotations =
        json!({"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "demo"});
    let (_, _, body) = call(
        &h,
        Method::POST,
        "/mutate",
        Some("application/json"),
        review("admission.k8s.io/v1", "test", pod(annotations)),
    )
    .await;
    let body = text(&body);
    assert!(
        body.starts_with(r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"0a1b2c","allowed":true,"patch":""#),
        "{body}"
    );
    assert!(body.ends_with(r#"","patchType":"JSONPatch"}}"#), "{body}");

    let (_, _, body) = call(
        &h,
        Method::POST,
        "/mutate",
        Some("application/json"),
        review("admission.k8s.io/v1", "test", pod(json!({}))),
    )
    .await;
    assert_eq!(
        text(&body),
        r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","response":{"uid":"0a1b2c","allowed":true}}"#
    );
}

#[tokio::test]
async fn unparsable_agent_inject_is_denied() {
    // Case 23.
    let h = harness();
    let out = post_review(
        &h,
        review(
            "admission.k8s.io/v1",
            "test",
            pod(json!({"vault.hashicorp.com/agent-inject": "yes"})),
        ),
    )
    .await;
    assert_eq!(
        out["response"],
        json!({
            "uid": "0a1b2c",
            "allowed": false,
            "status": {"metadata": {}, "message": "error checking if should inject agent: cannot parse '' as bool: strconv.ParseBool: parsing \"yes\": invalid syntax"}
        })
    );
}

#[tokio::test]
async fn bad_annotations_system_namespaces_and_non_pods_are_denied() {
    let h = harness();
    let out = post_review(
        &h,
        review(
            "admission.k8s.io/v1",
            "foo",
            pod(json!({"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "demo", "vault.hashicorp.com/agent-inject-default-template": "foobar"})),
        ),
    )
    .await;
    assert_eq!(out["response"]["allowed"], false);
    assert_eq!(
        out["response"]["status"]["message"],
        "error creating new agent sidecar: invalid default template type: foobar"
    );

    let out = post_review(
        &h,
        review("admission.k8s.io/v1", "kube-system", pod(json!({"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "demo"}))),
    )
    .await;
    assert_eq!(
        out["response"]["status"]["message"],
        "error with request namespace: cannot inject into system namespaces: kube-system"
    );

    let out = post_review(
        &h,
        review("admission.k8s.io/v1", "test", json!("not a pod")),
    )
    .await;
    assert_eq!(out["response"]["allowed"], false);
    assert!(
        out["response"]["status"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty()),
        "{out}"
    );
}

#[tokio::test]
async fn health_follows_the_readiness_source() {
    let mut h = harness();
    let (ready, rx) = tokio::sync::watch::channel(false);
    h.state = h
        .state
        .clone()
        .with_readiness(Readiness::from_watch(rx, "no serving certificate yet"));
    for method in [Method::GET, Method::POST] {
        let (status, headers, body) = call(&h, method, "/health/ready", None, vec![]).await;
        assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
        assert_eq!(text(&body), "not ready: no serving certificate yet\n");
        assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    }
    // Admission keeps working; only the probe reflects readiness.
    let (status, _, _) = call(&h, Method::GET, "/nope", None, vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    ready.send_replace(true);
    let (status, _, body) = call(&h, Method::GET, "/health/ready", None, vec![]).await;
    assert_eq!(status, StatusCode::NO_CONTENT);
    assert!(body.is_empty());
}

#[tokio::test]
async fn health_and_unknown_paths() {
    // Case 24.
    let h = harness();
    for method in [Method::GET, Method::POST, Method::HEAD] {
        let (status, _, body) = call(&h, method, "/health/ready", None, vec![]).await;
        assert_eq!(status, StatusCode::NO_CONTENT);
        assert!(body.is_empty());
    }
    let (status, _, body) = call(&h, Method::GET, "/nope", None, vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(text(&body), "404 page not found\n");
    let (status, _, _) = call(&h, Method::GET, "/mutate/", None, vec![]).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn injections_are_counted_by_type() {
    // Case 81.
    let h = harness();
    let base = |extra: Value| {
        let mut a =
            json!({"vault.hashicorp.com/agent-inject": "true", "vault.hashicorp.com/role": "demo"});
        a.as_object_mut()
            .expect("object")
            .extend(extra.as_object().expect("object").clone());
        pod(a)
    };
    post_review(
        &h,
        review(
            "admission.k8s.io/v1",
            "init",
            base(json!({"vault.hashicorp.com/agent-pre-populate-only": "true"})),
        ),
    )
    .await;
    post_review(
        &h,
        review(
            "admission.k8s.io/v1",
            "sidecar",
            base(json!({"vault.hashicorp.com/agent-pre-populate": "false"})),
        ),
    )
    .await;
    post_review(&h, review("admission.k8s.io/v1", "both", base(json!({})))).await;
    post_review(&h, review("admission.k8s.io/v1", "both", base(json!({})))).await;
    post_review(
        &h,
        review(
            "admission.k8s.io/v1",
            "nothing",
            base(json!({"vault.hashicorp.com/agent-pre-populate": "false", "vault.hashicorp.com/agent-pre-populate-only": "true"})),
        ),
    )
    .await;
    let text = scrape(&h);
    let metric = "vault_agent_injector_injections_by_namespace_total";
    assert!(
        text.contains(&format!(
            "{metric}{{injection_type=\"init_only\",namespace=\"init\"}} 1\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{metric}{{injection_type=\"sidecar_only\",namespace=\"sidecar\"}} 1\n"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{metric}{{injection_type=\"init_and_sidecar\",namespace=\"both\"}} 2\n"
        )),
        "{text}"
    );
    assert!(!text.contains("namespace=\"nothing\""), "{text}");
    assert!(
        text.contains("vault_agent_injector_request_processing_duration_ms_count 5\n"),
        "{text}"
    );
    assert!(
        text.contains("vault_agent_injector_request_queue_length 0\n"),
        "{text}"
    );
}

#[tokio::test]
async fn failures_count_denials_but_not_http_errors() {
    // Case 82.
    let h = harness();
    post_review(
        &h,
        review(
            "admission.k8s.io/v1",
            "x",
            pod(json!({"vault.hashicorp.com/agent-inject": "yes"})),
        ),
    )
    .await;
    call(&h, Method::POST, "/mutate", Some("text/plain"), vec![]).await;
    call(
        &h,
        Method::POST,
        "/mutate",
        Some("application/json"),
        b"[".to_vec(),
    )
    .await;
    let text = scrape(&h);
    assert!(
        text.contains(
            "vault_agent_injector_failed_injections_by_namespace_total{namespace=\"x\"} 1\n"
        ),
        "{text}"
    );
    assert_eq!(
        text.matches("vault_agent_injector_failed_injections_by_namespace_total{")
            .count(),
        1,
        "{text}"
    );
    assert!(
        text.contains("vault_agent_injector_request_processing_duration_ms_count 3\n"),
        "{text}"
    );
    assert!(
        text.contains("vault_agent_injector_request_processing_duration_ms_bucket{le=\"5\"} 3\n"),
        "{text}"
    );
}

#[tokio::test]
async fn telemetry_path_serves_text_format() {
    let h = harness();
    let (status, headers, body) = call(&h, Method::GET, "/metrics", None, vec![]).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        headers["content-type"]
            .to_str()
            .is_ok_and(|v| v.starts_with("text/plain; version=0.0.4"))
    );
    let body = text(&body);
    assert!(body.contains("# HELP vault_agent_injector_request_queue_length Count of webhook requests in the injector's queue\n"));
    assert!(
        body.contains("# TYPE vault_agent_injector_request_processing_duration_ms histogram\n")
    );
}

#[test]
fn go_quote_escapes_like_go() {
    assert_eq!(go_quote(b"text/plain"), r#""text/plain""#);
    assert_eq!(go_quote(b"a\"b\\c\n\x01"), r#""a\"b\\c\n\x01""#);
    assert_eq!(go_quote(b"\xff\xfe"), r#""\xff\xfe""#);
    assert_eq!(go_quote("é".as_bytes()), "\"é\"");
}

#[tokio::test]
async fn unsupported_agent_features_are_admission_warnings() {
    let h = harness();
    // Our agent (native command) asked to log in with AWS: allowed, with a warning.
    let annotations = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "demo",
        "vault.hashicorp.com/agent-command-style": "native",
        "vault.hashicorp.com/auth-type": "aws"
    });
    let out = post_review(&h, review("admission.k8s.io/v1", "test", pod(annotations))).await;
    assert_eq!(out["response"]["allowed"], true);
    assert_eq!(out["response"]["patchType"], "JSONPatch");
    let warnings = out["response"]["warnings"]
        .as_array()
        .expect("warnings array");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].as_str().expect("string");
    assert!(
        w.starts_with(
            "vault.hashicorp.com/auth-type: auth method \"aws\" is not supported by vault-k8s agent"
        ),
        "{w}"
    );
    assert!(w.ends_with(vk_inject::USE_UPSTREAM), "{w}");

    // The same pod on upstream's agent (shell command): no warnings key at all.
    let annotations = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "demo",
        "vault.hashicorp.com/auth-type": "aws"
    });
    let (_, _, body) = call(
        &h,
        Method::POST,
        "/mutate",
        Some("application/json"),
        review("admission.k8s.io/v1", "test", pod(annotations)),
    )
    .await;
    let body = text(&body);
    assert!(!body.contains("warnings"), "{body}");
    assert!(body.ends_with(r#"","patchType":"JSONPatch"}}"#), "{body}");
}

#[tokio::test]
async fn oversized_bodies_are_413_and_the_limit_itself_is_read() {
    let h = harness();
    let too_big = vec![b' '; MAX_BODY_BYTES + 1];
    // Without a declared length: the body is read up to the limit, then refused.
    let (status, headers, bytes) = call(
        &h,
        Method::POST,
        "/mutate",
        Some("application/json"),
        too_big.clone(),
    )
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(headers["content-type"], "text/plain; charset=utf-8");
    assert!(text(&bytes).contains("3145728 bytes"), "{}", text(&bytes));

    // With a declared length over the limit: refused before reading the body.
    let req = Request::builder()
        .method(Method::POST)
        .uri("/mutate")
        .header("content-type", "application/json")
        .header("content-length", (MAX_BODY_BYTES + 1).to_string())
        .body(Body::from(too_big))
        .expect("request");
    let resp = router(h.state.clone())
        .oneshot(req)
        .await
        .expect("infallible");
    assert_eq!(resp.status(), StatusCode::PAYLOAD_TOO_LARGE);

    // A review padded to exactly the limit is still read and answered.
    let mut at_limit = review("admission.k8s.io/v1", "default", pod(json!({})));
    at_limit.resize(MAX_BODY_BYTES, b' ');
    let out = post_review(&h, at_limit).await;
    assert_eq!(out["response"]["allowed"], true);
}

/// Issue [9]: a template that does not parse is an admission warning naming the annotation,
/// line and column; with `agent-deny-template-errors` the pod is denied; a correct pod gets none.
#[tokio::test]
async fn template_parse_errors_are_warnings_or_denials() {
    let h = harness();
    let broken = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "demo",
        "vault.hashicorp.com/agent-inject-template-db": "a\n{{ .Data.x }"
    });
    let out = post_review(
        &h,
        review("admission.k8s.io/v1", "test", pod(broken.clone())),
    )
    .await;
    assert_eq!(out["response"]["allowed"], true);
    let warnings = out["response"]["warnings"].as_array().expect("warnings");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = warnings[0].as_str().expect("string");
    assert!(
        w.starts_with(
            "vault.hashicorp.com/agent-inject-template-db: template does not parse: line 2, column "
        ),
        "{w}"
    );

    let mut denied = broken;
    denied["vault.hashicorp.com/agent-deny-template-errors"] = json!("true");
    let out = post_review(&h, review("admission.k8s.io/v1", "test", pod(denied))).await;
    assert_eq!(out["response"]["allowed"], false);
    let message = out["response"]["status"]["message"]
        .as_str()
        .expect("message");
    assert!(
        message.contains(
            "vault.hashicorp.com/agent-inject-template-db: template does not parse: line 2"
        ),
        "{message}"
    );

    let good = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "demo",
        "vault.hashicorp.com/agent-inject-template-db": "a\n{{ .Data.x }}"
    });
    let out = post_review(&h, review("admission.k8s.io/v1", "test", pod(good))).await;
    assert_eq!(out["response"]["allowed"], true);
    assert!(out["response"].get("warnings").is_none(), "{out}");
}

/// The handler decodes the pod straight from the body (borrowed, pruned); its patch must be
/// byte for byte the one the engine makes from the whole decoded object, also for text a
/// `serde_json::Value` would normalise: escapes, repeated keys, odd numbers, copied values.
#[tokio::test]
async fn the_body_decode_gives_the_whole_object_s_patch() {
    let h = harness();
    let body = r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{
        "uid":"u\u0031","kind":{"kind":"Pod"},"namespace":"de\u0066ault","operation":"CREATE",
        "object":{"kind":"Pod","metadata":{"name":"p","annotations":{"x":"dropped"}},
          "metadata":{"name":"w\u00e9b","annotations":{
            "vault.hashicorp.com/agent-inject":"false",
            "vault.hashicorp.com/agent-inject":"true",
            "vault.hashicorp.com/role":"r\"<&>\u2028",
            "vault.hashicorp.com/agent-init-first":"true",
            "vault.hashicorp.com/agent-copy-volume-mounts":"web",
            "vault.hashicorp.com/agent-inject-secret-d\u0062":"secret/data/db",
            "vault.hashicorp.com/agent-inject-template-db":"{{ with secret \"secret/data/db\" }}\n{{ end }}"}},
          "spec":{"ignored":[1,{"a":[]}],
            "initContainers":[{"name":"init","image":"busybox","args":["a\tb","\u003c"],
              "resources":{"limits":{"cpu":1.0,"memory":1e3}},"n":[-0,0.5,18446744073709551615,-9223372036854775808,1.5e-7,1E21],
              "name":"init-2","securityContext":{"runAsUser":7,"runAsUser":8}}],
            "containers":[{"name":"web","image":"x","volumeMounts":[
              {"name":"sa","readOnly":true,"mountPath":"/var/run/secrets/kubernetes.io/serviceaccount"},
              {"name":"data","mountPath":"/d\u0061ta","recursiveReadOnly":"IfPossible","subPath":"s","readOnly":false,"readOnly":true}]}],
            "volumes":[{"name":"sa","projected":{"sources":[{"serviceAccountToken":{"path":"token"}}]}},{"name":"data","emptyDir":{}}]},
          "status":{"phase":"Pending"}}}}"#;
    let whole: Value = serde_json::from_str(body).expect("the body is JSON");
    let settings = &h.state.settings;
    let vk_inject::Decision::Inject { patch, .. } =
        vk_inject::mutate(&whole["request"]["object"], "default", settings)
    else {
        panic!("the whole object is not injected");
    };
    let want = vk_inject::patch_to_json(&patch);
    let out = post_review(&h, body.as_bytes().to_vec()).await;
    assert_eq!(out["response"]["uid"], "u1");
    let got = base64::engine::general_purpose::STANDARD
        .decode(out["response"]["patch"].as_str().expect("patch string"))
        .expect("standard base64");
    assert_eq!(text(&got), text(&want));
    // The copied values are really in it (the init container written back whole, a repeated
    // key in its first place with its last value).
    for piece in [
        r#""n":[-0,0.5,18446744073709551615,-9223372036854775808,1.5e-7,1e+21]"#,
        r#""limits":{"cpu":1,"memory":1000}"#,
        r#"{"name":"init-2","image":"busybox","#,
        r#""securityContext":{"runAsUser":8}}"#,
        r#""recursiveReadOnly":"IfPossible""#,
    ] {
        assert!(text(&got).contains(piece), "{piece} not in {}", text(&got));
    }
}
