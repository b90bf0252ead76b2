//! OpenTelemetry traces from the real binary to a real OTLP receiver (`rotel-agent`, see
//! `vk_test_utils::otlp`): the admission span joins the caller's W3C trace over http/protobuf
//! and gRPC; one agent cycle against a real `bao server -dev` arrives as a tree of spans, and
//! OpenBao's audit log shows that the agent's Vault requests carried that trace; and with
//! everything at trace level no seeded secret reaches a log line, a metrics scrape or a span,
//! over the guide's walkthrough too (`walkthrough_hygiene`).
//!
//! Needs `.tools/bin/bao` and `.tools/bin/rotel-agent` (`cargo xtask tools`).

use std::collections::BTreeSet;
use std::fs::File;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{Value, json};
use vk_test_utils::admission::pod_create_review;
use vk_test_utils::util::run_with_timeout;
use vk_test_utils::{
    AppRole, ChildGuard, DevServer, OtlpReceiver, ReceivedSpan, RecordingProxy, TestCa,
};

#[path = "tracing/walkthrough_hygiene.rs"]
mod walkthrough_hygiene;

const BIN: &str = env!("CARGO_BIN_EXE_vault-k8s");
const WAIT: Duration = Duration::from_secs(30);

/// A running `vault-k8s agent-inject` whose stderr goes to a file.
struct Injector {
    child: ChildGuard,
    url: String,
    ca_pem: String,
    dir: tempfile::TempDir,
}

impl Injector {
    fn start(env: &[(&str, &str)], args: &[&str]) -> Self {
        let ca = TestCa::new().expect("test CA");
        let leaf = ca.leaf().expect("serving certificate");
        let dir = tempfile::tempdir().expect("temp dir");
        let files = ca.write_tls_dir(dir.path(), &leaf).expect("TLS files");
        let stderr = File::create(dir.path().join("stderr.log")).expect("stderr file");
        let mut cmd = Command::new(BIN);
        cmd.args([
            "agent-inject".to_owned(),
            "-listen=127.0.0.1:0".to_owned(),
            format!("-tls-cert-file={}", files.cert.display()),
            format!("-tls-key-file={}", files.key.display()),
            "-vault-address=http://vault.vault.svc:8200".to_owned(),
        ])
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .stderr(Stdio::from(stderr));
        let mut child = ChildGuard::spawn("vault-k8s agent-inject", &mut cmd).expect("spawn");
        let addr = child
            .wait_for_stdout_line(WAIT, |line| {
                let rest = line.trim().strip_prefix("Listening on \"")?;
                Some(rest.split('"').next()?.to_owned())
            })
            .expect("listening line");
        Self {
            child,
            url: format!("https://{addr}"),
            ca_pem: ca.ca_pem(),
            dir,
        }
    }

    fn mutate(&self, pod: &Value, uid: &str, headers: &[(&str, &str)]) -> Value {
        let review = pod_create_review(pod, uid);
        let mut all = vec![("content-type", "application/json")];
        all.extend_from_slice(headers);
        let resp = vk_test_utils::http::request(
            "POST",
            &format!("{}/mutate", self.url),
            Some(&self.ca_pem),
            &all,
            &serde_json::to_vec(&review).expect("json"),
        )
        .expect("POST /mutate");
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.json().expect("AdmissionReview")
    }

    fn get(&self, path: &str) -> String {
        let resp = vk_test_utils::http::get(&format!("{}{path}", self.url), Some(&self.ca_pem))
            .expect("GET");
        assert_eq!(resp.status, 200, "{path}: {}", resp.text());
        resp.text()
    }

    /// SIGTERM, wait for the exit, and return everything it logged.
    fn stop(mut self) -> String {
        terminate(&mut self.child);
        let stderr =
            std::fs::read_to_string(self.dir.path().join("stderr.log")).unwrap_or_default();
        format!("{}\n{stderr}", self.child.stdout_text())
    }
}

