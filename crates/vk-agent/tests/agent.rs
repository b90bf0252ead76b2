//! The agent as a process (the `agent` example) against a real `bao server -dev`.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine as _;
use vk_test_utils::util::{eventually, run_with_timeout};
use vk_test_utils::{DevServer, KubeApi, configure_kubernetes_auth};

const GUIDE_TEMPLATE: &str = r#"{{- with secret "secret/data/database/config" -}}postgresql://{{ .Data.data.username }}:{{ .Data.data.password }}@postgres:5432/mydb{{- end }}"#;

fn agent_bin() -> PathBuf {
    vk_test_utils::agent_example()
}

fn seeded() -> DevServer {
    DevServer::start_seeded().unwrap()
}

fn hcl_config(addr: &str, dir: &Path, exit_after_auth: bool, interval: &str) -> String {
    format!(
        r#"
pid_file = "{d}/pid"
exit_after_auth = {exit_after_auth}
vault {{ address = "{addr}" }}
auto_auth {{
  method "token_file" {{
    config {{ token_file_path = "{d}/token" }}
  }}
  sink "file" {{
    config {{ path = "{d}/sink-token" }}
  }}
}}
template_config {{
  exit_on_retry_failure = true
  static_secret_render_interval = "{interval}"
}}
template {{
  contents = <<EOT
{GUIDE_TEMPLATE}
EOT
  destination = "{d}/secrets/database-config.txt"
}}
"#,
        d = dir.display()
    )
}

fn agent_command(config: &Path) -> Command {
    let mut cmd = Command::new(agent_bin());
    cmd.arg(format!("-config={}", config.display()))
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_CONFIG");
    cmd
}

#[test]
fn init_token_file_matches_bao_agent() {
    let dev = seeded();
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    for d in [ours.path(), theirs.path()] {
        std::fs::write(d.join("token"), "root\n").unwrap();
        std::fs::write(d.join("agent.hcl"), hcl_config(dev.addr(), d, true, "5m")).unwrap();
    }
    let out = run_with_timeout(
        &mut agent_command(&ours.path().join("agent.hcl")),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(out.success(), "vk agent failed: {}", out.stderr_str());
    let mut bao = dev.agent_command(&theirs.path().join("agent.hcl"));
    let out = run_with_timeout(&mut bao, Duration::from_secs(60)).unwrap();
    assert!(out.success(), "bao agent failed: {}", out.stderr_str());

    let rel = "secrets/database-config.txt";
    let a = std::fs::read(ours.path().join(rel)).unwrap();
    let b = std::fs::read(theirs.path().join(rel)).unwrap();
    assert_eq!(
        String::from_utf8_lossy(&a),
        String::from_utf8_lossy(&b),
        "rendered bytes differ"
    );
    assert_eq!(
        a,
        b"postgresql://db-readonly-user:db-secret-password@postgres:5432/mydb\n"
    );
    for f in [rel, "sink-token"] {
        assert_eq!(
            vk_agent::file_mode(&ours.path().join(f)).unwrap(),
            vk_agent::file_mode(&theirs.path().join(f)).unwrap(),
            "mode of {f}"
        );
    }
    assert_eq!(
        std::fs::read(ours.path().join("sink-token")).unwrap(),
        std::fs::read(theirs.path().join("sink-token")).unwrap()
    );
    // The pid file is removed at exit.
    assert!(!ours.path().join("pid").exists());
}

/// Finds the init container's `VAULT_CONFIG` (the one with `exit_after_auth: true`) in the
/// injector's patch for the guide's pod.
fn injector_init_config() -> String {
    let pod: serde_json::Value =
        serde_json::from_str(&vk_test_utils::util::fixture("webapp-pod-admitted.json").unwrap())
            .unwrap();
    let settings = vk_inject::InjectorSettings {
        vault_address: "http://vault.vault.svc:8200".into(),
        ..vk_inject::InjectorSettings::default()
    };
    let decision = vk_inject::mutate(&pod, "default", &settings);
    let vk_inject::Decision::Inject { patch, .. } = decision else {
        panic!("the guide's pod was not injected: {decision:?}");
    };
    let patch: serde_json::Value =
        serde_json::from_slice(&vk_inject::patch_to_json(&patch)).unwrap();
    let mut found = Vec::new();
    collect_vault_configs(&patch, &mut found);
    found
        .into_iter()
        .map(|b64| {
            String::from_utf8(
                base64::engine::general_purpose::STANDARD
                    .decode(b64)
                    .unwrap(),
            )
            .unwrap()
        })
        .find(|json| json.contains("\"exit_after_auth\":true"))
        .expect("an init VAULT_CONFIG")
}

fn collect_vault_configs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("name").and_then(|n| n.as_str()) == Some("VAULT_CONFIG")
                && let Some(s) = m.get("value").and_then(|s| s.as_str())
            {
                out.push(s.to_string());
            }
            m.values().for_each(|x| collect_vault_configs(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_vault_configs(x, out)),
        _ => {}
    }
}

