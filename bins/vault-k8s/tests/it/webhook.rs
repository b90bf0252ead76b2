//! End-to-end admission over HTTPS with the seed fixtures; health, 404 and metrics.

use base64::Engine as _;
use k8s_openapi::api::core::v1::Pod;
use serde_json::{Value, json};

use crate::support::{CertDir, Pki, Server, client_config, fixture, request, review};

/// What the ServiceAccount admission plugin adds before webhooks run.
fn with_token_volume(mut pod: Value) -> Value {
    let volume = json!({"name": "kube-api-access-abcde", "projected": {"sources": [
        {"serviceAccountToken": {"expirationSeconds": 3607, "path": "token"}},
        {"configMap": {"name": "kube-root-ca.crt", "items": [{"key": "ca.crt", "path": "ca.crt"}]}},
        {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.namespace"}}]}}
    ]}});
    let mount = json!({"name": "kube-api-access-abcde", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"});
    pod["spec"]["volumes"] = json!([volume]);
    for c in pod["spec"]["containers"]
        .as_array_mut()
        .expect("containers")
    {
        c["volumeMounts"] = json!([mount]);
    }
    pod
}

fn template_pod(deployment_yaml: &str) -> Value {
    let deployment: Value = serde_norway::from_str(deployment_yaml).expect("deployment yaml");
    let template = &deployment["spec"]["template"];
    json!({"apiVersion": "v1", "kind": "Pod", "metadata": template["metadata"], "spec": template["spec"]})
}

async fn admit(server: &Server, ca: &str, pod: &Value, namespace: &str) -> Pod {
    let config = client_config(ca);
    let reply = request(
        &config,
        server.addr,
        "POST",
        "/mutate?timeout=10s",
        Some("application/json"),
        review(pod, namespace, "uid-1"),
    )
    .await
    .expect("request");
    assert_eq!(
        reply.status,
        200,
        "{}",
        String::from_utf8_lossy(&reply.body)
    );
    assert_eq!(reply.content_type, "application/json");
    let out: Value = serde_json::from_slice(&reply.body).expect("review json");
    assert_eq!(out["response"]["uid"], "uid-1");
    assert_eq!(out["response"]["allowed"], true, "{out}");
    assert_eq!(out["response"]["patchType"], "JSONPatch");
    let patch = base64::engine::general_purpose::STANDARD
        .decode(out["response"]["patch"].as_str().expect("patch"))
        .expect("base64");
    let patch: json_patch::Patch = serde_json::from_slice(&patch).expect("json patch");
    let mut doc = pod.clone();
    json_patch::patch(&mut doc, &patch.0).expect("patch applies");
    serde_json::from_value(doc).expect("a valid Pod")
}

fn names(containers: Option<&Vec<k8s_openapi::api::core::v1::Container>>) -> Vec<String> {
    containers
        .into_iter()
        .flatten()
        .map(|c| c.name.clone())
        .collect()
}

#[tokio::test]
async fn fixtures_are_injected_over_https() {
    let pki = Pki::new();
    let certs = CertDir::new(&pki.leaf("webhook"));
    let server = Server::start(&certs, &["2>&1"]);

    let admitted: Value =
        serde_json::from_str(&fixture("webapp-pod-admitted.json")).expect("fixture json");
    let pod = admit(&server, &pki.ca_pem, &admitted, "default").await;
    let spec = pod.spec.expect("spec");
    assert_eq!(names(spec.init_containers.as_ref()), ["vault-agent-init"]);
    assert_eq!(names(Some(&spec.containers)), ["webapp", "vault-agent"]);

    let user_pod: Value =
        serde_norway::from_str(&fixture("webapp-pod.yaml")).expect("fixture yaml");
    let pod = admit(
        &server,
        &pki.ca_pem,
        &with_token_volume(user_pod),
        "default",
    )
    .await;
    let spec = pod.spec.expect("spec");
    assert_eq!(names(spec.init_containers.as_ref()), ["vault-agent-init"]);
    assert_eq!(names(Some(&spec.containers)), ["webapp", "vault-agent"]);
    let agent = spec
        .containers
        .iter()
        .find(|c| c.name == "vault-agent")
        .expect("agent");
    assert!(
        agent
            .volume_mounts
            .iter()
            .flatten()
            .any(|m| m.mount_path == "/var/run/secrets/kubernetes.io/serviceaccount"),
        "the agent mounts the service-account token"
    );

    let pod = admit(
        &server,
        &pki.ca_pem,
        &with_token_volume(template_pod(&fixture("app-deployment.yaml"))),
        "app-ns",
    )
    .await;
    let spec = pod.spec.expect("spec");
    assert_eq!(names(spec.init_containers.as_ref()), ["vault-agent-init"]);
    assert_eq!(names(Some(&spec.containers)), ["app", "vault-agent"]);
    let status = pod
        .metadata
        .annotations
        .as_ref()
        .and_then(|a| a.get("vault.hashicorp.com/agent-inject-status"))
        .cloned();
    assert_eq!(status.as_deref(), Some("injected"));
}

#[tokio::test]
async fn health_404_and_metrics_over_https() {
    let pki = Pki::new();
    let certs = CertDir::new(&pki.leaf("webhook"));
    let server = Server::start(&certs, &["-telemetry-path=/metrics"]);
    assert!(
        server
            .stdout_lines
            .iter()
            .any(|l| l == "Registering telemetry path on \"/metrics\""),
        "{:?}",
        server.stdout_lines
    );
    let config = client_config(&pki.ca_pem);

    let reply = request(&config, server.addr, "GET", "/health/ready", None, vec![])
        .await
        .expect("health");
    assert_eq!((reply.status, reply.body.len()), (204, 0));
    let reply = request(&config, server.addr, "GET", "/elsewhere", None, vec![])
        .await
        .expect("404");
    assert_eq!(reply.status, 404);
    assert_eq!(&reply.body[..], b"404 page not found\n");

    let admitted: Value =
        serde_json::from_str(&fixture("webapp-pod-admitted.json")).expect("fixture");
    admit(&server, &pki.ca_pem, &admitted, "team-a").await;
    let mut denied = admitted.clone();
    denied["metadata"]["annotations"]["vault.hashicorp.com/agent-inject"] = json!("yes");
    let reply = request(
        &config,
        server.addr,
        "POST",
        "/mutate",
        Some("application/json"),
        review(&denied, "team-b", "u2"),
    )
    .await
    .expect("deny");
    let out: Value = serde_json::from_slice(&reply.body).expect("json");
    assert_eq!(out["response"]["allowed"], false);
    let reply = request(
        &config,
        server.addr,
        "POST",
        "/mutate",
        Some("text/plain"),
        vec![],
    )
    .await
    .expect("400");
    assert_eq!(reply.status, 400);

    let reply = request(&config, server.addr, "GET", "/metrics", None, vec![])
        .await
        .expect("metrics");
    assert_eq!(reply.status, 200);
    let text = String::from_utf8(reply.body.to_vec()).expect("utf-8");
    for expected in [
        "vault_agent_injector_injections_by_namespace_total{injection_type=\"init_and_sidecar\",namespace=\"team-a\"} 1\n",
        "vault_agent_injector_failed_injections_by_namespace_total{namespace=\"team-b\"} 1\n",
        "vault_agent_injector_request_processing_duration_ms_count 3\n",
        "vault_agent_injector_request_processing_duration_ms_bucket{le=\"10000\"} 3\n",
        "vault_agent_injector_request_queue_length 0\n",
        "# TYPE vault_agent_injector_request_processing_duration_ms histogram\n",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in:\n{text}");
    }
}

#[tokio::test]
async fn untrusted_clients_are_refused_and_the_server_keeps_serving() {
    let pki = Pki::new();
    let certs = CertDir::new(&pki.leaf("webhook"));
    let server = Server::start(&certs, &[]);
    // A client trusting another CA fails the handshake...
    let stranger = Pki::new();
    let err = request(
        &client_config(&stranger.ca_pem),
        server.addr,
        "GET",
        "/health/ready",
        None,
        vec![],
    )
    .await
    .err();
    assert!(err.is_some_and(|e| e.starts_with("handshake")));
    // ...garbage on the socket is survived...
    {
        use tokio::io::AsyncWriteExt as _;
        let mut raw = tokio::net::TcpStream::connect(server.addr)
            .await
            .expect("connect");
        raw.write_all(b"GET / HTTP/1.1\r\n\r\n")
            .await
            .expect("write");
    }
    // ...and the real client still gets answers.
    let reply = request(
        &client_config(&pki.ca_pem),
        server.addr,
        "GET",
        "/health/ready",
        None,
        vec![],
    )
    .await
    .expect("health");
    assert_eq!(reply.status, 204);
}
