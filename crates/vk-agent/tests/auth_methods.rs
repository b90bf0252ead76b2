//! Every auto-auth method through the agent process against a real OpenBao: kubernetes (real
//! TokenReview), jwt (a static key), approle, token_file and cert (TLS). Each run logs in,
//! writes the sink (no trailing newline, sink mode) and renders a template; wrong credentials
//! with `exit_on_err` end the agent with a non-zero status.

use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde_json::json;
use vk_test_utils::util::{TimedOutput, run_with_timeout};
use vk_test_utils::{DevServer, KubeApi, TestCa, configure_kubernetes_auth};

const POLICY: &str = r#"path "secret/data/app" { capabilities = ["read"] }"#;
const TEMPLATE: &str =
    r#"{{ with secret \"secret/data/app\" }}user={{ .Data.data.user }}{{ end }}"#;

fn agent_bin() -> PathBuf {
    vk_test_utils::agent_example()
}

fn seeded() -> DevServer {
    let dev = DevServer::start().unwrap();
    dev.cli_ok(&["kv", "put", "secret/app", "user=alice"])
        .unwrap();
    dev.write_policy("reader", POLICY).unwrap();
    dev
}

/// An init-mode configuration around one `method` block (and optional `vault` settings).
fn config(addr: &str, d: &Path, method: &str, vault_extra: &str) -> String {
    format!(
        r#"
exit_after_auth = true
vault {{
  address = "{addr}"
  {vault_extra}
}}
auto_auth {{
  {method}
  sink "file" {{
    config {{
      path = "{d}/sink"
      mode = 0600
    }}
  }}
}}
template_config {{ exit_on_retry_failure = true }}
template {{
  contents = "{TEMPLATE}"
  destination = "{d}/out/app.txt"
}}
"#,
        d = d.display()
    )
}

fn run_agent(cfg: &Path) -> TimedOutput {
    let mut cmd = Command::new(agent_bin());
    cmd.arg(format!("-config={}", cfg.display()))
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_CONFIG");
    run_with_timeout(&mut cmd, Duration::from_secs(60)).unwrap()
}

/// Runs the agent with `method` and checks the common outcome; returns the sink token.
fn login_and_render(addr: &str, d: &Path, method: &str, vault_extra: &str) -> String {
    let cfg = d.join("agent.hcl");
    std::fs::write(&cfg, config(addr, d, method, vault_extra)).unwrap();
    let out = run_agent(&cfg);
    assert!(out.success(), "agent failed: {}", out.stderr_str());
    assert_eq!(
        std::fs::read_to_string(d.join("out/app.txt")).unwrap(),
        "user=alice"
    );
    let sink = d.join("sink");
    let token = std::fs::read_to_string(&sink).unwrap();
    assert!(!token.is_empty());
    assert!(
        !token.ends_with('\n') && token.trim() == token,
        "sink has white space"
    );
    assert_eq!(vk_agent::file_mode(&sink).unwrap(), 0o600);
    let logs = out.stderr_str();
    assert!(!logs.contains(&token), "token leaked to logs");
    assert!(logs.contains("authentication successful"), "{logs}");
    token
}

/// The policies of a token, looked up with the root token.
fn policies(dev: &DevServer, token: &str) -> Vec<String> {
    let out = dev
        .cli_ok(&["token", "lookup", "-format=json", token])
        .unwrap();
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    v["data"]["policies"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p.as_str().map(str::to_string))
        .collect()
}

/// Kills the agent if a test fails before it exits.
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A run that must fail: `exit_on_err` makes the first failed login fatal.
fn login_fails(addr: &str, d: &Path, method: &str, vault_extra: &str) -> String {
    let cfg = d.join("bad.hcl");
    std::fs::write(&cfg, config(addr, d, method, vault_extra)).unwrap();
    let out = run_agent(&cfg);
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    out.stderr_str()
}

