//! Fault tests of the agent as a process (the `agent` example): Vault stopped and restarted
//! under a running sidecar (briefly, and past the retry budget: an outage of minutes,
//! shortened), Vault replaced by a fresh server (old token invalid), and Vault gone in init
//! mode. Real OpenBao servers throughout (`vk-test-utils`).

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Agent, Check, Reader, agent_command, assert_not_logged, count, strip_ansi};
use vk_test_utils::util::{eventually, run_with_timeout};
use vk_test_utils::{DevServer, FileServer};

/// `user=app-user\npass=pw-…\n\n` (the heredoc adds the last newline).
fn env_file_ok(s: &str) -> bool {
    s.strip_prefix("user=app-user\npass=pw-")
        .and_then(|rest| rest.strip_suffix("\n\n"))
        .is_some_and(|pw| !pw.is_empty() && !pw.contains('\n'))
}

/// A JSON object with both keys.
fn json_file_ok(s: &str) -> bool {
    serde_json::from_str::<serde_json::Value>(s).is_ok_and(|v| {
        v["username"] == "app-user" && v["password"].as_str().is_some_and(|p| p.starts_with("pw-"))
    })
}

/// `key-…` on one line.
fn key_file_ok(s: &str) -> bool {
    s.strip_prefix("key-")
        .is_some_and(|k| !k.is_empty() && !k.contains('\n'))
}

const ENV_TEMPLATE: &str = r#"{{ with secret "secret/data/app/config" }}user={{ .Data.data.username }}
pass={{ .Data.data.password }}
{{ end }}"#;
const JSON_TEMPLATE: &str =
    r#"{{ with secret "secret/data/app/config" }}{{ .Data.data | toJSON }}{{ end }}"#;
const KEY_TEMPLATE: &str =
    r#"{{ with secret "secret/data/app/other" }}{{ .Data.data.api_key }}{{ end }}"#;

const APP_POLICY: &str = r#"path "secret/data/app/*" { capabilities = ["read"] }"#;

