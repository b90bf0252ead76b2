//! The walkthrough's steps. Every component is a guard owned by [`run`], so whatever way `run`
//! returns, everything it started has been stopped and removed.

use std::fs::File;
use std::io::Write as _;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, anyhow, bail, ensure};
use serde_json::Value;
use vk_test_utils::admission::{mutate_with_response, pod_create_review};
use vk_test_utils::util::tail_file;
use vk_test_utils::{
    ChildGuard, DevServer, KubeApi, PodSandbox, TestCa, configure_kubernetes_auth,
};

use crate::{Options, interrupt, summary};

/// The guide's pod as the API server sends it to the webhook (defaults filled in, the
/// service-account token volume added). Embedded so the walkthrough needs no files.
const WEBAPP_POD: &str = include_str!("../../../fixtures/webapp-pod-admitted.json");
/// The guide's policy (`vault policy write webapp …`).
const POLICY_NAME: &str = "webapp";
const POLICY: &str = "path \"secret/data/database/config\" {\n  capabilities = [\"read\"]\n}\n";
/// The guide's secret (`vault kv put secret/database/config …`): dev values, shown on purpose.
const SECRET_PATH: &str = "secret/database/config";
const SECRET_FIELDS: [&str; 2] = ["username=db-user", "password=db-password"];
const INIT_CONTAINER: &str = "vault-agent-init";
const SECRET_FILE: &str = "/vault/secrets/database-config";
const STEPS: usize = 8;

