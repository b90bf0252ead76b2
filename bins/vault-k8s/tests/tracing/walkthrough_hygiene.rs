//! Secret hygiene over the guide's walkthrough (what `cargo xtask demo` runs) and the agent's
//! test configurations, at trace level with tracing on: the guide's `webapp` pod through the
//! real webhook, its `vault-agent-init` and `vault-agent` containers as patched in the pod
//! sandbox (kubernetes auth against the TokenReview endpoint, OTLP settings forwarded by the
//! injector), then a `vault-k8s agent` with kubernetes auth, a sink, the lease cache behind a
//! listener (one proxied read), telemetry and a template. Every seeded secret and token is
//! recognisable; none may appear in any log line, metrics scrape or exported span
//! (`vk_test_utils::secret_scan`). Needs root (the pod sandbox), `bao` and `rotel-agent`.

use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;
use vk_test_utils::admission::mutate_with_response;
use vk_test_utils::util::{eventually, fixture, free_port};
use vk_test_utils::{
    ChildGuard, DevServer, KubeApi, OtlpReceiver, PodSandbox, configure_kubernetes_auth,
};

use super::{BIN, Injector, WAIT, otel_env, random_hex, terminate};

/// The guide's policy, role and service account (those of the fixture pod).
const POLICY: &str = "path \"secret/data/database/config\" {\n  capabilities = [\"read\"]\n}\n";
const SECRET_FILE: &str = "/vault/secrets/database-config";

/// The sandboxed pod's volumes filled as the kubelet would (token and cluster CA).
fn sandbox(mutated: &Value, jwt: &str, kube: &KubeApi) -> PodSandbox {
    let mut sandbox = PodSandbox::new(mutated).expect("pod sandbox");
    sandbox.set_service_account_token(jwt).expect("SA token");
    sandbox
        .set_file("kube-api-access-7xk2p", "ca.crt", kube.ca_pem().as_bytes())
        .expect("ca.crt");
    sandbox.set_agent_binary(BIN);
    sandbox.set_vault_binary(BIN);
    sandbox
}

