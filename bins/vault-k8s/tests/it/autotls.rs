//! Auto-TLS and leader election against the Kubernetes API test endpoint: `vault-k8s
//! agent-inject` processes configured exactly as vault-helm's default Deployment (environment,
//! args `agent-inject 2>&1`), each its own `POD_NAME`.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::{Value, json};
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types::CertificateDer};
use vk_test_utils::kube_api::KubeApi;

use crate::support::{BIN, Reply, request_as};
use rustls::pki_types::pem::PemObject as _;

const NS: &str = "vault";
const SVC: &str = "vault-agent-injector-svc";
const MWC: &str = "vault-agent-injector-cfg";
const LEASE: &str = "vault-k8s-injector-leader";
const SNI: &str = "vault-agent-injector-svc.vault.svc";
/// Shortened Lease timings (documented knobs), generous for a loaded machine.
const LEASE_DURATION: Duration = Duration::from_secs(6);
const TIMINGS: &[(&str, &str)] = &[
    ("VK_LEADER_LEASE_DURATION", "6s"),
    ("VK_LEADER_RENEW_DEADLINE", "4s"),
    ("VK_LEADER_RETRY_PERIOD", "1s"),
];

/// The API endpoint with the webhook configuration of vault-helm (two entries here, to check
/// that every entry gets the bundle).
struct Cluster {
    api: KubeApi,
    _dir: tempfile::TempDir,
    kubeconfig: PathBuf,
}

impl Cluster {
    fn start() -> Self {
        let api = KubeApi::start().expect("kube api");
        let dir = tempfile::tempdir().expect("tempdir");
        let kubeconfig = api.write_kubeconfig(dir.path(), NS).expect("kubeconfig");
        Self {
            api,
            _dir: dir,
            kubeconfig,
        }
    }

    fn create_webhook_configuration(&self, name: &str) {
        let entry = |n: &str| {
            json!({
                "name": n,
                "admissionReviewVersions": ["v1", "v1beta1"],
                "sideEffects": "None",
                "failurePolicy": "Ignore",
                "clientConfig": {"service": {"name": SVC, "namespace": NS, "path": "/mutate"}, "caBundle": ""},
                "rules": [{"operations": ["CREATE"], "apiGroups": [""], "apiVersions": ["v1"], "resources": ["pods"]}]
            })
        };
        self.api
            .create_object(json!({
                "apiVersion": "admissionregistration.k8s.io/v1",
                "kind": "MutatingWebhookConfiguration",
                "metadata": {"name": name},
                "webhooks": [entry("vault.hashicorp.com"), entry("second.vault.hashicorp.com")]
            }))
            .expect("create MWC");
    }

    /// caBundle of every entry, decoded.
    fn bundles(&self) -> Vec<Vec<u8>> {
        let Some(mwc) = self.api.get_object(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            None,
            MWC,
        ) else {
            return Vec::new();
        };
        mwc["webhooks"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|w| {
                base64::engine::general_purpose::STANDARD
                    .decode(w["clientConfig"]["caBundle"].as_str().unwrap_or_default())
                    .expect("base64 caBundle")
            })
            .collect()
    }

    fn holder(&self) -> Option<String> {
        let lease = self
            .api
            .get_object("coordination.k8s.io/v1", "Lease", Some(NS), LEASE)?;
        lease["spec"]["holderIdentity"]
            .as_str()
            .filter(|h| !h.is_empty())
            .map(str::to_owned)
    }

