use std::path::Path;

use base64::Engine as _;

use super::load;
use crate::config::ClusterConfig;

const CA: &str = include_str!("testdata/ca.pem");
const CLIENT_CERT: &str = include_str!("testdata/client.pem");
const CLIENT_KEY: &str = include_str!("testdata/client.key");

fn b64(text: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(text)
}

/// A kubeconfig with one context `main` whose cluster and user bodies are given.
fn kubeconfig(cluster: &str, user: &str) -> String {
    format!(
        "apiVersion: v1\nkind: Config\ncurrent-context: main\n\
         contexts:\n- name: main\n  context:\n    cluster: c\n    user: u\n    namespace: vault\n\
         clusters:\n- name: c\n  cluster:\n{cluster}\n\
         users:\n- name: u\n  user:\n{user}\n"
    )
}

fn write(dir: &Path, name: &str, text: &str) -> std::path::PathBuf {
    let path = dir.join(name);
    std::fs::write(&path, text).expect("write");
    path
}

fn load_one(dir: &Path, text: &str) -> Result<ClusterConfig, String> {
    let path = write(dir, "config", text);
    load(&[path]).map_err(|e| e.to_string())
}

fn auth_header(config: &ClusterConfig) -> Option<String> {
    config
        .auth
        .header()
        .expect("auth")
        .map(|v| v.to_str().expect("ascii").to_owned())
}

#[test]
fn token_user_and_ca_data_as_the_test_api_server_writes_them() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = kubeconfig(
        &format!(
            "    server: https://127.0.0.1:6443/\n    certificate-authority-data: {}",
            b64(CA)
        ),
        "    token: abc.def",
    );
    let config = load_one(dir.path(), &text).expect("config");
    assert_eq!(config.server, "https://127.0.0.1:6443");
    assert_eq!(auth_header(&config).as_deref(), Some("Bearer abc.def"));
    assert!(!config.tls.client_auth_cert_resolver.has_certs());
}

#[test]
fn relative_files_resolve_against_the_kubeconfig_directory() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sub = dir.path().join("kube");
    std::fs::create_dir(&sub).expect("mkdir");
    write(&sub, "ca.pem", CA);
    write(&sub, "client.pem", CLIENT_CERT);
    write(&sub, "client.key", CLIENT_KEY);
    write(&sub, "token", "from-file\n");
    let text = kubeconfig(
        "    server: https://k8s.example:443\n    certificate-authority: ca.pem\n    tls-server-name: api.internal",
        "    client-certificate: client.pem\n    client-key: client.key\n    tokenFile: token",
    );
    let path = write(&sub, "config", &text);
    let config = load(&[path]).expect("config");
    assert!(config.tls.client_auth_cert_resolver.has_certs());
    assert_eq!(auth_header(&config).as_deref(), Some("Bearer from-file"));
}

#[test]
fn client_certificate_data_and_basic_auth() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = kubeconfig(
        &format!(
            "    server: https://h:1\n    certificate-authority-data: {}",
            b64(CA)
        ),
        &format!(
            "    client-certificate-data: {}\n    client-key-data: {}\n    username: admin\n    password: pw",
            b64(CLIENT_CERT),
            b64(CLIENT_KEY)
        ),
    );
    let config = load_one(dir.path(), &text).expect("config");
    assert!(config.tls.client_auth_cert_resolver.has_certs());
    assert_eq!(auth_header(&config).as_deref(), Some("Basic YWRtaW46cHc="));
}

#[test]
fn insecure_skip_tls_verify_without_a_ca_is_accepted_with_one_refused() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = kubeconfig(
        "    server: https://h:1\n    insecure-skip-tls-verify: true",
        "    token: t",
    );
    load_one(dir.path(), &text).expect("insecure");
    let text = kubeconfig(
        &format!(
            "    server: https://h:1\n    insecure-skip-tls-verify: true\n    certificate-authority-data: {}",
            b64(CA)
        ),
        "    token: t",
    );
    let err = load_one(dir.path(), &text).err().expect("both");
    assert!(
        err.contains("insecure-skip-tls-verify is not allowed"),
        "{err}"
    );
}

