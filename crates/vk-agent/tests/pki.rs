//! PKI through the agent process against a real OpenBao: `pkiCert` renders a certificate that
//! `openssl verify` accepts, reuses it from the destination file across runs, re-issues it
//! before expiry in sidecar mode; `secret "pki/issue/…"` issues on every fetch.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use vk_test_utils::DevServer;
use vk_test_utils::util::{eventually, run_with_timeout};

fn agent_bin() -> PathBuf {
    vk_test_utils::agent_example()
}

fn agent_command(config: &Path) -> Command {
    let mut cmd = Command::new(agent_bin());
    cmd.arg(format!("-config={}", config.display()))
        .env_remove("VAULT_ADDR")
        .env_remove("VAULT_CONFIG");
    cmd
}

/// Kills the agent if a test fails before it exits.
struct KillOnDrop(std::process::Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// A dev server with a PKI engine: a root CA generated in OpenBao and a role `web` for
/// `*.example.com` whose certificates live at most one hour (templates ask for less).
fn pki_server() -> (DevServer, String) {
    let dev = DevServer::start().unwrap();
    dev.cli_ok(&["secrets", "enable", "pki"]).unwrap();
    dev.cli_ok(&["secrets", "tune", "-max-lease-ttl=87600h", "pki"])
        .unwrap();
    let ca = dev
        .cli_ok(&[
            "write",
            "-field=certificate",
            "pki/root/generate/internal",
            "common_name=vk-test-root",
            "ttl=87600h",
        ])
        .unwrap();
    dev.cli_ok(&[
        "write",
        "pki/roles/web",
        "allowed_domains=example.com",
        "allow_subdomains=true",
        "ttl=30s",
        "max_ttl=1h",
    ])
    .unwrap();
    (dev, format!("{}\n", ca.trim()))
}

/// The PEM blocks of a file, in order, each with its trailing newline.
fn pem_blocks(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(start) = rest.find("-----BEGIN ") {
        let after = &rest[start..];
        let Some(end_marker) = after.find("-----END ") else {
            break;
        };
        let Some(close) = after[end_marker + 9..].find("-----") else {
            break;
        };
        let end = end_marker + 9 + close + 5;
        out.push(format!("{}\n", &after[..end]));
        rest = &after[end..];
    }
    out
}

/// Serial (hex) and NotAfter (Unix seconds) of the first certificate in `pem`.
fn serial_and_not_after(pem: &str) -> (String, i64) {
    let block = pem_blocks(pem)
        .into_iter()
        .find(|b| b.starts_with("-----BEGIN CERTIFICATE-----"))
        .expect("a certificate block");
    let (_, parsed) = x509_parser::pem::parse_x509_pem(block.as_bytes()).unwrap();
    let cert = parsed.parse_x509().unwrap();
    (
        cert.raw_serial_as_string(),
        cert.validity().not_after.timestamp(),
    )
}

fn now_unix() -> i64 {
    i64::try_from(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs(),
    )
    .unwrap()
}

/// How many certificates the PKI mount has issued (the CA included).
fn issued_count(dev: &DevServer) -> usize {
    let out = dev.cli_ok(&["list", "-format=json", "pki/certs"]).unwrap();
    serde_json::from_str::<Vec<String>>(&out).unwrap().len()
}

fn openssl_verify(ca_file: &Path, cert_file: &Path) {
    let out = Command::new("openssl")
        .arg("verify")
        .arg("-CAfile")
        .arg(ca_file)
        .arg(cert_file)
        .output()
        .expect("running openssl");
    assert!(
        out.status.success(),
        "openssl verify failed: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

fn config(addr: &str, d: &Path, exit_after_auth: bool, ttl: &str, extra: &str) -> String {
    format!(
        r#"
exit_after_auth = {exit_after_auth}
vault {{ address = "{addr}" }}
auto_auth {{
  method "token_file" {{ config {{ token_file_path = "{d}/token" }} }}
  sink "file" {{ config {{ path = "{d}/sink" }} }}
}}
template_config {{ exit_on_retry_failure = true }}
template {{
  contents = "{{{{ with pkiCert \"pki/issue/web\" \"common_name=app.example.com\" \"ttl={ttl}\" }}}}{{{{ .Cert }}}}{{{{ .Key }}}}{{{{ .CA }}}}{{{{ end }}}}"
  destination = "{d}/certs/app.pem"
  perms = "0600"
  command = "echo pki >> {d}/pki-changes"
}}
{extra}
"#,
        d = d.display()
    )
}

fn secret_issue_template(d: &Path, ttl: &str) -> String {
    format!(
        r#"
template {{
  contents = "{{{{ with secret \"pki/issue/web\" \"common_name=other.example.com\" \"ttl={ttl}\" }}}}{{{{ .Data.certificate }}}}{{{{ end }}}}"
  destination = "{d}/certs/secret.pem"
  command = "echo secret >> {d}/secret-changes"
}}
"#,
        d = d.display()
    )
}

fn lines(path: &Path) -> usize {
    std::fs::read_to_string(path)
        .map(|s| s.lines().count())
        .unwrap_or(0)
}

#[test]
fn pki_cert_verifies_and_is_reused_from_the_file_across_init_runs() {
    let (dev, ca) = pki_server();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("token"), dev.root_token()).unwrap();
    let cfg = d.join("agent.hcl");
    std::fs::write(
        &cfg,
        config(dev.addr(), d, true, "10m", &secret_issue_template(d, "10m")),
    )
    .unwrap();
    let dest = d.join("certs/app.pem");

    let out = run_with_timeout(&mut agent_command(&cfg), Duration::from_secs(60)).unwrap();
    assert!(out.success(), "agent failed: {}", out.stderr_str());
    let first = std::fs::read_to_string(&dest).unwrap();
    let blocks = pem_blocks(&first);
    assert_eq!(blocks.len(), 3, "cert + key + CA: {}", blocks.len());
    assert!(blocks[0].starts_with("-----BEGIN CERTIFICATE-----"));
    assert!(blocks[1].contains("PRIVATE KEY-----"));
    assert_eq!(blocks[2], ca, "the CA block is OpenBao's root");
    assert_eq!(vk_agent::file_mode(&dest).unwrap(), 0o600);
    let cert_file = d.join("leaf.pem");
    let ca_file = d.join("ca.pem");
    std::fs::write(&cert_file, &blocks[0]).unwrap();
    std::fs::write(&ca_file, &ca).unwrap();
    openssl_verify(&ca_file, &cert_file);
    // The key matches the certificate.
    let pubkey = |args: &[&str], input: &str| {
        let p = d.join("in.pem");
        std::fs::write(&p, input).unwrap();
        let o = Command::new("openssl")
            .args(args)
            .arg("-in")
            .arg(&p)
            .output()
            .unwrap();
        assert!(o.status.success(), "{}", String::from_utf8_lossy(&o.stderr));
        o.stdout
    };
    assert_eq!(
        pubkey(&["x509", "-noout", "-pubkey"], &blocks[0]),
        pubkey(&["pkey", "-pubout"], &blocks[1])
    );
    assert_eq!(lines(&d.join("pki-changes")), 1);
    let (serial, _) = serial_and_not_after(&first);
    let secret_first = std::fs::read_to_string(d.join("certs/secret.pem")).unwrap();
    let issued = issued_count(&dev);

    // Second init run with the file still fresh: no new certificate for pkiCert, the file and
    // its command untouched; `secret "pki/issue/…"` issues again (spec §6.2 vs §6.5).
    let out = run_with_timeout(&mut agent_command(&cfg), Duration::from_secs(60)).unwrap();
    assert!(out.success(), "agent failed: {}", out.stderr_str());
    let second = std::fs::read_to_string(&dest).unwrap();
    assert_eq!(serial_and_not_after(&second).0, serial, "same serial");
    assert_eq!(second, first);
    assert_eq!(
        lines(&d.join("pki-changes")),
        1,
        "no command without a change"
    );
    let secret_second = std::fs::read_to_string(d.join("certs/secret.pem")).unwrap();
    assert_ne!(
        serial_and_not_after(&secret_second).0,
        serial_and_not_after(&secret_first).0
    );
    assert_eq!(
        issued_count(&dev),
        issued + 1,
        "only the secret template issued"
    );
    assert!(
        !out.stderr_str().contains("PRIVATE KEY"),
        "key material in the logs"
    );

    // A file whose certificate is gone (here: only the key remains) is re-issued.
    std::fs::write(&dest, &blocks[1]).unwrap();
    let out = run_with_timeout(&mut agent_command(&cfg), Duration::from_secs(60)).unwrap();
    assert!(out.success(), "agent failed: {}", out.stderr_str());
    let third = std::fs::read_to_string(&dest).unwrap();
    assert_ne!(serial_and_not_after(&third).0, serial);
    assert_eq!(lines(&d.join("pki-changes")), 2);
}

#[test]
fn sidecar_reissues_before_expiry_and_runs_the_command_after_each_change() {
    let (dev, _ca) = pki_server();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    std::fs::write(d.join("token"), dev.root_token()).unwrap();
    let cfg = d.join("agent.hcl");
    // pkiCert: 30 s certificates (OpenBao backdates NotBefore by 30 s, so the renewal point at
    // 90 % of the 60 s lifespan lies 24 s after issue, 6 s before expiry). secret: 40 s
    // certificates, fetched again at 85–95 % of the remaining validity (2–6 s before expiry,
    // a margin a loaded CI machine cannot eat).
    std::fs::write(
        &cfg,
        config(
            dev.addr(),
            d,
            false,
            "30s",
            &secret_issue_template(d, "40s"),
        ),
    )
    .unwrap();
    let dest = d.join("certs/app.pem");
    let secret_dest = d.join("certs/secret.pem");
    let child = agent_command(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child);
    eventually(Duration::from_secs(30), || {
        dest.exists() && secret_dest.exists()
    })
    .unwrap();
    let first = std::fs::read_to_string(&dest).unwrap();
    let (serial, not_after) = serial_and_not_after(&first);
    let secret_first = std::fs::read_to_string(&secret_dest).unwrap();
    let (secret_serial, secret_not_after) = serial_and_not_after(&secret_first);
    // Commands run after the writes of a pass.
    eventually(Duration::from_secs(10), || {
        lines(&d.join("pki-changes")) == 1 && lines(&d.join("secret-changes")) == 1
    })
    .unwrap();

    // Both are replaced, each while the previous certificate is still valid: poll both files
    // together and note when each first changed.
    let changed = |path: &Path, old: &str| {
        std::fs::read_to_string(path)
            .is_ok_and(|s| !s.is_empty() && serial_and_not_after(&s).0 != old)
    };
    let (mut seen_at, mut secret_seen_at) = (None, None);
    eventually(Duration::from_secs(60), || {
        if seen_at.is_none() && changed(&dest, &serial) {
            seen_at = Some(now_unix());
        }
        if secret_seen_at.is_none() && changed(&secret_dest, &secret_serial) {
            secret_seen_at = Some(now_unix());
        }
        seen_at.is_some() && secret_seen_at.is_some()
    })
    .unwrap();
    assert!(
        seen_at.unwrap() <= not_after,
        "pkiCert re-issued only after expiry"
    );
    assert!(
        secret_seen_at.unwrap() <= secret_not_after,
        "secret re-issued only after expiry"
    );

    // The command runs once per change, never for unchanged content: the pkiCert file is
    // rendered again on every secret refresh but written only when its certificate changed.
    let second = std::fs::read_to_string(&dest).unwrap();
    let blocks = pem_blocks(&second);
    let cert_file = d.join("leaf.pem");
    std::fs::write(&cert_file, &blocks[0]).unwrap();
    std::fs::write(d.join("ca.pem"), &blocks[2]).unwrap();
    openssl_verify(&d.join("ca.pem"), &cert_file);
    eventually(Duration::from_secs(10), || {
        lines(&d.join("pki-changes")) >= 2
    })
    .unwrap();
    let pki_changes = lines(&d.join("pki-changes"));
    let distinct = {
        // Certificates issued for app.example.com: the CA and the secret template's are others.
        let out = dev.cli_ok(&["list", "-format=json", "pki/certs"]).unwrap();
        let serials: Vec<String> = serde_json::from_str(&out).unwrap();
        serials
            .iter()
            .filter(|s| {
                dev.cli_ok(&["read", "-field=certificate", &format!("pki/cert/{s}")])
                    .is_ok_and(|pem| cert_common_name(&pem) == "app.example.com")
            })
            .count()
    };
    assert!(
        pki_changes == distinct || pki_changes + 1 == distinct,
        "commands {pki_changes} vs certificates issued {distinct}"
    );
}

fn cert_common_name(pem: &str) -> String {
    let Ok((_, parsed)) = x509_parser::pem::parse_x509_pem(pem.trim().as_bytes()) else {
        return String::new();
    };
    let Ok(cert) = parsed.parse_x509() else {
        return String::new();
    };
    cert.subject()
        .iter_common_name()
        .next()
        .and_then(|cn| cn.as_str().ok())
        .unwrap_or_default()
        .to_string()
}

#[test]
fn reauthentication_reuses_the_file_and_a_refused_issue_fails_init() {
    let (dev, _ca) = pki_server();
    dev.write_policy(
        "pki",
        r#"path "pki/issue/web" { capabilities = ["create", "update"] }"#,
    )
    .unwrap();
    // Tokens that cannot be renewed past 4 s: the agent logs in again every few seconds.
    let role = vk_test_utils::AppRole::create(
        |a| dev.cli_ok(a),
        &[
            "token_policies=pki",
            "token_ttl=2s",
            "token_max_ttl=4s",
            "secret_id_num_uses=0",
        ],
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    role.write_files(d).unwrap();
    let method = format!(
        r#"method "approle" {{
    config {{
      role_id_file_path = "{d}/role-id"
      secret_id_file_path = "{d}/secret-id"
    }}
  }}"#,
        d = d.display()
    );
    let cfg_text = config(dev.addr(), d, false, "10m", "").replace(
        &format!(
            r#"method "token_file" {{ config {{ token_file_path = "{}/token" }} }}"#,
            d.display()
        ),
        &method,
    );
    assert!(cfg_text.contains("approle"), "{cfg_text}");
    let cfg = d.join("agent.hcl");
    std::fs::write(&cfg, &cfg_text).unwrap();
    let dest = d.join("certs/app.pem");
    let child = agent_command(&cfg)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let _guard = KillOnDrop(child);
    eventually(Duration::from_secs(30), || dest.exists()).unwrap();
    let first = std::fs::read_to_string(&dest).unwrap();
    let issued = issued_count(&dev);
    // Two new tokens later (each restarts the template engine, spec §6.9) the certificate is
    // still the one from the file: no new issue, no rewrite, no second command.
    let sink = d.join("sink");
    let mut tokens = vec![std::fs::read_to_string(&sink).unwrap()];
    eventually(Duration::from_secs(40), || {
        let t = std::fs::read_to_string(&sink).unwrap_or_default();
        if !t.is_empty() && !tokens.contains(&t) {
            tokens.push(t);
        }
        tokens.len() >= 3
    })
    .unwrap();
    assert_eq!(
        issued_count(&dev),
        issued,
        "a re-login issued a certificate"
    );
    assert_eq!(std::fs::read_to_string(&dest).unwrap(), first);
    assert_eq!(lines(&d.join("pki-changes")), 1);

    // A name the role does not allow: init fails with the dependency in the message.
    let bad = d.join("bad.hcl");
    std::fs::write(
        &bad,
        format!(
            r#"
exit_after_auth = true
vault {{
  address = "{addr}"
  retry {{ num_retries = -1 }}
}}
auto_auth {{
  method "token_file" {{ config {{ token_file_path = "{d}/token" }} }}
}}
template_config {{ exit_on_retry_failure = true }}
template {{
  contents = "{{{{ with pkiCert \"pki/issue/web\" \"common_name=app.not-allowed.org\" }}}}{{{{ .Cert }}}}{{{{ end }}}}"
  destination = "{d}/bad.pem"
}}
"#,
            addr = dev.addr(),
            d = d.display()
        ),
    )
    .unwrap();
    std::fs::write(d.join("token"), dev.root_token()).unwrap();
    let out = run_with_timeout(&mut agent_command(&bad), Duration::from_secs(60)).unwrap();
    assert_eq!(out.code(), Some(1), "{}", out.stderr_str());
    assert!(
        out.stderr_str().contains(&format!(
            "vault.pki(pki/issue/web->{}/bad.pem)",
            d.display()
        )),
        "{}",
        out.stderr_str()
    );
    assert!(!d.join("bad.pem").exists());
}
