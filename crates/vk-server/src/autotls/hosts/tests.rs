use super::*;

#[test]
fn items_are_trimmed_typed_and_deduplicated() {
    let hosts = AutoTlsHosts::parse(" svc , svc.ns.svc,127.0.0.1, ::1 ,svc").expect("valid");
    assert_eq!(
        hosts.hosts(),
        &[
            SanHost::Dns("svc".into()),
            SanHost::Dns("svc.ns.svc".into()),
            SanHost::Ip("127.0.0.1".parse().expect("ip")),
            SanHost::Ip("::1".parse().expect("ip")),
        ]
    );
}

#[test]
fn empty_list_names_the_flag() {
    for raw in ["", "  "] {
        let err = AutoTlsHosts::parse(raw).expect_err("empty");
        assert!(matches!(err, AutoTlsError::NoHosts), "{err:?}");
        assert!(
            err.to_string().starts_with("-tls-auto-hosts is empty"),
            "{err}"
        );
    }
}

#[test]
fn empty_item_names_its_position() {
    let err = AutoTlsHosts::parse("a.svc,,b.svc").expect_err("empty item");
    assert_eq!(
        err.to_string(),
        r#"-tls-auto-hosts "a.svc,,b.svc" has an empty item (number 2); remove the extra comma"#
    );
    assert!(AutoTlsHosts::parse("a.svc,").is_err());
}

#[test]
fn invalid_dns_name_is_named() {
    for bad in ["under_score!", "a b", "-lead.svc", "x..y"] {
        let err = AutoTlsHosts::parse(&format!("ok.svc,{bad}")).expect_err(bad);
        assert_eq!(
            err.to_string(),
            format!("-tls-auto-hosts item {bad:?} is neither an IP address nor a valid DNS name")
        );
    }
}

#[test]
fn same_set_ignores_order_and_duplicates() {
    let hosts = AutoTlsHosts::parse("a.svc,127.0.0.1").expect("valid");
    let ip = SanHost::Ip("127.0.0.1".parse().expect("ip"));
    let a = SanHost::Dns("a.svc".into());
    assert!(hosts.same_set(&[ip.clone(), a.clone(), a.clone()]));
    assert!(!hosts.same_set(std::slice::from_ref(&a)));
    assert!(!hosts.same_set(&[a, ip, SanHost::Dns("b.svc".into())]));
}

#[test]
fn service_style_names_and_ipv6_are_accepted() {
    let hosts = AutoTlsHosts::parse(
        "vault-agent-injector-svc,vault-agent-injector-svc.vault.svc.cluster.local,fd00::1",
    )
    .expect("valid");
    assert_eq!(hosts.hosts().len(), 3);
    assert_eq!(hosts.hosts()[2].to_string(), "fd00::1");
}
