//! Shared helpers: the agents as processes, the injector's configs made runnable, HTTP calls.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use serde_json::{Value, json};
use vk_test_utils::http::{Response, request};
use vk_test_utils::util::{eventually, free_port};
use vk_test_utils::{AppRole, DevServer, KubeApi, configure_kubernetes_auth};

pub(crate) const POLICY: &str = r#"
path "secret/data/database/config" { capabilities = ["read"] }
path "auth/token/create" { capabilities = ["create", "update"] }
"#;

/// An agent process (ours or `bao agent`), stdout and stderr in one log file; killed on drop.
pub(crate) use crate::common::Agent as Proc;

pub(crate) fn ours(config: &Path, log: PathBuf) -> Proc {
    Proc::spawn_command_with_stdout(
        Command::new(vk_test_utils::agent_example())
            .arg(format!("-config={}", config.display()))
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_CONFIG"),
        log,
    )
}

pub(crate) fn bao_agent(dev: &DevServer, config: &Path, log: PathBuf) -> Proc {
    Proc::spawn_command_with_stdout(
        Command::new(dev.bin())
            .arg("agent")
            .arg(format!("-config={}", config.display()))
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_TOKEN")
            .env_remove("VAULT_CONFIG"),
        log,
    )
}

pub(crate) fn wait_listening(port: u16, agent: &Proc) {
    let ok = eventually(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    });
    assert!(
        ok.is_ok(),
        "listener on {port} never opened:\n{}",
        agent.log()
    );
}

pub(crate) fn call(
    method: &str,
    port: u16,
    path: &str,
    headers: &[(&str, &str)],
    body: &str,
) -> Response {
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
pub(crate) fn injector_sidecar_config(extra: &[(&str, &str)]) -> Value {
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
pub(crate) fn localise(config: &Value, dev: &DevServer, dir: &Path, port: u16) -> PathBuf {
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

pub(crate) fn kube_setup(dev: &DevServer) -> KubeApi {
    let kube = KubeApi::start().unwrap();
    configure_kubernetes_auth(dev, &kube, "webapp", "webapp", "default", "webapp", POLICY).unwrap();
    kube
}

pub(crate) fn write_sa_token(kube: &KubeApi, dir: &Path) {
    std::fs::create_dir_all(dir).unwrap();
    let jwt = kube
        .mint("default", "webapp", Duration::from_secs(600))
        .unwrap();
    std::fs::write(dir.join("sa-token"), jwt).unwrap();
}

pub(crate) fn seeded() -> DevServer {
    DevServer::start_seeded().unwrap()
}

/// How many tokens OpenBao holds.
pub(crate) fn token_count(dev: &DevServer) -> usize {
    let out = dev
        .cli_ok(&["list", "-format=json", "auth/token/accessors"])
        .unwrap();
    serde_json::from_str::<Vec<String>>(&out).unwrap().len()
}

pub(crate) const CHILD_TOKEN_TEMPLATE: &str =
    r#"{{ with secret "auth/token/create" "ttl=1h" }}{{ .Auth.ClientToken }}{{ end }}"#;

/// A plain AppRole config with the listener stanzas in `listeners` (HCL).
pub(crate) fn approle_hcl(dev: &DevServer, dir: &Path, listeners: &str) -> PathBuf {
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

pub(crate) struct Pair {
    pub(crate) dev: DevServer,
    pub(crate) root: tempfile::TempDir,
}

pub(crate) fn approle_pair() -> Pair {
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
pub(crate) fn both(
    pair: &Pair,
    listeners: impl Fn(u16, &Path) -> String,
    check: impl Fn(&str, u16, &Path),
) {
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

pub(crate) fn unix_get(socket: &Path, path: &str) -> String {
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

pub(crate) fn wait_port(port: u16) {
    eventually(Duration::from_secs(30), || {
        std::net::TcpStream::connect(("127.0.0.1", port)).is_ok()
    })
    .unwrap();
}

/// `promtool check metrics` exits 1 on text it cannot parse; lint findings (such as counter
/// names without `_total`, which are Vault Agent's names) exit 3 and are acceptable here.
pub(crate) fn promtool_parses(text: &str) {
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
