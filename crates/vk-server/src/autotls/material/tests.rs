use std::path::Path;
use std::process::Command;

use x509_parser::certificate::X509Certificate;
use x509_parser::extensions::ParsedExtension;
use x509_parser::prelude::FromDer as _;

use super::*;

fn t0() -> SystemTime {
    // A fixed, whole-second instant so validity bounds are exact.
    SystemTime::UNIX_EPOCH + Duration::from_secs(1_800_000_000)
}

fn hosts() -> AutoTlsHosts {
    AutoTlsHosts::parse("127.0.0.1,localhost,svc.ns.svc").expect("hosts")
}

fn openssl(dir: &Path, args: &[&str]) -> std::process::Output {
    Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("openssl must be on PATH for this test")
}

#[test]
fn ca_has_upstream_shape() {
    let lifetimes = Lifetimes::default();
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    assert_eq!(ca.not_before, t0() - Duration::from_secs(60));
    assert_eq!(ca.not_after, t0() + Duration::from_secs(3650 * 24 * 3600));
    assert!(
        ca.key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"),
        "{}",
        ca.key_pem
    );
    assert!(!ca.key_id().is_empty());

    let (_, cert) = X509Certificate::from_der(ca.der()).expect("x509");
    assert_eq!(cert.subject().to_string(), "CN=Agent Inject CA");
    assert_eq!(cert.issuer().to_string(), "CN=Agent Inject CA");
    assert!(cert.is_ca());
    let usage = cert.key_usage().expect("ku").expect("present").value;
    assert!(usage.key_cert_sign() && usage.digital_signature());
    assert!(
        cert.extended_key_usage()
            .expect("eku")
            .expect("present")
            .value
            .server_auth
    );
    let serial = cert.raw_serial();
    assert!(
        serial.len() <= 20,
        "serial below 2^159 fits 20 bytes: {serial:?}"
    );
    assert!(cert.verify_signature(None).is_ok(), "self-signed");
    assert_eq!(
        cert.public_key()
            .algorithm
            .parameters
            .as_ref()
            .and_then(|p| p.as_oid().ok()),
        Some(x509_parser::oid_registry::OID_EC_P256)
    );

    let other = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    assert_ne!(ca.der(), other.der());
    assert_ne!(ca.key_id(), other.key_id());
    let (_, other_cert) = X509Certificate::from_der(other.der()).expect("x509");
    assert_ne!(serial, other_cert.raw_serial(), "random serials");
}

#[test]
fn leaf_has_upstream_shape() {
    let lifetimes = Lifetimes::default();
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let now = t0() + Duration::from_secs(3600);
    let leaf = ca.issue_leaf(&hosts(), now, &lifetimes).expect("leaf");
    assert_eq!(leaf.not_before, now - Duration::from_secs(60));
    assert_eq!(leaf.not_after, now + Duration::from_secs(24 * 3600));
    assert!(
        leaf.key_pem.starts_with("-----BEGIN EC PRIVATE KEY-----\n"),
        "{}",
        leaf.key_pem
    );
    assert_eq!(leaf.sans(), hosts().hosts());
    assert_eq!(leaf.issuer_fingerprint, ca.key_id());
    assert!(leaf.is_issued_by(&ca));

    let (_, cert) = X509Certificate::from_der(leaf.der()).expect("x509");
    assert_eq!(cert.subject().to_string(), "CN=Agent Inject Service");
    assert_eq!(cert.issuer().to_string(), "CN=Agent Inject CA");
    assert!(!cert.is_ca());
    let usage = cert.key_usage().expect("ku").expect("present").value;
    assert!(usage.digital_signature() && usage.key_encipherment() && !usage.key_cert_sign());
    let eku = cert
        .extended_key_usage()
        .expect("eku")
        .expect("present")
        .value;
    assert!(eku.server_auth && !eku.client_auth);
    assert!(cert.extensions().iter().any(|e| matches!(
        e.parsed_extension(),
        ParsedExtension::AuthorityKeyIdentifier(_)
    )));
}

#[test]
fn leaf_is_not_issued_by_another_ca() {
    let lifetimes = Lifetimes::default();
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let other = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let leaf = ca.issue_leaf(&hosts(), t0(), &lifetimes).expect("leaf");
    assert!(!leaf.is_issued_by(&other), "same name, different key");
    assert_ne!(leaf.issuer_fingerprint, other.key_id());
}

