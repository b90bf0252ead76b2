//! End to end: the real `vault-k8s agent-inject` webhook mutates the guide's `webapp` pod, and
//! the injected `vault-agent-init` container then runs exactly as patched (in the kubelet-like
//! pod sandbox), logs in with kubernetes auth — OpenBao asking our TokenReview server about a
//! real signed service-account token — and renders the guide's template into
//! `/vault/secrets/database-config`.
//!
//! With the default agent image (ours) the container runs `/usr/local/bin/vault-k8s agent`
//! without a shell, and the sandbox shows our binary at that path. With upstream's image
//! (`-vault-image=hashicorp/vault:…`) it runs upstream's shell command, with OpenBao's `bao`
//! as `vault`.
//!
//! Needs root (mount namespaces) and OpenBao at `.tools/bin/bao` (`cargo xtask tools`).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;
use vk_test_utils::admission::{mutate_with_response, pod_create_review};
use vk_test_utils::{
    ChildGuard, DevServer, KubeApi, PodSandbox, SandboxRun, TestCa, configure_kubernetes_auth,
    fixture,
};

const POLICY: &str = "path \"secret/data/database/config\" {\n  capabilities = [\"read\"]\n}\n";
const SECRET_FILE: &str = "/vault/secrets/database-config";

/// OpenBao + TokenReview server configured as in the guide, plus the running webhook.
struct Cluster {
    kube: KubeApi,
    dev: DevServer,
    webhook: ChildGuard,
    webhook_url: String,
    ca_pem: String,
    _tls_dir: tempfile::TempDir,
}

/// Upstream's agent image: the webhook then injects upstream's shell command.
const UPSTREAM_IMAGE_FLAG: &str = "-vault-image=hashicorp/vault:2.0.4";

impl Cluster {
    /// `webhook_args` are added to the webhook's flags.
    fn start(webhook_args: &[&str]) -> Self {
        let kube = KubeApi::start().expect("start the TokenReview server");
        let dev = DevServer::start().expect("start the OpenBao dev server");
        configure_kubernetes_auth(&dev, &kube, "webapp", "webapp", "default", "webapp", POLICY)
            .expect("configure kubernetes auth, policy and role");
        dev.cli_ok(&[
            "kv",
            "put",
            "secret/database/config",
            "username=db-user",
            "password=db-password",
        ])
        .expect("write the guide's secret");

        let ca = TestCa::new().expect("test CA");
        let leaf = ca.leaf().expect("webhook serving certificate");
        let tls_dir = tempfile::tempdir().expect("temp dir");
        let files = ca
            .write_tls_dir(tls_dir.path(), &leaf)
            .expect("write TLS files");
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_vault-k8s"));
        cmd.args([
            "agent-inject".to_string(),
            "-listen=127.0.0.1:0".to_string(),
            format!("-tls-cert-file={}", files.cert.display()),
            format!("-tls-key-file={}", files.key.display()),
            format!("-vault-address={}", dev.addr()),
        ]);
        cmd.args(webhook_args);
        let mut webhook =
            ChildGuard::spawn("vault-k8s agent-inject", &mut cmd).expect("spawn webhook");
        // `Listening on "<addr>"...` carries the address actually bound (port 0 resolved).
        let addr = webhook
            .wait_for_stdout_line(Duration::from_secs(30), |line| {
                let rest = line.trim().strip_prefix("Listening on \"")?;
                Some(rest.split('"').next()?.to_string())
            })
            .expect("webhook prints its listen address");
        assert!(
            !addr.ends_with(":0"),
            "webhook printed the unresolved address {addr:?}"
        );
        Cluster {
            kube,
            dev,
            webhook,
            webhook_url: format!("https://{addr}"),
            ca_pem: ca.ca_pem(),
            _tls_dir: tls_dir,
        }
    }

    /// Sends `pod` to `/mutate` as the API server would (HTTPS verified against our CA) and
    /// returns the pod with the answered JSON Patch applied.
    fn mutate(&mut self, pod: &Value) -> Value {
        assert!(self.webhook.is_running(), "webhook exited");
        let uid = "0f3a0cf4-3b1e-4c55-9a61-6b7d1d2c9e01";
        let review = pod_create_review(pod, uid);
        let resp = vk_test_utils::http::post_json(
            &format!("{}/mutate?timeout=10s", self.webhook_url),
            Some(&self.ca_pem),
            &review,
        )
        .expect("POST /mutate");
        assert_eq!(
            resp.status,
            200,
            "/mutate answered {}: {}",
            resp.status,
            resp.text()
        );
        let answer = resp.json().expect("AdmissionReview JSON");
        mutate_with_response(pod, &answer, uid).expect("apply the webhook's patch")
    }

