//! Reload on rotation (`VAULT_K8S_AGENT_RELOAD`, the injector's `agent-inject-reload-*`
//! annotations) against a real OpenBao: a short-lived `pkiCert` is re-issued by the sidecar, and
//! after each rewrite a stand-in application (the `reload_probe` example, under a unique process
//! name) gets SIGHUP and a local HTTP server gets a POST, exactly once per change; creating the
//! file the first time and renders with unchanged bytes trigger nothing.

mod common;

use std::collections::HashSet;
use std::hash::{Hash, Hasher};
use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::Agent;
use vk_test_utils::DevServer;
use vk_test_utils::util::eventually;

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The `reload_probe` example next to the agent example (built on demand like it).
fn probe_binary() -> PathBuf {
    let agent = vk_test_utils::agent_example();
    let probe = agent.with_file_name("reload_probe");
    if !probe.exists() {
        let cargo = std::env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
        let ok = Command::new(cargo)
            .args([
                "build",
                "--quiet",
                "-p",
                "vk-agent",
                "--example",
                "reload_probe",
            ])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .env_remove("CARGO_MANIFEST_DIR")
            .status()
            .unwrap()
            .success();
        assert!(ok, "building the reload_probe example failed");
    }
    probe
}

fn checksum(bytes: &[u8]) -> String {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    bytes.hash(&mut h);
    format!("{:016x}", h.finish())
}

/// A loopback HTTP server recording `METHOD PATH checksum-of-the-file` per request, 200 each.
fn recording_server(watched: PathBuf) -> (u16, Arc<Mutex<Vec<String>>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let calls = Arc::new(Mutex::new(Vec::new()));
    let seen = calls.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 1024];
            while !buf.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
            }
            let head = String::from_utf8_lossy(&buf);
            let line: Vec<&str> = head.lines().next().unwrap_or("").split(' ').collect();
            let file = std::fs::read(&watched).unwrap_or_default();
            seen.lock().unwrap().push(format!(
                "{} {} {}",
                line.first().unwrap_or(&""),
                line.get(1).unwrap_or(&""),
                checksum(&file)
            ));
            let _ = stream
                .write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
        }
    });
    (port, calls)
}

fn pki_server() -> DevServer {
    let dev = DevServer::start().unwrap();
    dev.cli_ok(&["secrets", "enable", "pki"]).unwrap();
    dev.cli_ok(&["secrets", "tune", "-max-lease-ttl=87600h", "pki"])
        .unwrap();
    dev.cli_ok(&[
        "write",
        "pki/root/generate/internal",
        "common_name=vk-test-root",
        "ttl=87600h",
    ])
    .unwrap();
    dev.cli_ok(&[
        "write",
        "pki/roles/web",
        "allowed_domains=example.com",
        "allow_subdomains=true",
        "ttl=30s",
        "max_ttl=1h",
    ])
    .unwrap();
    dev
}

fn lines(path: &Path) -> Vec<String> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .map(str::to_string)
        .collect()
}