fn terminate(child: &mut ChildGuard) {
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill");
    assert!(status.success());
    let deadline = std::time::Instant::now() + WAIT;
    while child.is_running() {
        assert!(
            std::time::Instant::now() < deadline,
            "did not exit after SIGTERM"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

fn otel_env<'a>(endpoint: &'a str, protocol: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("OTEL_EXPORTER_OTLP_ENDPOINT", endpoint),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
        // Export every 100 ms instead of 5 s so the test does not wait.
        ("OTEL_BSP_SCHEDULE_DELAY", "100"),
    ]
}

fn injected_pod(env_secret: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "name": "webapp",
            "namespace": "traced",
            "annotations": {
                "vault.hashicorp.com/agent-inject": "true",
                "vault.hashicorp.com/role": "webapp",
                "vault.hashicorp.com/agent-inject-secret-db": "secret/data/db"
            }
        },
        "spec": {
            "serviceAccountName": "webapp",
            "containers": [{
                "name": "app",
                "image": "app:1",
                "env": [{"name": "DB_PASSWORD", "value": env_secret}],
                "volumeMounts": [{
                    "name": "kube-api-access",
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                    "readOnly": true
                }]
            }],
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]
        }
    })
}

/// 32 random hex digits (a trace id) or 16 (a span id), from the kernel.
fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    use std::io::Read as _;
    File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

fn admission_joins_the_callers_trace(protocol: &str) {
    let receiver = OtlpReceiver::start().expect("rotel");
    let endpoint = match protocol {
        "grpc" => receiver.grpc_endpoint(),
        _ => receiver.http_endpoint(),
    };
    let injector = Injector::start(&otel_env(&endpoint, protocol), &[]);
    let (trace, parent) = (random_hex(16), random_hex(8));
    let traceparent = format!("00-{trace}-{parent}-01");
    let answer = injector.mutate(
        &injected_pod("not-a-secret"),
        "uid-traced",
        &[("traceparent", &traceparent)],
    );
    assert!(answer["response"]["patch"].is_string(), "{answer}");
    // Without a traceparent, and with a malformed one, the admission starts its own trace.
    injector.mutate(&injected_pod("x"), "uid-untraced", &[]);
    injector.mutate(
        &injected_pod("x"),
        "uid-malformed",
        &[("traceparent", "00-zz-01")],
    );

    let spans = receiver
        .wait_for(WAIT, |s| {
            s.iter().filter(|s| s.name == "admission").count() >= 3
        })
        .expect("admission spans");
    let by_uid = |uid: &str| -> &ReceivedSpan {
        spans
            .iter()
            .find(|s| {
                s.name == "admission" && s.attributes.get("uid").map(String::as_str) == Some(uid)
            })
            .unwrap_or_else(|| panic!("no admission span for {uid}: {spans:#?}"))
    };
    let traced = by_uid("uid-traced");
    assert_eq!(traced.trace_id, trace, "{traced:#?}");
    assert_eq!(traced.parent_id, parent, "{traced:#?}");
    assert_eq!(traced.service, "vault-k8s-injector");
    assert_eq!(traced.kind, "SPAN_KIND_SERVER");
    for (key, value) in [
        ("namespace", "traced"),
        ("operation", "CREATE"),
        ("kind", "Pod"),
        ("outcome", "injected"),
    ] {
        assert_eq!(
            traced.attributes.get(key).map(String::as_str),
            Some(value),
            "{key}: {traced:#?}"
        );
    }
    for uid in ["uid-untraced", "uid-malformed"] {
        let own = by_uid(uid);
        assert_eq!(own.parent_id, "", "{own:#?}");
        assert_ne!(own.trace_id, trace);
        assert_eq!(own.trace_id.len(), 32);
    }
    // Spans are flushed on shutdown: one more admission right before SIGTERM still arrives,
    // although the schedule delay is now far away.
    drop(injector);
    let injector = Injector::start(
        &[
            ("OTEL_EXPORTER_OTLP_ENDPOINT", &endpoint),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", protocol),
            ("OTEL_BSP_SCHEDULE_DELAY", "600000"),
        ],
        &[],
    );
    injector.mutate(&injected_pod("x"), "uid-last", &[]);
    injector.stop();
    receiver
        .wait_for(Duration::from_secs(5), |s| {
            s.iter()
                .any(|s| s.attributes.get("uid").map(String::as_str) == Some("uid-last"))
        })
        .expect("the last admission's span, flushed at exit");
}