/// Sidecar configuration: approle auth, a sink, three templates over two secrets, a 1 s
/// static-secret interval. `extra` goes into the method block.
fn sidecar_config(addr: &str, d: &Path, method_extra: &str) -> String {
    format!(
        r#"
pid_file = "{d}/pid"
vault {{ address = "{addr}" }}
auto_auth {{
  method "approle" {{
    {method_extra}
    config {{
      role_id_file_path = "{d}/role-id"
      secret_id_file_path = "{d}/secret-id"
    }}
  }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
template_config {{
  static_secret_render_interval = "1s"
}}
template {{
  contents = <<EOT
{ENV_TEMPLATE}
EOT
  destination = "{d}/secrets/app.env"
}}
template {{
  contents = <<EOT
{JSON_TEMPLATE}
EOT
  destination = "{d}/secrets/app.json"
}}
template {{
  contents = "{key}"
  destination = "{d}/secrets/other.txt"
}}
"#,
        d = d.display(),
        key = KEY_TEMPLATE.replace('"', "\\\""),
    )
}

/// Vault (with on-disk storage) stopped for a while and started again under a running sidecar:
/// the agent keeps running and keeps the last good files, retries with backoff, and renders
/// the new values once Vault is back; a reader never sees a bad file and nothing secret is
/// logged.
#[test]
fn vault_stopped_and_restarted_keeps_files_and_recovers() {
    let (mut bao, role) = seeded_file_server("pw-first-4c1d", "key-first-9e2a");

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let cfg = d.join("agent.hcl");
    std::fs::write(&cfg, sidecar_config(bao.addr(), d, "")).unwrap();
    let mut agent = Agent::spawn_logging_to(&cfg, d.join("agent.log"));

    let env = d.join("secrets/app.env");
    let json = d.join("secrets/app.json");
    let key = d.join("secrets/other.txt");
    eventually(Duration::from_secs(60), || {
        std::fs::read_to_string(&env).is_ok_and(|s| s.contains("pw-first-4c1d"))
            && std::fs::read_to_string(&json).is_ok_and(|s| s.contains("pw-first-4c1d"))
            && std::fs::read_to_string(&key).is_ok_and(|s| s == "key-first-9e2a")
    })
    .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    let before: Vec<String> = [&env, &json, &key]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    let token = std::fs::read_to_string(d.join("sink")).unwrap();

    let reader = Reader::start(vec![
        (env.clone(), env_file_ok as Check),
        (json.clone(), json_file_ok as Check),
        (key.clone(), key_file_ok as Check),
    ]);

    // Vault goes away. The agent notices on its next 1 s refresh and retries with backoff.
    let failures_before = count(&agent.log(), "fetch failed");
    bao.stop().unwrap();
    eventually(Duration::from_secs(60), || {
        let log = agent.log();
        log.lines()
            .filter(|l| l.contains("fetch failed") && l.contains("will_retry=true"))
            .count()
            >= failures_before + 3
    })
    .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    // Down for a few seconds more: still running, files untouched.
    std::thread::sleep(Duration::from_secs(3));
    assert!(agent.running(), "agent exited:\n{}", agent.log());
    let during: Vec<String> = [&env, &json, &key]
        .iter()
        .map(|p| std::fs::read_to_string(p).unwrap())
        .collect();
    assert_eq!(during, before, "files changed while Vault was down");

    // Vault comes back (same address, same storage, unsealed) and the secrets change.
    bao.start().unwrap();
    bao.cli_ok(&[
        "kv",
        "put",
        "secret/app/config",
        "username=app-user",
        "password=pw-second-77b0",
    ])
    .unwrap();
    bao.cli_ok(&["kv", "put", "secret/app/other", "api_key=key-second-d3f5"])
        .unwrap();
    eventually(Duration::from_secs(120), || {
        std::fs::read_to_string(&env).is_ok_and(|s| s.contains("pw-second-77b0"))
            && std::fs::read_to_string(&json).is_ok_and(|s| s.contains("pw-second-77b0"))
            && std::fs::read_to_string(&key).is_ok_and(|s| s == "key-second-d3f5")
    })
    .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    assert!(agent.running());

    reader.finish();

    // The storage kept the token: whether or not the agent logged in again, the sink holds a
    // token the restarted server accepts.
    let sink = std::fs::read_to_string(d.join("sink")).unwrap();
    bao.cli_ok(&["token", "lookup", &sink]).unwrap();

    assert_eq!(agent.terminate(), Some(0));
    let log = agent.log();
    assert!(log.contains("fetch failed"), "{log}");
    assert_not_logged(
        &log,
        &[
            "pw-first-4c1d",
            "pw-second-77b0",
            "key-first-9e2a",
            "key-second-d3f5",
            &token,
            &sink,
            &role.secret_id,
            bao.root_token(),
        ],
    );
    // No temporary files were left next to the destinations.
    let names: Vec<String> = std::fs::read_dir(d.join("secrets"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names.len(), 3, "{names:?}");
}

/// `backoff_ms` of every "template engine failed; restarting" line, in order.
fn engine_restart_backoffs(log: &str) -> Vec<u64> {
    log.lines()
        .filter(|l| l.contains("template engine failed; restarting"))
        .filter_map(|l| {
            l.split("backoff_ms=")
                .nth(1)?
                .split_whitespace()
                .next()?
                .parse()
                .ok()
        })
        .collect()
}

/// Vault down for minutes, shortened: with `vault.retry.num_retries = 2` and 1–2 s retry waits,
/// each round's fetches give up after about 3 s instead of the default 12 retries up to 1 m
/// apart, so the path an outage of minutes takes is walked in seconds. Expected: every
/// exhausted round is one "template engine failed; restarting" line with a growing engine
/// backoff (1 s, 2 s, … with at most 25 % jitter); the agent never exits (no
/// `exit_on_retry_failure`), keeps the last good files, and renders the new values once Vault
/// is back.
#[test]
fn vault_down_past_the_retry_budget_restarts_the_engine_with_backoff_and_recovers() {
    let (mut bao, role) = seeded_file_server("pw-long-1e2f", "key-long-3a4b");
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let addr = bao.addr().to_owned();
    let config = sidecar_config(&addr, d, "min_backoff = \"1s\"\n    max_backoff = \"2s\"")
        .replace(
            &format!("vault {{ address = \"{addr}\" }}"),
            &format!("vault {{\n  address = \"{addr}\"\n  retry {{ num_retries = 2 }}\n}}"),
        );
    assert!(config.contains("num_retries = 2"), "{config}");
    let cfg = d.join("agent.hcl");
    std::fs::write(&cfg, config).unwrap();
    let mut agent = Agent::spawn_logging_to(&cfg, d.join("agent.log"));
    let env = d.join("secrets/app.env");
    eventually(Duration::from_secs(60), || {
        std::fs::read_to_string(&env).is_ok_and(|s| s.contains("pw-long-1e2f"))
    })
    .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    let reader = Reader::start(vec![
        (env.clone(), env_file_ok as Check),
        (d.join("secrets/app.json"), json_file_ok as Check),
        (d.join("secrets/other.txt"), key_file_ok as Check),
    ]);

    bao.stop().unwrap();
    eventually(Duration::from_secs(90), || {
        engine_restart_backoffs(&agent.log()).len() >= 2
    })
    .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    assert!(agent.running(), "agent exited:\n{}", agent.log());
    let backoffs = engine_restart_backoffs(&agent.log());
    eprintln!("engine restarts while Vault was down: backoff_ms {backoffs:?}");
    assert!(
        backoffs.windows(2).all(|w| w[1] > w[0]),
        "the engine restart backoff does not grow: {backoffs:?}"
    );
    assert!(
        backoffs[0] >= 700,
        "restarted without backing off: {backoffs:?}"
    );

    bao.start().unwrap();
    bao.cli_ok(&[
        "kv",
        "put",
        "secret/app/config",
        "username=app-user",
        "password=pw-back-5c6d",
    ])
    .unwrap();
    eventually(Duration::from_secs(60), || {
        std::fs::read_to_string(&env).is_ok_and(|s| s.contains("pw-back-5c6d"))
    })
    .unwrap_or_else(|e| panic!("{e}; not rendered after Vault came back:\n{}", agent.log()));
    assert!(agent.running());
    reader.finish();
    assert_eq!(agent.terminate(), Some(0));
    let token = std::fs::read_to_string(d.join("sink")).unwrap();
    assert_not_logged(
        &agent.log(),
        &[
            "pw-long-1e2f",
            "pw-back-5c6d",
            "key-long-3a4b",
            &token,
            &role.secret_id,
        ],
    );
}

/// Writes the approle role (fixed role id and secret id, so a fresh server can be seeded with
/// the same credentials) and the secret.
fn seed_dev(dev: &DevServer, password: &str, role_id: &str, secret_id: &str) {
    dev.cli_ok(&[
        "kv",
        "put",
        "secret/app/config",
        "username=app-user",
        &format!("password={password}"),
    ])
    .unwrap();
    dev.cli_ok(&["kv", "put", "secret/app/other", "api_key=key-dev"])
        .unwrap();
    dev.write_policy("app", APP_POLICY).unwrap();
    dev.cli_ok(&["auth", "enable", "approle"]).unwrap();
    dev.cli_ok(&[
        "write",
        "auth/approle/role/app",
        "token_policies=app",
        "token_ttl=1h",
    ])
    .unwrap();
    dev.cli_ok(&[
        "write",
        "auth/approle/role/app/role-id",
        &format!("role_id={role_id}"),
    ])
    .unwrap();
    dev.cli_ok(&[
        "write",
        "auth/approle/role/app/custom-secret-id",
        &format!("secret_id={secret_id}"),
    ])
    .unwrap();
}

/// A dev server killed and replaced by a new one at the same address: all state is lost and
/// the agent's token is unknown to the new server (403 while the token watcher still thinks it
/// is valid). The agent must log in again and render the new server's value.
#[test]
fn vault_replaced_by_a_fresh_server_reauthenticates() {
    const ROLE_ID: &str = "vk-faults-role-id";
    const SECRET_ID: &str = "3f1e2d4c-5b6a-4789-8abc-def012345678";
    let dev = DevServer::start().unwrap();
    seed_dev(&dev, "pw-old-1a2b", ROLE_ID, SECRET_ID);
    let port = dev.port();
    let addr = dev.addr().to_string();

    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("role-id"), ROLE_ID).unwrap();
    std::fs::write(d.join("secret-id"), SECRET_ID).unwrap();
    let cfg = d.join("agent.hcl");
    // Short auth backoff: the agent may try to log in before the new server is seeded.
    std::fs::write(
        &cfg,
        sidecar_config(&addr, d, "min_backoff = \"1s\"\n    max_backoff = \"2s\""),
    )
    .unwrap();
    let mut agent = Agent::spawn_logging_to(&cfg, d.join("agent.log"));
    let env = d.join("secrets/app.env");
    eventually(Duration::from_secs(60), || {
        std::fs::read_to_string(&env).is_ok_and(|s| s.contains("pw-old-1a2b"))
    })
    .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    let old_token = std::fs::read_to_string(d.join("sink")).unwrap();
    // The secret-id file is consumed at login; the agent keeps the value for re-auth.
    assert!(!d.join("secret-id").exists());

    let reader = Reader::start(vec![(env.clone(), env_file_ok as Check)]);
    drop(dev);
    let dev = DevServer::start_on_port(port).unwrap();
    assert_eq!(dev.addr(), addr);
    seed_dev(&dev, "pw-new-9z8y", ROLE_ID, SECRET_ID);

    eventually(Duration::from_secs(120), || {
        std::fs::read_to_string(&env).is_ok_and(|s| s.contains("pw-new-9z8y"))
    })
    .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    let new_token = std::fs::read_to_string(d.join("sink")).unwrap();
    assert_ne!(new_token, old_token, "the agent did not log in again");
    dev.cli_ok(&["token", "lookup", &new_token]).unwrap();
    assert!(agent.running());
    reader.finish();

    assert_eq!(agent.terminate(), Some(0));
    let log = agent.log();
    assert!(
        log.contains("Vault rejected the auth token while rendering; re-authenticating"),
        "{log}"
    );
    assert_not_logged(
        &log,
        &[
            "pw-old-1a2b",
            "pw-new-9z8y",
            "key-dev",
            &old_token,
            &new_token,
            SECRET_ID,
        ],
    );
}

/// Init mode with `exit_on_retry_failure`: Vault goes away after the login, while the template's
/// secret is being fetched. The agent retries, then exits non-zero naming the dependency, and
/// writes no destination file.
#[test]
fn init_mode_vault_down_exits_non_zero_naming_the_dependency() {
    let dev = DevServer::start().unwrap();
    dev.cli_ok(&["kv", "put", "secret/app/other", "api_key=key-init"])
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    dev.write_policy("app", APP_POLICY).unwrap();
    let token = dev
        .cli_ok(&["token", "create", "-field=token", "-policy=app"])
        .unwrap();
    std::fs::write(d.join("token"), token.trim()).unwrap();
    let cfg = d.join("agent.hcl");
    // `secret/app/late` does not exist yet, so every fetch fails and is retried (2 s, 4 s, 8 s,
    // 16 s): Vault is stopped during that window, after the sink shows the login happened.
    std::fs::write(
        &cfg,
        format!(
            r#"
exit_after_auth = true
vault {{
  address = "{addr}"
  retry {{ num_retries = 4 }}
}}
auto_auth {{
  method "token_file" {{
    min_backoff = "2s"
    max_backoff = "16s"
    config {{ token_file_path = "{d}/token" }}
  }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
template_config {{ exit_on_retry_failure = true }}
template {{
  contents = "{{{{ with secret \"secret/data/app/other\" }}}}{{{{ .Data.data.api_key }}}}{{{{ end }}}}{{{{ with secret \"secret/data/app/late\" }}}}{{{{ .Data.data.x }}}}{{{{ end }}}}"
  destination = "{d}/secrets/out.txt"
}}
"#,
            addr = dev.addr(),
            d = d.display()
        ),
    )
    .unwrap();
    let mut agent = Agent::spawn_logging_to(&cfg, d.join("agent.log"));
    eventually(Duration::from_secs(60), || d.join("sink").exists())
        .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    drop(dev);

    let mut code = None;
    eventually(Duration::from_secs(120), || {
        code = agent.try_exit();
        code.is_some()
    })
    .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    let log = agent.log();
    assert_ne!(code.flatten(), Some(0), "{log}");
    assert!(code.flatten().is_some(), "killed by a signal: {log}");
    let last = log
        .lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .unwrap_or_else(|| panic!("no final error line:\n{log}"));
    assert!(
        last.contains("template server: vault.read(secret/data/app/late): "),
        "{last}"
    );
    // The last attempt met a server that was gone, not a missing secret.
    assert!(!last.contains("no secret exists"), "{last}");
    assert!(
        count(&log, "fetch failed") >= 2,
        "no retries logged:\n{log}"
    );
    assert!(!d.join("secrets/out.txt").exists());
    assert_not_logged(&log, &["key-init", &token]);
}

/// `exit_on_err`: with Vault down from the start, the first failed login ends the agent
/// (non-zero, naming the method and the address); no destination file is written.
#[test]
fn exit_on_err_with_vault_down_exits_non_zero_naming_the_login() {
    let port = vk_test_utils::free_port().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("role-id"), "r").unwrap();
    let cfg = d.join("agent.hcl");
    std::fs::write(
        &cfg,
        format!(
            r#"
exit_after_auth = true
vault {{ address = "http://127.0.0.1:{port}" }}
auto_auth {{
  method "approle" {{
    exit_on_err = true
    config {{ role_id_file_path = "{d}/role-id" }}
  }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
template {{
  contents = "{{{{ with secret \"secret/data/x\" }}}}{{{{ .Data.data.y }}}}{{{{ end }}}}"
  destination = "{d}/out"
}}
"#,
            d = d.display()
        ),
    )
    .unwrap();
    let out = run_with_timeout(&mut agent_command(&cfg), Duration::from_secs(120)).unwrap();
    assert!(!out.timed_out);
    let err = strip_ansi(&out.stderr_str());
    assert_eq!(out.code(), Some(1), "{err}");
    assert!(err.contains("auto-auth (approle) failed"), "{err}");
    assert!(err.contains("approle login"), "{err}");
    assert!(!err.contains("panicked"), "{err}");
    assert!(!d.join("out").exists());
    assert!(!d.join("sink").exists());
}

/// A file-storage server with the app's two KV secrets (`password`, `api_key` as given), its
/// policy and an AppRole for it.
fn seeded_file_server(password: &str, api_key: &str) -> (FileServer, vk_test_utils::AppRole) {
    let bao = FileServer::start_new().unwrap();
    bao.cli_ok(&["secrets", "enable", "-path=secret", "kv-v2"])
        .unwrap();
    bao.cli_ok(&[
        "kv",
        "put",
        "secret/app/config",
        "username=app-user",
        &format!("password={password}"),
    ])
    .unwrap();
    bao.cli_ok(&[
        "kv",
        "put",
        "secret/app/other",
        &format!("api_key={api_key}"),
    ])
    .unwrap();
    bao.write_policy("app", APP_POLICY).unwrap();
    let role =
        vk_test_utils::AppRole::create(|a| bao.cli_ok(a), &["token_policies=app", "token_ttl=1h"])
            .unwrap();
    (bao, role)
}