#[test]
fn leaf_never_outlives_its_ca() {
    let lifetimes = Lifetimes {
        ca: Duration::from_secs(1000),
        leaf: Duration::from_secs(600),
    };
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let leaf = ca
        .issue_leaf(&hosts(), t0() + Duration::from_secs(900), &lifetimes)
        .expect("leaf");
    assert_eq!(leaf.not_after, ca.not_after);
    let err = ca
        .issue_leaf(&hosts(), ca.not_after, &lifetimes)
        .expect_err("expired CA");
    assert!(matches!(err, AutoTlsError::CaExpired { .. }), "{err:?}");
    assert!(err.to_string().contains("2027"), "names the expiry: {err}");
}

#[test]
fn short_lifetimes_keep_their_proportions() {
    let lifetimes = Lifetimes {
        ca: Duration::from_secs(100),
        leaf: Duration::from_secs(10),
    };
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    assert_eq!(ca.not_before, t0() - Duration::from_secs(10));
    let leaf = ca.issue_leaf(&hosts(), t0(), &lifetimes).expect("leaf");
    assert_eq!(leaf.not_before, t0() - Duration::from_secs(1));
    assert_eq!(leaf.not_after, t0() + Duration::from_secs(10));
    assert_eq!(leaf.renew_at(), t0() + Duration::from_millis(8900));
}