    fn sandbox(&self, mutated: &Value, token: &str) -> PodSandbox {
        let mut sandbox = PodSandbox::new(mutated).expect("pod sandbox");
        sandbox
            .set_service_account_token(token)
            .expect("write the projected SA token");
        // The kube-root-ca.crt config map item of the projected volume.
        sandbox
            .set_file(
                "kube-api-access-7xk2p",
                "ca.crt",
                self.kube.ca_pem().as_bytes(),
            )
            .expect("write ca.crt");
        sandbox
    }
}

fn webapp_pod() -> Value {
    serde_json::from_str(&fixture("webapp-pod-admitted.json").expect("fixture"))
        .expect("fixture JSON")
}

fn container<'a>(pod: &'a Value, list: &str, name: &str) -> &'a Value {
    pod["spec"][list]
        .as_array()
        .and_then(|a| a.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in the mutated pod: {pod:#}"))
}

/// The default injection: our image, and the init container runs `/usr/local/bin/vault-k8s
/// agent` exactly as patched, no shell (the agent reads `VAULT_CONFIG` itself). `vault` on the
/// sandbox's `PATH` stays OpenBao's, so nothing but our binary can have rendered the file.
#[test]
fn works_with_our_agent() {
    let mut cluster = Cluster::start(&[]);
    let mutated = cluster.mutate(&webapp_pod());
    for (list, name) in [
        ("initContainers", "vault-agent-init"),
        ("containers", "vault-agent"),
    ] {
        let c = container(&mutated, list, name);
        assert_eq!(
            c["image"],
            concat!("localhost/vault-k8s:", env!("CARGO_PKG_VERSION")),
            "{name}"
        );
        assert_eq!(
            c["command"],
            serde_json::json!(["/usr/local/bin/vault-k8s"]),
            "{name}"
        );
        assert_eq!(c["args"], serde_json::json!(["agent"]), "{name}");
    }
    let token = cluster
        .kube
        .mint("default", "webapp", Duration::from_secs(3607))
        .expect("mint");
    let mut sandbox = cluster.sandbox(&mutated, &token);
    sandbox.set_agent_binary(env!("CARGO_BIN_EXE_vault-k8s"));
    sandbox.set_timeout(Duration::from_secs(60));
    let run = sandbox
        .run("vault-agent-init")
        .expect("run vault-agent-init");
    assert!(
        run.success(),
        "vault-agent-init (vault-k8s agent) failed: {}\nOpenBao log:\n{}",
        run.describe(),
        cluster.dev.log_tail(30)
    );
    let host_file = sandbox
        .host_path("vault-agent-init", SECRET_FILE)
        .expect("secret on a volume");
    assert_eq!(
        std::fs::read_to_string(&host_file).expect("rendered secret file"),
        "postgresql://db-user:db-password@postgres:5432/mydb\n"
    );
    assert_clean_log_and_reviewed(&run, &token, &cluster);

    // The sidecar, alone in a fresh pod, runs the same way and keeps running.
    let mut sidecar_pod = cluster.sandbox(&mutated, &token);
    sidecar_pod.set_agent_binary(env!("CARGO_BIN_EXE_vault-k8s"));
    sidecar_pod.set_timeout(Duration::from_secs(5));
    let sidecar_file = sidecar_pod
        .host_path("vault-agent", SECRET_FILE)
        .expect("secret on a volume");
    let run = sidecar_pod.run("vault-agent").expect("run vault-agent");
    assert!(
        run.output.timed_out,
        "the sidecar should keep running: {}",
        run.describe()
    );
    assert_eq!(
        std::fs::read_to_string(&sidecar_file).expect("sidecar rendered the secret"),
        "postgresql://db-user:db-password@postgres:5432/mydb\n"
    );
}

/// Upstream's shell command run by our binary as `vault` (`vault agent -config=…` is accepted
/// as the `agent` subcommand): the path for a shell image that carries `vault-k8s` as `vault`.
#[test]
fn upstream_command_runs_our_agent_as_vault() {
    let mut cluster = Cluster::start(&["-vault-image=registry.example/mirror/vault:1.18"]);
    let mutated = cluster.mutate(&webapp_pod());
    let init = container(&mutated, "initContainers", "vault-agent-init");
    assert_eq!(init["command"], serde_json::json!(["/bin/sh", "-ec"]));
    let token = cluster
        .kube
        .mint("default", "webapp", Duration::from_secs(3607))
        .expect("mint");
    let mut sandbox = cluster.sandbox(&mutated, &token);
    sandbox.set_vault_binary(env!("CARGO_BIN_EXE_vault-k8s"));
    let run = sandbox
        .run("vault-agent-init")
        .expect("run vault-agent-init");
    assert!(run.success(), "{}", run.describe());
    let host_file = sandbox
        .host_path("vault-agent-init", SECRET_FILE)
        .expect("secret on a volume");
    assert_eq!(
        std::fs::read_to_string(&host_file).expect("rendered secret file"),
        "postgresql://db-user:db-password@postgres:5432/mydb\n"
    );
}

/// Config-map mode (`agent-configmap`, injector spec §4.5) with our image: the agents run
/// `/usr/local/bin/vault-k8s agent -config=/vault/configs/config-init.hcl` (init) or
/// `…/config.hcl` (sidecar), no shell and no `VAULT_CONFIG`, reading the HCL files of the
/// mounted ConfigMap; the server address comes from the injected `VAULT_ADDR`.
#[test]
fn config_map_mode_runs_our_agent_natively() {
    const CM_VOLUME: &str = "vault-config";
    const CM_FILE: &str = "/vault/secrets/db-creds";
    // HCL as users write it; no `vault` block, so only `VAULT_ADDR` can point at OpenBao.
    let config = |exit_after_auth: bool| {
        format!(
            r#"exit_after_auth = {exit_after_auth}
pid_file = "/home/vault/.pid"

auto_auth {{
  method "kubernetes" {{
    mount_path = "auth/kubernetes"
    config = {{
      role       = "webapp"
      token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    }}
  }}
  sink "file" {{
    config = {{
      path = "/home/vault/.vault-token"
    }}
  }}
}}

template_config {{
  exit_on_retry_failure = true
}}

template {{
  destination = "{CM_FILE}"
  contents    = "{{{{ with secret \"secret/data/database/config\" }}}}{{{{ .Data.data.username }}}}:{{{{ .Data.data.password }}}}{{{{ end }}}}"
}}
"#
        )
    };

    let mut cluster = Cluster::start(&[]);
    let mut pod = webapp_pod();
    pod["metadata"]["annotations"] = serde_json::json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/agent-configmap": "webapp-agent-config",
    });
    let mutated = cluster.mutate(&pod);
    let volume = mutated["spec"]["volumes"]
        .as_array()
        .and_then(|v| v.iter().find(|v| v["name"] == CM_VOLUME))
        .unwrap_or_else(|| panic!("no {CM_VOLUME} volume: {mutated:#}"));
    assert_eq!(volume["configMap"]["name"], "webapp-agent-config");
    for (list, name, file) in [
        ("initContainers", "vault-agent-init", "config-init.hcl"),
        ("containers", "vault-agent", "config.hcl"),
    ] {
        let c = container(&mutated, list, name);
        assert_eq!(
            c["command"],
            serde_json::json!(["/usr/local/bin/vault-k8s"]),
            "{name}"
        );
        assert_eq!(
            c["args"],
            serde_json::json!(["agent", format!("-config=/vault/configs/{file}")]),
            "{name}"
        );
        let env = c["env"].as_array().expect("env");
        assert!(
            env.iter().all(|e| e["name"] != "VAULT_CONFIG"),
            "{name} carries VAULT_CONFIG in config-map mode"
        );
        assert!(
            env.iter()
                .any(|e| e["name"] == "VAULT_ADDR" && e["value"] == cluster.dev.addr()),
            "{name} lacks VAULT_ADDR: {env:?}"
        );
    }

    let token = cluster
        .kube
        .mint("default", "webapp", Duration::from_secs(3607))
        .expect("mint");
    let with_config_map = |sandbox: &mut PodSandbox| {
        sandbox.set_agent_binary(env!("CARGO_BIN_EXE_vault-k8s"));
        // What the kubelet would project from the ConfigMap's keys.
        sandbox
            .set_file(CM_VOLUME, "config-init.hcl", config(true).as_bytes())
            .expect("write config-init.hcl");
        sandbox
            .set_file(CM_VOLUME, "config.hcl", config(false).as_bytes())
            .expect("write config.hcl");
    };

    let mut sandbox = cluster.sandbox(&mutated, &token);
    with_config_map(&mut sandbox);
    sandbox.set_timeout(Duration::from_secs(60));
    let run = sandbox
        .run("vault-agent-init")
        .expect("run vault-agent-init");
    assert!(
        run.success(),
        "vault-agent-init (config-map mode) failed: {}\nOpenBao log:\n{}",
        run.describe(),
        cluster.dev.log_tail(30)
    );
    let host_file = sandbox
        .host_path("vault-agent-init", CM_FILE)
        .expect("secret on a volume");
    assert_eq!(
        std::fs::read_to_string(&host_file).expect("rendered secret file"),
        "db-user:db-password"
    );
    // Nothing came from the annotations' default template.
    assert!(
        !sandbox
            .host_path("vault-agent-init", SECRET_FILE)
            .expect("on a volume")
            .exists()
    );
    assert_clean_log_and_reviewed(&run, &token, &cluster);

    // The sidecar reads `config.hcl` (no `exit_after_auth`) and keeps running.
    let mut sidecar_pod = cluster.sandbox(&mutated, &token);
    with_config_map(&mut sidecar_pod);
    sidecar_pod.set_timeout(Duration::from_secs(5));
    let run = sidecar_pod.run("vault-agent").expect("run vault-agent");
    assert!(
        run.output.timed_out,
        "the sidecar should keep running: {}",
        run.describe()
    );
    assert_eq!(
        std::fs::read_to_string(
            sidecar_pod
                .host_path("vault-agent", CM_FILE)
                .expect("secret on a volume")
        )
        .expect("sidecar rendered the secret"),
        "db-user:db-password"
    );
}