#[test]
fn admission_span_joins_the_callers_trace_over_http_protobuf() {
    admission_joins_the_callers_trace("http/protobuf");
}

#[test]
fn admission_span_joins_the_callers_trace_over_grpc() {
    admission_joins_the_callers_trace("grpc");
}

#[test]
fn invalid_otel_variable_stops_the_injector_naming_it() {
    let out = Command::new(BIN)
        .args(["agent-inject", "-listen=127.0.0.1:0", "-tls-auto=x"])
        .env_clear()
        .env("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")
        .env("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:1")
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("OTEL_EXPORTER_OTLP_PROTOCOL") && stderr.contains("http/json"),
        "{stderr}"
    );
}

/// OpenBao with a KV secret and an AppRole login allowed to read it, behind a proxy that
/// records the requests the agent sends. (OpenBao 2.7 refuses to enable an audit device over
/// the API, so its audit log cannot show the headers in a dev server.)
struct Vault {
    dev: DevServer,
    role: AppRole,
    proxy: RecordingProxy,
}

fn vault(secret_value: &str, dir: &Path) -> Vault {
    let dev = DevServer::start().expect("bao dev server");
    dev.cli_ok(&[
        "kv",
        "put",
        "secret/traced/db",
        &format!("password={secret_value}"),
    ])
    .expect("kv put");
    dev.write_policy(
        "traced",
        "path \"secret/data/traced/db\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .expect("policy");
    let role = AppRole::create(
        |a| dev.cli_ok(a),
        &["token_policies=traced", "token_ttl=1h"],
    )
    .expect("approle");
    role.write_files(dir).expect("role files");
    let upstream = dev.addr().trim_start_matches("http://").to_owned();
    let proxy = RecordingProxy::start(&upstream).expect("proxy");
    Vault { dev, role, proxy }
}

fn agent_config(addr: &str, dir: &Path, exit_after_auth: bool, extra: &str) -> std::path::PathBuf {
    let config = format!(
        r#"
exit_after_auth = {exit_after_auth}
vault {{ address = "{addr}" }}
auto_auth {{
  method "approle" {{
    config {{
      role_id_file_path = "{d}/role-id"
      secret_id_file_path = "{d}/secret-id"
      remove_secret_id_file_after_reading = false
    }}
  }}
  sink "file" {{
    config {{ path = "{d}/sink-token" }}
  }}
}}
template {{
  contents = "{{{{ with secret \"secret/data/traced/db\" }}}}{{{{ .Data.data.password }}}}{{{{ end }}}}"
  destination = "{d}/out/db.txt"
}}
{extra}
"#,
        d = dir.display()
    );
    let path = dir.join("agent.hcl");
    std::fs::write(&path, config).expect("write config");
    path
}

fn child_of<'a>(
    spans: &'a [ReceivedSpan],
    parent: &ReceivedSpan,
    name: &str,
) -> Vec<&'a ReceivedSpan> {
    spans
        .iter()
        .filter(|s| {
            s.name == name && s.parent_id == parent.span_id && s.trace_id == parent.trace_id
        })
        .collect()
}

