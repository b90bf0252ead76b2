//! Logical reads/writes/lists, KV v1/v2 handling, PKI, leases, namespaces and error shapes,
//! all against a real `bao server -dev`.

mod common;

use std::time::Duration;

use common::{dev, json_out, root_client};
use serde_json::json;
use vk_vault_client::{ClientConfig, ErrorClass, SecretString, VaultClient, VaultError};

fn without_request_id(body: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(body).unwrap();
    let id = v["request_id"].as_str().unwrap().to_string();
    body.replace(&id, "<id>")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv2_reads_through_the_shim_and_keeps_number_literals() {
    let dev = dev();
    let c = root_client(&dev);
    // Vault stores JSON numbers as float64: it answers 12345678901234567000 for this input.
    let put = c
        .write_secret(
            "secret/num",
            &json!({"n": 12345678901234567890u64, "f": 1.50, "g": 1e21, "s": "x"}),
        )
        .await
        .unwrap();
    assert_eq!(put.status, 200);
    assert!(put.body.contains("\"version\":1"), "{}", put.body);

    let a = c.read_secret("secret/num").await.unwrap();
    let b = c.read_secret("secret/data/num").await.unwrap();
    for r in [&a, &b] {
        assert_eq!(r.path, "secret/data/num");
        assert!(r.kv_v2);
        assert_eq!(r.response.status, 200);
        let env = r.response.envelope.as_ref().unwrap();
        assert!(env.has_data);
        assert_eq!(env.lease_duration, 0);
        assert!(!env.renewable);
        assert!(!env.request_id.is_empty());
        assert!(
            r.response.body.contains(r#""n":12345678901234567000"#),
            "{}",
            r.response.body
        );
        assert!(
            r.response.body.contains(r#""f":1.5,"#),
            "{}",
            r.response.body
        );
    }

    // The body is byte-for-byte what Vault sent (compared with an independent raw GET).
    let raw = vk_test_utils::http::request(
        "GET",
        &format!("{}/v1/secret/data/num", dev.addr()),
        None,
        &[("X-Vault-Token", dev.root_token())],
        b"",
    )
    .unwrap();
    assert_eq!(
        without_request_id(&a.response.body),
        without_request_id(&raw.text())
    );

    // Go prints 1e21 as `1e+21`: the raw body keeps Vault's spelling of every number.
    assert!(
        a.response.body.contains(r#""g":1e+21"#),
        "{}",
        a.response.body
    );

    // Mount lookups are cached per mount.
    let m = c.mount_info("secret/anything").await.unwrap().unwrap();
    assert_eq!(m.path, "secret/");
    assert!(m.is_kv_v2());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv2_versions_lists_deletes_and_missing() {
    let dev = dev();
    let c = root_client(&dev);
    c.write_secret("secret/ver", &json!({"v": "one"}))
        .await
        .unwrap();
    c.write_secret("secret/ver", &json!({"v": "two"}))
        .await
        .unwrap();
    let v1 = c.read_secret("secret/ver?version=1").await.unwrap();
    assert_eq!(v1.path, "secret/data/ver");
    let data = v1.response.json().unwrap().unwrap();
    assert_eq!(data["data"]["data"]["v"], "one");
    assert_eq!(data["data"]["metadata"]["version"], 1);
    let latest = c.read_secret("secret/data/ver").await.unwrap();
    assert_eq!(
        latest.response.json().unwrap().unwrap()["data"]["data"]["v"],
        "two"
    );

    // Lists: both spellings list the metadata path.
    c.write_secret("secret/dir/a", &json!({"k": "1"}))
        .await
        .unwrap();
    c.write_secret("secret/dir/b/c", &json!({"k": "2"}))
        .await
        .unwrap();
    for p in ["secret/dir", "secret/metadata/dir", "secret/dir/"] {
        let (path, keys) = c.list_secrets(p).await.unwrap();
        assert_eq!(path, "secret/metadata/dir", "{p}");
        assert_eq!(keys, vec!["a", "b/"], "{p}");
    }
    let raw = c.list("secret/metadata/dir").await.unwrap();
    assert_eq!(raw.list_keys(), vec!["a", "b/"]);
    let (_, none) = c.list_secrets("secret/nothing-here").await.unwrap();
    assert!(none.is_empty());

    // Soft-deleted latest version: Vault answers 404 *with* data; the agent says no secret.
    c.write_secret("secret/deleted", &json!({"k": "v"}))
        .await
        .unwrap();
    dev.cli_ok(&["kv", "delete", "secret/deleted"]).unwrap();
    let raw = c.read("secret/data/deleted").await.unwrap();
    assert_eq!(raw.status, 404);
    assert!(raw.has_data());
    let err = c.read_secret("secret/data/deleted").await.unwrap_err();
    assert_eq!(err.to_string(), "no secret exists at secret/data/deleted");
    assert_eq!(err.class(), ErrorClass::Request);
    assert!(err.is_retried_by_watcher());
    let err = c.read_secret("secret/deleted").await.unwrap_err();
    assert_eq!(err.to_string(), "no secret exists at secret/data/deleted");
    // An older, undeleted version is still readable.
    let v = c.read_secret("secret/deleted?version=1").await;
    assert!(v.is_err(), "version 1 is the deleted one");

    // Never written: 404 without data.
    let err = c.read_secret("secret/data/nope").await.unwrap_err();
    assert!(err.is_no_secret());
    assert_eq!(err.to_string(), "no secret exists at secret/data/nope");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv1_read_write_list() {
    let dev = dev();
    dev.cli_ok(&["secrets", "enable", "-path=kv1", "-version=1", "kv"])
        .unwrap();
    let c = root_client(&dev);
    let w = c
        .write_secret(
            "kv1/app",
            &json!({"port": 5432, "ttl": "20s", "big": 98765432109876543210.0}),
        )
        .await
        .unwrap();
    assert_eq!(w.status, 204);
    assert!(w.body.is_empty());
    assert!(w.envelope.is_none());
    c.write_secret("kv1/other", &json!({"a": "b"}))
        .await
        .unwrap();

    let r = c.read_secret("kv1/app").await.unwrap();
    assert!(!r.kv_v2);
    assert_eq!(r.path, "kv1/app");
    let env = r.response.envelope.as_ref().unwrap();
    assert_eq!(env.lease_duration, 20, "KV v1 reports the ttl key as lease");
    assert!(
        r.response.body.contains(r#""port":5432"#),
        "{}",
        r.response.body
    );

    let (path, keys) = c.list_secrets("kv1").await.unwrap();
    assert_eq!(path, "kv1");
    assert_eq!(keys, vec!["app", "other"]);
    let err = c.read_secret("kv1/nope").await.unwrap_err();
    assert_eq!(err.to_string(), "no secret exists at kv1/nope");
    let m = c.mount_info("kv1/app").await.unwrap().unwrap();
    assert_eq!((m.kind.as_str(), m.version.as_deref()), ("kv", Some("1")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pki_issue_and_lease_revoke() {
    let dev = dev();
    dev.cli_ok(&["secrets", "enable", "pki"]).unwrap();
    dev.cli_ok(&["secrets", "tune", "-max-lease-ttl=87600h", "pki"])
        .unwrap();
    dev.cli_ok(&[
        "write",
        "pki/root/generate/internal",
        "common_name=vk-test-root",
        "key_type=ec",
        "key_bits=256",
        "ttl=87600h",
    ])
    .unwrap();
    dev.cli_ok(&[
        "write",
        "pki/roles/svc",
        "allowed_domains=example.com",
        "allow_subdomains=true",
        "max_ttl=72h",
        "key_type=ec",
        "key_bits=256",
        "generate_lease=true",
    ])
    .unwrap();
    let c = root_client(&dev);
    let issued = c
        .write_secret(
            "pki/issue/svc",
            &json!({"common_name": "a.example.com", "ttl": "1h"}),
        )
        .await
        .unwrap();
    assert_eq!(issued.status, 200);
    let v = issued.json().unwrap().unwrap();
    assert!(
        v["data"]["certificate"]
            .as_str()
            .unwrap()
            .starts_with("-----BEGIN CERTIFICATE")
    );
    assert!(
        v["data"]["private_key"]
            .as_str()
            .unwrap()
            .contains("PRIVATE KEY")
    );
    let expiration = v["data"]["expiration"].as_i64().unwrap();
    assert!(
        issued
            .body
            .contains(&format!("\"expiration\":{expiration}"))
    );
    let env = issued.envelope.as_ref().unwrap();
    assert!(env.lease_id.starts_with("pki/issue/svc/"), "{env:?}");
    // The Debug form never shows the key material.
    assert!(!format!("{issued:?}").contains("PRIVATE KEY"));

    let lookup = json!({"lease_id": env.lease_id});
    c.write("sys/leases/lookup", &lookup).await.unwrap();
    c.revoke_lease(&env.lease_id).await.unwrap();
    let gone = c.write("sys/leases/lookup", &lookup).await.unwrap_err();
    assert_eq!(gone.status(), Some(400), "{gone}");
    let renew = c
        .renew_lease(&env.lease_id, Some(Duration::from_secs(60)))
        .await
        .unwrap_err();
    assert_eq!(renew.class(), ErrorClass::Request, "{renew}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn child_token_lease_renews_with_renew_self() {
    let dev = dev();
    let c = root_client(&dev);
    let created = c
        .write(
            "auth/token/create",
            &json!({"ttl": "1h", "explicit_max_ttl": "3h", "policies": ["default"]}),
        )
        .await
        .unwrap();
    let env = created.envelope.as_ref().unwrap();
    assert!(env.has_auth && !env.has_data);
    let v = created.json().unwrap().unwrap();
    let child = SecretString::new(v["auth"]["client_token"].as_str().unwrap());
    let renewed = c
        .renew_token_self(&child, Some(Duration::from_secs(7200)))
        .await
        .unwrap();
    assert!(renewed.renewable);
    assert!(
        (7000..=7200).contains(&renewed.lease_duration),
        "{}",
        renewed.lease_duration
    );
    assert_eq!(renewed.token, child);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn namespace_header_scopes_requests() {
    let dev = dev();
    dev.cli_ok(&["namespace", "create", "team-a"]).unwrap();
    dev.cli_ok(&["secrets", "enable", "-ns=team-a", "-path=kvns", "kv-v2"])
        .unwrap();
    dev.cli_ok(&["kv", "put", "-ns=team-a", "kvns/app", "who=team-a"])
        .unwrap();

    let scoped = VaultClient::new(&ClientConfig {
        namespace: Some("team-a".into()),
        max_retries: 0,
        ..ClientConfig::new(dev.addr())
    })
    .unwrap();
    scoped.set_token(SecretString::new(dev.root_token()));
    let r = scoped.read_secret("kvns/app").await.unwrap();
    assert_eq!(r.path, "kvns/data/app");
    assert_eq!(
        r.response.json().unwrap().unwrap()["data"]["data"]["who"],
        "team-a"
    );
    let (path, keys) = scoped.list_secrets("kvns").await.unwrap();
    assert_eq!(
        (path.as_str(), keys),
        ("kvns/metadata", vec!["app".to_string()])
    );

    // Without the header the mount does not exist in the root namespace.
    let root = root_client(&dev);
    let err = root.read_secret("kvns/app").await.unwrap_err();
    assert!(err.is_no_secret() || err.status() == Some(403), "{err}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_errors_carry_status_and_vault_errors() {
    let dev = dev();
    let created = json_out(
        &dev,
        &["token", "create", "-policy=default", "-format=json"],
    );
    let limited = VaultClient::new(&ClientConfig {
        max_retries: 0,
        ..ClientConfig::new(dev.addr())
    })
    .unwrap();
    limited.set_token(SecretString::new(
        created["auth"]["client_token"].as_str().unwrap(),
    ));
    let err = limited.read("secret/data/x").await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(err.is_forbidden());
    assert_eq!(err.class(), ErrorClass::Request);
    assert_eq!(
        err.vault_errors(),
        ["1 error occurred:\n\t* permission denied\n\n"]
    );
    assert!(
        err.to_string()
            .starts_with("GET secret/data/x: Vault returned HTTP 403: "),
        "{err}"
    );
    // Without permission on sys/internal/ui/mounts the KV lookup falls back to v1 (no shim).
    let err = limited.read_secret("secret/x").await.unwrap_err();
    assert!(
        matches!(err, VaultError::Api { ref path, .. } if path == "secret/x"),
        "{err}"
    );

    // A refused connection is transient; with retries it is attempted max_retries+1 times.
    let port = vk_test_utils::free_port().unwrap();
    let down = VaultClient::new(&ClientConfig {
        max_retries: 2,
        retry_wait: Duration::from_millis(20),
        ..ClientConfig::new(format!("http://127.0.0.1:{port}"))
    })
    .unwrap();
    let started = std::time::Instant::now();
    let err = down.read("secret/data/x").await.unwrap_err();
    assert!(started.elapsed() >= Duration::from_millis(40));
    assert!(matches!(err, VaultError::Transport { .. }), "{err}");
    assert!(err.is_transient());
    assert_eq!(
        err.to_string(),
        "GET secret/data/x: request to Vault failed"
    );
    // Token lifecycle calls classify the same way.
    down.set_token(SecretString::new("x"));
    let err = down.lookup_self().await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
}