#[test]
fn kubernetes() {
    let dev = seeded();
    let kube = KubeApi::start().unwrap();
    configure_kubernetes_auth(&dev, &kube, "app", "webapp", "default", "reader", POLICY).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jwt = kube
        .mint("default", "webapp", Duration::from_secs(600))
        .unwrap();
    // The projected token is trimmed (spec §2.2).
    std::fs::write(d.join("sa-token"), format!("{jwt}\n")).unwrap();
    let method = |role: &str| {
        format!(
            r#"method "kubernetes" {{
    exit_on_err = true
    config {{
      role = "{role}"
      token_path = "{}/sa-token"
    }}
  }}"#,
            d.display()
        )
    };
    let before = kube.review_count();
    let token = login_and_render(dev.addr(), d, &method("app"), "");
    assert!(kube.review_count() > before, "no TokenReview call");
    assert!(policies(&dev, &token).contains(&"reader".to_string()));

    // A role that does not exist.
    std::fs::remove_file(d.join("sink")).unwrap();
    let err = login_fails(dev.addr(), d, &method("nope"), "");
    assert!(err.contains("kubernetes login"), "{err}");
    assert!(!d.join("sink").exists());
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[test]
fn jwt() {
    let dev = seeded();
    let signer = vk_test_utils::JwtSigner::new();
    let pub_path = dev.scratch_dir().join("jwt.pub");
    std::fs::write(&pub_path, &signer.public_pem).unwrap();
    dev.cli_ok(&["auth", "enable", "jwt"]).unwrap();
    dev.cli_ok(&[
        "write",
        "auth/jwt/config",
        &format!("jwt_validation_pubkeys=@{}", pub_path.display()),
        "bound_issuer=https://issuer.test",
    ])
    .unwrap();
    dev.cli_stdin_ok(
        &["write", "auth/jwt/role/ci", "-"],
        json!({
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_subject": "job-1",
            "bound_audiences": ["vk"],
            "token_policies": ["reader"],
            "token_ttl": "10m"
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let jwt = signer.sign(&json!({
        "iss": "https://issuer.test", "sub": "job-1", "aud": "vk",
        "iat": now(), "nbf": now(), "exp": now() + 600
    }));
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let jwt_file = d.join("jwt");
    std::fs::write(&jwt_file, &jwt).unwrap();
    let method = |role: &str, extra: &str| {
        format!(
            r#"method "jwt" {{
    exit_on_err = true
    config {{
      role = "{role}"
      path = "{}"
      {extra}
    }}
  }}"#,
            jwt_file.display()
        )
    };
    let token = login_and_render(dev.addr(), d, &method("ci", ""), "");
    assert!(policies(&dev, &token).contains(&"reader".to_string()));
    assert!(!jwt_file.exists(), "the JWT file is removed after reading");

    // Kept when asked to; a role bound to another subject refuses the same JWT.
    dev.cli_stdin_ok(
        &["write", "auth/jwt/role/other", "-"],
        json!({
            "role_type": "jwt", "user_claim": "sub", "bound_subject": "job-2",
            "bound_audiences": ["vk"], "token_policies": ["reader"]
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    std::fs::write(&jwt_file, &jwt).unwrap();
    let err = login_fails(
        dev.addr(),
        d,
        &method("other", "remove_jwt_after_reading = false"),
        "",
    );
    assert!(err.contains("jwt login"), "{err}");
    assert!(!err.contains(&jwt), "JWT leaked to logs");
    assert!(
        jwt_file.exists(),
        "remove_jwt_after_reading = false keeps it"
    );

    // A JWT signed by another key.
    std::fs::write(
        &jwt_file,
        vk_test_utils::JwtSigner::new().sign(&json!({
            "iss": "https://issuer.test", "sub": "job-1", "aud": "vk",
            "iat": now(), "exp": now() + 600
        })),
    )
    .unwrap();
    login_fails(dev.addr(), d, &method("ci", ""), "");

    // No JWT yet and no exit_on_err: the agent retries with backoff (a missing file is not
    // fatal) and logs in once the file appears.
    let late_dir = tempfile::tempdir().unwrap();
    let ld = late_dir.path();
    let late = ld.join("late-jwt");
    let cfg = ld.join("agent.hcl");
    std::fs::write(
        &cfg,
        config(
            dev.addr(),
            ld,
            &format!(
                r#"method "jwt" {{
    min_backoff = "200ms"
    max_backoff = "1s"
    config {{
      role = "ci"
      path = "{}"
    }}
  }}"#,
                late.display()
            ),
            "",
        ),
    )
    .unwrap();
    let log = ld.join("agent.log");
    let child = Command::new(agent_bin())
        .arg(format!("-config={}", cfg.display()))
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_CONFIG")
        .stdout(Stdio::null())
        .stderr(File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let mut guard = KillOnDrop(child);
    let failures = || {
        std::fs::read_to_string(&log)
            .unwrap_or_default()
            .matches("auto-auth attempt failed")
            .count()
    };
    vk_test_utils::eventually(Duration::from_secs(30), || failures() >= 2).unwrap();
    assert!(
        guard.0.try_wait().unwrap().is_none(),
        "the agent gave up without exit_on_err"
    );
    std::fs::write(&late, &jwt).unwrap();
    let mut status = None;
    vk_test_utils::eventually(Duration::from_secs(30), || {
        status = guard.0.try_wait().unwrap();
        status.is_some()
    })
    .unwrap();
    assert!(
        status.unwrap().success(),
        "{}",
        std::fs::read_to_string(&log).unwrap()
    );
    assert_eq!(
        std::fs::read_to_string(ld.join("out/app.txt")).unwrap(),
        "user=alice"
    );
    assert!(!late.exists(), "read and removed");

    // Missing required settings name the key.
    let err = login_fails(
        dev.addr(),
        d,
        r#"method "jwt" { config { role = "ci" } }"#,
        "",
    );
    assert!(err.contains("auto_auth.method.config.path"), "{err}");
}

#[test]
fn approle() {
    let dev = seeded();
    let role = vk_test_utils::AppRole::create(
        |a| dev.cli_ok(a),
        &["token_policies=reader", "token_ttl=10m"],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    // Both files are trimmed (spec §2.4).
    std::fs::write(d.join("role-id"), format!("{}\n", role.role_id)).unwrap();
    std::fs::write(d.join("secret-id"), format!("{}\n", role.secret_id)).unwrap();
    let method = format!(
        r#"method "approle" {{
    exit_on_err = true
    config {{
      role_id_file_path = "{d}/role-id"
      secret_id_file_path = "{d}/secret-id"
      remove_secret_id_file_after_reading = true
    }}
  }}"#,
        d = d.display()
    );
    let token = login_and_render(dev.addr(), d, &method, "");
    assert!(policies(&dev, &token).contains(&"reader".to_string()));
    assert!(!d.join("secret-id").exists(), "secret-id file removed");
    assert!(d.join("role-id").exists());

    // A wrong secret id.
    std::fs::write(d.join("secret-id"), "00000000-0000-0000-0000-000000000000").unwrap();
    let err = login_fails(dev.addr(), d, &method, "");
    assert!(err.contains("approle login"), "{err}");
}

#[test]
fn token_file() {
    let dev = seeded();
    let created = dev
        .cli_ok(&["token", "create", "-policy=reader", "-field=token"])
        .unwrap();
    let created = created.trim().to_string();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("token"), format!("{created}\n")).unwrap();
    let method = format!(
        r#"method "token_file" {{
    exit_on_err = true
    config {{ token_file_path = "{}/token" }}
  }}"#,
        d.display()
    );
    let token = login_and_render(dev.addr(), d, &method, "");
    assert_eq!(token, created, "the sink holds the file's token, trimmed");

    std::fs::write(d.join("token"), "not-a-token").unwrap();
    let err = login_fails(dev.addr(), d, &method, "");
    assert!(err.contains("token_file"), "{err}");
}