pub(crate) fn run(opts: &Options) -> Result<()> {
    let started = Instant::now();
    ensure_root()?;
    let pod: Value = serde_json::from_str(WEBAPP_POD).context("the embedded webapp pod")?;
    let guide = Guide::from_pod(&pod)?;
    let mut steps = Steps::default();
    println!(
        "vault-k8s walkthrough: the guide's `webapp` pod, injected and run on this machine \
         (everything on 127.0.0.1)"
    );

    steps.next("starting OpenBao in dev mode (`bao server -dev`, root token `root`)")?;
    let dev = DevServer::start().context("starting the OpenBao dev server")?;
    steps.detail(format!("listening on {}", dev.addr()));

    steps.next(
        "starting a Kubernetes TokenReview endpoint (checks service-account JWT signatures)",
    )?;
    let kube = KubeApi::start().context("starting the TokenReview endpoint")?;
    steps.detail(format!("listening on {}", kube.url()));

    steps.next(&format!(
        "configuring kubernetes auth (role {}, service account {}/{}, policy {POLICY_NAME})",
        guide.role, guide.namespace, guide.service_account
    ))?;
    configure_kubernetes_auth(
        &dev,
        &kube,
        &guide.role,
        &guide.service_account,
        &guide.namespace,
        POLICY_NAME,
        POLICY,
    )
    .context("configuring kubernetes auth, the policy and the role in OpenBao")?;

    steps.next(&format!(
        "writing the secret {SECRET_PATH} (username, password)"
    ))?;
    let mut kv_put = vec!["kv", "put", SECRET_PATH];
    kv_put.extend(SECRET_FIELDS);
    dev.cli_ok(&kv_put)
        .with_context(|| format!("writing {SECRET_PATH}"))?;

    steps.next(
        "starting the webhook `vault-k8s agent-inject` (HTTPS, certificate from a throwaway CA)",
    )?;
    let mut webhook = Webhook::start(&opts.vault_k8s, dev.addr())?;
    steps.detail(format!("listening on {}", webhook.url));

    steps.next(&format!(
        "sending the `{}` pod to {}/mutate as an AdmissionReview, applying the JSON Patch",
        guide.pod_name, webhook.url
    ))?;
    let mutated = webhook.mutate(&pod)?;
    for line in summary::init_container(&mutated, INIT_CONTAINER)? {
        steps.detail(line);
    }

    steps.next(&format!(
        "running {INIT_CONTAINER} as patched in a pod sandbox (service-account token for {}/{})",
        guide.namespace, guide.service_account
    ))?;
    let token = kube
        .mint(
            &guide.namespace,
            &guide.service_account,
            Duration::from_secs(3607),
        )
        .context("minting the pod's service-account token")?;
    let sandbox = sandbox(&mutated, &token, &kube, &opts.vault_k8s)?;
    let run = sandbox
        .run(INIT_CONTAINER)
        .with_context(|| format!("running {INIT_CONTAINER}"))?;
    steps.detail("agent log:");
    for line in run
        .output
        .stdout_str()
        .lines()
        .chain(run.output.stderr_str().lines())
    {
        steps.detail(format!("| {line}"));
    }
    if !run.success() {
        let how = match (run.output.timed_out, run.output.status) {
            (true, _) => "was still running after 60 s and was killed".to_string(),
            (false, Some(status)) => match status.code() {
                Some(code) => format!("exited with code {code}"),
                None => format!("ended by {status}"),
            },
            (false, None) => "ended without a status".to_string(),
        };
        bail!(
            "{INIT_CONTAINER} {how}; its log is above{}",
            openbao_complaints(&dev)
        );
    }
    interrupt::check()?;

    steps.next(&format!(
        "reading {SECRET_FILE} as container {} sees it (`cat`, like `kubectl exec`)",
        guide.app_container
    ))?;
    let app = sandbox
        .run_with_command(&guide.app_container, &["cat", SECRET_FILE])
        .with_context(|| format!("reading {SECRET_FILE} in container {}", guide.app_container))?;
    if !app.success() {
        bail!(
            "`cat {SECRET_FILE}` failed in {}: {}",
            guide.app_container,
            app.describe()
        );
    }
    let content = app.output.stdout_str();
    let title = format!("----- {SECRET_FILE} -----");
    println!("\n{title}");
    print!("{content}");
    if !content.ends_with('\n') {
        println!();
    }
    println!("{}\n", "-".repeat(title.len()));
    println!(
        "walkthrough finished in {:.1} s",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

/// OpenBao's warnings and errors (a refused login, a denied read), for a failed agent run; the
/// dev server's banner and routine lines would only bury them.
fn openbao_complaints(dev: &DevServer) -> String {
    let tail = dev.log_tail(400);
    let lines: Vec<&str> = tail
        .lines()
        .filter(|l| {
            ["[ERROR]", "[WARN]", "denied", "unauthorized"]
                .iter()
                .any(|k| l.contains(k))
        })
        // Dev mode always warns about its missing `api_addr`.
        .filter(|l| !l.contains("api_addr"))
        .collect();
    if lines.is_empty() {
        return String::new();
    }
    let last = &lines[lines.len().saturating_sub(10)..];
    format!("; OpenBao logged:\n{}", last.join("\n"))
}

/// Names the walkthrough takes from the guide's pod rather than repeating them.
struct Guide {
    pod_name: String,
    namespace: String,
    service_account: String,
    role: String,
    app_container: String,
}

impl Guide {
    fn from_pod(pod: &Value) -> Result<Self> {
        let text = |v: &Value, what: &str| {
            v.as_str()
                .map(str::to_string)
                .ok_or_else(|| anyhow!("the embedded webapp pod has no {what}"))
        };
        Ok(Self {
            pod_name: text(&pod["metadata"]["name"], "metadata.name")?,
            namespace: text(&pod["metadata"]["namespace"], "metadata.namespace")?,
            service_account: text(
                &pod["spec"]["serviceAccountName"],
                "spec.serviceAccountName",
            )?,
            role: text(
                &pod["metadata"]["annotations"]["vault.hashicorp.com/role"],
                "vault.hashicorp.com/role annotation",
            )?,
            app_container: text(&pod["spec"]["containers"][0]["name"], "container")?,
        })
    }
}

/// Numbered progress lines on stdout; each new step first checks for an interruption.
#[derive(Default)]
struct Steps {
    done: usize,
}

impl Steps {
    fn next(&mut self, what: &str) -> Result<()> {
        interrupt::check()?;
        self.done += 1;
        println!("[{}/{STEPS}] {what}", self.done);
        Ok(())
    }

    fn detail(&self, line: impl AsRef<str>) {
        println!("      {}", line.as_ref());
    }
}

/// The pod sandbox needs mount namespaces and chroot; say so before starting anything.
fn ensure_root() -> Result<()> {
    let status =
        std::fs::read_to_string("/proc/self/status").context("reading /proc/self/status")?;
    let euid = status
        .lines()
        .find_map(|l| l.strip_prefix("Uid:"))
        .and_then(|rest| rest.split_whitespace().nth(1))
        .context("no Uid line in /proc/self/status")?;
    if euid != "0" {
        bail!(
            "the walkthrough must run as root (effective uid is {euid}): it runs the injected \
             init container in a pod sandbox, which needs a mount namespace, mounts and chroot \
             to put the pod's volumes at /vault/secrets, /home/vault, … without touching the \
             host. Run it with sudo, or use `cargo xtask demo --offline` for the render-only \
             preview"
        );
    }
    Ok(())
}

/// The real `vault-k8s agent-inject` process on a free 127.0.0.1 port.
struct Webhook {
    // Declared first so the process stops before its TLS files and log go.
    process: ChildGuard,
    url: String,
    ca_pem: String,
    log: std::path::PathBuf,
    _dir: tempfile::TempDir,
}

impl Webhook {
    fn start(vault_k8s: &Path, vault_addr: &str) -> Result<Self> {
        let ca = TestCa::new().context("creating the webhook's CA")?;
        let leaf = ca
            .leaf()
            .context("issuing the webhook's serving certificate")?;
        let dir = tempfile::Builder::new()
            .prefix("vk-walkthrough-")
            .tempdir()
            .context("creating a temp dir for the webhook")?;
        let files = ca
            .write_tls_dir(dir.path(), &leaf)
            .context("writing the webhook's TLS files")?;
        let log = dir.path().join("webhook.log");
        let log_file = File::create(&log).context("creating the webhook log")?;
        let mut cmd = Command::new(vault_k8s);
        cmd.args([
            "agent-inject".to_string(),
            "-listen=127.0.0.1:0".to_string(),
            format!("-tls-cert-file={}", files.cert.display()),
            format!("-tls-key-file={}", files.key.display()),
            format!("-vault-address={vault_addr}"),
        ])
        // Its log would interleave with the steps; it is shown when something fails.
        .stderr(log_file);
        let mut process = ChildGuard::spawn("vault-k8s agent-inject", &mut cmd)?;
        // `Listening on "<addr>"...` carries the address actually bound (port 0 resolved).
        let addr = process
            .wait_for_stdout_line(Duration::from_secs(30), |line| {
                let rest = line.trim().strip_prefix("Listening on \"")?;
                Some(rest.split('"').next()?.to_string())
            })
            .with_context(|| format!("webhook log:\n{}", tail_file(&log, 20)))?;
        Ok(Self {
            process,
            url: format!("https://{addr}"),
            ca_pem: ca.ca_pem(),
            log,
            _dir: dir,
        })
    }

    /// POSTs `pod` to `/mutate` as the API server would (TLS verified against our CA) and
    /// returns it with the answered JSON Patch applied.
    fn mutate(&mut self, pod: &Value) -> Result<Value> {
        let uid = "0f3a0cf4-3b1e-4c55-9a61-6b7d1d2c9e01";
        let review = pod_create_review(pod, uid);
        let url = format!("{}/mutate?timeout=10s", self.url);
        let answer = (|| {
            ensure!(self.process.is_running(), "the webhook exited");
            let resp = vk_test_utils::http::post_json(&url, Some(&self.ca_pem), &review)?;
            ensure!(
                resp.status == 200,
                "/mutate answered {}: {}",
                resp.status,
                resp.text()
            );
            let answer = resp.json().context("the answer is not JSON")?;
            mutate_with_response(pod, &answer, uid).context("applying the webhook's answer")
        })();
        answer.with_context(|| format!("POST {url}; webhook log:\n{}", tail_file(&self.log, 20)))
    }
}

/// The mutated pod's volumes, filled as the kubelet would: the projected service-account token
/// and `ca.crt` (the cluster CA, here the TokenReview endpoint's).
fn sandbox(mutated: &Value, token: &str, kube: &KubeApi, vault_k8s: &Path) -> Result<PodSandbox> {
    let mut sandbox = PodSandbox::new(mutated).context("preparing the pod sandbox")?;
    sandbox
        .set_service_account_token(token)
        .context("writing the projected service-account token")?;
    let token_volume = mutated["spec"]["volumes"]
        .as_array()
        .into_iter()
        .flatten()
        .find(|v| {
            v["projected"]["sources"]
                .as_array()
                .is_some_and(|s| s.iter().any(|s| s.get("serviceAccountToken").is_some()))
        })
        .and_then(|v| v["name"].as_str())
        .context("the pod has no projected service-account token volume")?;
    sandbox
        .set_file(token_volume, "ca.crt", kube.ca_pem().as_bytes())
        .context("writing ca.crt")?;
    // Stand-ins for the images: our binary at /usr/local/bin/vault-k8s (this project's image,
    // which the injector's native `vault-k8s agent` command runs) and as `vault` on PATH (for
    // upstream's shell command, if the injector is configured for it). The container then runs
    // exactly as patched, and either way it is our agent.
    sandbox.set_agent_binary(vault_k8s);
    sandbox.set_vault_binary(vault_k8s);
    sandbox.set_timeout(Duration::from_secs(60));
    std::io::stdout().flush().ok();
    Ok(sandbox)
}
