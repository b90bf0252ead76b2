//! Logins (approle, jwt, kubernetes, cert) and the token lifecycle against a real OpenBao.

mod common;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use common::{TlsDevServer, anon_client, dev, json_out, root_client};
use serde_json::json;
use vk_test_utils::{KubeApi, TestCa, configure_kubernetes_auth};
use vk_vault_client::{
    AuthMethod, ClientConfig, ErrorClass, PemSource, SecretString, VaultClient, VaultError,
};

const READ_ALL: &str = r#"path "secret/*" { capabilities = ["read", "list"] }
path "sys/internal/ui/mounts/*" { capabilities = ["read"] }"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approle_login_and_token_lifecycle() {
    let dev = dev();
    dev.write_policy("reader", READ_ALL).unwrap();
    dev.cli_ok(&["auth", "enable", "approle"]).unwrap();
    dev.cli_ok(&[
        "write",
        "auth/approle/role/app",
        "token_policies=reader",
        "token_ttl=1h",
        "token_max_ttl=4h",
    ])
    .unwrap();
    dev.cli_ok(&["kv", "put", "secret/app", "user=alice"])
        .unwrap();
    let role_id = json_out(
        &dev,
        &["read", "-format=json", "auth/approle/role/app/role-id"],
    )["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_string();
    let secret_id = json_out(
        &dev,
        &[
            "write",
            "-format=json",
            "-f",
            "auth/approle/role/app/secret-id",
        ],
    )["data"]["secret_id"]
        .as_str()
        .unwrap()
        .to_string();

    let c = anon_client(dev.addr());
    let method = AuthMethod::AppRole {
        role_id: role_id.clone(),
        secret_id: Some(SecretString::new(secret_id.clone())),
        mount_path: None,
    };
    assert!(!format!("{method:?}").contains(&secret_id));
    let auth = c.login(&method).await.unwrap();
    assert!(!auth.token.is_empty());
    assert!(!format!("{auth:?}").contains(auth.token.expose()));
    assert_eq!(auth.lease_duration, 3600);
    assert!(auth.renewable);
    assert!(
        auth.policies.contains(&"reader".to_string()),
        "{:?}",
        auth.policies
    );
    assert!(!auth.accessor.is_empty());
    c.set_token(auth.token.clone());

    // The token works for reads (KV v2 shim via the mount lookup).
    let r = c.read_secret("secret/app").await.unwrap();
    assert_eq!(
        r.response.json().unwrap().unwrap()["data"]["data"]["user"],
        "alice"
    );

    // lookup-self / renew-self / revoke-self.
    let info = c.lookup_self().await.unwrap();
    assert_eq!(info.id, auth.token);
    assert_eq!(info.accessor, auth.accessor);
    assert!(info.renewable);
    assert!(info.ttl > 3500 && info.ttl <= 3600, "{}", info.ttl);
    assert!(info.path.starts_with("auth/approle/login"), "{}", info.path);
    assert!(!format!("{info:?}").contains(auth.token.expose()));
    let renewed = c.renew_self(Some(Duration::from_secs(7200))).await.unwrap();
    assert_eq!(renewed.lease_duration, 7200);
    assert_eq!(renewed.token, auth.token);
    let renewed = c.renew_self(None).await.unwrap();
    assert_eq!(renewed.lease_duration, 3600);
    c.revoke_self().await.unwrap();
    let err = c.lookup_self().await.unwrap_err();
    assert_eq!(err.status(), Some(403), "{err}");
    assert_eq!(err.class(), ErrorClass::Request);
    let err = c.read("secret/data/app").await.unwrap_err();
    assert!(err.is_forbidden(), "{err}");

    // A wrong secret id is a permanent login error naming the method and path.
    let bad = AuthMethod::AppRole {
        role_id,
        secret_id: Some(SecretString::new("00000000-0000-0000-0000-000000000000")),
        mount_path: Some("auth/approle/".into()),
    };
    let err = c.login(&bad).await.unwrap_err();
    assert!(
        err.to_string()
            .starts_with("approle login at auth/approle/login failed"),
        "{err}"
    );
    assert_eq!(err.status(), Some(400), "{err:?}");
    assert_eq!(err.class(), ErrorClass::Request);
    assert!(!err.vault_errors().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn approle_without_secret_id_and_custom_mount() {
    let dev = dev();
    dev.cli_ok(&["auth", "enable", "-path=ar-2", "approle"])
        .unwrap();
    dev.cli_ok(&[
        "write",
        "auth/ar-2/role/open",
        "bind_secret_id=false",
        "secret_id_bound_cidrs=127.0.0.1/32",
        "token_policies=default",
    ])
    .unwrap();
    let role_id = json_out(
        &dev,
        &["read", "-format=json", "auth/ar-2/role/open/role-id"],
    )["data"]["role_id"]
        .as_str()
        .unwrap()
        .to_string();
    let c = anon_client(dev.addr());
    let auth = c
        .login(&AuthMethod::AppRole {
            role_id,
            secret_id: None,
            mount_path: Some("auth/ar-2".into()),
        })
        .await
        .unwrap();
    assert!(auth.policies.contains(&"default".to_string()));
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn jwt_login_accepts_good_and_rejects_foreign_signatures() {
    let dev = dev();
    let signer = vk_test_utils::JwtSigner::new();
    let pub_path = dev.scratch_dir().join("jwt.pub");
    std::fs::write(&pub_path, &signer.public_pem).unwrap();
    dev.cli_ok(&["auth", "enable", "jwt"]).unwrap();
    dev.cli_ok(&[
        "write",
        "auth/jwt/config",
        &format!("jwt_validation_pubkeys=@{}", pub_path.display()),
        "bound_issuer=https://issuer.test",
    ])
    .unwrap();
    dev.cli_stdin_ok(
        &["write", "auth/jwt/role/ci", "-"],
        json!({
            "role_type": "jwt",
            "user_claim": "sub",
            "bound_audiences": ["vk"],
            "bound_claims": {"team": "a"},
            "token_policies": ["default"],
            "token_ttl": "10m"
        })
        .to_string()
        .as_bytes(),
    )
    .unwrap();
    let claims = json!({
        "iss": "https://issuer.test", "sub": "job-1", "aud": "vk", "team": "a",
        "iat": now(), "nbf": now(), "exp": now() + 600
    });
    let c = anon_client(dev.addr());
    let auth = c
        .login(&AuthMethod::Jwt {
            role: "ci".into(),
            jwt: SecretString::new(signer.sign(&claims)),
            mount_path: None,
        })
        .await
        .unwrap();
    assert_eq!(auth.lease_duration, 600);
    assert_eq!(auth.metadata.get("role").map(String::as_str), Some("ci"));

    let foreign = vk_test_utils::JwtSigner::new().sign(&claims);
    let err = c
        .login(&AuthMethod::Jwt {
            role: "ci".into(),
            jwt: SecretString::new(foreign.clone()),
            mount_path: None,
        })
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .starts_with("jwt login at auth/jwt/login failed"),
        "{err}"
    );
    assert!(!format!("{err:?}").contains(&foreign));
    assert!(
        err.vault_errors()
            .iter()
            .any(|e| e.contains("error verifying token signature")),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Request);

    // A claim that does not match the role's bound_claims.
    let wrong_team = signer.sign(&json!({
        "iss": "https://issuer.test", "sub": "job-1", "aud": "vk", "team": "b",
        "iat": now(), "exp": now() + 600
    }));
    let err = c
        .login(&AuthMethod::Jwt {
            role: "ci".into(),
            jwt: SecretString::new(wrong_team),
            mount_path: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err.status(), Some(400 | 403)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kubernetes_login_through_token_review() {
    let dev = dev();
    let kube = KubeApi::start().unwrap();
    configure_kubernetes_auth(&dev, &kube, "app", "webapp", "default", "reader", READ_ALL).unwrap();
    dev.cli_ok(&["kv", "put", "secret/k8s", "from=kube"])
        .unwrap();

    // The caller reads the projected token file on each attempt.
    let dir = tempfile::tempdir().unwrap();
    let token_path = dir.path().join("token");
    std::fs::write(
        &token_path,
        format!(
            "{}\n",
            kube.mint("default", "webapp", Duration::from_secs(600))
                .unwrap()
        ),
    )
    .unwrap();
    let jwt = vk_vault_client::read_credential_file(&token_path).unwrap();
    let c = anon_client(dev.addr());
    let auth = c
        .login(&AuthMethod::Kubernetes {
            role: "app".into(),
            jwt,
            mount_path: None,
        })
        .await
        .unwrap();
    assert!(
        auth.policies.contains(&"reader".to_string()),
        "{:?}",
        auth.policies
    );
    assert_eq!(
        auth.metadata
            .get("service_account_name")
            .map(String::as_str),
        Some("webapp")
    );
    c.set_token(auth.token);
    let r = c.read_secret("secret/k8s").await.unwrap();
    assert!(r.response.body.contains(r#""from":"kube""#));
    let reviews_before = kube.review_count();
    assert!(reviews_before >= 1);

    // Signed by another key: the TokenReview says authenticated=false, Vault answers 403.
    let foreign = kube
        .mint_foreign("default", "webapp", Duration::from_secs(600))
        .unwrap();
    let err = c
        .login(&AuthMethod::Kubernetes {
            role: "app".into(),
            jwt: SecretString::new(foreign),
            mount_path: Some("auth/kubernetes".into()),
        })
        .await
        .unwrap_err();
    assert_eq!(err.status(), Some(403), "{err:?}");
    assert!(
        err.to_string()
            .starts_with("kubernetes login at auth/kubernetes/login failed")
    );
    assert!(kube.review_count() > reviews_before);

    // A service account the role is not bound to.
    let other = kube
        .mint("default", "other", Duration::from_secs(600))
        .unwrap();
    let err = c
        .login(&AuthMethod::Kubernetes {
            role: "app".into(),
            jwt: SecretString::new(other),
            mount_path: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err.status(), Some(400 | 403)), "{err:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cert_login_and_tls_settings() {
    let server = TlsDevServer::start();
    let ca = std::fs::read(server.ca_path()).unwrap();

    // Client certificates from a test CA that Vault's cert auth trusts.
    let client_ca = TestCa::named("vk-client-ca").unwrap();
    let leaf = client_ca.issue_leaf(&["agent.example"]).unwrap();
    let ca_file = server.scratch().join("client-ca.pem");
    std::fs::write(&ca_file, client_ca.ca_pem()).unwrap();
    server.cli_ok(&["auth", "enable", "cert"]);
    server.cli_ok(&[
        "write",
        "auth/cert/certs/web",
        "display_name=web",
        "token_policies=default",
        &format!("certificate=@{}", ca_file.display()),
        "token_ttl=15m",
    ]);

    let with_cert = VaultClient::new(&ClientConfig {
        ca_cert: Some(PemSource::Pem(ca.clone())),
        client_cert: Some(PemSource::Pem(leaf.cert_pem.clone().into_bytes())),
        client_key: Some(PemSource::Pem(leaf.key_pem.clone().into_bytes())),
        max_retries: 0,
        ..ClientConfig::new(&server.addr)
    })
    .unwrap();
    // A named role and no role.
    for name in [Some("web".to_string()), None] {
        let auth = with_cert
            .login(&AuthMethod::Cert {
                name: name.clone(),
                mount_path: None,
            })
            .await
            .unwrap_or_else(|e| panic!("cert login {name:?}: {e:?}"));
        assert_eq!(auth.lease_duration, 900);
        assert_eq!(
            auth.metadata.get("cert_name").map(String::as_str),
            Some("web")
        );
    }
    let err = with_cert
        .login(&AuthMethod::Cert {
            name: Some("nope".into()),
            mount_path: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err.status(), Some(400 | 403)), "{err:?}");

    // Without a client certificate the login is refused.
    let no_cert = VaultClient::new(&ClientConfig {
        ca_cert: Some(PemSource::Path(server.ca_path())),
        max_retries: 0,
        ..ClientConfig::new(&server.addr)
    })
    .unwrap();
    let err = no_cert
        .login(&AuthMethod::Cert {
            name: None,
            mount_path: None,
        })
        .await
        .unwrap_err();
    assert!(matches!(err.status(), Some(400 | 403)), "{err:?}");

    // tls_server_name: verified against the given name (the dev cert has DNS:localhost).
    let named = |name: &str| {
        let c = VaultClient::new(&ClientConfig {
            ca_cert: Some(PemSource::Pem(ca.clone())),
            tls_server_name: Some(name.to_string()),
            max_retries: 0,
            ..ClientConfig::new(&server.addr)
        })
        .unwrap();
        c.set_token(SecretString::new("root"));
        c
    };
    named("localhost").lookup_self().await.unwrap();
    let err = named("wrong.example").read("sys/mounts").await.unwrap_err();
    assert!(
        matches!(
            err,
            VaultError::Transport {
                certificate_rejected: true,
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(err.class(), ErrorClass::Request);

    // Untrusted CA (system roots): rejected; tls_skip_verify: accepted.
    let untrusted = VaultClient::new(&ClientConfig {
        max_retries: 0,
        ..ClientConfig::new(&server.addr)
    })
    .unwrap();
    let err = untrusted.read("sys/mounts").await.unwrap_err();
    assert!(!err.is_transient(), "{err:?}");
    let skip = VaultClient::new(&ClientConfig {
        tls_skip_verify: true,
        max_retries: 0,
        ..ClientConfig::new(&server.addr)
    })
    .unwrap();
    skip.set_token(SecretString::new("root"));
    let mounts = skip.read("sys/mounts").await.unwrap();
    assert!(mounts.body.contains("\"secret/\""));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn token_file_style_validation_with_lookup_self() {
    let dev = dev();
    let c = root_client(&dev);
    let info = c.lookup_self().await.unwrap();
    assert_eq!(info.ttl, 0, "root never expires");
    assert_eq!(info.id.expose(), "root");
    assert!(info.policies.contains(&"root".to_string()));
    // An unknown token.
    c.set_token(SecretString::new("s.not-a-real-token"));
    let err = c.lookup_self().await.unwrap_err();
    assert_eq!(err.status(), Some(403));
    assert!(!err.to_string().contains("not-a-real-token"));
}