/// Upstream's image: upstream's shell command, byte for byte, run with OpenBao's agent.
#[test]
fn works_with_the_real_agent() {
    let mut cluster = Cluster::start(&[UPSTREAM_IMAGE_FLAG]);
    let mutated = cluster.mutate(&webapp_pod());
    let init = container(&mutated, "initContainers", "vault-agent-init");
    assert_eq!(init["image"], "hashicorp/vault:2.0.4");
    assert_eq!(init["command"], serde_json::json!(["/bin/sh", "-ec"]));
    assert_eq!(
        init["args"],
        serde_json::json!([
            "echo ${VAULT_CONFIG?} | base64 -d > /home/vault/config.json && vault agent -config=/home/vault/config.json"
        ])
    );
    let host_had_vault_dir = Path::new("/vault").exists();

    let token = cluster
        .kube
        .mint("default", "webapp", Duration::from_secs(3607))
        .expect("mint");
    let mut sandbox = cluster.sandbox(&mutated, &token);
    sandbox.set_timeout(Duration::from_secs(60));
    let run = sandbox
        .run("vault-agent-init")
        .expect("run vault-agent-init");
    assert!(
        run.success(),
        "vault-agent-init failed: {}\nOpenBao log:\n{}",
        run.describe(),
        cluster.dev.log_tail(30)
    );

    let host_file = sandbox
        .host_path("vault-agent-init", SECRET_FILE)
        .expect("secret on a volume");
    let rendered = std::fs::read(&host_file).expect("rendered secret file");
    // The annotation's template is
    //   {{- with secret "secret/data/database/config" -}}\n
    //   postgresql://…@postgres:5432/mydb\n
    //   {{- end }}\n
    // `-}}` trims the newline after `with`, `{{-` trims the one before `end`, and the final
    // newline (the YAML `|` block keeps it) follows `end` untrimmed: exactly one trailing "\n".
    assert_eq!(
        String::from_utf8_lossy(&rendered),
        "postgresql://db-user:db-password@postgres:5432/mydb\n"
    );
    assert_token_reviewed(&cluster);

    // `kubectl exec webapp -c webapp -- cat /vault/secrets/database-config` equivalent.
    let app = sandbox
        .run_with_command("webapp", &["cat", SECRET_FILE])
        .expect("run webapp");
    assert!(app.success(), "{}", app.describe());
    assert_eq!(app.output.stdout, rendered);

    // The long-running sidecar, alone in a fresh pod: it renders the same file and keeps
    // running (exit_after_auth is false), so the bounded run ends by being killed.
    let mut sidecar_pod = cluster.sandbox(&mutated, &token);
    sidecar_pod.set_timeout(Duration::from_secs(5));
    let sidecar_file = sidecar_pod
        .host_path("vault-agent", SECRET_FILE)
        .expect("secret on a volume");
    let run = sidecar_pod.run("vault-agent").expect("run vault-agent");
    assert!(
        run.output.timed_out,
        "the sidecar should keep running: {}",
        run.describe()
    );
    assert_eq!(
        std::fs::read(&sidecar_file).expect("sidecar rendered the secret"),
        rendered
    );
    let sink = sidecar_pod
        .host_path("vault-agent", "/home/vault/.vault-token")
        .expect("home volume");
    assert!(
        std::fs::metadata(&sink).is_ok_and(|m| m.len() > 0),
        "no token in the sidecar's sink"
    );

    // The container paths existed only inside the sandbox's mount namespace.
    if !host_had_vault_dir {
        assert!(!Path::new("/vault").exists(), "/vault leaked onto the host");
    }
}