/// `bao server -dev -dev-tls` on a free port; killed on drop.
struct TlsDevServer {
    child: Child,
    addr: String,
    dir: tempfile::TempDir,
}

impl TlsDevServer {
    fn start() -> Self {
        let bin = vk_test_utils::bao_binary().unwrap();
        let dir = tempfile::Builder::new()
            .prefix("vk-bao-tls-")
            .tempdir()
            .unwrap();
        let certs = dir.path().join("tls");
        std::fs::create_dir_all(&certs).unwrap();
        let port = vk_test_utils::free_port().unwrap();
        let log = File::create(dir.path().join("bao.log")).unwrap();
        let child = Command::new(&bin)
            .args([
                "server",
                "-dev",
                "-dev-tls",
                &format!("-dev-tls-cert-dir={}", certs.display()),
                "-dev-root-token-id=root",
                &format!("-dev-listen-address=127.0.0.1:{port}"),
            ])
            .env("HOME", dir.path())
            .env_remove("VAULT_ADDR")
            .env_remove("BAO_ADDR")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let server = Self {
            child,
            addr: format!("https://127.0.0.1:{port}"),
            dir,
        };
        vk_test_utils::eventually(Duration::from_secs(30), || {
            let Ok(ca) = std::fs::read_to_string(server.ca_path()) else {
                return false;
            };
            vk_test_utils::http::get(&format!("{}/v1/sys/health", server.addr), Some(&ca))
                .is_ok_and(|r| r.status == 200)
        })
        .unwrap_or_else(|e| {
            panic!(
                "TLS dev server: {e}; log:\n{}",
                std::fs::read_to_string(server.dir.path().join("bao.log")).unwrap_or_default()
            )
        });
        server
    }

