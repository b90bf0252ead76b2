//! Running an injector and an agent with metrics on, scraping them, and reading the metrics
//! contract out of docs/metrics.md.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use vk_test_utils::admission::pod_create_review;
use vk_test_utils::util::{eventually, free_port};
use vk_test_utils::{AppRole, ChildGuard, DevServer, TestCa, workspace_root};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_vault-k8s");

/// Which binary's tables of docs/metrics.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Side {
    Injector,
    Agent,
}

/// The series names of `side`'s tables in docs/metrics.md: the first cell of every row of a
/// table whose header starts `| Name | Type |`. The injector's tables come before the
/// `## Agent` heading, the agent's after it.
pub(crate) fn documented(side: Side) -> BTreeSet<String> {
    let doc = std::fs::read_to_string(workspace_root().join("docs/metrics.md"))
        .expect("read docs/metrics.md");
    let (injector, agent) = doc
        .split_once("\n## Agent\n")
        .expect("docs/metrics.md has an `## Agent` section");
    let part = match side {
        Side::Injector => injector,
        Side::Agent => agent,
    };
    let mut names = BTreeSet::new();
    let mut in_series_table = false;
    for line in part.lines() {
        if !line.starts_with('|') {
            in_series_table = false;
            continue;
        }
        if line.starts_with("| Name | Type |") {
            in_series_table = true;
            continue;
        }
        if !in_series_table || line.starts_with("|---") {
            continue;
        }
        let cell = line.split('|').nth(1).unwrap_or_default().trim();
        let name = cell.trim_matches('`');
        assert!(
            !name.is_empty() && cell.starts_with('`'),
            "docs/metrics.md: a series row must start with a `name`: {line}"
        );
        names.insert(name.to_owned());
    }
    assert!(!names.is_empty(), "no series table found for {side:?}");
    names
}

/// Every documented series name of both binaries.
pub(crate) fn all_documented() -> BTreeSet<String> {
    let mut all = documented(Side::Injector);
    all.extend(documented(Side::Agent));
    all
}

/// The metric families of a text exposition (from its `# TYPE` lines).
pub(crate) fn exposed(text: &str) -> BTreeSet<String> {
    text.lines()
        .filter_map(|l| l.strip_prefix("# TYPE "))
        .filter_map(|l| l.split_whitespace().next())
        .map(str::to_owned)
        .collect()
}

/// A running `vault-k8s agent-inject` serving metrics at `/metrics` (HTTPS).
pub(crate) struct Injector {
    _child: ChildGuard,
    pub(crate) addr: String,
    pub(crate) ca_pem: String,
    pub(crate) ca_file: PathBuf,
    _dir: tempfile::TempDir,
}

impl Injector {
    pub(crate) fn start() -> Self {
        let ca = TestCa::new().expect("test CA");
        let leaf = ca.leaf().expect("serving certificate");
        let dir = tempfile::tempdir().expect("temp dir");
        let files = ca.write_tls_dir(dir.path(), &leaf).expect("TLS files");
        let ca_file = dir.path().join("ca.pem");
        std::fs::write(&ca_file, ca.ca_pem()).expect("write CA");
        let mut cmd = Command::new(BIN);
        cmd.args([
            "agent-inject".to_owned(),
            "-listen=127.0.0.1:0".to_owned(),
            format!("-tls-cert-file={}", files.cert.display()),
            format!("-tls-key-file={}", files.key.display()),
            "-vault-address=https://vault.vault.svc:8200".to_owned(),
            "-telemetry-path=/metrics".to_owned(),
        ])
        .env_clear();
        let mut child = ChildGuard::spawn("vault-k8s agent-inject", &mut cmd).expect("spawn");
        let addr = child
            .wait_for_stdout_line(Duration::from_secs(30), |line| {
                let rest = line.trim().strip_prefix("Listening on \"")?;
                Some(rest.split('"').next()?.to_owned())
            })
            .expect("listen address");
        Self {
            _child: child,
            addr,
            ca_pem: ca.ca_pem(),
            ca_file,
            _dir: dir,
        }
    }

    /// Sends one AdmissionReview for `pod` created in `namespace`; returns `allowed`.
    pub(crate) fn admit(&self, pod: &Value, namespace: &str) -> bool {
        let mut review = pod_create_review(pod, "7d6c0f0e-0000-4000-8000-00000000000a");
        review["request"]["namespace"] = json!(namespace);
        let resp = vk_test_utils::http::post_json(
            &format!("https://{}/mutate", self.addr),
            Some(&self.ca_pem),
            &review,
        )
        .expect("POST /mutate");
        assert_eq!(resp.status, 200, "{}", resp.text());
        let review = resp.json().expect("review");
        let allowed = review["response"]["allowed"].as_bool().expect("allowed");
        if !allowed {
            eprintln!("denied: {}", review["response"]["status"]["message"]);
        }
        allowed
    }