/// An agent configuration of the agent tests: kubernetes auth, sink, lease cache with a
/// listener, Prometheus telemetry, one template.
fn agent_config(addr: &str, d: &Path, port: u16) -> std::path::PathBuf {
    let config = format!(
        r#"
vault {{ address = "{addr}" }}
auto_auth {{
  method "kubernetes" {{
    config {{
      role = "webapp"
      token_path = "{d}/sa-token"
    }}
  }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
cache {{ use_auto_auth_token = true }}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
}}
telemetry {{
  prometheus_retention_time = "30s"
  disable_hostname = true
}}
template {{
  contents = "{{{{ with secret \"secret/data/database/config\" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}"
  destination = "{d}/out/db.txt"
}}
"#,
        d = d.display()
    );
    let path = d.join("agent.hcl");
    std::fs::write(&path, config).expect("agent config");
    path
}

fn get(url: &str) -> String {
    let r = vk_test_utils::http::get(url, None).expect("GET");
    assert_eq!(r.status, 200, "{url}: {}", r.text());
    r.text()
}

#[test]
fn no_secret_reaches_logs_metrics_or_spans_over_the_walkthrough() {
    let marker = random_hex(6);
    let username = format!("dbuser-{marker}");
    let password = format!("dbpass-{marker}");
    let header_secret = format!("otlpkey-{marker}");
    let headers = format!("x-api-key={header_secret}");
    let receiver = OtlpReceiver::start().expect("rotel");
    let endpoint = receiver.http_endpoint();

    // The guide's set-up: OpenBao, the TokenReview endpoint, kubernetes auth, the secret.
    let dev = DevServer::start().expect("bao dev server");
    let kube = KubeApi::start().expect("TokenReview endpoint");
    configure_kubernetes_auth(&dev, &kube, "webapp", "webapp", "default", "webapp", POLICY)
        .expect("kubernetes auth");
    dev.cli_ok(&[
        "kv",
        "put",
        "secret/database/config",
        &format!("username={username}"),
        &format!("password={password}"),
    ])
    .expect("the guide's secret");

    // The webhook at trace level, passing its OTLP settings on to the agents.
    let mut env = otel_env(&endpoint, "http/protobuf");
    env.push(("OTEL_EXPORTER_OTLP_HEADERS", &headers));
    let vault_address = format!("-vault-address={}", dev.addr());
    let injector = Injector::start(
        &env,
        &[
            "-log-level=trace",
            "-telemetry-path=/metrics",
            "-agent-otel-forward=true",
            &vault_address,
        ],
    );
    let mut pod: Value =
        serde_json::from_str(&fixture("webapp-pod-admitted.json").expect("fixture")).expect("pod");
    pod["metadata"]["annotations"]["vault.hashicorp.com/log-level"] = "trace".into();
    let uid = "uid-walkthrough-hygiene";
    let answer = injector.mutate(&pod, uid, &[]);
    let mutated = mutate_with_response(&pod, &answer, uid).expect("the webhook's patch");
    let init_env = mutated["spec"]["initContainers"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == "vault-agent-init"))
        .map(|c| c["env"].clone())
        .expect("the injected init container");
    assert!(
        init_env.as_array().is_some_and(|e| e
            .iter()
            .any(|v| v["name"] == "VAULT_LOG_LEVEL" && v["value"] == "trace")),
        "the agents do not run at trace level: {init_env}"
    );

    // The injected containers, as patched.
    let pod_jwt = kube
        .mint("default", "webapp", Duration::from_secs(3607))
        .expect("SA token");
    let mut sandbox = sandbox(&mutated, &pod_jwt, &kube);
    sandbox.set_timeout(Duration::from_secs(60));
    let init = sandbox.run("vault-agent-init").expect("vault-agent-init");
    assert!(init.success(), "{}", init.describe());
    let rendered = sandbox
        .host_path("vault-agent-init", SECRET_FILE)
        .expect("secrets volume");
    let rendered = std::fs::read_to_string(rendered).expect("rendered secret");
    assert!(
        rendered.contains(&password),
        "the walkthrough rendered the secret"
    );
    let init_token = std::fs::read_to_string(
        sandbox
            .host_path("vault-agent-init", "/home/vault/.vault-token")
            .expect("init home"),
    )
    .expect("init agent's sink");
    sandbox.set_timeout(Duration::from_secs(6));
    let sidecar = sandbox.run("vault-agent").expect("vault-agent");
    assert!(sidecar.output.timed_out, "{}", sidecar.describe());
    let sidecar_token = std::fs::read_to_string(
        sandbox
            .host_path("vault-agent", "/home/vault/.vault-token")
            .expect("sidecar home"),
    )
    .unwrap_or_default();

    // An agent test configuration: kubernetes auth, cache, listener, telemetry, template.
    let dir = tempfile::tempdir().expect("temp dir");
    let d = dir.path();
    let agent_jwt = kube
        .mint("default", "webapp", Duration::from_secs(600))
        .expect("SA token");
    std::fs::write(d.join("sa-token"), &agent_jwt).expect("token file");
    let port = free_port().expect("port");
    let config = agent_config(dev.addr(), d, port);
    let agent_log = d.join("agent-stderr.log");
    let mut cmd = Command::new(BIN);
    cmd.arg("agent")
        .arg(format!("-config={}", config.display()))
        .env_clear()
        .env("VAULT_LOG_LEVEL", "trace")
        .envs(env.iter().copied())
        .stderr(Stdio::from(File::create(&agent_log).expect("log file")));
    let mut agent = ChildGuard::spawn("vault-k8s agent", &mut cmd).expect("spawn agent");
    eventually(WAIT, || {
        std::fs::read_to_string(d.join("out/db.txt")).is_ok_and(|s| s == password)
    })
    .expect("the agent rendered the secret");
    let proxied = get(&format!(
        "http://127.0.0.1:{port}/v1/secret/data/database/config"
    ));
    assert!(
        proxied.contains(&password),
        "the proxied read returned the secret"
    );
    let agent_prometheus = get(&format!(
        "http://127.0.0.1:{port}/agent/v1/metrics?format=prometheus"
    ));
    let agent_json = get(&format!("http://127.0.0.1:{port}/agent/v1/metrics"));
    let agent_token = std::fs::read_to_string(d.join("sink")).expect("sink");
    terminate(&mut agent);
    let injector_metrics = injector.get("/metrics");
    let injector_logs = injector.stop();
    let agent_logs = format!(
        "{}\n{}",
        agent.stdout_text(),
        std::fs::read_to_string(&agent_log).unwrap_or_default()
    );
    let spans = receiver
        .wait_for(WAIT, |s| {
            s.iter().any(|s| s.name == "admission")
                && s.iter().filter(|s| s.name == "agent_cycle").count() >= 2
        })
        .expect("spans of the webhook and the agents");
    let exported = receiver.output();

    // The scan proves something only if trace logging and export really happened.
    let init_logs = format!("{}\n{}", init.output.stdout_str(), init.output.stderr_str());
    let sidecar_logs = format!(
        "{}\n{}",
        sidecar.output.stdout_str(),
        sidecar.output.stderr_str()
    );
    // Trace level was asked everywhere; the code has few trace-only lines, so the debug lines
    // show that the verbose levels were on.
    for (name, logs) in [
        ("webhook", &injector_logs),
        ("init agent", &init_logs),
        ("sidecar agent", &sidecar_logs),
        ("agent", &agent_logs),
    ] {
        assert!(
            logs.contains("TRACE") || logs.contains("DEBUG"),
            "{name} did not log at debug or trace level:\n{logs}"
        );
    }
    assert!(!spans.is_empty());
    let mut seeded = vec![
        ("KV username", username.as_str()),
        ("KV password", password.as_str()),
        ("OTLP header value", header_secret.as_str()),
        ("pod's service-account JWT", pod_jwt.as_str()),
        ("agent's service-account JWT", agent_jwt.as_str()),
        ("TokenReview reviewer JWT", kube.reviewer_token()),
        ("init agent's Vault token", init_token.trim()),
        ("agent's Vault token", agent_token.trim()),
    ];
    if !sidecar_token.trim().is_empty() {
        seeded.push(("sidecar's Vault token", sidecar_token.trim()));
    }
    vk_test_utils::secret_scan::assert_absent(
        &seeded,
        &[
            ("webhook logs", injector_logs.as_str()),
            ("init agent logs", init_logs.as_str()),
            ("sidecar agent logs", sidecar_logs.as_str()),
            ("agent logs", agent_logs.as_str()),
            ("webhook metrics", injector_metrics.as_str()),
            ("agent Prometheus metrics", agent_prometheus.as_str()),
            ("agent JSON metrics", agent_json.as_str()),
            ("exported spans", exported.as_str()),
        ],
    );
}