/// The `traceparent` values of the requests the agent sent to `/v1/{path}`.
fn sent_traceparents(vault: &Vault, path: &str) -> Vec<String> {
    vault
        .proxy
        .requests()
        .iter()
        .filter(|r| r.path.split('?').next() == Some(&format!("/v1/{path}")))
        .filter_map(|r| r.header("traceparent").map(str::to_owned))
        .collect()
}

/// The proxy variables reach the agent's Vault client (the injector's `proxy-address`
/// annotation sets `HTTPS_PROXY`; `HTTP_PROXY` is its `http://` twin): the Vault address names
/// a host that does not resolve, so only the proxy (which forwards to OpenBao) can answer.
#[test]
fn agent_sends_its_vault_requests_through_the_proxy_from_the_environment() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = format!("pw-{}", random_hex(8));
    let vault = vault(&secret, dir.path());
    let config = agent_config("http://vault.invalid:8200", dir.path(), true, "");
    let out = run_with_timeout(
        Command::new(BIN)
            .arg("agent")
            .arg(format!("-config={}", config.display()))
            .env_clear()
            .env("HTTP_PROXY", vault.proxy.url()),
        Duration::from_secs(60),
    )
    .expect("agent");
    assert!(out.success(), "{}\n{}", out.stdout_str(), out.stderr_str());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/db.txt")).expect("rendered"),
        secret
    );
    let targets: Vec<String> = vault.proxy.requests().into_iter().map(|r| r.path).collect();
    assert!(
        targets.contains(&"http://vault.invalid:8200/v1/auth/approle/login".to_owned()),
        "{targets:?}"
    );
    assert!(
        targets
            .iter()
            .any(|t| t.starts_with("http://vault.invalid:8200/v1/secret/data/traced/db")),
        "{targets:?}"
    );
}

#[test]
fn agent_cycle_is_one_trace_and_its_vault_requests_carry_it() {
    let dir = tempfile::tempdir().expect("temp dir");
    let secret = format!("pw-{}", random_hex(8));
    let vault = vault(&secret, dir.path());
    let receiver = OtlpReceiver::start().expect("rotel");
    let config = agent_config(&vault.proxy.url(), dir.path(), true, "");
    let endpoint = receiver.grpc_endpoint();
    let out = run_with_timeout(
        Command::new(BIN)
            .arg("agent")
            .arg(format!("-config={}", config.display()))
            .env_clear()
            .envs(otel_env(&endpoint, "grpc")),
        Duration::from_secs(60),
    )
    .expect("agent");
    assert!(out.success(), "{}\n{}", out.stdout_str(), out.stderr_str());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("out/db.txt")).expect("rendered"),
        secret
    );

    // The agent has exited: what it exported was flushed on the way out.
    let spans = receiver
        .wait_for(WAIT, |s| s.iter().any(|s| s.name == "write"))
        .expect("agent spans");
    let cycle = spans
        .iter()
        .find(|s| s.name == "agent_cycle")
        .unwrap_or_else(|| panic!("no agent_cycle span: {spans:#?}"));
    assert_eq!(cycle.parent_id, "", "{cycle:#?}");
    assert_eq!(cycle.service, "vault-k8s-agent");
    assert_eq!(
        cycle.attributes.get("phase").map(String::as_str),
        Some("start")
    );

    let auth = child_of(&spans, cycle, "auth");
    assert_eq!(auth.len(), 1, "{spans:#?}");
    assert_eq!(
        auth[0].attributes.get("method").map(String::as_str),
        Some("approle")
    );
    let login = child_of(&spans, auth[0], "vault_request");
    assert!(
        login
            .iter()
            .any(|s| s.attributes.get("url.path").map(String::as_str)
                == Some("auth/approle/login")
                && s.kind == "SPAN_KIND_CLIENT"
                && s.attributes
                    .get("http.response.status_code")
                    .map(String::as_str)
                    == Some("200")),
        "{spans:#?}"
    );

    let round = child_of(&spans, cycle, "render_round");
    assert_eq!(round.len(), 1, "{spans:#?}");
    let fetch = child_of(&spans, round[0], "fetch");
    assert_eq!(fetch.len(), 1, "{spans:#?}");
    assert!(
        fetch[0].attributes["dependency"].contains("secret/data/traced/db"),
        "{:#?}",
        fetch[0]
    );
    let read = child_of(&spans, fetch[0], "vault_request");
    let read = read
        .iter()
        .find(|s| s.attributes.get("url.path").map(String::as_str) == Some("secret/data/traced/db"))
        .unwrap_or_else(|| panic!("no read request under fetch: {spans:#?}"));
    assert!(
        !child_of(&spans, round[0], "render").is_empty(),
        "{spans:#?}"
    );
    let write = child_of(&spans, round[0], "write");
    assert_eq!(write.len(), 1, "{spans:#?}");
    assert_eq!(
        write[0].attributes.get("written").map(String::as_str),
        Some("1")
    );

    // The requests on the wire carried the trace: the read with the read span as parent.
    let expected = format!("00-{}-{}-01", read.trace_id, read.span_id);
    let seen = sent_traceparents(&vault, "secret/data/traced/db");
    assert!(
        seen.contains(&expected),
        "expected {expected} among {seen:?}"
    );
    let login_span = login
        .iter()
        .find(|s| s.attributes.get("url.path").map(String::as_str) == Some("auth/approle/login"))
        .expect("login span");
    let expected = format!("00-{}-{}-01", login_span.trace_id, login_span.span_id);
    let seen = sent_traceparents(&vault, "auth/approle/login");
    assert!(
        seen.contains(&expected),
        "expected {expected} among {seen:?}"
    );
}