#[test]
fn a_token_from_another_signer_is_refused() {
    // OpenBao's agent, whose log wording the checks below use.
    let mut cluster = Cluster::start(&[UPSTREAM_IMAGE_FLAG]);
    let foreign = cluster
        .kube
        .mint_foreign("default", "webapp", Duration::from_secs(3607))
        .expect("mint");

    // Default annotations: auto-auth retries with backoff (1 s, 1.8 s, 3.3 s, …) forever —
    // `exit_on_retry_failure` only covers template rendering — so the pod would stay in Init.
    // Bound the run and kill it.
    let mutated = cluster.mutate(&webapp_pod());
    let mut sandbox = cluster.sandbox(&mutated, &foreign);
    sandbox.set_timeout(Duration::from_secs(4));
    let run = sandbox
        .run("vault-agent-init")
        .expect("run vault-agent-init");
    assert!(
        !run.success(),
        "init container succeeded with a forged token: {}",
        run.describe()
    );
    assert!(
        run.output.timed_out,
        "expected the agent to keep retrying: {}",
        run.describe()
    );
    assert!(
        run.output.stderr_str().contains("permission denied"),
        "{}",
        run.describe()
    );
    assert_no_secret(&sandbox);

    // With `agent-auto-auth-exit-on-err: "true"` the agent exits non-zero at the first refusal.
    let mut pod = webapp_pod();
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-auto-auth-exit-on-err"] =
        "true".into();
    let mutated = cluster.mutate(&pod);
    let mut sandbox = cluster.sandbox(&mutated, &foreign);
    sandbox.set_timeout(Duration::from_secs(20));
    let start = Instant::now();
    let run = sandbox
        .run("vault-agent-init")
        .expect("run vault-agent-init");
    assert!(
        !run.output.timed_out,
        "agent did not exit on the auth error: {}",
        run.describe()
    );
    assert!(
        run.output.code().is_some_and(|c| c != 0),
        "{}",
        run.describe()
    );
    assert!(start.elapsed() < Duration::from_secs(20));
    assert_no_secret(&sandbox);

    // Every refusal came from the TokenReview (signature check), not from a wiring problem.
    let reviews = cluster.kube.reviews();
    assert!(
        !reviews.is_empty(),
        "OpenBao never called the TokenReview API"
    );
    assert!(
        reviews
            .iter()
            .all(|r| r.caller_authorized && !r.authenticated),
        "{reviews:?}"
    );
}

