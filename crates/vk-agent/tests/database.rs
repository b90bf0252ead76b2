//! Dynamic database credentials (spec agent.md §6.3) end to end: a real OpenBao `database`
//! secrets engine over a real PostgreSQL 15, and the agent (the `agent` example binary) in
//! sidecar mode renewing the lease, rendering new credentials at the max TTL and revoking the
//! last ones on shutdown with `-revoke-on-exit`; plus the init-mode case.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use vk_test_utils::util::{eventually, run_with_timeout};
use vk_test_utils::{DevServer, Postgres};

/// Lease of a new credential; short so that renewals happen within the test.
const DEFAULT_TTL_SECS: u64 = 6;
/// Hard limit of a credential: renewals stop extending it, so new ones are rendered.
const MAX_TTL_SECS: u64 = 20;

fn agent_bin() -> PathBuf {
    vk_test_utils::agent_example()
}

/// OpenBao with the `database` engine on `pg` and a role `app`, plus a token (not root, so
/// revoking it leaves the test's own CLI working) whose policy may read `database/creds/app`.
struct Setup {
    pg: Postgres,
    dev: DevServer,
    token: String,
}

fn setup() -> Setup {
    let pg = Postgres::start().unwrap();
    let dev = DevServer::start().unwrap();
    pg.mount_in(&dev, DEFAULT_TTL_SECS, MAX_TTL_SECS).unwrap();
    dev.write_policy(
        "app",
        r#"path "database/creds/app" { capabilities = ["read"] }"#,
    )
    .unwrap();
    // The default policy (attached too) allows `sys/leases/renew`.
    let token = dev
        .cli_ok(&["token", "create", "-policy=app", "-ttl=10m", "-field=token"])
        .unwrap()
        .trim()
        .to_string();
    Setup { pg, dev, token }
}

fn config(s: &Setup, dir: &Path, exit_after_auth: bool) -> PathBuf {
    std::fs::write(dir.join("token"), &s.token).unwrap();
    let template = format!(
        r#"{{{{ with secret "database/creds/app" }}}}postgresql://{{{{ .Data.username }}}}:{{{{ .Data.password }}}}@127.0.0.1:{}/postgres{{{{ end }}}}"#,
        s.pg.port()
    );
    let cfg = dir.join("agent.hcl");
    std::fs::write(
        &cfg,
        format!(
            r#"
exit_after_auth = {exit_after_auth}
vault {{ address = "{addr}" }}
auto_auth {{
  method "token_file" {{
    config {{ token_file_path = "{d}/token" }}
  }}
  sink "file" {{ config {{ path = "{d}/sink-token" }} }}
}}
template_config {{ exit_on_retry_failure = true }}
template {{
  contents = <<EOT
{template}
EOT
  destination = "{d}/secrets/db"
  command = "echo rendered >> {d}/commands"
}}
"#,
            addr = s.dev.addr(),
            d = dir.display()
        ),
    )
    .unwrap();
    cfg
}

/// `(username, password)` from a rendered `postgresql://user:password@host/db` line.
fn credentials(dest: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(dest).ok()?;
    let rest = text.trim().strip_prefix("postgresql://")?;
    let (userinfo, _) = rest.rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':')?;
    Some((user.to_string(), password.to_string()))
}

/// The ids of the live `database/creds/app` leases.
fn leases(dev: &DevServer) -> Vec<String> {
    let Ok(out) = dev.cli(&[
        "list",
        "-format=json",
        "sys/leases/lookup/database/creds/app",
    ]) else {
        return Vec::new();
    };
    serde_json::from_slice::<Vec<String>>(&out.stdout)
        .unwrap_or_default()
        .into_iter()
        .map(|k| format!("database/creds/app/{k}"))
        .collect()
}

/// `sys/leases/lookup` of one lease (its `data` object); `Null` once the lease is gone.
fn lookup(dev: &DevServer, lease_id: &str) -> serde_json::Value {
    dev.cli_ok(&[
        "write",
        "-format=json",
        "sys/leases/lookup",
        &format!("lease_id={lease_id}"),
    ])
    .ok()
    .and_then(|out| serde_json::from_str::<serde_json::Value>(&out).ok())
    .map_or(serde_json::Value::Null, |v| v["data"].clone())
}

struct Agent {
    child: Child,
    log: PathBuf,
}