#[test]
fn without_otel_variables_nothing_is_sent_and_vault_sees_no_traceparent() {
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = vault("pw-untraced", dir.path());
    let config = agent_config(&vault.proxy.url(), dir.path(), true, "");
    let out = run_with_timeout(
        Command::new(BIN)
            .arg("agent")
            .arg(format!("-config={}", config.display()))
            .env_clear(),
        Duration::from_secs(60),
    )
    .expect("agent");
    assert!(out.success(), "{}", out.stderr_str());
    let requests = vault.proxy.requests();
    assert!(
        requests
            .iter()
            .any(|r| r.path.starts_with("/v1/secret/data/traced/db")),
        "the read went through the proxy: {requests:?}"
    );
    assert!(
        requests.iter().all(|r| r.header("traceparent").is_none()),
        "{requests:?}"
    );
}

/// Every value a user would call secret is seeded with a recognisable marker; with the
/// injector and the agent at trace level and tracing on, none appears in any log line, metrics
/// scrape or exported span.
#[test]
fn no_secret_reaches_logs_metrics_or_spans() {
    let marker = random_hex(6);
    let kv_secret = format!("kvsecret-{marker}");
    let env_secret = format!("envsecret-{marker}");
    let header_secret = format!("otlpkey-{marker}");
    let receiver = OtlpReceiver::start().expect("rotel");
    let endpoint = receiver.http_endpoint();
    let headers = format!("x-api-key={header_secret}");

    // Injector side.
    let mut env = otel_env(&endpoint, "http/protobuf");
    env.push(("OTEL_EXPORTER_OTLP_HEADERS", &headers));
    let injector = Injector::start(&env, &["-log-level=trace", "-telemetry-path=/metrics"]);
    let mut pod = injected_pod(&env_secret);
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-template-db"] = json!(
        format!("{{{{ with secret \"secret/data/db\" }}}}{env_secret}{{{{ end }}}}")
    );
    injector.mutate(
        &pod,
        "uid-scan",
        &[(
            "traceparent",
            &format!("00-{}-{}-01", random_hex(16), random_hex(8)),
        )],
    );
    let injector_metrics = injector.get("/metrics");

    // Agent side: a sidecar with a listener serving metrics, stopped with SIGTERM.
    let dir = tempfile::tempdir().expect("temp dir");
    let vault = vault(&kv_secret, dir.path());
    let port = vk_test_utils::free_port().expect("port");
    let config = agent_config(
        vault.dev.addr(),
        dir.path(),
        false,
        &format!(
            "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n}}\ntelemetry {{\n  prometheus_retention_time = \"30s\"\n}}\n"
        ),
    );
    let agent_log = dir.path().join("agent-stderr.log");
    let mut cmd = Command::new(BIN);
    cmd.arg("agent")
        .arg(format!("-config={}", config.display()))
        .env_clear()
        .env("VAULT_LOG_LEVEL", "trace")
        .envs(otel_env(&endpoint, "http/protobuf"))
        .env("OTEL_EXPORTER_OTLP_HEADERS", &headers)
        .stderr(Stdio::from(File::create(&agent_log).expect("log file")));
    let mut agent = ChildGuard::spawn("vault-k8s agent", &mut cmd).expect("spawn agent");
    vk_test_utils::eventually(WAIT, || {
        std::fs::read_to_string(dir.path().join("out/db.txt")).is_ok_and(|s| s == kv_secret)
    })
    .expect("the agent rendered the secret");
    let token = std::fs::read_to_string(dir.path().join("sink-token")).expect("sink token");
    let agent_metrics = vk_test_utils::http::get(
        &format!("http://127.0.0.1:{port}/agent/v1/metrics?format=prometheus"),
        None,
    )
    .expect("agent metrics");
    assert_eq!(agent_metrics.status, 200, "{}", agent_metrics.text());
    terminate(&mut agent);
    let injector_logs = injector.stop();
    let agent_logs = format!(
        "{}\n{}",
        agent.stdout_text(),
        std::fs::read_to_string(&agent_log).unwrap_or_default()
    );
    let spans = receiver
        .wait_for(WAIT, |s| {
            let names: BTreeSet<&str> = s.iter().map(|s| s.name.as_str()).collect();
            ["admission", "agent_cycle", "fetch", "vault_request"]
                .iter()
                .all(|n| names.contains(n))
        })
        .expect("spans of both sides");
    let exported = receiver.output();

    // The scan is only worth something if trace logging and export really happened.
    assert!(
        injector_logs.contains("TRACE") || injector_logs.contains("DEBUG"),
        "{injector_logs}"
    );
    assert!(agent_logs.lines().count() > 5, "{agent_logs}");
    assert!(!spans.is_empty());
    let seeded = [
        ("KV secret value", kv_secret.as_str()),
        ("pod env value", env_secret.as_str()),
        ("OTLP header value", header_secret.as_str()),
        ("AppRole secret ID", vault.role.secret_id.as_str()),
        ("agent's Vault token", token.trim()),
    ];
    let agent_metrics = agent_metrics.text();
    vk_test_utils::secret_scan::assert_absent(
        &seeded,
        &[
            ("injector logs", injector_logs.as_str()),
            ("agent logs", agent_logs.as_str()),
            ("injector metrics", injector_metrics.as_str()),
            ("agent metrics", agent_metrics.as_str()),
            ("exported spans", exported.as_str()),
        ],
    );
}

