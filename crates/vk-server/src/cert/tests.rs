use super::*;

fn pair(name: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("key");
    let cert = rcgen::CertificateParams::new(vec![name.to_owned()])
        .expect("params")
        .self_signed(&key)
        .expect("cert");
    (cert.pem(), key.serialize_pem())
}

fn write(dir: &Path, (cert, key): &(String, String)) -> CertFiles {
    let files = CertFiles {
        cert: dir.join("tls.crt"),
        key: dir.join("tls.key"),
    };
    std::fs::write(&files.cert, cert).expect("write cert");
    std::fs::write(&files.key, key).expect("write key");
    files
}

#[test]
fn loads_swaps_and_keeps_old_on_bad_input() {
    let dir = tempfile::tempdir().expect("tempdir");
    let first = pair("first.test");
    let files = write(dir.path(), &first);
    let mut watcher = CertWatcher::load(files.clone()).expect("load");
    let resolver = watcher.resolver();
    let original = resolver.current().cert[0].clone();
    assert!(
        !watcher.poll_once().expect("unchanged"),
        "no change, no swap"
    );

    // Key from another pair: rejected, old certificate stays.
    let second = pair("second.test");
    std::fs::write(&files.cert, &second.0).expect("write");
    let err = watcher.poll_once().expect_err("mismatch");
    assert!(matches!(err, CertError::Unusable { .. }), "{err:?}");
    assert_eq!(resolver.current().cert[0], original);

    // Completing the rotation swaps.
    std::fs::write(&files.key, &second.1).expect("write");
    assert!(watcher.poll_once().expect("swap"));
    assert_ne!(resolver.current().cert[0], original);
}

#[test]
fn errors_name_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let files = write(dir.path(), &pair("x.test"));
    std::fs::write(&files.key, "not pem").expect("write");
    let err = CertWatcher::load(files.clone()).expect_err("no key");
    assert!(err.to_string().contains("tls.key"), "{err}");
    let missing = CertFiles {
        cert: dir.path().join("absent.crt"),
        key: files.key,
    };
    let err = CertWatcher::load(missing).expect_err("missing");
    assert!(err.to_string().contains("absent.crt"), "{err}");
}
