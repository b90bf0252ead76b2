use super::*;

#[test]
fn versions_parse_exactly() {
    assert_eq!(TlsMinVersion::parse("tls12"), Ok(TlsMinVersion::Tls12));
    assert_eq!(TlsMinVersion::parse("tls13"), Ok(TlsMinVersion::Tls13));
    assert!(TlsMinVersion::parse("tls10").is_ok_and(TlsMinVersion::is_raised_to_tls12));
    let err = TlsMinVersion::parse("tls1000").expect_err("invalid");
    assert_eq!(
        err.to_string(),
        r#"invalid or unsupported TLS version "tls1000""#
    );
    assert!(TlsMinVersion::parse("TLS12").is_err());
}

#[test]
fn empty_suite_list_means_defaults() {
    assert_eq!(parse_cipher_suites(""), Ok(None));
}

#[test]
fn unknown_suite_names_use_upstream_message() {
    let err = parse_cipher_suites("suite1,suite2,suite3").expect_err("unknown");
    assert_eq!(
        err.to_string(),
        r#"failed to parse TLS cipher suites list "suite1,suite2,suite3": unsupported cipher "suite1""#
    );
    let err = parse_cipher_suites("TLS_AES_128_GCM_SHA256,").expect_err("empty item");
    assert!(
        err.to_string().ends_with(r#"unsupported cipher """#),
        "{err}"
    );
}

#[test]
fn suites_rustls_lacks_are_named_with_the_alternatives() {
    let err = parse_cipher_suites("TLS_RSA_WITH_AES_128_GCM_SHA256").expect_err("rsa kx");
    let msg = err.to_string();
    assert!(msg.contains("\"TLS_RSA_WITH_AES_128_GCM_SHA256\""), "{msg}");
    assert!(
        msg.contains("TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256"),
        "{msg}"
    );
}

#[test]
fn items_are_trimmed_deduplicated_and_tls13_names_accepted() {
    let suites = parse_cipher_suites(
        " TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305 ,TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,TLS_AES_128_GCM_SHA256",
    )
    .expect("valid")
    .expect("restricted");
    assert_eq!(
        suites,
        vec![provider::cipher_suite::TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256]
    );
}

#[test]
fn server_config_honours_floor_and_alpn() {
    #[derive(Debug)]
    struct NoCert;
    impl ResolvesServerCert for NoCert {
        fn resolve(
            &self,
            _: rustls::server::ClientHello<'_>,
        ) -> Option<Arc<rustls::sign::CertifiedKey>> {
            None
        }
    }
    let settings = TlsSettings {
        min_version: TlsMinVersion::Tls13,
        tls12_suites: None,
    };
    let config = settings.server_config(Arc::new(NoCert)).expect("config");
    assert_eq!(
        config.alpn_protocols,
        vec![b"h2".to_vec(), b"http/1.1".to_vec()]
    );
    assert!(
        config
            .crypto_provider()
            .cipher_suites
            .iter()
            .any(|s| s.version() == &rustls::version::TLS13)
    );
}