#[test]
fn init_kubernetes_auth_from_injector_vault_config() {
    let dev = seeded();
    let kube = KubeApi::start().unwrap();
    configure_kubernetes_auth(
        &dev,
        &kube,
        "webapp",
        "webapp",
        "default",
        "webapp",
        r#"path "secret/data/database/config" { capabilities = ["read"] }"#,
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path().display().to_string();
    let json = injector_init_config();
    // Only paths change: the service-account token, the sink, the destinations, the pid file.
    let json = json
        .replace(
            "/var/run/secrets/vault.hashicorp.com/serviceaccount/token",
            &format!("{d}/sa-token"),
        )
        .replace(
            "/var/run/secrets/kubernetes.io/serviceaccount/token",
            &format!("{d}/sa-token"),
        )
        .replace("/home/vault", &format!("{d}/home"))
        .replace("/vault/secrets", &format!("{d}/secrets"));
    assert!(json.contains("\"kubernetes\""), "{json}");
    std::fs::create_dir_all(dir.path().join("home")).unwrap();
    let jwt = kube
        .mint("default", "webapp", Duration::from_secs(600))
        .unwrap();
    std::fs::write(dir.path().join("sa-token"), jwt).unwrap();

    let mut cmd = Command::new(agent_bin());
    cmd.env(
        "VAULT_CONFIG",
        base64::engine::general_purpose::STANDARD.encode(&json),
    )
    // The address comes from the environment, as an env override of the file's.
    .env("VAULT_ADDR", dev.addr());
    let out = run_with_timeout(&mut cmd, Duration::from_secs(60)).unwrap();
    assert!(out.success(), "agent failed: {}", out.stderr_str());
    assert_eq!(
        std::fs::read_to_string(dir.path().join("secrets/database-config")).unwrap(),
        "postgresql://db-readonly-user:db-secret-password@postgres:5432/mydb\n"
    );
    assert!(kube.review_count() >= 1);
    let sink = std::fs::read_to_string(dir.path().join("home/.vault-token")).unwrap();
    assert!(!sink.is_empty() && !sink.ends_with('\n'));
    assert!(!out.stderr_str().contains(&sink), "token leaked to logs");
}

#[test]
fn bad_config_exits_non_zero_and_names_the_key() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("bad.hcl");
    std::fs::write(
        &cfg,
        "auto_auth {\n  method \"kubernetes\" {\n    config { }\n  }\n  sink \"file\" { config { path = \"/tmp/x\" } }\n}\n",
    )
    .unwrap();
    let out = run_with_timeout(&mut agent_command(&cfg), Duration::from_secs(30)).unwrap();
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    let err = out.stderr_str();
    assert!(err.contains("role") && err.contains("bad.hcl"), "{err}");

    // A strict template key error from the configuration crate.
    std::fs::write(
        &cfg,
        "auto_auth {\n  method \"token_file\" { config { token_file_path = \"/t\" } }\n}\ntemplate {\n  contents = \"x\"\n  destination = \"/tmp/y\"\n  bogus_key = 1\n}\n",
    )
    .unwrap();
    let out = run_with_timeout(&mut agent_command(&cfg), Duration::from_secs(30)).unwrap();
    assert_eq!(out.code(), Some(1));
    let err = out.stderr_str();
    assert!(
        err.contains("bogus_key") && err.contains("bad.hcl"),
        "{err}"
    );

    // A missing secret with exit_on_retry_failure and no retries: non-zero with the agent's text.
    let dev = DevServer::start().unwrap();
    std::fs::write(dir.path().join("token"), "root").unwrap();
    std::fs::write(
        &cfg,
        format!(
            "exit_after_auth = true\nvault {{\n address = \"{}\"\n retry {{ num_retries = -1 }}\n}}\nauto_auth {{\n  method \"token_file\" {{ config {{ token_file_path = \"{d}/token\" }} }}\n}}\ntemplate_config {{ exit_on_retry_failure = true }}\ntemplate {{\n  contents = \"{{{{ with secret \\\"secret/data/nope\\\" }}}}{{{{ .Data }}}}{{{{ end }}}}\"\n  destination = \"{d}/out\"\n}}\n",
            dev.addr(),
            d = dir.path().display()
        ),
    )
    .unwrap();
    let out = run_with_timeout(&mut agent_command(&cfg), Duration::from_secs(30)).unwrap();
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str()
            .contains("vault.read(secret/data/nope): no secret exists at secret/data/nope"),
        "{}",
        out.stderr_str()
    );
    assert!(!dir.path().join("out").exists());
}

