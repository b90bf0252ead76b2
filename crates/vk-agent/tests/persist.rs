//! The persistent cache (`cache.persist`, spec agent.md §1.7) end to end, with the configs the
//! injector generates for `vault.hashicorp.com/agent-cache-enable: "true"`: the init agent
//! leaves its token and leases in the cache volume, the sidecar takes them over. Real OpenBao
//! (kubernetes auth against the test API server), real PostgreSQL 15 for dynamic credentials.

mod common;

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use base64::Engine as _;
use common::Agent;
use vk_test_utils::util::{TimedOutput, eventually, free_port, run_with_timeout};
use vk_test_utils::{DevServer, KubeApi, Postgres, configure_kubernetes_auth};

/// Lease of a new database credential: short, so the sidecar must renew it within the test.
const DB_TTL_SECS: u64 = 6;
const DB_MAX_TTL_SECS: u64 = 300;
const CACHE_FILE: &str = "agent-cache/vault-k8s-agent-cache.db";
const KEY_FILE: &str = "agent-cache/vault-k8s-agent-cache.key";

/// A pod injected with the cache enabled, its volumes as directories of a temp dir.
struct Pod {
    dir: tempfile::TempDir,
    init: String,
    sidecar: String,
    vault_addr: String,
    /// The agents' `VAULT_K8S_AGENT_HANDOFF_DIR` (localized), when the injector set it.
    handoff: Option<String>,
}

