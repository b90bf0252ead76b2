//! The test Kubernetes API driven by the real kubectl (`.tools/bin/kubectl`, v1.33): proof that
//! it answers like an API server for create, get, patch (json, merge, strategic), replace with
//! a stale resourceVersion, AlreadyExists, NotFound, server-side apply, watch and RBAC denial.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use serde_json::{Value, json};
use tempfile::TempDir;
use vk_test_utils::util::{TimedOutput, run_with_timeout};
use vk_test_utils::{ChildGuard, KubeApi, workspace_root};

struct Kubectl {
    kube: KubeApi,
    dir: TempDir,
    kubeconfig: PathBuf,
}

fn kubectl_binary() -> PathBuf {
    workspace_root().join(".tools/bin/kubectl")
}

impl Kubectl {
    fn start() -> Self {
        let kube = KubeApi::start().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let kubeconfig = kube.write_kubeconfig(dir.path(), "team-a").unwrap();
        Self {
            kube,
            dir,
            kubeconfig,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(kubectl_binary());
        cmd.env("HOME", self.dir.path())
            .env("KUBECONFIG", &self.kubeconfig)
            .arg(format!(
                "--cache-dir={}",
                self.dir.path().join("cache").display()
            ))
            .args(args);
        if args.contains(&"-f") {
            cmd.arg("--validate=false");
        }
        cmd
    }

    /// Runs kubectl with `args`.
    ///
    /// Commands that read a manifest (`create -f`, `replace -f`, `apply -f`) get
    /// `--validate=false`: the endpoint publishes no OpenAPI schemas (404), and kubectl's
    /// default validation needs them (it fails with "failed to download openapi").
    fn run(&self, args: &[&str]) -> TimedOutput {
        run_with_timeout(&mut self.command(args), Duration::from_secs(60)).unwrap()
    }

    /// Runs kubectl and expects success; returns stdout.
    fn ok(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            out.success(),
            "kubectl {args:?} failed: {}\n{}",
            out.stderr_str(),
            out.stdout_str()
        );
        out.stdout_str()
    }

    /// Runs kubectl and expects failure; returns stderr.
    fn fails(&self, args: &[&str]) -> String {
        let out = self.run(args);
        assert!(
            !out.success(),
            "kubectl {args:?} unexpectedly succeeded: {}",
            out.stdout_str()
        );
        out.stderr_str()
    }

    fn get_json(&self, args: &[&str]) -> Value {
        let mut all = vec!["get"];
        all.extend_from_slice(args);
        all.extend_from_slice(&["-o", "json"]);
        serde_json::from_str(&self.ok(&all)).unwrap()
    }

    fn write(&self, name: &str, doc: &Value) -> String {
        let path = self.dir.path().join(name);
        std::fs::write(&path, serde_json::to_vec_pretty(doc).unwrap()).unwrap();
        path_str(&path)
    }
}

fn path_str(p: &Path) -> String {
    p.display().to_string()
}

fn secret(name: &str, value: &str) -> Value {
    json!({
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": {"name": name, "labels": {"app": "vk"}},
        "stringData": {"k": value},
    })
}