    fn ca_path(&self) -> PathBuf {
        self.dir.path().join("tls").join("vault-ca.pem")
    }

    fn cli_ok(&self, args: &[&str]) -> String {
        let out = Command::new(vk_test_utils::bao_binary().unwrap())
            .args(args)
            .env("BAO_ADDR", &self.addr)
            .env("BAO_TOKEN", "root")
            .env("BAO_CACERT", self.ca_path())
            .env("HOME", self.dir.path())
            .stdin(Stdio::null())
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "bao {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }
}

impl Drop for TlsDevServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn cert() {
    let server = TlsDevServer::start();
    server.cli_ok(&["kv", "put", "secret/app", "user=alice"]);
    let policy = server.dir.path().join("reader.hcl");
    std::fs::write(&policy, POLICY).unwrap();
    server.cli_ok(&["policy", "write", "reader", &policy.display().to_string()]);
    let client_ca = TestCa::named("vk-client-ca").unwrap();
    let leaf = client_ca.issue_leaf(&["agent.example"]).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let tls = client_ca.write_tls_dir(&d.join("client"), &leaf).unwrap();
    server.cli_ok(&["auth", "enable", "cert"]);
    server.cli_ok(&[
        "write",
        "auth/cert/certs/web",
        "token_policies=reader",
        &format!("certificate=@{}", tls.ca.display()),
        "token_ttl=15m",
    ]);
    let vault_tls = format!(
        r#"ca_cert = "{}"
  client_cert = "{}"
  client_key = "{}""#,
        server.ca_path().display(),
        tls.cert.display(),
        tls.key.display()
    );
    let method = |name: &str| {
        format!(
            r#"method "cert" {{
    exit_on_err = true
    config {{ name = "{name}" }}
  }}"#
        )
    };
    let token = login_and_render(&server.addr, d, &method("web"), &vault_tls);
    let lookup = server.cli_ok(&["token", "lookup", "-format=json", &token]);
    assert!(lookup.contains("\"reader\""), "{lookup}");

    // A certificate role that does not exist.
    let err = login_fails(&server.addr, d, &method("nope"), &vault_tls);
    assert!(err.contains("cert login"), "{err}");

    // The method's own TLS files (spec §2.6): the vault block has no client certificate, so
    // the login only succeeds through the method's dedicated client.
    let vault_ca_only = format!(r#"ca_cert = "{}""#, server.ca_path().display());
    let err = login_fails(&server.addr, d, &method("web"), &vault_ca_only);
    assert!(err.contains("cert login"), "{err}");
    let own_tls = format!(
        r#"method "cert" {{
    exit_on_err = true
    config {{
      name = "web"
      ca_cert = "{}"
      client_cert = "{}"
      client_key = "{}"
    }}
  }}"#,
        server.ca_path().display(),
        tls.cert.display(),
        tls.key.display()
    );
    std::fs::remove_file(d.join("sink")).unwrap();
    let token = login_and_render(&server.addr, d, &own_tls, &vault_ca_only);
    let lookup = server.cli_ok(&["token", "lookup", "-format=json", &token]);
    assert!(lookup.contains("\"reader\""), "{lookup}");
    // Half a key pair names the missing key.
    let half = format!(
        r#"method "cert" {{ config {{ client_cert = "{}" }} }}"#,
        tls.cert.display()
    );
    let err = login_fails(&server.addr, d, &half, &vault_ca_only);
    assert!(err.contains("auto_auth.method.config.client_key"), "{err}");
}