    fn helm_env(&self, pod: &str) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = [
            ("KUBECONFIG", self.kubeconfig.to_str().expect("utf-8 path")),
            ("AGENT_INJECT_LISTEN", "127.0.0.1:0"),
            ("AGENT_INJECT_LOG_LEVEL", "info"),
            ("AGENT_INJECT_VAULT_ADDR", "https://vault.vault.svc:8200"),
            ("AGENT_INJECT_VAULT_AUTH_PATH", "auth/kubernetes"),
            ("AGENT_INJECT_TLS_AUTO", MWC),
            (
                "AGENT_INJECT_TLS_AUTO_HOSTS",
                "vault-agent-injector-svc,vault-agent-injector-svc.vault,vault-agent-injector-svc.vault.svc",
            ),
            ("AGENT_INJECT_LOG_FORMAT", "standard"),
            ("AGENT_INJECT_REVOKE_ON_SHUTDOWN", "false"),
            ("AGENT_INJECT_USE_LEADER_ELECTOR", "true"),
            ("NAMESPACE", NS),
            ("POD_NAME", pod),
        ]
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
        env.extend(
            TIMINGS
                .iter()
                .map(|(k, v)| ((*k).to_owned(), (*v).to_owned())),
        );
        env
    }
}

/// One `vault-k8s agent-inject` replica; killed when dropped.
struct Replica {
    name: String,
    child: Child,
    addr: Option<SocketAddr>,
    logs: Arc<Mutex<Vec<String>>>,
    /// The stdout and stderr readers; they end at EOF, once the process is gone.
    readers: Vec<std::thread::JoinHandle<()>>,
}

impl Replica {
    fn spawn(name: &str, env: &[(String, String)]) -> Self {
        let mut child = Command::new(BIN)
            .args(["agent-inject", "2>&1"])
            .env_clear()
            .envs(env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn vault-k8s");
        let logs = Arc::new(Mutex::new(Vec::new()));
        let stderr = child.stderr.take().expect("stderr");
        let sink = logs.clone();
        let err_reader = std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                sink.lock().expect("logs").push(line);
            }
        });
        let stdout = child.stdout.take().expect("stdout");
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = logs.clone();
        let out_reader = std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("Listening on \"") {
                    let _ = tx.send(rest.trim_end_matches("\"...").to_owned());
                }
                sink.lock().expect("logs").push(line);
            }
        });
        let addr = rx
            .recv_timeout(Duration::from_secs(30))
            .ok()
            .map(|a| a.parse().expect("socket address"));
        Self {
            name: name.to_owned(),
            child,
            addr,
            logs,
            readers: vec![err_reader, out_reader],
        }
    }

    fn addr(&self) -> SocketAddr {
        self.addr
            .unwrap_or_else(|| panic!("{} did not listen: {:?}", self.name, self.log_text()))
    }

    fn log_text(&self) -> String {
        self.logs.lock().expect("logs").join("\n")
    }

    fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        while Instant::now() < deadline {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                // Every line the process wrote is in `logs` once its pipes are drained.
                for reader in self.readers.drain(..) {
                    let _ = reader.join();
                }
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }

    fn is_running(&mut self) -> bool {
        self.child.try_wait().expect("try_wait").is_none()
    }
}