#[test]
fn unimplemented_keys_are_refused_naming_file_key_and_remedy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cluster = "    server: https://h:1\n    insecure-skip-tls-verify: true";
    let cases = [
        (
            kubeconfig(cluster, "    exec:\n      command: aws"),
            r#"users[name="u"].user.exec is not supported"#,
            "credential plugins are not run",
        ),
        (
            kubeconfig(cluster, "    auth-provider:\n      name: gcp"),
            r#"users[name="u"].user.auth-provider is not supported"#,
            "give the user a token, tokenFile or client certificate",
        ),
        (
            kubeconfig(cluster, "    token: t\n    as: someone"),
            r#"users[name="u"].user.as is not supported"#,
            "impersonation is not supported",
        ),
        (
            kubeconfig(
                "    server: https://h:1\n    proxy-url: socks5://p:1080",
                "    token: t",
            ),
            r#"clusters[name="c"].cluster.proxy-url is not supported"#,
            "remove proxy-url",
        ),
        (
            kubeconfig(cluster, "    token: t\n    tokn: typo"),
            r#"users[name="u"].user.tokn is not supported"#,
            "remove it from the user entry",
        ),
    ];
    for (text, key, hint) in cases {
        let err = load_one(dir.path(), &text).err().expect(key);
        let file = dir.path().join("config").display().to_string();
        assert!(err.starts_with(&file), "{err}");
        assert!(err.contains(key), "{err}");
        assert!(err.contains(hint), "{err}");
    }
}

#[test]
fn entries_of_other_contexts_are_not_checked() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut text = kubeconfig(
        "    server: https://h:1\n    insecure-skip-tls-verify: true",
        "    token: t",
    );
    text.push_str("- name: cloud\n  user:\n    exec:\n      command: aws\n");
    load_one(dir.path(), &text).expect("the exec user is not used");
}

#[test]
fn a_missing_or_unknown_current_context_is_an_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = kubeconfig("    server: https://h:1", "    token: t")
        .replace("current-context: main\n", "");
    let err = load_one(dir.path(), &text).err().expect("no context");
    assert!(err.contains("no current-context is set"), "{err}");
    let text = kubeconfig("    server: https://h:1", "    token: t")
        .replace("current-context: main", "current-context: other");
    let err = load_one(dir.path(), &text).err().expect("unknown context");
    assert!(
        err.contains(r#"current-context "other" is not defined under contexts"#),
        "{err}"
    );
    let err = load_one(dir.path(), "current-context: x\nclusters: {}\n")
        .err()
        .expect("shape");
    assert!(err.contains("clusters is not a list"), "{err}");
    let err = load_one(dir.path(), "a: [").err().expect("yaml");
    assert!(err.contains("not a kubeconfig YAML document"), "{err}");
}

#[test]
fn merged_files_take_the_first_current_context_and_the_first_entry_of_each_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = write(
        dir.path(),
        "first",
        "users:\n- name: u\n  user:\n    token: from-first\n",
    );
    let second = write(
        dir.path(),
        "second",
        &kubeconfig(
            "    server: https://second:1\n    insecure-skip-tls-verify: true",
            "    token: from-second",
        ),
    );
    let config = load(&[first, second]).expect("merged");
    assert_eq!(config.server, "https://second:1");
    assert_eq!(auth_header(&config).as_deref(), Some("Bearer from-first"));
}

#[test]
fn a_bad_server_or_missing_file_names_the_key() {
    let dir = tempfile::tempdir().expect("tempdir");
    let err = load_one(
        dir.path(),
        &kubeconfig("    server: ftp://h", "    token: t"),
    )
    .err()
    .expect("scheme");
    assert!(
        err.contains(r#"clusters[name="c"].cluster.server "ftp://h" is not an https://"#),
        "{err}"
    );
    let err = load_one(
        dir.path(),
        &kubeconfig(
            "    server: https://h:1\n    certificate-authority: missing.pem",
            "    token: t",
        ),
    )
    .err()
    .expect("missing ca");
    assert!(err.contains("missing.pem"), "{err}");
}

#[test]
fn token_and_token_file_together_are_refused_naming_both() {
    let dir = tempfile::tempdir().expect("tempdir");
    write(dir.path(), "token", "from-file");
    let text = kubeconfig(
        &format!(
            "    server: https://h:1\n    certificate-authority-data: {}",
            b64(CA)
        ),
        "    token: fixed\n    tokenFile: token",
    );
    let Err(err) = load_one(dir.path(), &text) else {
        panic!("token with tokenFile was accepted");
    };
    assert!(err.contains("sets both token and tokenFile"), "{err}");
}
