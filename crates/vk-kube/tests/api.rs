//! vk-kube against the Kubernetes API test endpoint (HTTPS, bearer token, object store, RBAC
//! denial, watch with compaction).

use std::time::{Duration, Instant};

use serde_json::json;
use vk_kube::{CertSecret, KubeClient, LeaderElector, LeaseSettings};
use vk_test_utils::kube_api::KubeApi;

const NS: &str = "vault";

struct Env {
    api: KubeApi,
    _dir: tempfile::TempDir,
    client: KubeClient,
}

async fn env() -> Env {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = KubeApi::start().expect("kube api");
    let dir = tempfile::tempdir().expect("tempdir");
    let path = api.write_kubeconfig(dir.path(), NS).expect("kubeconfig");
    let client = KubeClient::from_kubeconfig(&path, "vk-kube-test")
        .await
        .expect("client");
    Env {
        api,
        _dir: dir,
        client,
    }
}

fn secret(cert: &str) -> CertSecret {
    CertSecret {
        cert_pem: cert.to_owned(),
        key_pem: "key".to_owned(),
        ca_cert_pem: Some("ca".to_owned()),
        ca_key_pem: None,
        ca_bundle_pem: None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forbidden_calls_name_the_missing_rbac_rule() {
    let env = env().await;
    env.api.forbid("get", "secrets");
    let err = env
        .client
        .read_cert_secret(NS, "vault-injector-certs")
        .await
        .expect_err("forbidden");
    let text = err.to_string();
    assert!(
        text.contains(r#"get secrets "vault-injector-certs" in namespace "vault""#),
        "{text}"
    );
    assert!(
        text.contains(r#"{apiGroups: [""], resources: ["secrets"], verbs: ["get"]} in a Role in namespace "vault""#),
        "{text}"
    );
    env.api.forbid("patch", "mutatingwebhookconfigurations");
    env.api
        .create_object(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "cfg"}, "webhooks": [{"name": "a", "clientConfig": {}}]}))
        .expect("mwc");
    let err = env
        .client
        .publish_ca_bundle("cfg", b"pem")
        .await
        .expect_err("forbidden");
    assert!(err.to_string().contains("in a ClusterRole"), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ca_bundle_is_published_to_every_entry_once() {
    let env = env().await;
    let err = env
        .client
        .publish_ca_bundle("cfg", b"pem")
        .await
        .expect_err("missing");
    assert!(err.is_not_found(), "{err}");
    let entry = |n: &str, b: &str| json!({"name": n, "clientConfig": {"caBundle": b}});
    env.api
        .create_object(json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "MutatingWebhookConfiguration",
            "metadata": {"name": "cfg"}, "webhooks": [entry("a", ""), entry("b", "b2xk"), entry("c", "")]}))
        .expect("mwc");
    assert!(
        env.client
            .publish_ca_bundle("cfg", b"new bundle")
            .await
            .expect("publish")
    );
    let bundles = env.client.webhook_ca_bundles("cfg").await.expect("read");
    assert_eq!(bundles, vec![b"new bundle".to_vec(); 3]);
    assert!(
        !env.client
            .publish_ca_bundle("cfg", b"new bundle")
            .await
            .expect("again")
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_secret_write_keeps_metadata_and_watch_survives_compaction() {
    let env = env().await;
    env.api
        .create_object(json!({"apiVersion": "v1", "kind": "Secret",
            "metadata": {"name": "vault-injector-certs", "namespace": NS, "labels": {"app": "x"}},
            "data": {"cert": "b2xk", "key": "b2xk"}}))
        .expect("secret");
    let mut rx = env.client.watch_cert_secret(NS, "vault-injector-certs");
    let wait_for = |rx: &mut tokio::sync::watch::Receiver<Option<CertSecret>>,
                    cert: &'static str| {
        let mut rx = rx.clone();
        async move {
            tokio::time::timeout(
                Duration::from_secs(20),
                rx.wait_for(|s| s.as_ref().is_some_and(|s| s.cert_pem == cert)),
            )
            .await
            .unwrap_or_else(|_| panic!("watch never delivered {cert}"))
            .expect("watch channel");
        }
    };
    wait_for(&mut rx, "old").await;
    env.client
        .write_cert_secret(NS, "vault-injector-certs", &secret("one"))
        .await
        .expect("write");
    wait_for(&mut rx, "one").await;
    let stored = env
        .api
        .get_object("v1", "Secret", Some(NS), "vault-injector-certs")
        .expect("secret");
    assert_eq!(stored["metadata"]["labels"]["app"], "x", "labels kept");
    let read = env
        .client
        .read_cert_secret(NS, "vault-injector-certs")
        .await
        .expect("read")
        .expect("present");
    assert_eq!(read, secret("one"));
    env.api.compact();
    env.client
        .write_cert_secret(NS, "vault-injector-certs", &secret("two"))
        .await
        .expect("write");
    wait_for(&mut rx, "two").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_lease_holder_and_release_hands_over_at_once() {
    let env = env().await;
    let settings = |id: &str| LeaseSettings {
        lease_duration: Duration::from_secs(30),
        renew_deadline: Duration::from_secs(20),
        retry_period: Duration::from_millis(300),
        ..LeaseSettings::with_defaults(NS, id)
    };
    let a = LeaderElector::spawn(env.client.clone(), settings("a"));
    let b = LeaderElector::spawn(env.client.clone(), settings("b"));
    let (mut la, mut lb) = (a.is_leader(), b.is_leader());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !(*la.borrow_and_update() || *lb.borrow_and_update()) {
        assert!(Instant::now() < deadline, "nobody became leader");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(*la.borrow() ^ *lb.borrow(), "exactly one leader");
    let (leader, mut follower) = if *la.borrow() { (a, lb) } else { (b, la) };
    let released = Instant::now();
    leader.release().await;
    // Far sooner than the 30 s lease duration: the holder was cleared.
    tokio::time::timeout(Duration::from_secs(5), follower.wait_for(|l| *l))
        .await
        .expect("hand-over within 5 s")
        .expect("channel");
    assert!(released.elapsed() < Duration::from_secs(5));
}