#[test]
fn rotated_certificate_signals_the_app_and_calls_its_endpoint_once_per_change() {
    let dev = pki_server();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("token"), dev.root_token()).unwrap();
    let dest = d.join("certs/app.pem");

    // The stand-in app, under a name no other process on the machine has (≤ 15 bytes, comm).
    let name = format!("vkrl{}", std::process::id() % 10_000_000);
    let probe = d.join(&name);
    std::fs::copy(probe_binary(), &probe).unwrap();
    let signals_log = d.join("signals");
    let ready = d.join("ready");
    let _app = KillOnDrop(
        Command::new(&probe)
            .args([&dest, &signals_log, &ready])
            .stdin(Stdio::null())
            .spawn()
            .unwrap(),
    );
    eventually(Duration::from_secs(30), || ready.exists()).unwrap();
    let (port, calls) = recording_server(dest.clone());

    // 30 s certificates: OpenBao backdates NotBefore by 30 s, so the agent re-issues about 24 s
    // after each issue.
    let cfg = d.join("agent.hcl");
    std::fs::write(
        &cfg,
        format!(
            r#"
exit_after_auth = false
vault {{ address = "{addr}" }}
auto_auth {{
  method "token_file" {{ config {{ token_file_path = "{d}/token" }} }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
template {{
  contents = "{{{{ with pkiCert \"pki/issue/web\" \"common_name=app.example.com\" \"ttl=30s\" }}}}{{{{ .Cert }}}}{{{{ .Key }}}}{{{{ end }}}}"
  destination = "{dest}"
  create_dest_dirs = true
}}
template {{
  contents = "static"
  destination = "{d}/static.txt"
}}
"#,
            addr = dev.addr(),
            d = d.display(),
            dest = dest.display(),
        ),
    )
    .unwrap();
    let reload = serde_json::json!([
        {"destination": dest, "signal": "SIGHUP", "process": name},
        {"destination": dest, "method": "POST", "url": format!("http://localhost:{port}/-/reload")},
        {"destination": d.join("static.txt"), "method": "GET", "url": format!("http://127.0.0.1:{port}/static")},
    ]);
    let agent_log = d.join("agent.log");
    let agent = Agent::spawn_command(
        Command::new(vk_test_utils::agent_example())
            .arg(format!("-config={}", cfg.display()))
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_CONFIG")
            .env(vk_agent::RELOAD_ENV, reload.to_string()),
        agent_log.clone(),
    );
    let log = || std::fs::read_to_string(&agent_log).unwrap_or_default();
    eventually(Duration::from_secs(30), || dest.exists())
        .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", log()));

    // Two rotations: each one signal and one call.
    eventually(Duration::from_secs(150), || lines(&signals_log).len() >= 2)
        .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", log()));
    drop(agent);
    std::thread::sleep(Duration::from_secs(1));

    let writes = log()
        .lines()
        .filter(|l| l.contains("rendered template") && l.contains("app.pem"))
        .count();
    let signals = lines(&signals_log);
    let calls = calls.lock().unwrap().clone();
    // The first write created the file: no action. Every later write: one of each.
    assert_eq!(signals.len(), writes - 1, "agent log:\n{}", log());
    assert_eq!(
        calls.len(),
        writes - 1,
        "calls {calls:?}; agent log:\n{}",
        log()
    );
    assert!(
        calls.iter().all(|c| c.starts_with("POST /-/reload ")),
        "{calls:?}"
    );
    // Each action saw a different certificate: once per change, never for unchanged bytes
    // (the static template renders on every pass and never triggers its GET).
    let distinct: HashSet<&String> = signals.iter().collect();
    assert_eq!(distinct.len(), signals.len(), "{signals:?}");
    let distinct_calls: HashSet<&str> = calls.iter().map(|c| &c[15..]).collect();
    assert_eq!(distinct_calls.len(), calls.len(), "{calls:?}");
    assert_eq!(
        signals.last().unwrap(),
        &checksum(&std::fs::read(&dest).unwrap()),
        "the app was signalled after the last write"
    );
    assert_eq!(
        log().matches("reload: signal sent").count(),
        signals.len(),
        "{}",
        log()
    );
}

#[test]
fn a_bad_reload_setting_stops_the_agent_naming_the_variable() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("agent.hcl");
    std::fs::write(
        &cfg,
        r#"
vault { address = "http://127.0.0.1:1" }
auto_auth {
  method "token_file" { config { token_file_path = "/nonexistent" } }
}
template {
  contents = "x"
  destination = "/tmp/never"
}
"#,
    )
    .unwrap();
    let out = vk_test_utils::util::run_with_timeout(
        Command::new(vk_test_utils::agent_example())
            .arg(format!("-config={}", cfg.display()))
            .env(
                vk_agent::RELOAD_ENV,
                r#"[{"destination":"/tmp/never","url":"http://10.0.0.1/reload"}]"#,
            ),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(!out.success() && !out.timed_out);
    let err = out.stderr_str();
    assert!(
        err.contains(vk_agent::RELOAD_ENV) && err.contains("127.0.0.1, localhost or [::1]"),
        "{err}"
    );
}