#[test]
fn sidecar_rewrites_atomically_and_stops_on_sigterm() {
    let dev = seeded();
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("token"), "root").unwrap();
    let cfg = dir.path().join("agent.hcl");
    std::fs::write(&cfg, hcl_config(dev.addr(), dir.path(), false, "1s")).unwrap();
    let dest = dir.path().join("secrets/database-config.txt");

    let child = agent_command(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let pid = child.id();
    let mut guard = KillOnDrop(child);
    eventually(Duration::from_secs(30), || dest.exists()).unwrap();
    assert!(dir.path().join("pid").exists());

    // A reader that must never see an empty or partial file.
    let stop = Arc::new(AtomicBool::new(false));
    let bad = Arc::new(AtomicUsize::new(0));
    let reads = Arc::new(AtomicUsize::new(0));
    let reader = {
        let (stop, bad, reads, dest) = (stop.clone(), bad.clone(), reads.clone(), dest.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let s = std::fs::read_to_string(&dest).unwrap_or_default();
                if !(s.starts_with("postgresql://") && s.ends_with("/mydb\n")) {
                    bad.fetch_add(1, Ordering::Relaxed);
                }
                reads.fetch_add(1, Ordering::Relaxed);
            }
        })
    };
    for i in 0..3 {
        let pw = format!("password=rotated-{i}");
        dev.cli_ok(&[
            "kv",
            "put",
            "secret/database/config",
            "username=db-readonly-user",
            &pw,
        ])
        .unwrap();
        let want = format!("rotated-{i}@");
        eventually(Duration::from_secs(15), || {
            std::fs::read_to_string(&dest).is_ok_and(|s| s.contains(&want))
        })
        .unwrap();
    }
    stop.store(true, Ordering::Relaxed);
    reader.join().unwrap();
    assert_eq!(
        bad.load(Ordering::Relaxed),
        0,
        "reader saw a partial file ({} reads)",
        reads.load(Ordering::Relaxed)
    );

    // SIGTERM → exit 0, pid file removed.
    let status = Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut code = None;
    eventually(Duration::from_secs(10), || {
        code = guard.0.try_wait().ok().flatten().map(|s| s.code());
        code.is_some()
    })
    .unwrap();
    assert_eq!(code, Some(Some(0)));
    assert!(!dir.path().join("pid").exists());
}

/// Kills the agent if a test fails before stopping it.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn sidecar_approle_renews_then_reauthenticates_at_max_ttl() {
    let dev = seeded();
    dev.write_policy(
        "db",
        r#"path "secret/data/database/config" { capabilities = ["read"] }"#,
    )
    .unwrap();
    let role = vk_test_utils::AppRole::create(
        |a| dev.cli_ok(a),
        &["token_policies=db", "token_ttl=3s", "token_max_ttl=6s"],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let cfg = d.join("agent.hcl");
    std::fs::write(
        &cfg,
        format!(
            r#"
vault {{ address = "{addr}" }}
auto_auth {{
  method "approle" {{
    config {{
      role_id_file_path = "{d}/role-id"
      secret_id_file_path = "{d}/secret-id"
    }}
  }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
template {{
  contents = "{{{{ with secret \"secret/data/database/config\" }}}}{{{{ .Data.data.username }}}}{{{{ end }}}}"
  destination = "{d}/out"
}}
"#,
            addr = dev.addr(),
            d = d.display()
        ),
    )
    .unwrap();
    let child = agent_command(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child);
    let sink = d.join("sink");
    eventually(Duration::from_secs(20), || {
        std::fs::read_to_string(d.join("out")).is_ok_and(|s| s == "db-readonly-user")
    })
    .unwrap();
    // The secret-id file is removed after reading (default) and the value cached.
    assert!(!d.join("secret-id").exists());
    let first = std::fs::read_to_string(&sink).unwrap();
    // At the max TTL (6 s) the token can no longer be extended: a new login, a new token.
    eventually(Duration::from_secs(20), || {
        std::fs::read_to_string(&sink).is_ok_and(|t| !t.is_empty() && t != first)
    })
    .unwrap();
    let second = std::fs::read_to_string(&sink).unwrap();
    let lookup = dev.cli(&["token", "lookup", &second]).unwrap();
    assert!(lookup.status.success(), "new token is not valid");
}