impl Drop for Replica {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn client_for_bundle(bundle: &[u8]) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(bundle) {
        roots.add(cert.expect("bundle pem")).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// One request on a new connection, verifying the server as `SNI` against `config`'s roots.
async fn call(
    config: &Arc<ClientConfig>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    body: Vec<u8>,
) -> Result<Reply, String> {
    request_as(
        config,
        addr,
        SNI,
        method,
        path,
        Some("application/json"),
        body,
    )
    .await
}

fn pod() -> Value {
    json!({
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "app", "namespace": "default", "annotations": {
            "vault.hashicorp.com/agent-inject": "true",
            "vault.hashicorp.com/role": "app",
            "vault.hashicorp.com/agent-inject-secret-db": "secret/data/db"
        }},
        "spec": {
            "serviceAccountName": "app",
            "containers": [{"name": "app", "image": "app:1", "volumeMounts": [
                {"name": "kube-api-access-x", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
            ]}],
            "volumes": [{"name": "kube-api-access-x", "projected": {"sources": [{"serviceAccountToken": {"path": "token"}}]}}]
        }
    })
}

/// POST /mutate, verified against the currently published bundle (as the API server would).
async fn admit(
    cluster: &Cluster,
    addr: SocketAddr,
    uid: &str,
) -> Result<CertificateDer<'static>, String> {
    let bundle = cluster.bundles().into_iter().next().unwrap_or_default();
    let config = client_for_bundle(&bundle);
    let review = vk_test_utils::admission::pod_create_review(&pod(), uid);
    let reply = call(
        &config,
        addr,
        "POST",
        "/mutate?timeout=10s",
        serde_json::to_vec(&review).expect("json"),
    )
    .await?;
    if reply.status != 200 {
        return Err(format!("status {}", reply.status));
    }
    let pod_after = vk_test_utils::admission::mutate_with_response(
        &pod(),
        &serde_json::from_slice(&reply.body).map_err(|e| e.to_string())?,
        uid,
    )
    .map_err(|e| format!("{e:#}"))?;
    let injected = pod_after["spec"]["containers"]
        .as_array()
        .is_some_and(|c| c.iter().any(|c| c["name"] == "vault-agent"));
    if !injected {
        return Err("no vault-agent container injected".to_owned());
    }
    Ok(reply.peer_cert)
}

/// `/health/ready` answers 204 over TLS verified with the published bundle.
async fn is_ready(cluster: &Cluster, addr: SocketAddr) -> bool {
    let bundle = cluster.bundles().into_iter().next().unwrap_or_default();
    if bundle.is_empty() {
        return false;
    }
    matches!(call(&client_for_bundle(&bundle), addr, "GET", "/health/ready", Vec::new()).await, Ok(r) if r.status == 204)
}

async fn wait_until<F, Fut>(timeout: Duration, what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = Instant::now() + timeout;
    while !check().await {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Continuous admissions to `targets` until stopped; counts successes and failures.
struct Load {
    stop: Arc<AtomicBool>,
    ok: Arc<AtomicU64>,
    failed: Arc<AtomicU64>,
    errors: Arc<Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<Vec<CertificateDer<'static>>>,
}

impl Load {
    fn start(cluster: Arc<Cluster>, targets: Arc<Mutex<Vec<SocketAddr>>>) -> Self {
        let stop = Arc::new(AtomicBool::new(false));
        let ok = Arc::new(AtomicU64::new(0));
        let failed = Arc::new(AtomicU64::new(0));
        let errors = Arc::new(Mutex::new(Vec::new()));
        let (s, o, f, e) = (stop.clone(), ok.clone(), failed.clone(), errors.clone());
        let task = tokio::spawn(async move {
            let mut seen: Vec<CertificateDer<'static>> = Vec::new();
            let mut n = 0u64;
            while !s.load(Ordering::SeqCst) {
                let addrs = targets.lock().expect("targets").clone();
                for addr in addrs {
                    n += 1;
                    match admit(&cluster, addr, &format!("uid-{n}")).await {
                        Ok(cert) => {
                            o.fetch_add(1, Ordering::SeqCst);
                            if !seen.contains(&cert) {
                                seen.push(cert);
                            }
                        }
                        Err(err) => {
                            f.fetch_add(1, Ordering::SeqCst);
                            e.lock().expect("errors").push(format!("{addr}: {err}"));
                        }
                    }
                }
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            seen
        });
        Self {
            stop,
            ok,
            failed,
            errors,
            task,
        }
    }

    async fn finish(self) -> (u64, u64, Vec<String>, Vec<CertificateDer<'static>>) {
        self.stop.store(true, Ordering::SeqCst);
        let seen = self.task.await.expect("load task");
        (
            self.ok.load(Ordering::SeqCst),
            self.failed.load(Ordering::SeqCst),
            self.errors.lock().expect("errors").clone(),
            seen,
        )
    }
}

async fn start_three(cluster: &Cluster) -> (Vec<Replica>, Duration) {
    let started = Instant::now();
    let replicas: Vec<Replica> = (0..3)
        .map(|i| {
            let name = format!("vault-agent-injector-{i}");
            Replica::spawn(&name, &cluster.helm_env(&name))
        })
        .collect();
    for r in &replicas {
        let addr = r.addr();
        wait_until(
            Duration::from_secs(60),
            &format!("{} ready", r.name),
            || is_ready(cluster, addr),
        )
        .await;
    }
    (replicas, started.elapsed())
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_one_leader_one_ca_and_failover_without_failed_admissions() {
    let cluster = Arc::new(Cluster::start());
    cluster.create_webhook_configuration(MWC);
    let (mut replicas, to_ready) = start_three(&cluster).await;
    eprintln!("FIGURE three replicas start to ready: {to_ready:?}");

    // Exactly one holder, one of ours; every entry carries the same bundle.
    let holder = cluster.holder().expect("a Lease holder");
    assert!(replicas.iter().any(|r| r.name == holder), "{holder}");
    let bundles = cluster.bundles();
    assert_eq!(bundles.len(), 2);
    assert!(
        !bundles[0].is_empty() && bundles[0] == bundles[1],
        "every entry gets the bundle"
    );
    // One CA served by all: each replica's certificate verifies for the Service name against
    // the published bundle, and all serve the same certificate.
    let mut certs = Vec::new();
    for r in &replicas {
        certs.push(
            admit(&cluster, r.addr(), "uid-check")
                .await
                .unwrap_or_else(|e| panic!("{}: {e}", r.name)),
        );
    }
    assert!(
        certs.windows(2).all(|w| w[0] == w[1]),
        "all replicas serve one certificate"
    );
    let leader_logs = replicas
        .iter()
        .find(|r| r.name == holder)
        .expect("leader")
        .log_text();
    assert!(
        leader_logs.contains("Using internal leader elector logic"),
        "{leader_logs}"
    );

    // SIGKILL the leader while admissions go to the others.
    let leader_index = replicas
        .iter()
        .position(|r| r.name == holder)
        .expect("leader");
    let live: Vec<SocketAddr> = replicas
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != leader_index)
        .map(|(_, r)| r.addr())
        .collect();
    let targets = Arc::new(Mutex::new(live));
    let load = Load::start(cluster.clone(), targets.clone());
    tokio::time::sleep(Duration::from_millis(500)).await;
    let killed = Instant::now();
    replicas[leader_index].signal("KILL");
    let c = cluster.clone();
    let old = holder.clone();
    wait_until(
        LEASE_DURATION * 3,
        "a new Lease holder after SIGKILL",
        || {
            let h = c.holder();
            let old = old.clone();
            async move { h.is_some_and(|h| h != old) }
        },
    )
    .await;
    let takeover_kill = killed.elapsed();
    eprintln!("FIGURE takeover after SIGKILL: {takeover_kill:?}");
    assert!(
        takeover_kill < LEASE_DURATION + Duration::from_secs(4),
        "takeover took {takeover_kill:?} (lease duration {LEASE_DURATION:?})"
    );
    tokio::time::sleep(Duration::from_secs(1)).await;
    let (ok, failed, errors, _) = load.finish().await;
    eprintln!("FIGURE admissions during SIGKILL failover: {ok} served, {failed} failed");
    assert_eq!(failed, 0, "{errors:?}");
    assert!(ok > 0);

    // SIGTERM the new leader: hand-over within a few seconds (released Lease).
    let second = cluster.holder().expect("holder");
    let index = replicas
        .iter()
        .position(|r| r.name == second)
        .expect("new leader is ours");
    let remaining: Vec<SocketAddr> = replicas
        .iter()
        .enumerate()
        .filter(|(i, _)| *i != index && *i != leader_index)
        .map(|(_, r)| r.addr())
        .collect();
    let load = Load::start(cluster.clone(), Arc::new(Mutex::new(remaining)));
    let termed = Instant::now();
    replicas[index].signal("TERM");
    let c = cluster.clone();
    let old = second.clone();
    wait_until(
        Duration::from_secs(10),
        "a new Lease holder after SIGTERM",
        || {
            let h = c.holder();
            let old = old.clone();
            async move { h.is_some_and(|h| h != old) }
        },
    )
    .await;
    let takeover_term = termed.elapsed();
    eprintln!("FIGURE takeover after SIGTERM: {takeover_term:?}");
    assert!(takeover_term < Duration::from_secs(5), "{takeover_term:?}");
    let status = replicas[index]
        .wait_exit(Duration::from_secs(30))
        .expect("exits after SIGTERM");
    assert!(status.success(), "{status:?}");
    wait_for_log(&replicas[index], "released the leader Lease").await;
    let (ok, failed, errors, _) = load.finish().await;
    eprintln!("FIGURE admissions during SIGTERM hand-over: {ok} served, {failed} failed");
    assert_eq!(failed, 0, "{errors:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn leaf_and_ca_rotation_under_continuous_admissions() {
    let cluster = Arc::new(Cluster::start());
    cluster.create_webhook_configuration(MWC);
    let mut envs = Vec::new();
    for i in 0..3 {
        let name = format!("vault-agent-injector-{i}");
        let mut env = cluster.helm_env(&name);
        env.push(("VK_TEST_AUTO_TLS_LEAF_LIFETIME".into(), "10s".into()));
        env.push(("VK_TEST_AUTO_TLS_CA_LIFETIME".into(), "50s".into()));
        envs.push((name, env));
    }
    let replicas: Vec<Replica> = envs.iter().map(|(n, e)| Replica::spawn(n, e)).collect();
    for r in &replicas {
        let addr = r.addr();
        wait_until(Duration::from_secs(60), "ready", || {
            is_ready(&cluster, addr)
        })
        .await;
    }
    let first_bundle = cluster.bundles()[0].clone();
    let targets = Arc::new(Mutex::new(replicas.iter().map(Replica::addr).collect()));
    let load = Load::start(cluster.clone(), targets);
    // Past the CA rotation point (50 s - max(2 x 10 s, 5 s) = 30 s) and several leaf renewals.
    let mut max_cas = 1;
    let until = Instant::now() + Duration::from_secs(40);
    while Instant::now() < until {
        let bundle = cluster.bundles()[0].clone();
        max_cas = max_cas.max(rustls::pki_types::CertificateDer::pem_slice_iter(&bundle).count());
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
    let (ok, failed, errors, seen) = load.finish().await;
    eprintln!(
        "FIGURE rotation: {ok} admissions served, {failed} failed, {} distinct serving certificates, up to {max_cas} CAs in the bundle",
        seen.len()
    );
    assert_eq!(failed, 0, "{errors:?}");
    assert!(
        seen.len() >= 3,
        "leaf renewed several times: {}",
        seen.len()
    );
    assert!(max_cas >= 2, "the CA rotated with overlap");
    let last_bundle = cluster.bundles()[0].clone();
    assert_ne!(
        first_bundle, last_bundle,
        "the bundle follows the CA rotation"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_format_secret_is_served_as_is() {
    let cluster = Cluster::start();
    // Material as upstream's leader writes it: a CA (only in the bundle) and cert+key in the Secret.
    let ca_key = rcgen::KeyPair::generate().expect("key");
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).expect("params");
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    let ca_cert = ca_params.self_signed(&ca_key).expect("ca");
    let leaf_key = rcgen::KeyPair::generate().expect("key");
    let leaf_params =
        rcgen::CertificateParams::new(vec![SVC.to_owned(), format!("{SVC}.{NS}"), SNI.to_owned()])
            .expect("params");
    let issuer = rcgen::Issuer::from_params(&ca_params, &ca_key);
    let leaf = leaf_params.signed_by(&leaf_key, &issuer).expect("leaf");
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    cluster.create_webhook_configuration(MWC);
    cluster
        .api
        .create_object(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "vault-injector-certs", "namespace": NS},
            "data": {"cert": b64(&leaf.pem()), "key": b64(&leaf_key.serialize_pem())}
        }))
        .expect("secret");
    let mut mwc = cluster
        .api
        .get_object(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            None,
            MWC,
        )
        .expect("mwc");
    for w in mwc["webhooks"].as_array_mut().expect("webhooks") {
        w["clientConfig"]["caBundle"] = json!(b64(&ca_cert.pem()));
    }
    cluster.api.delete_object(
        "admissionregistration.k8s.io/v1",
        "MutatingWebhookConfiguration",
        None,
        MWC,
    );
    mwc["metadata"] = json!({"name": MWC});
    cluster
        .api
        .create_object(mwc)
        .expect("mwc with upstream's CA");

    let replica = Replica::spawn(
        "vault-agent-injector-0",
        &cluster.helm_env("vault-agent-injector-0"),
    );
    let addr = replica.addr();
    wait_until(Duration::from_secs(60), "ready", || {
        is_ready(&cluster, addr)
    })
    .await;
    let served = admit(&cluster, addr, "uid-1").await.expect("admission");
    assert_eq!(
        served.as_ref(),
        leaf.der().as_ref(),
        "upstream's certificate is served as is"
    );
    let secret = cluster
        .api
        .get_object("v1", "Secret", Some(NS), "vault-injector-certs")
        .expect("secret");
    assert_eq!(
        secret["data"]["cert"],
        json!(b64(&leaf.pem())),
        "not rewritten while current"
    );
}

fn solo_env(cluster: &Cluster, mwc: &str) -> Vec<(String, String)> {
    let mut env = cluster.helm_env("vault-agent-injector-0");
    env.retain(|(k, _)| k != "AGENT_INJECT_USE_LEADER_ELECTOR" && k != "AGENT_INJECT_TLS_AUTO");
    env.push(("AGENT_INJECT_TLS_AUTO".into(), mwc.into()));
    env
}

async fn wait_for_log(replica: &Replica, needle: &str) {
    let deadline = Instant::now() + Duration::from_secs(30);
    while !replica.log_text().contains(needle) {
        assert!(
            Instant::now() < deadline,
            "log never contained {needle:?}:\n{}",
            replica.log_text()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_webhook_configuration_and_rbac_denial_are_named_then_recovered() {
    let cluster = Cluster::start();
    // Missing configuration: named, not ready, still running; creating it recovers.
    let mut replica = Replica::spawn("vault-agent-injector-0", &solo_env(&cluster, MWC));
    let addr = replica.addr();
    wait_for_log(
        &replica,
        "MutatingWebhookConfiguration \"vault-agent-injector-cfg\" (-tls-auto)",
    )
    .await;
    assert!(
        replica.log_text().contains("not found; create it"),
        "{}",
        replica.log_text()
    );
    assert!(!is_ready(&cluster, addr).await);
    assert!(replica.is_running());

    // RBAC: patch on the configuration denied → the log names the rule.
    cluster.api.forbid("patch", "mutatingwebhookconfigurations");
    cluster.create_webhook_configuration(MWC);
    wait_for_log(&replica, r#"{apiGroups: ["admissionregistration.k8s.io"], resources: ["mutatingwebhookconfigurations"], verbs: ["patch"]}"#).await;
    assert!(!is_ready(&cluster, addr).await);
    assert!(replica.is_running());
    cluster.api.allow_all();
    wait_until(Duration::from_secs(60), "ready after RBAC fixed", || {
        is_ready(&cluster, addr)
    })
    .await;
    admit(&cluster, addr, "uid-1")
        .await
        .expect("admission after recovery");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreachable_api_server_is_named_and_the_process_keeps_running() {
    let cluster = Cluster::start();
    let dir = tempfile::tempdir().expect("tempdir");
    // A kubeconfig for a port nothing listens on.
    let unused = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let port = unused.local_addr().expect("addr").port();
    drop(unused);
    let text = std::fs::read_to_string(&cluster.kubeconfig).expect("kubeconfig");
    let server = cluster.api.url().to_owned();
    let path = dir.path().join("kubeconfig");
    std::fs::write(
        &path,
        text.replace(&server, &format!("https://127.0.0.1:{port}")),
    )
    .expect("write");
    let mut env = cluster.helm_env("vault-agent-injector-0");
    env.retain(|(k, _)| k != "KUBECONFIG");
    env.push(("KUBECONFIG".into(), path.to_str().expect("utf-8").into()));
    let mut replica = Replica::spawn("vault-agent-injector-0", &env);
    let addr = replica.addr();
    wait_for_log(&replica, "cannot reach the API server").await;
    assert!(
        replica.log_text().contains("leases.coordination.k8s.io"),
        "{}",
        replica.log_text()
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(replica.is_running());
    // No certificate: the handshake fails (nothing is served).
    let err = call(
        &client_for_bundle(cluster.api.ca_pem().as_bytes()),
        addr,
        "GET",
        "/health/ready",
        Vec::new(),
    )
    .await;
    assert!(err.is_err(), "nothing may be served without a certificate");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn config_errors_exit_1_before_binding() {
    let cluster = Cluster::start();
    let cases: &[(&str, Option<&str>, &str)] = &[
        (
            "AGENT_INJECT_TLS_AUTO_HOSTS",
            Some(""),
            "-tls-auto-hosts is empty",
        ),
        (
            "AGENT_INJECT_TLS_AUTO_HOSTS",
            Some("svc,,svc.ns"),
            "(number 2)",
        ),
        (
            "AGENT_INJECT_TLS_AUTO_HOSTS",
            Some("svc,bad name"),
            "\"bad name\"",
        ),
        ("POD_NAME", None, "POD_NAME is not set"),
    ];
    for (key, value, expected) in cases {
        let mut env = cluster.helm_env("vault-agent-injector-0");
        env.retain(|(k, _)| k != key);
        if let Some(v) = value {
            env.push(((*key).to_owned(), (*v).to_owned()));
        }
        let mut replica = Replica::spawn("bad", &env);
        assert!(replica.addr.is_none(), "{key}: must not listen");
        let status = replica.wait_exit(Duration::from_secs(10)).expect("exits");
        assert_eq!(status.code(), Some(1), "{key}");
        let logs = replica.log_text();
        assert!(logs.contains(expected), "{key}: {logs}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn no_writes_while_upstream_lock_is_owned_by_a_running_pod() {
    let cluster = Arc::new(Cluster::start());
    cluster.create_webhook_configuration(MWC);
    let pod = cluster
        .api
        .create_object(json!({
            "apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": "upstream-injector-0", "namespace": NS},
            "spec": {"containers": [{"name": "sidecar-injector", "image": "hashicorp/vault-k8s:1.7.6"}]},
            "status": {"phase": "Running"}
        }))
        .expect("pod");
    let uid = pod["metadata"]["uid"].as_str().expect("uid").to_owned();
    cluster
        .api
        .create_object(json!({
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "vault-k8s-leader", "namespace": NS, "ownerReferences": [
                {"apiVersion": "v1", "kind": "Pod", "name": "upstream-injector-0", "uid": uid}
            ]}
        }))
        .expect("lock");
    let replica = Replica::spawn(
        "vault-agent-injector-0",
        &cluster.helm_env("vault-agent-injector-0"),
    );
    let addr = replica.addr();
    wait_for_log(&replica, "owns ConfigMap vault/vault-k8s-leader").await;
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(
        cluster
            .api
            .get_object("v1", "Secret", Some(NS), "vault-injector-certs")
            .is_none(),
        "nothing written while upstream's leader runs"
    );
    assert!(!is_ready(&cluster, addr).await);
    // The upstream pod goes away (rolling upgrade finished): ours takes over.
    cluster
        .api
        .delete_object("v1", "Pod", Some(NS), "upstream-injector-0");
    let c = cluster.clone();
    wait_until(Duration::from_secs(60), "ready after upstream left", || {
        is_ready(&c, addr)
    })
    .await;
}