impl Pod {
    /// Mutates a pod with `annotations` (plus inject, role, cache) and rewrites the paths of
    /// the injected configs into the temp dir; the listener gets a free port.
    fn new(dev: &DevServer, kube: &KubeApi, annotations: &[(&str, &str)]) -> Self {
        let mut pod: serde_json::Value = serde_json::from_str(
            &vk_test_utils::util::fixture("webapp-pod-admitted.json").unwrap(),
        )
        .unwrap();
        let mut ann = serde_json::Map::new();
        for (k, v) in [
            ("agent-inject", "true"),
            ("role", "app"),
            ("agent-cache-enable", "true"),
        ]
        .iter()
        .chain(annotations)
        {
            ann.insert(format!("vault.hashicorp.com/{k}"), (*v).into());
        }
        let cache = ann["vault.hashicorp.com/agent-cache-enable"] == "true";
        pod["metadata"]["annotations"] = serde_json::Value::Object(ann);
        let settings = vk_inject::InjectorSettings {
            vault_address: "http://vault.vault.svc:8200".into(),
            ..vk_inject::InjectorSettings::default()
        };
        let vk_inject::Decision::Inject { patch, .. } =
            vk_inject::mutate(&pod, "default", &settings)
        else {
            panic!("the pod was not injected");
        };
        let patch: serde_json::Value =
            serde_json::from_slice(&vk_inject::patch_to_json(&patch)).unwrap();
        let text = patch.to_string();
        let mut configs = Vec::new();
        collect_vault_configs(&patch, &mut configs);
        let mut handoff_dirs = Vec::new();
        collect_env(&patch, vk_agent::HANDOFF_DIR_ENV, &mut handoff_dirs);
        assert!(
            handoff_dirs.is_empty() || handoff_dirs == ["/vault/agent-cache"; 2],
            "the handoff directory is set on both agents: {handoff_dirs:?}"
        );
        assert_eq!(
            text.contains(r#""name":"vault-agent-cache","emptyDir":{"medium":"Memory"}"#),
            cache || !handoff_dirs.is_empty(),
            "the in-memory cache volume: {text}"
        );
        let dir = tempfile::tempdir().unwrap();
        let d = dir.path().display().to_string();
        let port = free_port().unwrap();
        let localize = |json: &str| {
            json.replace(
                "/var/run/secrets/kubernetes.io/serviceaccount/token",
                &format!("{d}/sa-token"),
            )
            .replace("/home/vault", &format!("{d}/home"))
            .replace("/vault/secrets", &format!("{d}/secrets"))
            .replace("/vault/agent-cache", &format!("{d}/agent-cache"))
            .replace("127.0.0.1:8200", &format!("127.0.0.1:{port}"))
        };
        let find = |init: bool| {
            let json = configs
                .iter()
                .find(|c| c.contains(&format!("\"exit_after_auth\":{init}")))
                .unwrap_or_else(|| panic!("no VAULT_CONFIG with exit_after_auth={init}"));
            assert_eq!(
                json.contains(r#""persist":{"type":"kubernetes","path":"/vault/agent-cache""#),
                cache,
                "no persist stanza: {json}"
            );
            localize(json)
        };
        let (init, sidecar) = (find(true), find(false));
        for sub in ["home", "secrets", "agent-cache"] {
            std::fs::create_dir_all(dir.path().join(sub)).unwrap();
        }
        let jwt = kube
            .mint("default", "webapp", Duration::from_secs(3600))
            .unwrap();
        std::fs::write(dir.path().join("sa-token"), jwt).unwrap();
        Self {
            handoff: handoff_dirs.first().map(|h| localize(h)),
            dir,
            init,
            sidecar,
            vault_addr: dev.addr().to_string(),
        }
    }

    fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    fn command(&self, config: &str) -> Command {
        let mut cmd = Command::new(vk_test_utils::agent_example());
        cmd.env(
            "VAULT_CONFIG",
            base64::engine::general_purpose::STANDARD.encode(config),
        )
        .env("VAULT_ADDR", &self.vault_addr)
        .env_remove("VAULT_LOG_LEVEL")
        .env_remove(vk_agent::HANDOFF_DIR_ENV);
        if let Some(dir) = &self.handoff {
            cmd.env(vk_agent::HANDOFF_DIR_ENV, dir);
        }
        cmd
    }

    fn run_init(&self) -> TimedOutput {
        run_with_timeout(&mut self.command(&self.init), Duration::from_secs(90)).unwrap()
    }

    fn run_sidecar_to_exit(&self) -> TimedOutput {
        run_with_timeout(&mut self.command(&self.sidecar), Duration::from_secs(90)).unwrap()
    }

    fn spawn_sidecar(&self) -> Agent {
        Agent::spawn_command(&mut self.command(&self.sidecar), self.path("sidecar.log"))
    }
}

fn collect_vault_configs(v: &serde_json::Value, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("name").and_then(|n| n.as_str()) == Some("VAULT_CONFIG")
                && let Some(s) = m.get("value").and_then(|s| s.as_str())
            {
                let json = base64::engine::general_purpose::STANDARD.decode(s).unwrap();
                out.push(String::from_utf8(json).unwrap());
            }
            m.values().for_each(|x| collect_vault_configs(x, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_vault_configs(x, out)),
        _ => {}
    }
}

/// The values of the environment variable `name` of every container in the patch.
fn collect_env(v: &serde_json::Value, name: &str, out: &mut Vec<String>) {
    match v {
        serde_json::Value::Object(m) => {
            if m.get("name").and_then(|n| n.as_str()) == Some(name)
                && let Some(s) = m.get("value").and_then(|s| s.as_str())
            {
                out.push(s.to_string());
            }
            m.values().for_each(|x| collect_env(x, name, out));
        }
        serde_json::Value::Array(a) => a.iter().for_each(|x| collect_env(x, name, out)),
        _ => {}
    }
}

/// How many tokens OpenBao holds (accessors, including the test's own root token).
fn token_count(dev: &DevServer) -> usize {
    let out = dev
        .cli_ok(&["list", "-format=json", "auth/token/accessors"])
        .unwrap();
    serde_json::from_str::<Vec<String>>(&out).unwrap().len()
}

/// The ids of the live `database/creds/app` leases.
fn db_leases(dev: &DevServer) -> Vec<String> {
    let Ok(out) = dev.cli(&[
        "list",
        "-format=json",
        "sys/leases/lookup/database/creds/app",
    ]) else {
        return Vec::new();
    };
    serde_json::from_slice::<Vec<String>>(&out.stdout).unwrap_or_default()
}

/// OpenBao with the database engine on a fresh PostgreSQL, kubernetes auth role `app`.
fn database_setup() -> (Postgres, DevServer, KubeApi) {
    let pg = Postgres::start().unwrap();
    let dev = DevServer::start().unwrap();
    pg.mount_in(&dev, DB_TTL_SECS, DB_MAX_TTL_SECS).unwrap();
    let kube = KubeApi::start().unwrap();
    configure_kubernetes_auth(
        &dev,
        &kube,
        "app",
        "webapp",
        "default",
        "app",
        r#"path "database/creds/app" { capabilities = ["read"] }"#,
    )
    .unwrap();
    (pg, dev, kube)
}

/// OpenBao with a KV secret and kubernetes auth role `app` (no database: error paths).
fn kv_setup() -> (DevServer, KubeApi) {
    let dev = DevServer::start().unwrap();
    dev.cli_ok(&["kv", "put", "secret/app", "password=kv-password-1"])
        .unwrap();
    let kube = KubeApi::start().unwrap();
    configure_kubernetes_auth(
        &dev,
        &kube,
        "app",
        "webapp",
        "default",
        "app",
        r#"path "secret/data/app" { capabilities = ["read"] }"#,
    )
    .unwrap();
    (dev, kube)
}

const DB_TEMPLATE: &str = r#"{{- with secret "database/creds/app" -}}{{ .Data.username }}:{{ .Data.password }}{{- end }}"#;
const KV_TEMPLATE: &str =
    r#"{{- with secret "secret/data/app" -}}{{ .Data.data.password }}{{- end }}"#;

fn credentials(path: &Path) -> Option<(String, String)> {
    let text = std::fs::read_to_string(path).ok()?;
    let (u, p) = text.trim().split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

#[test]
fn init_then_sidecar_hold_one_token_and_one_lease() {
    let (pg, dev, kube) = database_setup();
    let pod = Pod::new(
        &dev,
        &kube,
        &[
            ("agent-inject-secret-db", "database/creds/app"),
            ("agent-inject-template-db", DB_TEMPLATE),
        ],
    );
    let tokens_before = token_count(&dev);

    let init = pod.run_init();
    assert!(init.success(), "init agent failed: {}", init.stderr_str());
    let dest = pod.path("secrets/db");
    let (user, password) = credentials(&dest).expect("init rendered credentials");
    let init_token = std::fs::read_to_string(pod.path("home/.vault-token")).unwrap();
    assert_eq!(token_count(&dev), tokens_before + 1);
    assert_eq!(db_leases(&dev).len(), 1);

    // The cache: 0600 files, neither the token nor the password in the clear.
    let cache = pod.path(CACHE_FILE);
    let key = pod.path(KEY_FILE);
    assert_eq!(vk_agent::file_mode(&cache).unwrap(), 0o600);
    assert_eq!(vk_agent::file_mode(&key).unwrap(), 0o600);
    let sealed = std::fs::read(&cache).unwrap();
    for secret in [init_token.as_str(), password.as_str(), user.as_str()] {
        assert!(
            !sealed.windows(secret.len()).any(|w| w == secret.as_bytes()),
            "a secret is stored in the clear"
        );
    }
    assert!(!init.stderr_str().contains(&init_token) && !init.stderr_str().contains(&password));
    let init_key = std::fs::read(&key).unwrap();

    // The sidecar takes over: same token, same credentials, no new token or lease.
    std::fs::remove_file(&dest).unwrap();
    std::fs::remove_file(pod.path("home/.vault-token")).unwrap();
    let sidecar = pod.spawn_sidecar();
    sidecar.wait_for_log("restored the auth token and leased secrets");
    eventually(Duration::from_secs(60), || dest.exists())
        .unwrap_or_else(|e| panic!("{e}; sidecar log:\n{}", sidecar.log()));
    assert_eq!(credentials(&dest), Some((user.clone(), password.clone())));
    assert_eq!(
        std::fs::read_to_string(pod.path("home/.vault-token")).unwrap(),
        init_token,
        "the sidecar's sink holds the init agent's token"
    );
    sidecar.wait_for_log("renewed secret lease");
    sidecar.wait_for_log("persistent cache written");
    // keep_after_import is false (the injector's config): the imported file went, and the
    // sidecar's own cache is sealed under a new key.
    assert!(!pod.sidecar.contains("keep_after_import"));
    assert_ne!(std::fs::read(&key).unwrap(), init_key);
    assert_eq!(vk_agent::file_mode(&cache).unwrap(), 0o600);

    // Past several lease TTLs the credentials still log in (renewed by the sidecar), and
    // OpenBao still holds one token and one lease for the pod.
    std::thread::sleep(Duration::from_secs(3 * DB_TTL_SECS));
    assert!(
        pg.can_login(&user, &password),
        "credentials expired; sidecar log:\n{}",
        sidecar.log()
    );
    assert_eq!(credentials(&dest), Some((user.clone(), password.clone())));
    assert_eq!(token_count(&dev), tokens_before + 1);
    assert_eq!(db_leases(&dev).len(), 1);
    assert!(!sidecar.log().contains(&init_token));

    // A restarted sidecar container (killed, not stopped) restores the sidecar's own cache.
    drop(sidecar);
    std::fs::remove_file(&dest).unwrap();
    let sidecar = pod.spawn_sidecar();
    sidecar.wait_for_log("restored the auth token and leased secrets");
    eventually(Duration::from_secs(60), || dest.exists())
        .unwrap_or_else(|e| panic!("{e}; sidecar log:\n{}", sidecar.log()));
    assert_eq!(credentials(&dest), Some((user, password)));
    assert_eq!(
        std::fs::read_to_string(pod.path("home/.vault-token")).unwrap(),
        init_token
    );
    assert_eq!(token_count(&dev), tokens_before + 1);
    assert_eq!(db_leases(&dev).len(), 1);
}

/// Upstream's behaviour, and ours with `agent-credential-handoff: "false"` and no
/// `agent-cache-enable` (the figure the handoff improves on): the sidecar logs in again and
/// fetches its own credentials.
#[test]
fn without_cache_or_handoff_init_and_sidecar_hold_two_tokens_and_two_leases() {
    let (_pg, dev, kube) = database_setup();
    let pod = Pod::new(
        &dev,
        &kube,
        &[
            ("agent-cache-enable", "false"),
            ("agent-credential-handoff", "false"),
            ("agent-inject-secret-db", "database/creds/app"),
            ("agent-inject-template-db", DB_TEMPLATE),
        ],
    );
    let tokens_before = token_count(&dev);
    let init = pod.run_init();
    assert!(init.success(), "init agent failed: {}", init.stderr_str());
    let dest = pod.path("secrets/db");
    let init_creds = credentials(&dest).unwrap();
    std::fs::remove_file(&dest).unwrap();
    let sidecar = pod.spawn_sidecar();
    eventually(Duration::from_secs(60), || dest.exists())
        .unwrap_or_else(|e| panic!("{e}; sidecar log:\n{}", sidecar.log()));
    assert_ne!(credentials(&dest), Some(init_creds));
    assert_eq!(token_count(&dev), tokens_before + 2);
    assert_eq!(db_leases(&dev).len(), 2);
    assert!(!pod.path(CACHE_FILE).exists());
    assert!(pod.handoff.is_none());
}

/// The credential handoff, on by default for our agent without `agent-cache-enable`: the init
/// agent leaves its token and lease in the in-memory `vault-agent-cache` volume, the sidecar
/// takes them over and renews them; the rendered file keeps the init agent's credentials (not
/// even rewritten), and OpenBao holds one token and one lease for the pod.
#[test]
fn handoff_without_the_cache_holds_one_token_and_one_lease() {
    let (pg, dev, kube) = database_setup();
    let pod = Pod::new(
        &dev,
        &kube,
        &[
            ("agent-cache-enable", "false"),
            ("agent-inject-secret-db", "database/creds/app"),
            ("agent-inject-template-db", DB_TEMPLATE),
        ],
    );
    assert!(pod.handoff.is_some(), "the injector sets the handoff dir");
    assert!(
        !pod.init.contains("\"cache\""),
        "no cache stanza: {}",
        pod.init
    );
    let tokens_before = token_count(&dev);

    let init = pod.run_init();
    assert!(init.success(), "init agent failed: {}", init.stderr_str());
    let dest = pod.path("secrets/db");
    let (user, password) = credentials(&dest).expect("init rendered credentials");
    let init_token = std::fs::read_to_string(pod.path("home/.vault-token")).unwrap();
    assert_eq!(db_leases(&dev).len(), 1);
    let cache = pod.path(CACHE_FILE);
    assert_eq!(vk_agent::file_mode(&cache).unwrap(), 0o600);
    assert_eq!(vk_agent::file_mode(&pod.path(KEY_FILE)).unwrap(), 0o600);
    let sealed = std::fs::read(&cache).unwrap();
    for secret in [init_token.as_str(), password.as_str()] {
        assert!(!sealed.windows(secret.len()).any(|w| w == secret.as_bytes()));
    }
    let written = std::fs::metadata(&dest).unwrap().modified().unwrap();

    let sidecar = pod.spawn_sidecar();
    sidecar.wait_for_log("credential handoff: restored the auth token and leased secrets");
    sidecar.wait_for_log("renewed secret lease");
    // Past several lease TTLs: the init agent's credentials still log in, the file was never
    // rewritten, and OpenBao holds one token and one lease for the pod.
    std::thread::sleep(Duration::from_secs(3 * DB_TTL_SECS));
    assert!(
        pg.can_login(&user, &password),
        "credentials expired; sidecar log:\n{}",
        sidecar.log()
    );
    assert_eq!(credentials(&dest), Some((user, password)));
    assert_eq!(
        std::fs::metadata(&dest).unwrap().modified().unwrap(),
        written,
        "the sidecar rewrote the file; log:\n{}",
        sidecar.log()
    );
    assert_eq!(token_count(&dev), tokens_before + 1);
    assert_eq!(db_leases(&dev).len(), 1);
    assert!(!sidecar.log().contains(&init_token));
    assert!(!sidecar.log().contains("logging in"), "{}", sidecar.log());
}

/// A handoff the sidecar cannot use (missing, or its token revoked) is one log line, then
/// today's behaviour: a login and new credentials.
#[test]
fn unusable_handoff_falls_back_to_a_login() {
    let (dev, kube) = kv_setup();
    let pod = Pod::new(
        &dev,
        &kube,
        &[
            ("agent-cache-enable", "false"),
            ("agent-inject-secret-kv", "secret/data/app"),
            ("agent-inject-template-kv", KV_TEMPLATE),
        ],
    );
    let init = pod.run_init();
    assert!(init.success(), "init agent failed: {}", init.stderr_str());
    let init_token = std::fs::read_to_string(pod.path("home/.vault-token")).unwrap();

    // Revoked.
    dev.cli_ok(&["token", "revoke", &init_token]).unwrap();
    let sidecar = pod.spawn_sidecar();
    sidecar.wait_for_log("credential handoff not restored");
    sidecar.wait_for_log("the saved auth token is no longer valid");
    eventually(Duration::from_secs(60), || {
        std::fs::read_to_string(pod.path("home/.vault-token"))
            .is_ok_and(|t| !t.is_empty() && t != init_token)
    })
    .unwrap_or_else(|e| panic!("{e}; sidecar log:\n{}", sidecar.log()));
    assert_eq!(
        sidecar
            .log()
            .matches("credential handoff not restored")
            .count(),
        1
    );
    assert!(!sidecar.log().contains(&init_token));
    drop(sidecar);

    // Missing.
    for f in [CACHE_FILE, KEY_FILE] {
        let _ = std::fs::remove_file(pod.path(f));
    }
    let before = std::fs::read_to_string(pod.path("home/.vault-token")).unwrap();
    let sidecar = pod.spawn_sidecar();
    sidecar.wait_for_log("credential handoff: nothing to restore; logging in");
    eventually(Duration::from_secs(60), || {
        std::fs::read_to_string(pod.path("home/.vault-token")).is_ok_and(|t| t != before)
    })
    .unwrap_or_else(|e| panic!("{e}; sidecar log:\n{}", sidecar.log()));
}

#[test]
fn unusable_cache_with_exit_on_err_stops_the_sidecar_naming_the_file() {
    let (dev, kube) = kv_setup();
    let pod = Pod::new(
        &dev,
        &kube,
        &[
            ("agent-cache-exit-on-err", "true"),
            ("agent-inject-secret-kv", "secret/data/app"),
            ("agent-inject-template-kv", KV_TEMPLATE),
        ],
    );
    let init = pod.run_init();
    assert!(init.success(), "init agent failed: {}", init.stderr_str());
    let cache = pod.path(CACHE_FILE);
    let good = std::fs::read(&cache).unwrap();

    // A corrupt file.
    let mut bad = good.clone();
    let last = bad.len() - 1;
    bad[last] ^= 0x55;
    std::fs::write(&cache, &bad).unwrap();
    let out = pod.run_sidecar_to_exit();
    assert!(!out.success() && !out.timed_out, "{}", out.stderr_str());
    let err = out.stderr_str();
    assert!(err.contains(&cache.display().to_string()), "{err}");
    assert!(err.contains("decryption failed"), "{err}");

    // A revoked token.
    std::fs::write(&cache, &good).unwrap();
    let token = std::fs::read_to_string(pod.path("home/.vault-token")).unwrap();
    dev.cli_ok(&["token", "revoke", &token]).unwrap();
    let out = pod.run_sidecar_to_exit();
    assert!(!out.success() && !out.timed_out, "{}", out.stderr_str());
    let err = out.stderr_str();
    assert!(err.contains(&cache.display().to_string()), "{err}");
    assert!(err.contains("no longer valid"), "{err}");
    assert!(!err.contains(&token));
}

#[test]
fn unusable_cache_without_exit_on_err_logs_in_again() {
    let (dev, kube) = kv_setup();
    let pod = Pod::new(
        &dev,
        &kube,
        &[
            ("agent-inject-secret-kv", "secret/data/app"),
            ("agent-inject-template-kv", KV_TEMPLATE),
        ],
    );
    let init = pod.run_init();
    assert!(init.success(), "init agent failed: {}", init.stderr_str());
    let cache = pod.path(CACHE_FILE);
    let dest = pod.path("secrets/kv");
    let init_token = std::fs::read_to_string(pod.path("home/.vault-token")).unwrap();

    // Corrupt: a warning, a login, a render.
    std::fs::write(&cache, b"not a cache").unwrap();
    std::fs::remove_file(&dest).unwrap();
    let sidecar = pod.spawn_sidecar();
    sidecar.wait_for_log("persistent cache not restored");
    eventually(Duration::from_secs(60), || dest.exists())
        .unwrap_or_else(|e| panic!("{e}; sidecar log:\n{}", sidecar.log()));
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "kv-password-1");
    assert!(sidecar.log().contains("bad header"), "{}", sidecar.log());
    let sidecar_token = std::fs::read_to_string(pod.path("home/.vault-token")).unwrap();
    assert_ne!(sidecar_token, init_token, "a new login");
    sidecar.wait_for_log("persistent cache written");
    drop(sidecar);

    // The sidecar's own cache, with its token revoked: again a login and a render.
    dev.cli_ok(&["token", "revoke", &sidecar_token]).unwrap();
    std::fs::remove_file(&dest).unwrap();
    let sidecar = pod.spawn_sidecar();
    sidecar.wait_for_log("the saved auth token is no longer valid");
    eventually(Duration::from_secs(60), || dest.exists())
        .unwrap_or_else(|e| panic!("{e}; sidecar log:\n{}", sidecar.log()));
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), "kv-password-1");
    assert_ne!(
        std::fs::read_to_string(pod.path("home/.vault-token")).unwrap(),
        sidecar_token
    );
}

