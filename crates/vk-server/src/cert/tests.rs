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
    let original = resolver.current().expect("loaded").cert[0].clone();
    assert!(
        !watcher.poll_once().expect("unchanged"),
        "no change, no swap"
    );

    // Key from another pair: rejected, old certificate stays.
    let second = pair("second.test");
    std::fs::write(&files.cert, &second.0).expect("write");
    let err = watcher.poll_once().expect_err("mismatch");
    assert!(matches!(err, CertError::Unusable { .. }), "{err:?}");
    assert_eq!(resolver.current().expect("loaded").cert[0], original);

    // Completing the rotation swaps.
    std::fs::write(&files.key, &second.1).expect("write");
    assert!(watcher.poll_once().expect("swap"));
    assert_ne!(resolver.current().expect("loaded").cert[0], original);
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

mod empty_slot {
    use std::time::{Duration, SystemTime};

    use rustls::pki_types::{CertificateDer, ServerName};
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

    use super::*;
    use crate::autotls::{AutoTlsHosts, CaMaterial, Lifetimes};
    use crate::{TlsMinVersion, TlsSettings};

    fn client(ca: &CaMaterial) -> tokio_rustls::TlsConnector {
        let mut roots = rustls::RootCertStore::empty();
        roots
            .add(CertificateDer::from(ca.der().to_vec()))
            .expect("root");
        let mut config =
            rustls::ClientConfig::builder_with_provider(Arc::new(provider::default_provider()))
                .with_safe_default_protocol_versions()
                .expect("versions")
                .with_root_certificates(roots)
                .with_no_client_auth();
        config.alpn_protocols = vec![b"http/1.1".to_vec()];
        tokio_rustls::TlsConnector::from(Arc::new(config))
    }

    /// Handshake with `addr` as `svc.ns.svc`, then GET /; the status line on success.
    async fn get(
        connector: &tokio_rustls::TlsConnector,
        addr: std::net::SocketAddr,
    ) -> Result<String, String> {
        let tcp = tokio::net::TcpStream::connect(addr)
            .await
            .map_err(|e| e.to_string())?;
        let name = ServerName::try_from("svc.ns.svc").expect("name");
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| e.to_string())?;
        tls.write_all(b"GET / HTTP/1.1\r\nHost: svc.ns.svc\r\nConnection: close\r\n\r\n")
            .await
            .map_err(|e| e.to_string())?;
        let mut response = Vec::new();
        tls.read_to_end(&mut response)
            .await
            .map_err(|e| e.to_string())?;
        let text = String::from_utf8_lossy(&response);
        Ok(text.lines().next().unwrap_or_default().to_owned())
    }

    #[tokio::test]
    async fn handshakes_fail_until_a_certificate_is_installed() {
        let lifetimes = Lifetimes::default();
        let now = SystemTime::now();
        let ca = CaMaterial::generate(now, &lifetimes).expect("ca");
        let hosts = AutoTlsHosts::parse("svc,svc.ns,svc.ns.svc").expect("hosts");
        let leaf = ca.issue_leaf(&hosts, now, &lifetimes).expect("leaf");

        let slot = Arc::new(ReloadingCert::empty());
        assert!(!slot.is_loaded());
        assert!(slot.current().is_none());
        let mut loaded = slot.loaded();
        assert!(!*loaded.borrow_and_update());

        let settings = TlsSettings {
            min_version: TlsMinVersion::Tls12,
            tls12_suites: None,
        };
        let config = Arc::new(settings.server_config(slot.clone()).expect("config"));
        let bound = crate::bind("127.0.0.1:0").await.expect("bind");
        let addr = bound.local_addr();
        let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
        let app = axum::Router::new().route("/", axum::routing::get(|| async { "hello" }));
        let server = tokio::spawn(bound.serve(
            app,
            config,
            async {
                let _ = stopped.await;
            },
            Duration::from_secs(5),
        ));

        let connector = client(&ca);
        let err = get(&connector, addr).await.expect_err("no certificate yet");
        assert!(!err.is_empty());

        // A pair that does not match is rejected and the slot stays empty.
        let other = ca.issue_leaf(&hosts, now, &lifetimes).expect("leaf");
        let err = slot
            .install(&leaf.cert_pem, &other.key_pem)
            .expect_err("mismatch");
        assert!(matches!(err, CertError::InstallKeyMismatch), "{err:?}");
        assert_eq!(
            err.to_string(),
            "the private key to install does not belong to the certificate to install"
        );
        let err = slot.install("", &leaf.key_pem).expect_err("no cert");
        assert!(matches!(err, CertError::InstallNoCertificate), "{err:?}");
        let err = slot.install(&leaf.cert_pem, "junk").expect_err("no key");
        assert!(matches!(err, CertError::InstallNoKey), "{err:?}");
        assert!(!slot.is_loaded());
        assert_eq!((slot.reloads(), slot.not_after_unix()), (0, None));
        assert!(get(&connector, addr).await.is_err());

        slot.install(&leaf.cert_pem, &leaf.key_pem)
            .expect("install");
        assert!(slot.is_loaded());
        tokio::time::timeout(Duration::from_secs(5), loaded.changed())
            .await
            .expect("loaded changes")
            .expect("sender alive");
        assert!(*loaded.borrow());
        let status = get(&connector, addr).await.expect("verified handshake");
        assert_eq!(status, "HTTP/1.1 200 OK");

        // A renewed leaf replaces the served one.
        let served = slot.current().expect("loaded").cert[0].clone();
        let renewed = ca.issue_leaf(&hosts, now, &lifetimes).expect("leaf");
        slot.install(&renewed.cert_pem, &renewed.key_pem)
            .expect("install renewed");
        let now_served = slot.current().expect("loaded").cert[0].clone();
        assert_ne!(now_served, served);
        assert_eq!(now_served.as_ref(), renewed.der());
        // The first certificate is a load, the second one a reload.
        assert_eq!(slot.reloads(), 1);
        let expiry = slot.not_after_unix().expect("leaf expiry");
        let until = lifetimes.leaf.as_secs() as i64;
        let now_unix = now
            .duration_since(std::time::UNIX_EPOCH)
            .expect("after epoch")
            .as_secs() as i64;
        assert!(
            (expiry - (now_unix + until)).abs() < 120,
            "not_after {expiry}, issued {now_unix} for {until} s"
        );
        assert_eq!(
            get(&connector, addr).await.expect("renewed"),
            "HTTP/1.1 200 OK"
        );

        // A client trusting another CA still refuses the server.
        let stranger = CaMaterial::generate(now, &lifetimes).expect("ca");
        let err = get(&client(&stranger), addr).await.expect_err("untrusted");
        assert!(err.contains("certificate"), "{err}");

        let _ = stop.send(());
        server.await.expect("join").expect("drained");
    }

    #[test]
    fn file_mode_slot_is_loaded_from_the_start() {
        let dir = tempfile::tempdir().expect("tempdir");
        let files = write(dir.path(), &pair("file.test"));
        let watcher = CertWatcher::load(files).expect("load");
        let resolver = watcher.resolver();
        assert!(resolver.is_loaded());
        assert!(*resolver.loaded().borrow());
    }
}