/// The env of every injected agent container in an admission answer's patch.
fn agent_envs(answer: &Value) -> Vec<Vec<(String, String)>> {
    let patch: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::STANDARD,
            answer["response"]["patch"].as_str().expect("patch"),
        )
        .expect("base64 patch"),
    )
    .expect("patch json");
    let mut envs = Vec::new();
    let mut visit = |c: &Value| {
        // Containers only: volumes and mounts are named `vault-agent-…` too.
        if c["image"].is_string()
            && c["name"]
                .as_str()
                .is_some_and(|n| n.starts_with("vault-agent"))
        {
            envs.push(
                c["env"]
                    .as_array()
                    .into_iter()
                    .flatten()
                    .map(|e| {
                        (
                            e["name"].as_str().unwrap_or_default().to_owned(),
                            e["value"].as_str().unwrap_or_default().to_owned(),
                        )
                    })
                    .collect(),
            );
        }
    };
    for op in patch.as_array().expect("patch ops") {
        match &op["value"] {
            Value::Array(items) => items.iter().for_each(&mut visit),
            v @ Value::Object(_) => visit(v),
            _ => {}
        }
    }
    envs
}

#[test]
fn injector_passes_its_otel_settings_on_to_agents() {
    let env = [
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://collector.observability:4317",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        ("OTEL_SERVICE_NAME", "the-injector"),
        ("OTEL_EXPORTER_OTLP_HEADERS", "x-api-key=forwarded-never"),
        // The collector is not reachable: exports fail, admissions do not.
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "100"),
    ];
    let otel_of = |envs: &[Vec<(String, String)>]| -> Vec<Vec<(String, String)>> {
        envs.iter()
            .map(|e| {
                e.iter()
                    .filter(|(n, _)| n.starts_with("OTEL_"))
                    .cloned()
                    .collect()
            })
            .collect()
    };
    let expected: Vec<(String, String)> = [
        ("OTEL_TRACES_SAMPLER", "parentbased_traceidratio"),
        ("OTEL_TRACES_SAMPLER_ARG", "0.5"),
        (
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "http://collector.observability:4317",
        ),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TIMEOUT", "100"),
    ]
    .iter()
    .map(|(n, v)| ((*n).to_owned(), (*v).to_owned()))
    .collect();

    // Flag on: every agent container gets the settings, without the name and the headers.
    let injector = Injector::start(&env, &["-agent-otel-forward=true"]);
    let answer = injector.mutate(&injected_pod("x"), "uid-fwd", &[]);
    assert!(!answer.to_string().contains("forwarded-never"));
    let envs = agent_envs(&answer);
    assert!(!envs.is_empty(), "{answer}");
    for otel in otel_of(&envs) {
        assert_eq!(otel, expected);
    }
    // The annotation turns it off for one pod.
    let mut pod = injected_pod("x");
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-otel-forward"] = json!("false");
    let envs = agent_envs(&injector.mutate(&pod, "uid-off", &[]));
    assert!(otel_of(&envs).iter().all(Vec::is_empty), "{envs:?}");
    drop(injector);

    // Flag off: nothing unless the annotation asks; a bad value denies with its name.
    let injector = Injector::start(&env, &[]);
    let envs = agent_envs(&injector.mutate(&injected_pod("x"), "uid-default", &[]));
    assert!(otel_of(&envs).iter().all(Vec::is_empty), "{envs:?}");
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-otel-forward"] = json!("true");
    for otel in otel_of(&agent_envs(&injector.mutate(&pod, "uid-on", &[]))) {
        assert_eq!(otel, expected);
    }
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-otel-forward"] = json!("maybe");
    let answer = injector.mutate(&pod, "uid-bad", &[]);
    assert_eq!(answer["response"]["allowed"], false, "{answer}");
    let message = answer["response"]["status"]["message"]
        .as_str()
        .unwrap_or_default();
    assert!(
        message.contains("agent-otel-forward") && message.contains("maybe"),
        "{message}"
    );
}

#[test]
fn forwarding_without_an_endpoint_is_a_start_up_error() {
    let out = Command::new(BIN)
        .args([
            "agent-inject",
            "-listen=127.0.0.1:0",
            "-vault-address=http://v:8200",
            "-tls-cert-file=/nonexistent/cert",
            "-tls-key-file=/nonexistent/key",
            "-agent-otel-forward=true",
        ])
        .env_clear()
        .output()
        .expect("run");
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("-agent-otel-forward") && stderr.contains("OTEL_EXPORTER_OTLP_ENDPOINT"),
        "{stderr}"
    );
}