#[test]
fn create_get_patch_replace_with_kubectl() {
    let k = Kubectl::start();
    let file = k.write("secret.json", &secret("creds", "one"));
    let out = k.ok(&["create", "-f", &file]);
    assert!(out.contains("secret/creds created"), "{out}");
    let lease = k.write(
        "lease.json",
        &json!({
            "apiVersion": "coordination.k8s.io/v1",
            "kind": "Lease",
            "metadata": {"name": "vault-k8s-leader"},
            "spec": {"holderIdentity": "pod-a", "leaseDurationSeconds": 15},
        }),
    );
    let out = k.ok(&["create", "-f", &lease]);
    assert!(
        out.contains("lease.coordination.k8s.io/vault-k8s-leader created"),
        "{out}"
    );

    let s = k.get_json(&["secret", "creds"]);
    assert_eq!(s["metadata"]["namespace"], "team-a");
    assert_eq!(s["data"]["k"], "b25l"); // base64("one")
    assert_eq!(s["type"], "Opaque");
    let rv1 = s["metadata"]["resourceVersion"]
        .as_str()
        .unwrap()
        .to_string();
    let l = k.get_json(&["lease", "vault-k8s-leader"]);
    assert_eq!(l["spec"]["holderIdentity"], "pod-a");
    // The direct store view agrees with what kubectl saw.
    let direct = k
        .kube
        .get_object("v1", "Secret", Some("team-a"), "creds")
        .unwrap();
    assert_eq!(direct["metadata"]["uid"], s["metadata"]["uid"]);

    let list = k.get_json(&["secrets", "-l", "app=vk"]);
    assert_eq!(list["items"].as_array().unwrap().len(), 1);
    let list = k.get_json(&["secrets", "-l", "app=other"]);
    assert!(list["items"].as_array().unwrap().is_empty());

    // AlreadyExists and NotFound, in kubectl's words.
    let err = k.fails(&["create", "-f", &file]);
    assert!(
        err.contains(r#"secrets "creds" already exists"#) && err.contains("AlreadyExists"),
        "{err}"
    );
    let err = k.fails(&["get", "secret", "missing"]);
    assert!(err.contains(r#"secrets "missing" not found"#), "{err}");
    let err = k.fails(&["get", "lease", "missing"]);
    assert!(
        err.contains(r#"leases.coordination.k8s.io "missing" not found"#),
        "{err}"
    );

    // The three patch types.
    k.ok(&[
        "patch",
        "secret",
        "creds",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/data/k","value":"dHdv"}]"#,
    ]);
    assert_eq!(k.get_json(&["secret", "creds"])["data"]["k"], "dHdv");
    k.ok(&[
        "patch",
        "secret",
        "creds",
        "--type=merge",
        "-p",
        r#"{"data":{"extra":"eA=="}}"#,
    ]);
    k.ok(&[
        "patch",
        "lease",
        "vault-k8s-leader",
        "--type=strategic",
        "-p",
        r#"{"spec":{"holderIdentity":"pod-b"}}"#,
    ]);
    let l = k.get_json(&["lease", "vault-k8s-leader"]);
    assert_eq!(l["spec"]["holderIdentity"], "pod-b");
    assert_eq!(l["spec"]["leaseDurationSeconds"], 15);
    let s = k.get_json(&["secret", "creds"]);
    assert_eq!(s["data"], json!({"k": "dHdv", "extra": "eA=="}));
    assert_ne!(s["metadata"]["resourceVersion"], rv1.as_str());
    let patches: Vec<String> = k
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.method == "PATCH")
        .filter_map(|r| r.content_type)
        .collect();
    assert_eq!(
        patches,
        [
            "application/json-patch+json",
            "application/merge-patch+json",
            "application/strategic-merge-patch+json"
        ]
    );

    // replace with the first resourceVersion: Conflict.
    let mut stale = s.clone();
    stale["metadata"]["resourceVersion"] = json!(rv1);
    stale["data"]["k"] = json!("c3RhbGU=");
    let stale_file = k.write("stale.json", &stale);
    let err = k.fails(&["replace", "-f", &stale_file]);
    assert!(
        err.contains(r#"Operation cannot be fulfilled on secrets "creds": the object has been modified; please apply your changes to the latest version and try again"#),
        "{err}"
    );
    // replace with the current resourceVersion succeeds.
    let mut fresh = s.clone();
    fresh["data"]["k"] = json!("ZnJlc2g=");
    let fresh_file = k.write("fresh.json", &fresh);
    let out = k.ok(&["replace", "-f", &fresh_file]);
    assert!(out.contains("secret/creds replaced"), "{out}");

    let out = k.ok(&["delete", "secret", "creds"]);
    assert!(out.contains(r#"secret "creds" deleted"#), "{out}");
    assert!(
        k.kube
            .get_object("v1", "Secret", Some("team-a"), "creds")
            .is_none()
    );
}

#[test]
fn server_side_apply_and_cluster_scoped_with_kubectl() {
    let k = Kubectl::start();
    let mwc = json!({
        "apiVersion": "admissionregistration.k8s.io/v1",
        "kind": "MutatingWebhookConfiguration",
        "metadata": {"name": "vault-agent-injector-cfg"},
        "webhooks": [{
            "name": "vault.hashicorp.com",
            "admissionReviewVersions": ["v1"],
            "sideEffects": "None",
            "clientConfig": {"service": {"name": "vault-agent-injector-svc", "namespace": "team-a", "path": "/mutate"}, "caBundle": ""},
        }],
    });
    let file = k.write("mwc.json", &mwc);
    let out = k.ok(&["apply", "--server-side", "-f", &file]);
    assert!(out.contains("serverside-applied"), "{out}");
    let got = k.get_json(&["mutatingwebhookconfiguration", "vault-agent-injector-cfg"]);
    assert_eq!(got["webhooks"][0]["name"], "vault.hashicorp.com");
    assert!(got["metadata"].get("namespace").is_none());

    // A second apply changes one field and keeps the rest.
    let mut changed = mwc.clone();
    changed["webhooks"][0]["clientConfig"]["caBundle"] = json!("Q0E=");
    let file = k.write("mwc2.json", &changed);
    k.ok(&["apply", "--server-side", "-f", &file]);
    let got = k.get_json(&["mutatingwebhookconfiguration", "vault-agent-injector-cfg"]);
    assert_eq!(got["webhooks"][0]["clientConfig"]["caBundle"], "Q0E=");
    assert_eq!(got["webhooks"][0]["sideEffects"], "None");
    let applies: Vec<_> = k
        .kube
        .requests()
        .into_iter()
        .filter(|r| r.content_type.as_deref() == Some("application/apply-patch+yaml"))
        .collect();
    assert_eq!(applies.len(), 2, "{applies:?}");
    assert!(
        applies[0]
            .query
            .as_deref()
            .unwrap_or_default()
            .contains("fieldManager=kubectl")
    );
    assert_eq!(applies[0].status, 201);
    assert_eq!(applies[1].status, 200);

    // A Secret by server-side apply, then a patch of the cluster-scoped object.
    let file = k.write("s.json", &secret("applied", "v"));
    k.ok(&["apply", "--server-side", "-f", &file]);
    assert_eq!(k.get_json(&["secret", "applied"])["data"]["k"], "dg==");
    k.ok(&[
        "patch",
        "mutatingwebhookconfiguration",
        "vault-agent-injector-cfg",
        "--type=json",
        "-p",
        r#"[{"op":"replace","path":"/webhooks/0/clientConfig/caBundle","value":"Tg=="}]"#,
    ]);
    let direct = k
        .kube
        .get_object(
            "admissionregistration.k8s.io/v1",
            "MutatingWebhookConfiguration",
            None,
            "vault-agent-injector-cfg",
        )
        .unwrap();
    assert_eq!(direct["webhooks"][0]["clientConfig"]["caBundle"], "Tg==");
}

#[test]
fn kubectl_watch_sees_an_update_made_meanwhile() {
    let k = Kubectl::start();
    k.kube
        .create_object(json!({
            "apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "watched", "namespace": "team-a"},
            "data": {"k": "MQ=="},
        }))
        .unwrap();
    let mut cmd = k.command(&[
        "get",
        "secret",
        "watched",
        "-w",
        "-o",
        r#"jsonpath={.metadata.name} {.data.k}{"\n"}"#,
    ]);
    let mut child = ChildGuard::spawn("kubectl get -w", &mut cmd).unwrap();
    child
        .wait_for_stdout_line(Duration::from_secs(30), |l| {
            (l == "watched MQ==").then_some(())
        })
        .unwrap();
    // Wait until kubectl's watch request is in, then change the object through the API.
    vk_test_utils::eventually(Duration::from_secs(30), || {
        k.kube.requests().iter().any(|r| {
            r.query
                .as_deref()
                .unwrap_or_default()
                .contains("watch=true")
        })
    })
    .unwrap();
    k.ok(&[
        "patch",
        "secret",
        "watched",
        "--type=merge",
        "-p",
        r#"{"data":{"k":"Mg=="}}"#,
    ]);
    child
        .wait_for_stdout_line(Duration::from_secs(30), |l| {
            (l == "watched Mg==").then_some(())
        })
        .unwrap();
}

#[test]
fn kubectl_validation_needs_openapi_the_endpoint_does_not_serve() {
    let k = Kubectl::start();
    let file = k.write("secret.json", &secret("creds", "one"));
    let mut cmd = Command::new(kubectl_binary());
    cmd.env("HOME", k.dir.path())
        .env("KUBECONFIG", &k.kubeconfig)
        .args(["create", "-f", &file]);
    let out = run_with_timeout(&mut cmd, Duration::from_secs(60)).unwrap();
    assert!(!out.success());
    assert!(
        out.stderr_str().contains("failed to download openapi"),
        "{}",
        out.stderr_str()
    );
    assert!(
        k.kube
            .requests()
            .iter()
            .any(|r| r.path.starts_with("/openapi/") && r.status == 404)
    );
}

#[test]
fn forbidden_and_unauthorized_with_kubectl() {
    let k = Kubectl::start();
    k.kube.forbid("get", "secrets");
    let err = k.fails(&["get", "secret", "x"]);
    assert!(
        err.contains(r#"secrets "x" is forbidden: User "kubernetes-admin" cannot get resource "secrets" in API group "" in the namespace "team-a""#),
        "{err}"
    );
    k.kube.forbid("list", "leases");
    let err = k.fails(&["get", "leases"]);
    assert!(
        err.contains(r#"leases.coordination.k8s.io is forbidden: User "kubernetes-admin" cannot list resource "leases" in API group "coordination.k8s.io" in the namespace "team-a""#),
        "{err}"
    );
    k.kube.allow_all();
    let err = k.fails(&["get", "secret", "x"]);
    assert!(
        err.contains("NotFound") || err.contains("not found"),
        "{err}"
    );

    // A service account's kubeconfig: its user name is in the denial.
    let sa_token = k
        .kube
        .mint("team-a", "injector", Duration::from_secs(600))
        .unwrap();
    let sa_dir = k.dir.path().join("sa");
    let sa_cfg = k
        .kube
        .write_kubeconfig_with_token(&sa_dir, "team-a", &sa_token)
        .unwrap();
    k.kube
        .create_object(json!({
            "apiVersion": "admissionregistration.k8s.io/v1",
            "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "cfg"},
        }))
        .unwrap();
    k.kube.forbid("patch", "mutatingwebhookconfigurations");
    let out = run_with_timeout(
        Command::new(kubectl_binary())
            .env("HOME", k.dir.path())
            .env("KUBECONFIG", &sa_cfg)
            .args([
                "patch",
                "mutatingwebhookconfiguration",
                "cfg",
                "--type=merge",
                "-p",
                "{}",
            ]),
        Duration::from_secs(60),
    )
    .unwrap();
    let err = out.stderr_str();
    assert!(
        err.contains(r#"User "system:serviceaccount:team-a:injector" cannot patch resource "mutatingwebhookconfigurations" in API group "admissionregistration.k8s.io" at the cluster scope"#),
        "{err}"
    );

    // A bad token: 401.
    let bad_dir = k.dir.path().join("bad");
    let bad_cfg = k
        .kube
        .write_kubeconfig_with_token(&bad_dir, "team-a", "not-a-token")
        .unwrap();
    let out = run_with_timeout(
        Command::new(kubectl_binary())
            .env("HOME", k.dir.path())
            .env("KUBECONFIG", &bad_cfg)
            .args(["get", "secrets"]),
        Duration::from_secs(60),
    )
    .unwrap();
    assert!(!out.success());
    let err = out.stderr_str();
    assert!(
        err.contains("Unauthorized") || err.contains("unauthorized"),
        "{err}"
    );
}