    /// One injected, one skipped and one denied admission.
    pub(crate) fn admit_each_outcome(&self) {
        assert!(self.admit(&pod(true), "app"), "annotated pod is injected");
        assert!(
            self.admit(&pod(false), "app"),
            "pod without annotation is allowed"
        );
        assert!(
            !self.admit(&pod(true), "kube-system"),
            "kube-system is denied"
        );
    }

    pub(crate) fn scrape(&self) -> String {
        let resp = vk_test_utils::http::get(
            &format!("https://{}/metrics", self.addr),
            Some(&self.ca_pem),
        )
        .expect("GET /metrics");
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.text()
    }
}

/// A pod with (or without) `agent-inject: "true"` and a secret to render.
pub(crate) fn pod(annotated: bool) -> Value {
    let annotations = if annotated {
        json!({
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/role": "app",
            "vault.hashicorp.com/agent-inject-secret-db": "secret/data/db"
        })
    } else {
        json!({})
    };
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "web", "annotations": annotations},
        "spec": {"containers": [{
            "name": "web",
            "image": "nginx",
            "volumeMounts": [{
                "name": "kube-api-access",
                "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount",
                "readOnly": true
            }]
        }]}
    })
}

/// An OpenBao dev server and a running `vault-k8s agent` (approle, one template) with a
/// `metrics_only` listener and Prometheus telemetry.
pub(crate) struct Agent {
    pub(crate) child: ChildGuard,
    pub(crate) port: u16,
    _dev: DevServer,
    pub(crate) out: PathBuf,
    _dir: tempfile::TempDir,
}

impl Agent {
    /// An agent that logs in and renders its template.
    pub(crate) fn start() -> Self {
        let agent = Self::spawn(false);
        let rendered = eventually(Duration::from_secs(30), || {
            std::fs::read_to_string(&agent.out).is_ok_and(|s| s == "observed")
        });
        assert!(
            rendered.is_ok(),
            "the agent did not render its template; stdout:\n{}",
            agent.child.stdout_text()
        );
        agent
    }

    /// An agent whose secret ID Vault refuses: it keeps retrying the login.
    pub(crate) fn start_refused() -> Self {
        Self::spawn(true)
    }

    fn spawn(wrong_secret_id: bool) -> Self {
        let dev = DevServer::start().expect("OpenBao dev server");
        dev.write_policy(
            "app",
            "path \"secret/data/app\" { capabilities = [\"read\"] }\n",
        )
        .expect("policy");
        dev.cli_ok(&["kv", "put", "secret/app", "user=observed"])
            .expect("kv put");
        let role = AppRole::create(|a| dev.cli_ok(a), &["token_policies=app", "token_ttl=1h"])
            .expect("approle");
        let dir = tempfile::tempdir().expect("temp dir");
        role.write_files(dir.path()).expect("credentials");
        if wrong_secret_id {
            std::fs::write(
                dir.path().join("secret-id"),
                "00000000-0000-0000-0000-000000000000",
            )
            .expect("wrong secret id");
        }
        let port = free_port().expect("free port");
        let out = dir.path().join("app.txt");
        let config = format!(
            r#"
vault {{ address = "{addr}" }}
auto_auth {{
  method "approle" {{
    config = {{
      role_id_file_path = "{d}/role-id"
      secret_id_file_path = "{d}/secret-id"
      remove_secret_id_file_after_reading = false
    }}
  }}
}}
listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
  role = "metrics_only"
}}
telemetry {{
  prometheus_retention_time = "24h"
  disable_hostname = true
}}
template {{
  destination = "{out}"
  contents = "{{{{ with secret \"secret/data/app\" }}}}{{{{ .Data.data.user }}}}{{{{ end }}}}"
}}
"#,
            addr = dev.addr(),
            d = dir.path().display(),
            out = out.display(),
        );
        let config_path = dir.path().join("agent.hcl");
        std::fs::write(&config_path, config).expect("write config");
        let mut cmd = Command::new(BIN);
        cmd.arg("agent")
            .arg(format!("-config={}", config_path.display()))
            .env_clear();
        let child = ChildGuard::spawn("vault-k8s agent", &mut cmd).expect("spawn agent");
        Self {
            child,
            port,
            _dev: dev,
            out,
            _dir: dir,
        }
    }

    pub(crate) fn scrape(&self) -> String {
        let ok = eventually(Duration::from_secs(30), || {
            std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok()
        });
        assert!(ok.is_ok(), "the agent's listener never opened");
        let resp = vk_test_utils::http::get(
            &format!(
                "http://127.0.0.1:{}/agent/v1/metrics?format=prometheus",
                self.port
            ),
            None,
        )
        .expect("GET /agent/v1/metrics");
        assert_eq!(resp.status, 200, "{}", resp.text());
        resp.text()
    }
}

/// `/usr/bin/<name>` when installed (Debian's prometheus package); `None` prints why the
/// caller skips.
pub(crate) fn debian_tool(name: &str) -> Option<PathBuf> {
    let path = Path::new("/usr/bin").join(name);
    if path.exists() {
        Some(path)
    } else {
        eprintln!(
            "SKIPPED: {} is not installed (apt-get install prometheus; `cargo xtask tools` does it)",
            path.display()
        );
        None
    }
}
