//! The in-cluster configuration against the test Kubernetes API server: its CA, its address,
//! and a service-account token file that rotates between calls.

use std::time::Duration;

use vk_test_utils::kube_api::{ADMIN_USER, KubeApi};

use crate::client::KubeClient;
use crate::config::InCluster;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn in_cluster_client_reaches_the_api_server_and_follows_token_rotation() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let api = KubeApi::start().expect("kube api");
    let root = tempfile::tempdir().expect("tempdir");
    std::fs::write(root.path().join("ca.crt"), api.ca_pem()).expect("ca");
    std::fs::write(root.path().join("token"), api.admin_token()).expect("token");
    let url: http::Uri = api.url().parse().expect("url");
    let config = InCluster {
        host: url.host().map(str::to_owned),
        port: url.port_u16().map(|p| p.to_string()),
        root: root.path().to_owned(),
        token_refresh: Duration::ZERO,
    }
    .load()
    .expect("in-cluster config");
    let client = KubeClient::from_config(config, "vk-kube-test").expect("client");
    let absent = client
        .read_cert_secret("vault", "vault-injector-certs")
        .await
        .expect("get as admin");
    assert!(absent.is_none());

    let rotated = api
        .mint("vault", "injector", Duration::from_secs(600))
        .expect("mint");
    std::fs::write(root.path().join("token"), rotated).expect("rotate");
    // Whatever RBAC says, the request must carry the new token.
    let _ = client
        .read_cert_secret("vault", "vault-injector-certs")
        .await;
    let users: Vec<Option<String>> = api.requests().into_iter().map(|r| r.user).collect();
    assert_eq!(
        users,
        vec![
            Some(ADMIN_USER.to_owned()),
            Some("system:serviceaccount:vault:injector".to_owned())
        ]
    );
}
