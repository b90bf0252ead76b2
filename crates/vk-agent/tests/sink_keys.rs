//! Sink and auto-auth keys against a real `bao server -dev`: a `wrap_ttl` sink holds a
//! response-wrapping token that unwraps to a working token (same JSON shape as `bao agent`'s),
//! and `auto_auth.method.namespace` sends the login to that namespace.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Duration;

use vk_test_utils::DevServer;
use vk_test_utils::util::run_with_timeout;

fn our_agent(config: &Path) -> Command {
    let mut cmd = Command::new(vk_test_utils::agent_example());
    cmd.arg(format!("-config={}", config.display()))
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_CONFIG")
        .stdin(Stdio::null());
    cmd
}

fn wrap_config(addr: &str, d: &Path) -> String {
    format!(
        r#"
exit_after_auth = true
vault {{ address = "{addr}" }}
auto_auth {{
  method "token_file" {{ config {{ token_file_path = "{d}/token" }} }}
  sink "file" {{
    wrap_ttl = "5m"
    config {{ path = "{d}/wrapped" }}
  }}
  sink "file" {{ config {{ path = "{d}/plain" }} }}
}}
"#,
        d = d.display()
    )
}

/// Unwraps `wrapping_token` with the CLI (no other token) and returns `data.token`.
fn unwrap(dev: &DevServer, wrapping_token: &str) -> String {
    let out = dev
        .command()
        .args(["unwrap", "-format=json", wrapping_token])
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "unwrap: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    v["data"]["token"].as_str().unwrap().to_string()
}

#[test]
fn wrap_ttl_sink_holds_a_wrapping_token_that_unwraps_to_a_working_token() {
    let dev = DevServer::start().unwrap();
    let token = dev
        .cli_ok(&[
            "token",
            "create",
            "-field=token",
            "-policy=default",
            "-ttl=1h",
        ])
        .unwrap()
        .trim()
        .to_string();
    let ours = tempfile::tempdir().unwrap();
    let theirs = tempfile::tempdir().unwrap();
    for d in [ours.path(), theirs.path()] {
        std::fs::write(d.join("token"), &token).unwrap();
        std::fs::write(d.join("agent.hcl"), wrap_config(dev.addr(), d)).unwrap();
    }
    let out = run_with_timeout(
        &mut our_agent(&ours.path().join("agent.hcl")),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(out.success(), "ours: {}", out.stderr_str());
    let mut bao = dev.agent_command(&theirs.path().join("agent.hcl"));
    let out = run_with_timeout(&mut bao, Duration::from_secs(60)).unwrap();
    assert!(out.success(), "bao: {}", out.stderr_str());

    let shape = |d: &Path| -> (Vec<String>, serde_json::Value) {
        let text = std::fs::read_to_string(d.join("wrapped")).unwrap();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap();
        let keys = v.as_object().unwrap().keys().cloned().collect();
        (keys, v)
    };
    let (our_keys, ours_v) = shape(ours.path());
    let (their_keys, theirs_v) = shape(theirs.path());
    assert_eq!(
        our_keys, their_keys,
        "the wrapped sink's JSON fields, in order"
    );
    assert_eq!(ours_v["ttl"], 300);
    assert_eq!(ours_v["creation_path"], theirs_v["creation_path"]);
    // The plain sink holds the token itself, as bao's does.
    assert_eq!(
        std::fs::read_to_string(ours.path().join("plain")).unwrap(),
        token
    );

    let wrapping = ours_v["token"].as_str().unwrap();
    assert_ne!(wrapping, token, "the sink must not hold the token itself");
    let unwrapped = unwrap(&dev, wrapping);
    assert_eq!(unwrapped, token);
    // The unwrapped token works.
    let out = dev
        .command()
        .args(["token", "lookup", "-format=json"])
        .env("VAULT_TOKEN", &unwrapped)
        .env("BAO_TOKEN", &unwrapped)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    // A wrapping token unwraps once.
    let again = dev
        .command()
        .args(["unwrap", wrapping])
        .env_remove("VAULT_TOKEN")
        .env_remove("BAO_TOKEN")
        .output()
        .unwrap();
    assert!(!again.status.success());
}

#[test]
fn method_namespace_logs_in_to_that_namespace() {
    let dev = DevServer::start().unwrap();
    if dev
        .cli(&["namespace", "create", "team-a"])
        .map(|o| !o.status.success())
        .unwrap_or(true)
    {
        eprintln!("skipped: this OpenBao has no namespaces");
        return;
    }
    let ns = |args: &[&str]| {
        let out = dev
            .command()
            .args(args)
            .env("BAO_NAMESPACE", "team-a")
            .env("VAULT_NAMESPACE", "team-a")
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    ns(&["auth", "enable", "approle"]);
    ns(&[
        "write",
        "auth/approle/role/app",
        "token_ttl=1h",
        "token_policies=default",
    ]);
    let role_id = ns(&["read", "-field=role_id", "auth/approle/role/app/role-id"]);
    let secret_id = ns(&[
        "write",
        "-f",
        "-field=secret_id",
        "auth/approle/role/app/secret-id",
    ]);
    let d = tempfile::tempdir().unwrap();
    std::fs::write(d.path().join("role"), role_id.trim()).unwrap();
    std::fs::write(d.path().join("secret"), secret_id.trim()).unwrap();
    let config = format!(
        r#"
exit_after_auth = true
vault {{ address = "{addr}" }}
auto_auth {{
  method "approle" {{
    namespace = "team-a"
    config {{
      role_id_file_path = "{d}/role"
      secret_id_file_path = "{d}/secret"
    }}
  }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
"#,
        addr = dev.addr(),
        d = d.path().display()
    );
    std::fs::write(d.path().join("agent.hcl"), config).unwrap();
    let out = run_with_timeout(
        &mut our_agent(&d.path().join("agent.hcl")),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(out.success(), "ours: {}", out.stderr_str());
    let token = std::fs::read_to_string(d.path().join("sink")).unwrap();
    let out = dev
        .command()
        .args(["token", "lookup", "-format=json"])
        .env("BAO_NAMESPACE", "team-a")
        .env("VAULT_NAMESPACE", "team-a")
        .env("VAULT_TOKEN", &token)
        .env("BAO_TOKEN", &token)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["data"]["namespace_path"], "team-a/");
}
