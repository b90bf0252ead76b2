//! Tests of the TokenReview endpoint, alone and with OpenBao's kubernetes auth.

use std::time::Duration;

use anyhow::anyhow;
use serde_json::{Value, json};

use super::token_review::TOKEN_REVIEW_PATH;
use super::*;
use crate::bao::DevServer;

fn review_body(token: &str) -> Value {
    json!({"apiVersion": "authentication.k8s.io/v1", "kind": "TokenReview", "spec": {"token": token}})
}

#[test]
fn token_review_shapes() {
    let kube = KubeApi::start().unwrap();
    let url = format!("{}{TOKEN_REVIEW_PATH}", kube.url());
    let good = kube
        .mint("default", "webapp", Duration::from_secs(600))
        .unwrap();

    // No bearer: 401 Status.
    let r = crate::http::post_json(&url, Some(kube.ca_pem()), &review_body(&good)).unwrap();
    assert_eq!(r.status, 401);
    assert_eq!(r.json().unwrap()["kind"], "Status");

    let auth = format!("Bearer {}", kube.reviewer_token());
    let post = |token: &str| {
        let body = serde_json::to_vec(&review_body(token)).unwrap();
        let hdrs = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        crate::http::request("POST", &url, Some(kube.ca_pem()), &hdrs, &body).unwrap()
    };
    let r = post(&good);
    assert_eq!(r.status, 201);
    let v = r.json().unwrap();
    assert_eq!(v["kind"], "TokenReview");
    assert_eq!(v["status"]["authenticated"], true);
    assert_eq!(
        v["status"]["user"]["username"],
        "system:serviceaccount:default:webapp"
    );
    assert_eq!(
        v["status"]["user"]["groups"],
        json!([
            "system:serviceaccounts",
            "system:serviceaccounts:default",
            "system:authenticated"
        ])
    );
    assert_eq!(v["status"]["audiences"], json!([DEFAULT_ISSUER]));

    let foreign = kube
        .mint_foreign("default", "webapp", Duration::from_secs(600))
        .unwrap();
    let v = post(&foreign).json().unwrap();
    assert_eq!(v["status"]["authenticated"], false);
    assert!(v["status"]["error"].as_str().unwrap().contains("signature"));

    let expired = kube
        .issuer()
        .mint_with(
            "default",
            "webapp",
            &TokenOptions {
                expired: true,
                ..Default::default()
            },
        )
        .unwrap();
    let v = post(&expired).json().unwrap();
    assert_eq!(v["status"]["authenticated"], false);
    assert!(v["status"]["error"].as_str().unwrap().contains("expired"));

    let wrong_iss = kube
        .issuer()
        .mint_with(
            "default",
            "webapp",
            &TokenOptions {
                issuer: Some("https://elsewhere".into()),
                ..Default::default()
            },
        )
        .unwrap();
    assert_eq!(
        post(&wrong_iss).json().unwrap()["status"]["authenticated"],
        false
    );
    assert_eq!(kube.review_count(), 5);
}

#[test]
fn openbao_kubernetes_login_uses_the_token_review() {
    let kube = KubeApi::start().unwrap();
    let dev = DevServer::start().unwrap();
    configure_kubernetes_auth(
        &dev,
        &kube,
        "webapp",
        "webapp",
        "default",
        "webapp",
        "path \"secret/data/database/config\" {\n  capabilities = [\"read\"]\n}\n",
    )
    .unwrap();
    dev.cli_ok(&[
        "kv",
        "put",
        "secret/database/config",
        "username=db-user",
        "password=db-password",
    ])
    .unwrap();

    let good = kube
        .mint("default", "webapp", Duration::from_secs(600))
        .unwrap();
    let out = dev
        .cli_ok(&[
            "write",
            "-field=token",
            "auth/kubernetes/login",
            "role=webapp",
            &format!("jwt={good}"),
        ])
        .map_err(|e| {
            anyhow!(
                "{e:#}\nreviews: {:?}\nlog: {}",
                kube.reviews(),
                dev.log_tail(20)
            )
        })
        .unwrap();
    let token = out.trim();
    assert!(!token.is_empty());
    let read = dev
        .command()
        .env("VAULT_TOKEN", token)
        .env("BAO_TOKEN", token)
        .args(["kv", "get", "-field=username", "secret/database/config"])
        .output()
        .unwrap();
    assert!(
        read.status.success(),
        "{}",
        String::from_utf8_lossy(&read.stderr)
    );
    assert_eq!(String::from_utf8_lossy(&read.stdout).trim(), "db-user");
    let reviews = kube.reviews();
    assert_eq!(reviews.len(), 1);
    assert!(reviews[0].caller_authorized && reviews[0].authenticated);

    let foreign = kube
        .mint_foreign("default", "webapp", Duration::from_secs(600))
        .unwrap();
    let out = dev
        .cli(&[
            "write",
            "auth/kubernetes/login",
            "role=webapp",
            &format!("jwt={foreign}"),
        ])
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("permission denied"), "{err}");
    let reviews = kube.reviews();
    assert_eq!(reviews.len(), 2);
    assert!(reviews[1].caller_authorized && !reviews[1].authenticated);
}

#[test]
fn injected_token_review_failures_answer_the_status_until_cleared() {
    let kube = KubeApi::start().unwrap();
    let url = format!("{}{TOKEN_REVIEW_PATH}", kube.url());
    let good = kube
        .mint("default", "webapp", Duration::from_secs(600))
        .unwrap();
    let auth = format!("Bearer {}", kube.reviewer_token());
    let post = || {
        let body = serde_json::to_vec(&review_body(&good)).unwrap();
        let hdrs = [
            ("Authorization", auth.as_str()),
            ("Content-Type", "application/json"),
        ];
        crate::http::request("POST", &url, Some(kube.ca_pem()), &hdrs, &body).unwrap()
    };
    for (code, reason) in [
        (500, "InternalError"),
        (503, "ServiceUnavailable"),
        (401, "Unauthorized"),
    ] {
        kube.fail_token_reviews(Some(code));
        let r = post();
        assert_eq!(r.status, code);
        let v = r.json().unwrap();
        assert_eq!(
            (v["kind"].as_str(), v["reason"].as_str()),
            (Some("Status"), Some(reason))
        );
        let last = kube.reviews().pop().unwrap();
        assert!(last.caller_authorized && !last.authenticated);
        assert_eq!(last.error.as_deref(), Some(reason));
    }
    kube.fail_token_reviews(None);
    let r = post();
    assert_eq!(r.status, 201);
    assert_eq!(r.json().unwrap()["status"]["authenticated"], true);
}