#[test]
fn keep_after_import_keeps_the_file_and_its_key() {
    let (dev, kube) = kv_setup();
    let mut pod = Pod::new(
        &dev,
        &kube,
        &[
            ("agent-inject-secret-kv", "secret/data/app"),
            ("agent-inject-template-kv", KV_TEMPLATE),
        ],
    );
    // A user's config with keep_after_import = true (the injector never sets it).
    let persist = r#""persist":{"type":"kubernetes","#;
    assert!(pod.sidecar.contains(persist));
    pod.sidecar = pod
        .sidecar
        .replace(persist, &format!("{persist}\"keep_after_import\":true,"));
    let init = pod.run_init();
    assert!(init.success(), "init agent failed: {}", init.stderr_str());
    let key = std::fs::read(pod.path(KEY_FILE)).unwrap();
    let token = std::fs::read_to_string(pod.path("home/.vault-token")).unwrap();
    let sidecar = pod.spawn_sidecar();
    sidecar.wait_for_log("restored the auth token and leased secrets");
    std::thread::sleep(Duration::from_secs(2));
    assert!(pod.path(CACHE_FILE).exists());
    assert_eq!(std::fs::read(pod.path(KEY_FILE)).unwrap(), key);
    assert_eq!(
        std::fs::read_to_string(pod.path("home/.vault-token")).unwrap(),
        token
    );
}

