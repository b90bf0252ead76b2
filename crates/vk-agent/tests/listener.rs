//! The agent's listener (API proxy, lease cache, quit, metrics) as a process against a real
//! `bao server -dev`, next to `bao agent` with the same configuration as the reference.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use vk_test_utils::http::{Response, request};
use vk_test_utils::util::{eventually, free_port};
use vk_test_utils::{AppRole, DevServer, KubeApi, TestCa, configure_kubernetes_auth};

const POLICY: &str = r#"
path "secret/data/database/config" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["create", "update"] }
"#;

/// An agent process; killed on drop unless it already exited.
struct Proc {
    child: Child,
    log: PathBuf,
}

impl Proc {
    fn spawn(cmd: &mut Command, log: PathBuf) -> Self {
        let out = std::fs::File::create(&log).unwrap();
        let err = out.try_clone().unwrap();
        let child = cmd
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<ExitStatus> {
        let start = Instant::now();
        while start.elapsed() < timeout {
            if let Some(s) = self.child.try_wait().unwrap() {
                return Some(s);
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        None
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn ours(config: &Path, log: PathBuf) -> Proc {
    Proc::spawn(
        Command::new(vk_test_utils::agent_example())
            .arg(format!("-config={}", config.display()))
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_CONFIG"),
        log,
    )
}

fn bao_agent(dev: &DevServer, config: &Path, log: PathBuf) -> Proc {
    Proc::spawn(
        Command::new(dev.bin())
            .arg("agent")
            .arg(format!("-config={}", config.display()))
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("VAULT_CONFIG"),
        log,
    )
}

fn wait_listening(port: u16, agent: &Proc) {
    let ok = eventually(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        ok.is_ok(),
        "listener on {port} never opened:\n{}",
        agent.log()
    );
}

fn call(method: &str, port: u16, path: &str, headers: &[(&str, &str)], body: &str) -> Response {
    request(
        method,
        &format!("http://127.0.0.1:{port}{path}"),
        None,
        headers,
        body.as_bytes(),
    )
    .unwrap()
}

/// The sidecar's `VAULT_CONFIG` the injector generates for the guide's pod with `extra`
/// annotations (pre-populate off, so the sidecar is the only agent).
fn injector_sidecar_config(extra: &[(&str, &str)]) -> Value {
    let mut pod: Value =
        serde_json::from_str(&vk_test_utils::util::fixture("webapp-pod-admitted.json").unwrap())
            .unwrap();
    let ann = pod["metadata"]["annotations"].as_object_mut().unwrap();
    ann.insert(
        "vault.hashicorp.com/agent-pre-populate".into(),
        json!("false"),
    );
    for (k, v) in extra {
        ann.insert(format!("vault.hashicorp.com/{k}"), json!(v));
    }
    let settings = vk_inject::InjectorSettings {
        vault_address: "http://vault.vault.svc:8200".into(),
        ..vk_inject::InjectorSettings::default()
    };
    let vk_inject::Decision::Inject { patch, .. } = vk_inject::mutate(&pod, "default", &settings)
    else {
        panic!("the pod was not injected");
    };
    let patch = String::from_utf8(vk_inject::patch_to_json(&patch)).unwrap();
    let b64 = patch
        .split("\"name\":\"VAULT_CONFIG\",\"value\":\"")
        .nth(1)
        .and_then(|s| s.split('"').next())
        .expect("a VAULT_CONFIG in the patch");
    serde_json::from_slice(
        &base64::engine::general_purpose::STANDARD
            .decode(b64)
            .unwrap(),
    )
    .unwrap()
}

/// The injector's config made runnable here: Vault's address, local paths, the listener port.
fn localise(config: &Value, dev: &DevServer, dir: &Path, port: u16) -> PathBuf {
    let d = dir.display().to_string();
    std::fs::create_dir_all(dir.join("home")).unwrap();
    let mut text = config
        .to_string()
        .replace(
            "/var/run/secrets/vault.hashicorp.com/serviceaccount/token",
            &format!("{d}/sa-token"),
        )
        .replace(
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            &format!("{d}/sa-token"),
        )
        .replace("/home/vault", &format!("{d}/home"))
        .replace("/vault/secrets", &format!("{d}/secrets"))
        .replace("http://vault.vault.svc:8200", dev.addr());
    if let Some(l) = config["listener"][0]["address"].as_str() {
        text = text.replace(l, &format!("127.0.0.1:{port}"));
    }
    let path = dir.join("config.json");
    std::fs::write(&path, text).unwrap();
    path
}

fn kube_setup(dev: &DevServer) -> KubeApi {
    let kube = KubeApi::start().unwrap();
    configure_kubernetes_auth(dev, &kube, "webapp", "webapp", "default", "webapp", POLICY).unwrap();
    kube
}

fn write_sa_token(kube: &KubeApi, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let jwt = kube
        .mint("default", "webapp", Duration::from_secs(600))
        .unwrap();
    std::fs::write(dir.join("sa-token"), jwt).unwrap();
}

fn seeded() -> DevServer {
    let dev = DevServer::start().unwrap();
    dev.cli_ok(&[
        "kv",
        "put",
        "secret/database/config",
        "username=db-readonly-user",
        "password=db-secret-password",
    ])
    .unwrap();
    dev
}

/// How many tokens OpenBao holds.
fn token_count(dev: &DevServer) -> usize {
    let out = dev
        .cli_ok(&["list", "-format=json", "auth/token/accessors"])
        .unwrap();
    serde_json::from_str::<Vec<String>>(&out).unwrap().len()
}

const CHILD_TOKEN_TEMPLATE: &str =
    r#"{{ with secret "auth/token/create" "ttl=1h" }}{{ .Auth.ClientToken }}{{ end }}"#;

/// The injector's cache config (+ a template creating a child token) through both agents:
/// the application reads a KV secret with no token; the child token is one lease shared by
/// the template and the application (OpenBao holds one), until the cache is cleared.
#[test]
fn injector_cache_config_proxies_with_auto_auth_token_and_shares_leases() {
    let dev = seeded();
    let kube = kube_setup(&dev);
    let root = tempfile::tempdir().unwrap();
    let port = free_port().unwrap();
    let mut config = injector_sidecar_config(&[
        ("agent-cache-enable", "true"),
        ("agent-cache-listener-port", &port.to_string()),
    ]);
    assert_eq!(
        config["cache"]["use_auto_auth_token"],
        json!("true"),
        "{config}"
    );
    assert_eq!(config["listener"][0]["type"], "tcp", "{config}");
    let tmpl = config["template"][0].clone();
    let mut child = tmpl.clone();
    child["destination"] = json!("/vault/secrets/child-token");
    child["contents"] = json!(CHILD_TOKEN_TEMPLATE);
    config["template"].as_array_mut().unwrap().push(child);

    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = root.path().join(name);
        write_sa_token(&kube, &dir);
        let port = if reference {
            free_port().unwrap()
        } else {
            port
        };
        let cfg = localise(&config, &dev, &dir, port);
        let agent = if reference {
            bao_agent(&dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        wait_listening(port, &agent);
        let child_file = dir.join("secrets/child-token");
        let rendered = eventually(Duration::from_secs(60), || {
            std::fs::read_to_string(&child_file).is_ok_and(|t| !t.is_empty())
        });
        assert!(rendered.is_ok(), "{name}: no child token:\n{}", agent.log());

        // The application: no token, the agent adds its own.
        let r = call("GET", port, "/v1/secret/data/database/config", &[], "");
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(
            r.json().unwrap()["data"]["data"]["username"],
            "db-readonly-user"
        );
        let no_header = call(
            "GET",
            port,
            "/v1/secret/data/database/config",
            &[("X-Vault-Token", "")],
            "",
        );
        assert_eq!(no_header.status, 200, "{name}");

        // Ours: the template's child token is the one the application gets for the same
        // request (one lease). bao agent's template requests do not share its cache key, so
        // there the first request creates a token, and the second is a hit.
        let tpl_token = std::fs::read_to_string(&child_file).unwrap();
        let first = call("PUT", port, "/v1/auth/token/create", &[], r#"{"ttl":"1h"}"#);
        assert_eq!(first.status, 200, "{name}: {}", first.text());
        let first_token = first.json().unwrap()["auth"]["client_token"].clone();
        if !reference {
            assert_eq!(first.header("x-cache"), Some("HIT"), "{name}");
            assert_eq!(first_token, json!(tpl_token), "{name}");
        }
        let before = token_count(&dev);
        let r = call("PUT", port, "/v1/auth/token/create", &[], r#"{"ttl":"1h"}"#);
        assert_eq!(r.status, 200, "{name}: {}", r.text());
        assert_eq!(r.header("x-cache"), Some("HIT"), "{name}");
        assert_eq!(
            r.json().unwrap()["auth"]["client_token"],
            first_token,
            "{name}"
        );
        assert_eq!(
            token_count(&dev),
            before,
            "{name}: the cache hit created a token"
        );

        if !reference {
            // After a cache-clear the same request creates a new token (and is cached again).
            let r = call(
                "POST",
                port,
                "/agent/v1/cache-clear",
                &[],
                r#"{"type":"all"}"#,
            );
            assert_eq!(r.status, 200);
            let fresh = call("PUT", port, "/v1/auth/token/create", &[], r#"{"ttl":"1h"}"#);
            assert_eq!(fresh.header("x-cache"), Some("MISS"));
            let t = fresh.json().unwrap()["auth"]["client_token"].clone();
            assert_ne!(t, json!(tpl_token));
            assert_eq!(token_count(&dev), before + 1);
            let again = call("PUT", port, "/v1/auth/token/create", &[], r#"{"ttl":"1h"}"#);
            assert_eq!(again.json().unwrap()["auth"]["client_token"], t);
            assert_eq!(token_count(&dev), before + 1);
            // A KV v2 read carries no lease: passed through, never cached.
            let kv = call("GET", port, "/v1/secret/data/database/config", &[], "");
            assert_eq!(kv.header("x-cache"), Some("MISS"));
            let log = agent.log();
            assert!(!log.contains(&tpl_token), "token leaked to the log");
        }
    }
}

/// The injector's quit config: `POST /agent/v1/quit` stops both sidecars with status 0; other
/// methods are refused with 405.
#[test]
fn quit_stops_the_sidecar_with_status_zero() {
    let dev = seeded();
    let kube = kube_setup(&dev);
    let root = tempfile::tempdir().unwrap();
    let config = injector_sidecar_config(&[("agent-enable-quit", "true")]);
    assert_eq!(
        config["listener"][0]["agent_api"]["enable_quit"],
        json!(true),
        "{config}"
    );
    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = root.path().join(name);
        write_sa_token(&kube, &dir);
        let port = free_port().unwrap();
        let cfg = localise(&config, &dev, &dir, port);
        let mut agent = if reference {
            bao_agent(&dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        wait_listening(port, &agent);
        let ok = eventually(Duration::from_secs(60), || {
            dir.join("secrets/database-config").exists()
        });
        assert!(ok.is_ok(), "{name}: not rendered:\n{}", agent.log());
        assert_eq!(
            call("GET", port, "/agent/v1/quit", &[], "").status,
            405,
            "{name}"
        );
        assert_eq!(
            call("POST", port, "/agent/v1/quit", &[], "").status,
            200,
            "{name}"
        );
        let status = agent.wait_exit(Duration::from_secs(30));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{name}:\n{}",
            agent.log()
        );
    }
}

/// A plain AppRole config with the listener stanzas in `listeners` (HCL).
fn approle_hcl(dev: &DevServer, dir: &Path, listeners: &str) -> PathBuf {
    let d = dir.display();
    let cfg = format!(
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
  sink "file" {{ config = {{ path = "{d}/sink" }} }}
}}
cache {{ use_auto_auth_token = true }}
{listeners}
"#,
        addr = dev.addr()
    );
    let path = dir.join("agent.hcl");
    std::fs::write(&path, cfg).unwrap();
    path
}

struct Pair {
    dev: DevServer,
    root: tempfile::TempDir,
}

fn approle_pair() -> Pair {
    let dev = seeded();
    dev.write_policy("app", POLICY).unwrap();
    let role = AppRole::create(|a| dev.cli_ok(a), &["token_policies=app"]).unwrap();
    let root = tempfile::tempdir().unwrap();
    for name in ["ours", "bao"] {
        let dir = root.path().join(name);
        std::fs::create_dir_all(&dir).unwrap();
        role.write_files(&dir).unwrap();
    }
    Pair { dev, root }
}

/// Runs `check(port, dir)` against both agents with `listeners(port, dir)` as listener stanzas.
fn both(pair: &Pair, listeners: impl Fn(u16, &Path) -> String, check: impl Fn(&str, u16, &Path)) {
    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = pair.root.path().join(name);
        let port = free_port().unwrap();
        let cfg = approle_hcl(&pair.dev, &dir, &listeners(port, &dir));
        let agent = if reference {
            bao_agent(&pair.dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        let sink = dir.join("sink");
        let ok = eventually(Duration::from_secs(30), || sink.exists());
        assert!(ok.is_ok(), "{name}: no login:\n{}", agent.log());
        check(name, port, &dir);
    }
}

#[test]
fn require_request_header_refuses_requests_without_it() {
    let pair = approle_pair();
    both(
        &pair,
        |port, _| {
            format!(
                r#"listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
  require_request_header = true
}}"#
            )
        },
        |name, port, _| {
            let path = "/v1/secret/data/database/config";
            let r = call("GET", port, path, &[], "");
            assert_eq!(r.status, 412, "{name}");
            assert_eq!(
                r.json().unwrap(),
                json!({"errors": ["missing \"X-Vault-Request\" header"]}),
                "{name}"
            );
            let r = call("GET", port, path, &[("X-Vault-Request", "true")], "");
            assert_eq!(r.status, 200, "{name}: {}", r.text());
        },
    );
}

#[test]
fn metrics_only_role_serves_only_metrics_and_quit_needs_enable_quit() {
    let pair = approle_pair();
    both(
        &pair,
        |port, _| {
            format!(
                r#"listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_disable = true
  role = "metrics_only"
}}
listener "tcp" {{
  address = "127.0.0.1:{}"
  tls_disable = true
}}"#,
                port + 1
            )
        },
        |name, port, _| {
            let r = call("GET", port, "/v1/secret/data/database/config", &[], "");
            assert_eq!(r.status, 404, "{name}");
            assert_eq!(r.text(), "404 page not found\n", "{name}");
            assert_eq!(
                call("POST", port, "/agent/v1/quit", &[], "").status,
                404,
                "{name}"
            );
            let m = call("GET", port, "/agent/v1/metrics", &[], "");
            assert_eq!(m.status, 200, "{name}");
            assert!(m.json().unwrap()["Counters"].is_array(), "{name}");
            // No telemetry stanza: the Prometheus format is off.
            let p = call("GET", port, "/agent/v1/metrics?format=prometheus", &[], "");
            assert_eq!(
                (p.status, p.text().as_str()),
                (400, "prometheus is not enabled"),
                "{name}"
            );
            // The default listener without agent_api: quit does not exist.
            assert_eq!(
                call("POST", port + 1, "/agent/v1/quit", &[], "").status,
                404,
                "{name}"
            );
        },
    );
}

fn unix_get(socket: &Path, path: &str) -> String {
    let mut s = std::os::unix::net::UnixStream::connect(socket).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    write!(
        s,
        "GET {path} HTTP/1.1\r\nHost: agent\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn unix_socket_listener_serves_the_proxy() {
    let pair = approle_pair();
    both(
        &pair,
        |_, dir| {
            format!(
                r#"listener "unix" {{
  address = "{}/agent.sock"
  tls_disable = true
  socket_mode = "0600"
}}"#,
                dir.display()
            )
        },
        |name, _, dir| {
            let sock = dir.join("agent.sock");
            let ok = eventually(Duration::from_secs(30), || sock.exists());
            assert!(ok.is_ok(), "{name}: no socket");
            // bao agent 2.7.2 leaves the socket at 0755 despite socket_mode; ours applies it.
            if name == "ours" {
                assert_eq!(vk_agent::file_mode(&sock).unwrap() & 0o777, 0o600);
            }
            let resp = unix_get(&sock, "/v1/secret/data/database/config");
            assert!(resp.starts_with("HTTP/1.1 200 OK"), "{name}: {resp}");
            assert!(resp.contains("db-secret-password"), "{name}");
        },
    );
}

#[test]
fn tls_listener_serves_the_proxy_over_https() {
    let pair = approle_pair();
    let ca = TestCa::new().unwrap();
    let leaf = ca.leaf().unwrap();
    let files = ca
        .write_tls_dir(&pair.root.path().join("tls"), &leaf)
        .unwrap();
    let ca_pem = ca.ca_pem();
    both(
        &pair,
        |port, _| {
            format!(
                r#"listener "tcp" {{
  address = "127.0.0.1:{port}"
  tls_cert_file = "{}"
  tls_key_file = "{}"
}}"#,
                files.cert.display(),
                files.key.display()
            )
        },
        |name, port, _| {
            wait_port(port);
            let r = request(
                "GET",
                &format!("https://127.0.0.1:{port}/v1/secret/data/database/config"),
                Some(&ca_pem),
                &[],
                &[],
            )
            .unwrap();
            assert_eq!(r.status, 200, "{name}: {}", r.text());
            assert_eq!(
                r.json().unwrap()["data"]["data"]["username"],
                "db-readonly-user"
            );
            // Plain HTTP on the TLS port gets no answer from the proxy.
            let plain = request(
                "GET",
                &format!("http://127.0.0.1:{port}/v1/secret/data/database/config"),
                None,
                &[],
                &[],
            );
            assert!(plain.map(|r| r.status != 200).unwrap_or(true), "{name}");
        },
    );
}

fn wait_port(port: u16) {
    eventually(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .unwrap();
}

/// The injector's telemetry annotations: `/agent/v1/metrics?format=prometheus` is valid
/// Prometheus text (promtool) with every series docs/metrics.md lists for the agent.
#[test]
fn telemetry_prometheus_exposition_parses_and_lists_the_documented_series() {
    let dev = seeded();
    let kube = kube_setup(&dev);
    let root = tempfile::tempdir().unwrap();
    let config = injector_sidecar_config(&[
        ("agent-cache-enable", "true"),
        ("agent-telemetry-prometheus_retention_time", "30s"),
        ("agent-telemetry-disable_hostname", "true"),
    ]);
    assert_eq!(
        config["telemetry"],
        json!({"disable_hostname": true, "prometheus_retention_time": "30s"}),
        "{config}"
    );
    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = root.path().join(name);
        write_sa_token(&kube, &dir);
        let port = free_port().unwrap();
        let cfg = localise(&config, &dev, &dir, port);
        let agent = if reference {
            bao_agent(&dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        wait_listening(port, &agent);
        let ok = eventually(Duration::from_secs(60), || {
            dir.join("secrets/database-config").exists()
        });
        assert!(ok.is_ok(), "{name}: not rendered:\n{}", agent.log());
        assert_eq!(
            call("GET", port, "/v1/secret/data/database/config", &[], "").status,
            200
        );
        let r = call("GET", port, "/agent/v1/metrics?format=prometheus", &[], "");
        assert_eq!(r.status, 200, "{name}");
        assert!(
            r.header("content-type")
                .unwrap()
                .starts_with("text/plain; version=0.0.4")
        );
        let text = r.text();
        let logins = text
            .lines()
            .find(|l| !l.starts_with('#') && l.contains("_agent_auth_success "))
            .and_then(|l| l.rsplit(' ').next()?.parse::<f64>().ok());
        assert!(logins.is_some_and(|n| n >= 1.0), "{name}: {text}");
        assert!(text.contains("_agent_proxy_success"), "{name}: {text}");
        assert!(text.contains("_agent_cache_miss"), "{name}: {text}");
        promtool_parses(&text);
        if !reference {
            let docs = std::fs::read_to_string(
                vk_test_utils::util::workspace_root().join("docs/metrics.md"),
            )
            .unwrap();
            let section = docs.split("## Agent").nth(1).expect("an Agent section");
            let mut documented = 0;
            for line in section.lines().filter(|l| l.starts_with("| `vault_agent_")) {
                let series = line.split('`').nth(1).unwrap();
                assert!(
                    text.contains(&format!("# TYPE {series} counter")),
                    "{series} documented but not served:\n{text}"
                );
                documented += 1;
            }
            assert_eq!(documented, text.matches("# TYPE ").count(), "{text}");
        }
    }
}

/// `promtool check metrics` exits 1 on text it cannot parse; lint findings (such as counter
/// names without `_total`, which are Vault Agent's names) exit 3 and are acceptable here.
fn promtool_parses(text: &str) {
    let promtool = Path::new("/usr/bin/promtool");
    if !promtool.exists() {
        eprintln!("promtool not installed; only the built-in checks ran");
        return;
    }
    let mut child = Command::new(promtool)
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let report = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success()
            || report
                .lines()
                .all(|l| l.trim().is_empty() || l.contains("should have \"_total\" suffix")),
        "promtool: {report}"
    );
}

/// A cached token is renewed by the agent while cached, and evicted when renewal ends at its
/// max TTL, so the next identical request creates a new one.
#[test]
fn cached_token_is_renewed_then_evicted_at_max_ttl() {
    let pair = approle_pair();
    let dir = pair.root.path().join("ours");
    let port = free_port().unwrap();
    let cfg = approle_hcl(
        &pair.dev,
        &dir,
        &format!("listener \"tcp\" {{\n address = \"127.0.0.1:{port}\"\n tls_disable = true\n}}"),
    );
    let agent = ours(&cfg, dir.join("log"));
    wait_listening(port, &agent);
    let body = r#"{"ttl":"4s","explicit_max_ttl":"9s"}"#;
    let create = || call("POST", port, "/v1/auth/token/create", &[], body);
    let ok = eventually(Duration::from_secs(30), || create().status == 200);
    assert!(ok.is_ok(), "{}", agent.log());
    let first = create().json().unwrap()["auth"]["client_token"]
        .as_str()
        .unwrap()
        .to_owned();
    // Past the first TTL the token still works: the cache renewed it.
    std::thread::sleep(Duration::from_secs(5));
    let lookup = pair
        .dev
        .cli(&["token", "lookup", "-format=json", &first])
        .unwrap();
    assert!(
        lookup.status.success(),
        "cached token expired unrenewed: {}",
        agent.log()
    );
    let again = create();
    assert_eq!(again.header("x-cache"), Some("HIT"));
    assert_eq!(again.json().unwrap()["auth"]["client_token"], json!(first));
    // After the max TTL the entry is gone: a new token.
    let evicted = eventually(Duration::from_secs(30), || {
        let r = create();
        r.json().unwrap()["auth"]["client_token"] != json!(first)
    });
    assert!(evicted.is_ok(), "never evicted:\n{}", agent.log());
}

/// Init mode (`exit_after_auth`) with a listener: the listener is open while the agent works
/// and the agent exits 0 when done, as `bao agent` does.
#[test]
fn init_mode_with_a_listener_exits_zero() {
    let pair = approle_pair();
    for (name, reference) in [("ours", false), ("bao", true)] {
        let dir = pair.root.path().join(name);
        let port = free_port().unwrap();
        let cfg = approle_hcl(
            &pair.dev,
            &dir,
            &format!(
                "exit_after_auth = true\nlistener \"tcp\" {{\n address = \"127.0.0.1:{port}\"\n tls_disable = true\n}}"
            ),
        );
        let mut agent = if reference {
            bao_agent(&pair.dev, &cfg, dir.join("log"))
        } else {
            ours(&cfg, dir.join("log"))
        };
        let status = agent.wait_exit(Duration::from_secs(60));
        assert_eq!(
            status.and_then(|s| s.code()),
            Some(0),
            "{name}:\n{}",
            agent.log()
        );
        assert!(dir.join("sink").exists(), "{name}");
    }
}