// Spec case 88: the generated pair verifies with OpenSSL for hosts 127.0.0.1 and localhost.
#[test]
fn openssl_verifies_leaf_against_ca() {
    let lifetimes = Lifetimes::default();
    let now = SystemTime::now();
    let ca = CaMaterial::generate(now, &lifetimes).expect("ca");
    let leaf = ca
        .issue_leaf(
            &AutoTlsHosts::parse("127.0.0.1,localhost").expect("hosts"),
            now,
            &lifetimes,
        )
        .expect("leaf");
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("ca.pem"), &ca.cert_pem).expect("write");
    std::fs::write(dir.path().join("leaf.pem"), &leaf.cert_pem).expect("write");
    std::fs::write(dir.path().join("leaf.key"), &leaf.key_pem).expect("write");
    for extra in [
        &[][..],
        &["-verify_hostname", "localhost"],
        &["-verify_ip", "127.0.0.1"],
    ] {
        let mut args = vec!["verify", "-purpose", "sslserver", "-CAfile", "ca.pem"];
        args.extend_from_slice(extra);
        args.push("leaf.pem");
        let out = openssl(dir.path(), &args);
        assert!(
            out.status.success(),
            "{args:?}: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let out = openssl(
        dir.path(),
        &[
            "verify",
            "-CAfile",
            "ca.pem",
            "-verify_hostname",
            "elsewhere.example",
            "leaf.pem",
        ],
    );
    assert!(!out.status.success(), "a host not in the SANs must fail");
    // The SEC1 key is one OpenSSL reads as an EC key on P-256.
    let out = openssl(dir.path(), &["ec", "-in", "leaf.key", "-noout", "-text"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("prime256v1"));
}

#[test]
fn pem_round_trips() {
    let lifetimes = Lifetimes::default();
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let again = CaMaterial::from_pem(&ca.cert_pem, &ca.key_pem).expect("reload ca");
    assert_eq!(again, ca);
    assert_eq!(
        (again.not_before, again.not_after),
        (ca.not_before, ca.not_after)
    );
    let leaf = again
        .issue_leaf(&hosts(), t0(), &lifetimes)
        .expect("leaf from reloaded CA");
    assert!(leaf.is_issued_by(&ca));
    let leaf_again = LeafMaterial::from_pem(&leaf.cert_pem, &leaf.key_pem).expect("reload leaf");
    assert_eq!(leaf_again, leaf);
    assert_eq!(leaf_again.sans(), leaf.sans());
}

#[test]
fn pkcs8_keys_load_too() {
    let lifetimes = Lifetimes::default();
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let leaf = ca.issue_leaf(&hosts(), t0(), &lifetimes).expect("leaf");
    let dir = tempfile::tempdir().expect("tempdir");
    for (name, key) in [("ca.key", &ca.key_pem), ("leaf.key", &leaf.key_pem)] {
        std::fs::write(dir.path().join(name), key).expect("write");
    }
    let to_pkcs8 = |name: &str| {
        let out = openssl(dir.path(), &["pkcs8", "-topk8", "-nocrypt", "-in", name]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8(out.stdout).expect("utf8")
    };
    let ca_pkcs8 = to_pkcs8("ca.key");
    assert!(
        ca_pkcs8.starts_with("-----BEGIN PRIVATE KEY-----"),
        "{ca_pkcs8}"
    );
    let ca2 = CaMaterial::from_pem(&ca.cert_pem, &ca_pkcs8).expect("pkcs8 CA key");
    assert!(
        ca2.issue_leaf(&hosts(), t0(), &lifetimes)
            .expect("leaf")
            .is_issued_by(&ca)
    );
    LeafMaterial::from_pem(&leaf.cert_pem, &to_pkcs8("leaf.key")).expect("pkcs8 leaf key");
}

// What upstream leaves in Secret `vault-injector-certs`: a CERTIFICATE and a SEC1 key written by
// Go (same encoding as OpenSSL's `ecparam -genkey`: version, key, named curve, public key).
#[test]
fn secret_written_by_upstream_loads() {
    let dir = tempfile::tempdir().expect("tempdir");
    let steps: &[&[&str]] = &[
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "ca.key",
        ],
        &[
            "req",
            "-x509",
            "-new",
            "-key",
            "ca.key",
            "-subj",
            "/CN=Agent Inject CA",
            "-days",
            "3650",
            "-addext",
            "basicConstraints=critical,CA:TRUE",
            "-addext",
            "keyUsage=critical,keyCertSign,digitalSignature",
            "-out",
            "ca.pem",
        ],
        &[
            "ecparam",
            "-name",
            "prime256v1",
            "-genkey",
            "-noout",
            "-out",
            "leaf.key",
        ],
        &[
            "req",
            "-new",
            "-key",
            "leaf.key",
            "-subj",
            "/CN=Agent Inject Service",
            "-out",
            "leaf.csr",
        ],
        &[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-days",
            "1",
            "-extfile",
            "san.ext",
            "-out",
            "leaf.pem",
        ],
    ];
    std::fs::write(
        dir.path().join("san.ext"),
        "subjectAltName=DNS:svc.ns.svc,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write");
    for args in steps {
        let out = openssl(dir.path(), args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let read = |name: &str| std::fs::read_to_string(dir.path().join(name)).expect("read");
    let leaf_key = read("leaf.key");
    assert!(
        leaf_key.starts_with("-----BEGIN EC PRIVATE KEY-----"),
        "{leaf_key}"
    );
    let leaf = LeafMaterial::from_pem(&read("leaf.pem"), &leaf_key).expect("upstream leaf");
    assert_eq!(
        leaf.sans(),
        AutoTlsHosts::parse("svc.ns.svc,127.0.0.1")
            .expect("hosts")
            .hosts()
    );
    let ca = CaMaterial::from_pem(&read("ca.pem"), &read("ca.key")).expect("upstream-style CA");
    assert!(leaf.is_issued_by(&ca));
    // Our slot serves it as is.
    crate::ReloadingCert::empty()
        .install(read("leaf.pem"), &leaf_key)
        .expect("install");
    // And a CA loaded from such a Secret issues leaves OpenSSL accepts.
    let ours = ca
        .issue_leaf(&hosts(), SystemTime::now(), &Lifetimes::default())
        .expect("leaf");
    std::fs::write(dir.path().join("ours.pem"), &ours.cert_pem).expect("write");
    let out = openssl(dir.path(), &["verify", "-CAfile", "ca.pem", "ours.pem"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn bad_material_is_named() {
    let lifetimes = Lifetimes::default();
    let ca = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let other = CaMaterial::generate(t0(), &lifetimes).expect("ca");
    let leaf = ca.issue_leaf(&hosts(), t0(), &lifetimes).expect("leaf");

    let err = CaMaterial::from_pem(&ca.cert_pem, &other.key_pem).expect_err("mismatch");
    assert_eq!(
        err.to_string(),
        "the CA private key does not belong to the CA certificate"
    );
    let err = LeafMaterial::from_pem(&leaf.cert_pem, &ca.key_pem).expect_err("mismatch");
    assert_eq!(
        err.to_string(),
        "the serving private key does not belong to the serving certificate"
    );
    let err = CaMaterial::from_pem(&leaf.cert_pem, &leaf.key_pem).expect_err("not a CA");
    assert!(matches!(err, AutoTlsError::NotCa { .. }), "{err:?}");
    let err = CaMaterial::from_pem("not pem", &ca.key_pem).expect_err("no cert");
    assert_eq!(
        err.to_string(),
        "no CERTIFICATE block in the CA certificate PEM"
    );
    let err = CaMaterial::from_pem(&ca.cert_pem, &ca.cert_pem).expect_err("no key");
    assert_eq!(
        err.to_string(),
        "no private key block (EC PRIVATE KEY or PRIVATE KEY) in the CA key PEM"
    );
    let garbled = "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n";
    let err = LeafMaterial::from_pem(garbled, &leaf.key_pem).expect_err("bad x509");
    assert!(
        matches!(
            err,
            AutoTlsError::BadCertificate {
                what: "serving",
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        !format!("{ca:?}{leaf:?}").contains("PRIVATE"),
        "Debug never shows keys"
    );
}