#[test]
fn unsupported_persist_type_is_refused_by_name() {
    let (dev, kube) = kv_setup();
    let mut pod = Pod::new(
        &dev,
        &kube,
        &[
            ("agent-inject-secret-kv", "secret/data/app"),
            ("agent-inject-template-kv", KV_TEMPLATE),
        ],
    );
    pod.init = pod
        .init
        .replace(r#""type":"kubernetes","path""#, r#""type":"file","path""#);
    let out = pod.run_init();
    assert!(!out.success());
    let err = out.stderr_str();
    assert!(
        err.contains("cache.persist.type") && err.contains("\"file\""),
        "{err}"
    );
}

/// The same scenario with OpenBao's own agent and the same configs (the reference): what it
/// leaves OpenBao holding for the pod.
#[test]
fn bao_agent_same_configs_reference() {
    let (_pg, dev, kube) = database_setup();
    let pod = Pod::new(
        &dev,
        &kube,
        &[
            ("agent-inject-secret-db", "database/creds/app"),
            ("agent-inject-template-db", DB_TEMPLATE),
        ],
    );
    // bao reads the service-account token for the kubernetes persist type from this file.
    let sa = pod.path("sa-token").display().to_string();
    let with_sa = |json: &str| {
        json.replace(
            r#""persist":{"type":"kubernetes","#,
            &format!(r#""persist":{{"service_account_token_file":"{sa}","type":"kubernetes","#),
        )
    };
    std::fs::write(pod.path("init.json"), with_sa(&pod.init)).unwrap();
    std::fs::write(pod.path("sidecar.json"), with_sa(&pod.sidecar)).unwrap();
    let bao = vk_test_utils::bao_binary().unwrap();
    let tokens_before = token_count(&dev);
    let mut init = Command::new(&bao);
    init.args([
        "agent",
        &format!("-config={}", pod.path("init.json").display()),
    ])
    .env("VAULT_ADDR", dev.addr());
    let out = run_with_timeout(&mut init, Duration::from_secs(90)).unwrap();
    assert!(out.success(), "bao agent init failed: {}", out.stderr_str());
    let init_creds = credentials(&pod.path("secrets/db")).unwrap();
    let after_init = (token_count(&dev) - tokens_before, db_leases(&dev).len());
    let cache_files: Vec<String> = std::fs::read_dir(pod.path("agent-cache"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();

    std::fs::remove_file(pod.path("secrets/db")).unwrap();
    let log = pod.path("bao-sidecar.log");
    let mut sidecar = Command::new(&bao)
        .args([
            "agent",
            &format!("-config={}", pod.path("sidecar.json").display()),
        ])
        .env("VAULT_ADDR", dev.addr())
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(std::fs::File::create(&log).unwrap())
        .spawn()
        .unwrap();
    let rendered = eventually(Duration::from_secs(60), || pod.path("secrets/db").exists());
    std::thread::sleep(Duration::from_secs(3));
    let after_sidecar = (token_count(&dev) - tokens_before, db_leases(&dev).len());
    let sidecar_creds = credentials(&pod.path("secrets/db"));
    let _ = sidecar.kill();
    let _ = sidecar.wait();
    let sidecar_log = std::fs::read_to_string(&log).unwrap_or_default();
    eprintln!(
        "bao agent: cache files after init {cache_files:?}; (tokens, leases) after init \
         {after_init:?}, after sidecar {after_sidecar:?}; same credentials: {}",
        sidecar_creds.as_ref() == Some(&init_creds)
    );
    rendered.unwrap_or_else(|e| panic!("{e}; bao sidecar log:\n{sidecar_log}"));
    // Observed: bao also ends with one token and one lease, and the init's credentials.
    assert_eq!(after_init, (1, 1));
    assert_eq!(after_sidecar, (1, 1), "bao sidecar log:\n{sidecar_log}");
    assert_eq!(sidecar_creds, Some(init_creds));
    assert!(sidecar_log.contains("loaded memcache from persistent storage"));
}