impl Agent {
    fn spawn(cfg: &Path, dir: &Path, extra: &[&str]) -> Self {
        let log = dir.join("agent.log");
        let child = Command::new(agent_bin())
            .args(extra)
            .arg(format!("-config={}", cfg.display()))
            .env_remove("VAULT_ADDR")
            .env_remove("VAULT_CONFIG")
            .env("VAULT_LOG_LEVEL", "debug")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        Self { child, log }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for Agent {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn sidecar_renews_rotates_at_max_ttl_and_revokes_on_exit() {
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&s, dir.path(), false);
    let dest = dir.path().join("secrets/db");
    // The sidecar's arguments as the injector writes them for `agent-revoke-on-shutdown`.
    let args = injector_sidecar_args();
    assert!(
        args.iter().any(|a| a == "-revoke-on-exit"),
        "the injector does not ask the sidecar to revoke on shutdown: {args:?}"
    );
    assert!(
        args.iter().any(|a| a == "-revoke-grace=5"),
        "the injector does not pass the default revoke grace: {args:?}"
    );
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let mut agent = Agent::spawn(&cfg, dir.path(), &args);

    // The first credentials are rendered and log in.
    eventually(Duration::from_secs(30), || credentials(&dest).is_some())
        .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    let started = Instant::now();
    let (user1, pw1) = credentials(&dest).unwrap();
    assert!(
        s.pg.can_login(&user1, &pw1),
        "rendered credentials do not log in; postgres log:\n{}",
        s.pg.log_tail(20)
    );
    let first_inode = inode(&dest);

    // The lease is renewed at once (§6.3) …
    let lease1 = {
        let ids = leases(&s.dev);
        assert_eq!(ids.len(), 1, "one credential, one lease: {ids:?}");
        ids[0].clone()
    };
    eventually(Duration::from_secs(10), || {
        let l = lookup(&s.dev, &lease1);
        assert!(
            !l.is_null(),
            "lease {lease1} is gone; agent log:\n{}",
            agent.log()
        );
        !l["last_renewal"].is_null()
    })
    .unwrap_or_else(|e| panic!("lease never renewed: {e}; agent log:\n{}", agent.log()));
    // … and again, so the credential outlives its first lease (6 s): the same user keeps
    // working past it, and the file (same data) is not rewritten.
    let first_expiry = lookup(&s.dev, &lease1)["expire_time"].clone();
    eventually(Duration::from_secs(15), || {
        let l = lookup(&s.dev, &lease1);
        assert!(
            !l.is_null(),
            "lease {lease1} is gone; agent log:\n{}",
            agent.log()
        );
        l["expire_time"] != first_expiry
    })
    .unwrap_or_else(|e| panic!("lease not renewed again: {e}; agent log:\n{}", agent.log()));
    while started.elapsed() < Duration::from_secs(DEFAULT_TTL_SECS + 2) {
        std::thread::sleep(Duration::from_millis(200));
    }
    let (user_now, _) = credentials(&dest).unwrap();
    assert_eq!(
        user_now, user1,
        "credentials replaced long before the max TTL"
    );
    assert!(
        s.pg.can_login(&user1, &pw1),
        "renewed credentials stopped working before the max TTL"
    );
    assert_eq!(inode(&dest), first_inode, "a renewal rewrote the file");
    assert_eq!(commands_run(dir.path()), 1, "a renewal ran the command");

    // At the max TTL the watcher ends: new credentials are rendered …
    eventually(Duration::from_secs(MAX_TTL_SECS + 10), || {
        credentials(&dest).is_some_and(|(u, _)| u != user1)
    })
    .unwrap_or_else(|e| panic!("no new credentials: {e}; agent log:\n{}", agent.log()));
    let (user2, pw2) = credentials(&dest).unwrap();
    eventually(Duration::from_secs(10), || commands_run(dir.path()) == 2)
        .expect("the command did not run once for the new credentials");
    assert!(
        s.pg.can_login(&user2, &pw2),
        "new credentials do not log in"
    );
    // … and the old ones stop working once their lease ran out (Vault drops the role).
    eventually(Duration::from_secs(MAX_TTL_SECS), || {
        !s.pg.can_login(&user1, &pw1)
    })
    .expect("old credentials still work after their max TTL");
    assert!(s.pg.can_login(&user2, &pw2));

    // SIGTERM with -revoke-on-exit: the agent revokes its token, and Vault the leases the
    // token created, so the last credentials stop working too.
    let status = Command::new("kill")
        .args(["-TERM", &agent.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    // During the revoke grace the application can still use its credentials.
    assert!(
        s.pg.can_login(&user2, &pw2),
        "credentials revoked before the grace ended"
    );
    let mut code = None;
    eventually(Duration::from_secs(15), || {
        code = agent.child.try_wait().ok().flatten().map(|s| s.code());
        code.is_some()
    })
    .unwrap();
    assert_eq!(code, Some(Some(0)), "agent log:\n{}", agent.log());
    let token_lookup = s.dev.cli(&["token", "lookup", &s.token]).unwrap();
    assert!(
        !token_lookup.status.success(),
        "the agent's token is still valid"
    );
    eventually(Duration::from_secs(10), || !s.pg.can_login(&user2, &pw2))
        .expect("credentials still work after the token was revoked");
    assert!(leases(&s.dev).is_empty(), "leases left after revocation");

    let log = agent.log();
    assert!(
        log.contains("renewed secret lease"),
        "no renewal logged:\n{log}"
    );
    for secret in [&pw1, &pw2, &s.token] {
        assert!(!log.contains(secret.as_str()), "a secret reached the log");
    }
}

/// `secret "auth/token/create"` (spec §6.3's own example, shortened): the created token is
/// renewed with `auth/token/renew-self` while it can be, then a new one is created.
#[test]
fn token_create_secret_is_renewed_then_recreated() {
    let dev = DevServer::start().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("token"), dev.root_token()).unwrap();
    let cfg = d.join("agent.hcl");
    std::fs::write(
        &cfg,
        format!(
            r#"
vault {{ address = "{addr}" }}
auto_auth {{
  method "token_file" {{ config {{ token_file_path = "{d}/token" }} }}
}}
template {{
  contents = "{{{{ with secret \"auth/token/create\" \"ttl=4s\" \"explicit_max_ttl=14s\" \"policies=default\" }}}}{{{{ .Auth.ClientToken }}}}{{{{ end }}}}"
  destination = "{d}/child-token"
}}
"#,
            addr = dev.addr(),
            d = d.display()
        ),
    )
    .unwrap();
    let dest = d.join("child-token");
    let agent = Agent::spawn(&cfg, d, &[]);
    let read = || {
        std::fs::read_to_string(&dest)
            .ok()
            .filter(|t| !t.is_empty())
    };
    eventually(Duration::from_secs(30), || read().is_some())
        .unwrap_or_else(|e| panic!("{e}; agent log:\n{}", agent.log()));
    let started = Instant::now();
    let first = read().unwrap();
    // Renewed with renew-self (the only renewable secret here): it outlives its 4 s TTL.
    eventually(Duration::from_secs(15), || {
        agent.log().contains("renewed secret lease")
    })
    .unwrap_or_else(|e| panic!("no renew-self: {e}; agent log:\n{}", agent.log()));
    while started.elapsed() < Duration::from_secs(6) {
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        read().as_deref(),
        Some(first.as_str()),
        "token replaced before its max TTL"
    );
    let ok = dev.cli(&["token", "lookup", &first]).unwrap();
    assert!(
        ok.status.success(),
        "renewed token expired before its max TTL"
    );
    // At its explicit max TTL a new token is created and rendered.
    eventually(Duration::from_secs(30), || {
        read().is_some_and(|t| t != first)
    })
    .unwrap_or_else(|e| panic!("no new token: {e}; agent log:\n{}", agent.log()));
    let second = read().unwrap();
    let ok = dev.cli(&["token", "lookup", &second]).unwrap();
    assert!(ok.status.success(), "the new token is not valid");
    assert!(!agent.log().contains(&first) && !agent.log().contains(&second));
}

#[test]
fn init_mode_renders_working_credentials_and_exits() {
    let s = setup();
    let dir = tempfile::tempdir().unwrap();
    let cfg = config(&s, dir.path(), true);
    let bin = agent_bin();
    let mut cmd = Command::new(bin);
    cmd.arg(format!("-config={}", cfg.display()))
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_CONFIG");
    let out = run_with_timeout(&mut cmd, Duration::from_secs(60)).unwrap();
    assert!(out.success(), "agent failed: {}", out.stderr_str());
    let (user, pw) = credentials(&dir.path().join("secrets/db")).expect("rendered credentials");
    assert!(
        s.pg.can_login(&user, &pw),
        "rendered credentials do not log in"
    );
    // Init mode does not revoke: the lease lives on for the sidecar's first render.
    assert_eq!(leases(&s.dev).len(), 1);
    assert!(!out.stderr_str().contains(&pw), "a secret reached the log");
}

/// The `args` of the `vault-agent` sidecar the injector adds to the guide's pod annotated with
/// `agent-revoke-on-shutdown: "true"` (this project's image, so the native command).
fn injector_sidecar_args() -> Vec<String> {
    let mut pod: serde_json::Value =
        serde_json::from_str(&vk_test_utils::util::fixture("webapp-pod-admitted.json").unwrap())
            .unwrap();
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-revoke-on-shutdown"] = "true".into();
    let settings = vk_inject::InjectorSettings {
        vault_address: "http://vault.vault.svc:8200".into(),
        ..vk_inject::InjectorSettings::default()
    };
    let vk_inject::Decision::Inject { patch, .. } = vk_inject::mutate(&pod, "default", &settings)
    else {
        panic!("the guide's pod was not injected");
    };
    let patch: serde_json::Value =
        serde_json::from_slice(&vk_inject::patch_to_json(&patch)).unwrap();
    let mut found = None;
    find_container(&patch, "vault-agent", &mut found);
    let sidecar = found.expect("a vault-agent container in the patch");
    serde_json::from_value(sidecar["args"].clone()).expect("string args")
}

fn find_container(v: &serde_json::Value, name: &str, out: &mut Option<serde_json::Value>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("name").and_then(|n| n.as_str()) == Some(name) && m.contains_key("args") {
                *out = Some(v.clone());
            }
            m.values().for_each(|x| find_container(x, name, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| find_container(x, name, out)),
        _ => {}
    }
}

/// How often the template's command ran (one line per run).
fn commands_run(dir: &Path) -> usize {
    std::fs::read_to_string(dir.join("commands"))
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

fn inode(p: &Path) -> u64 {
    use std::os::unix::fs::MetadataExt;
    std::fs::metadata(p).unwrap().ino()
}