/// Our agent, run natively, refuses the forged token the same way: no secret, and with
/// `agent-auto-auth-exit-on-err` a non-zero exit instead of retrying.
#[test]
fn our_agent_refuses_a_token_from_another_signer() {
    let mut cluster = Cluster::start(&[]);
    let foreign = cluster
        .kube
        .mint_foreign("default", "webapp", Duration::from_secs(3607))
        .expect("mint");
    let mut pod = webapp_pod();
    pod["metadata"]["annotations"]["vault.hashicorp.com/agent-auto-auth-exit-on-err"] =
        "true".into();
    let mutated = cluster.mutate(&pod);
    let init = container(&mutated, "initContainers", "vault-agent-init");
    assert_eq!(
        init["command"],
        serde_json::json!(["/usr/local/bin/vault-k8s"])
    );
    let mut sandbox = cluster.sandbox(&mutated, &foreign);
    sandbox.set_agent_binary(env!("CARGO_BIN_EXE_vault-k8s"));
    sandbox.set_timeout(Duration::from_secs(30));
    let run = sandbox
        .run("vault-agent-init")
        .expect("run vault-agent-init");
    assert!(
        !run.output.timed_out,
        "agent did not exit on the auth error: {}",
        run.describe()
    );
    assert!(
        run.output.code().is_some_and(|c| c != 0),
        "{}",
        run.describe()
    );
    assert_no_secret(&sandbox);
    assert!(
        cluster
            .kube
            .reviews()
            .iter()
            .any(|r| r.caller_authorized && !r.authenticated),
        "OpenBao never reviewed the forged token: {:?}",
        cluster.kube.reviews()
    );
}

/// The agent's log never carries the secret or the token, and OpenBao had the token reviewed.
fn assert_clean_log_and_reviewed(run: &SandboxRun, token: &str, cluster: &Cluster) {
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&run.output.stdout),
        String::from_utf8_lossy(&run.output.stderr)
    );
    assert!(!log.contains("db-password"), "secret in the log: {log}");
    assert!(!log.contains(token), "token in the log");
    assert_token_reviewed(cluster);
}

/// OpenBao had the pod's token reviewed by the Kubernetes API.
fn assert_token_reviewed(cluster: &Cluster) {
    assert!(
        cluster
            .kube
            .reviews()
            .iter()
            .any(|r| r.caller_authorized && r.authenticated),
        "OpenBao never had the token reviewed: {:?}",
        cluster.kube.reviews()
    );
}

fn assert_no_secret(sandbox: &PodSandbox) {
    let path = sandbox
        .host_path("vault-agent-init", SECRET_FILE)
        .expect("secret on a volume");
    assert!(
        !Path::new(&path).exists(),
        "{SECRET_FILE} was rendered despite the refused login"
    );
}

/// The credential handoff as the pod runs it: init agent then sidecar in one pod sandbox (the
/// injected `vault-agent-cache` in-memory volume shared, the agents' UID and mounts as patched).
/// The sidecar takes over the init agent's token (no second login), and the sealed handoff
/// file is 0600.
#[test]
fn init_hands_its_token_to_the_sidecar_in_one_pod() {
    let mut cluster = Cluster::start(&[]);
    let mutated = cluster.mutate(&webapp_pod());
    let env = &container(&mutated, "containers", "vault-agent")["env"];
    assert!(
        env.as_array()
            .is_some_and(|e| e.iter().any(|v| v["name"] == "VAULT_K8S_AGENT_HANDOFF_DIR")),
        "the sidecar has no handoff directory: {env}"
    );
    let token = cluster
        .kube
        .mint("default", "webapp", Duration::from_secs(3607))
        .expect("mint");
    let mut sandbox = cluster.sandbox(&mutated, &token);
    sandbox.set_agent_binary(env!("CARGO_BIN_EXE_vault-k8s"));
    sandbox.set_timeout(Duration::from_secs(60));
    let init = sandbox
        .run("vault-agent-init")
        .expect("run vault-agent-init");
    assert!(init.success(), "{}", init.describe());
    let cache = init.volumes["vault-agent-cache"].join("vault-k8s-agent-cache.db");
    assert_eq!(vk_agent::file_mode(&cache).expect("handoff file"), 0o600);

    sandbox.set_timeout(Duration::from_secs(8));
    let sidecar = sandbox.run("vault-agent").expect("run vault-agent");
    assert!(sidecar.output.timed_out, "{}", sidecar.describe());
    let log = sidecar.output.stderr_str();
    assert!(
        log.contains("credential handoff: restored the auth token and leased secrets"),
        "{}",
        sidecar.describe()
    );
    // Each agent's token sink is on its own home volume: the sidecar's holds the init agent's.
    let sink = |run: &vk_test_utils::SandboxRun, volume: &str| {
        std::fs::read_to_string(run.volumes[volume].join(".vault-token")).expect("token sink")
    };
    assert_eq!(
        sink(&sidecar, "home-sidecar"),
        sink(&init, "home-init"),
        "the sidecar logged in again: {}",
        sidecar.describe()
    );
    assert!(!log.contains(&token));
}
