use std::collections::HashMap;

use super::*;

fn args(list: &[&str]) -> Vec<String> {
    list.iter().map(|s| (*s).to_owned()).collect()
}

fn resolve(
    cli: &[&str],
    env: &[(&str, &str)],
    purpose: Purpose,
) -> Result<InjectorConfig, ConfigError> {
    let values = parse_inject_flags(&args(cli)).expect("flags parse");
    let env: HashMap<String, String> = env
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    InjectorConfig::resolve(values, &|name| env.get(name).cloned(), purpose)
}

const SERVE: &[&str] = &[
    "-vault-address=http://vault:8200",
    "-tls-cert-file=c.pem",
    "-tls-key-file=k.pem",
];

#[test]
fn go_flag_spellings_are_all_accepted() {
    let values = parse_inject_flags(&args(&[
        "-listen=:1",
        "--log-level",
        "debug",
        "-vault-image",
        "-odd-but-legal",
        "--revoke-on-shutdown",
        "-set-security-context=false",
        "-run-as-same-user=1",
        "2>&1",
        "-undefined-after-positional",
    ]))
    .expect("parse");
    assert_eq!(values.listen, ":1");
    assert_eq!(values.log_level, "debug");
    assert_eq!(values.vault_image, "-odd-but-legal");
    assert!(values.revoke_on_shutdown);
    assert!(!values.set_security_context);
    assert!(values.run_as_same_user);
    assert_eq!(values.cpu_limit, "500m", "untouched flags keep defaults");
}

#[test]
fn go_flag_errors_use_go_messages() {
    let err = |a: &[&str]| parse_inject_flags(&args(a)).expect_err("error").to_string();
    assert_eq!(err(&["-nope"]), "flag provided but not defined: -nope");
    assert_eq!(err(&["-listen"]), "flag needs an argument: -listen");
    assert_eq!(
        err(&["-revoke-on-shutdown=yes"]),
        r#"invalid boolean value "yes" for -revoke-on-shutdown: parse error"#
    );
    assert_eq!(err(&["---x"]), "bad flag syntax: ---x");
    // `-bool false` stops parsing at `false`; the later flag is ignored, not an error.
    let values = parse_inject_flags(&args(&["-revoke-on-shutdown", "false", "-nope"])).expect("ok");
    assert!(values.revoke_on_shutdown);
    // `--` ends flags.
    assert!(parse_inject_flags(&args(&["--", "-nope"])).is_ok());
}

#[test]
fn defaults_match_upstream() {
    let cfg = resolve(SERVE, &[], Purpose::Serve).expect("valid");
    assert_eq!(
        cfg.settings,
        InjectorSettings {
            vault_address: "http://vault:8200".into(),
            ..InjectorSettings::default()
        }
    );
    assert_eq!(cfg.listen, ":8080");
    assert_eq!(cfg.log_level, LogLevel::Info);
    assert_eq!(cfg.log_format, LogFormat::Standard);
    assert!(cfg.telemetry_path.is_none());
    let tls = cfg.tls.expect("serve has tls");
    assert_eq!(tls.settings.min_version, TlsMinVersion::Tls12);
    assert!(tls.settings.tls12_suites.is_none());
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
}

#[test]
fn environment_sets_every_setting_verbatim() {
    // Spec §7.10 case 84 (cipher suites replaced by ones rustls implements, see configuration.md).
    let env = [
        ("AGENT_INJECT_LISTEN", ":9443"),
        ("AGENT_INJECT_VAULT_ADDR", "http://vault:8200"),
        ("AGENT_INJECT_VAULT_CACERT_BYTES", "foo"),
        ("AGENT_INJECT_PROXY_ADDR", "http://proxy:3128"),
        ("AGENT_INJECT_VAULT_AUTH_PATH", "auth-path-test"),
        ("AGENT_INJECT_VAULT_IMAGE", "hashicorp/vault:2.0.4"),
        ("AGENT_INJECT_VAULT_NAMESPACE", "test-namespace"),
        ("AGENT_INJECT_TLS_KEY_FILE", "server.key"),
        ("AGENT_INJECT_TLS_CERT_FILE", "server.crt"),
        ("AGENT_INJECT_TLS_CA_CERT_FILE", "cacert.crt"),
        ("AGENT_INJECT_LOG_LEVEL", "debug"),
        ("AGENT_INJECT_LOG_FORMAT", "json"),
        ("AGENT_INJECT_RUN_AS_USER", "1000"),
        ("AGENT_INJECT_RUN_AS_GROUP", "1001"),
        ("AGENT_INJECT_TELEMETRY_PATH", "/metrics"),
        ("AGENT_INJECT_DEFAULT_TEMPLATE", "json"),
        ("AGENT_INJECT_CPU_REQUEST", "10m"),
        ("AGENT_INJECT_MEM_REQUEST", "256m"),
        ("AGENT_INJECT_CPU_LIMIT", "1000m"),
        ("AGENT_INJECT_MEM_LIMIT", "256m"),
        ("AGENT_INJECT_EPHEMERAL_REQUEST", "1Gi"),
        ("AGENT_INJECT_EPHEMERAL_LIMIT", "2Gi"),
        ("AGENT_INJECT_TEMPLATE_STATIC_SECRET_RENDER_INTERVAL", "12s"),
        ("AGENT_INJECT_TLS_MIN_VERSION", "tls13"),
        (
            "AGENT_INJECT_TLS_CIPHER_SUITES",
            "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
        ),
        ("AGENT_INJECT_AUTH_MIN_BACKOFF", "5s"),
        ("AGENT_INJECT_AUTH_MAX_BACKOFF", "5s"),
        (
            "AGENT_INJECT_DISABLE_IDLE_CONNECTIONS",
            "auto-auth,caching,templating",
        ),
        (
            "AGENT_INJECT_DISABLE_KEEP_ALIVES",
            "auto-auth,caching,templating",
        ),
        ("AGENT_INJECT_REVOKE_ON_SHUTDOWN", "true"),
        ("AGENT_INJECT_RUN_AS_SAME_USER", "true"),
        ("AGENT_INJECT_SET_SECURITY_CONTEXT", "false"),
        (
            "AGENT_INJECT_TEMPLATE_CONFIG_EXIT_ON_RETRY_FAILURE",
            "false",
        ),
        ("AGENT_INJECT_TEMPLATE_MAX_CONNECTIONS_PER_HOST", "100"),
    ];
    // Flags are overridden by the environment.
    let cfg = resolve(
        &["-listen=:1", "-vault-address=http://flag"],
        &env,
        Purpose::Serve,
    )
    .expect("valid");
    let s = &cfg.settings;
    assert_eq!(cfg.listen, ":9443");
    assert_eq!(s.vault_address, "http://vault:8200");
    assert_eq!(s.vault_cacert_bytes, "foo");
    assert_eq!(s.proxy_address, "http://proxy:3128");
    assert_eq!(s.vault_auth_path, "auth-path-test");
    assert_eq!(s.vault_namespace, "test-namespace");
    assert_eq!(
        (s.run_as_user.as_str(), s.run_as_group.as_str()),
        ("1000", "1001")
    );
    assert_eq!(s.default_template, "json");
    assert_eq!(
        (s.cpu_request.as_str(), s.memory_request.as_str()),
        ("10m", "256m")
    );
    assert_eq!(
        (s.cpu_limit.as_str(), s.memory_limit.as_str()),
        ("1000m", "256m")
    );
    assert_eq!(
        (s.ephemeral_request.as_str(), s.ephemeral_limit.as_str()),
        ("1Gi", "2Gi")
    );
    assert_eq!(s.static_secret_render_interval, "12s");
    assert_eq!(
        (s.auth_min_backoff.as_str(), s.auth_max_backoff.as_str()),
        ("5s", "5s")
    );
    assert_eq!(s.disable_idle_connections, "auto-auth,caching,templating");
    assert_eq!(s.disable_keep_alives, "auto-auth,caching,templating");
    assert!(s.revoke_on_shutdown && s.run_as_same_user);
    assert!(!s.set_security_context && !s.exit_on_retry_failure);
    assert_eq!(s.max_connections_per_host, 100);
    assert_eq!(cfg.log_level, LogLevel::Debug);
    assert_eq!(cfg.log_format, LogFormat::Json);
    assert_eq!(cfg.telemetry_path.as_deref(), Some("/metrics"));
    let tls = cfg.tls.expect("tls");
    assert_eq!(
        tls.source,
        TlsSource::Files(CertFiles {
            cert: "server.crt".into(),
            key: "server.key".into()
        })
    );
    assert_eq!(tls.settings.min_version, TlsMinVersion::Tls13);
    assert_eq!(tls.settings.tls12_suites.as_ref().map(Vec::len), Some(2));
    assert_eq!(
        cfg.warnings.len(),
        1,
        "the CA file is ignored with a warning: {:?}",
        cfg.warnings
    );
}

#[test]
fn empty_env_is_unset_and_fallback_names_apply() {
    let env = [
        ("AGENT_INJECT_LISTEN", ""),
        ("AGENT_INJECT_TLS_CERT_FILE", ""),
        ("TLS_CERT_FILE", "fallback.crt"),
    ];
    let cfg = resolve(
        &["-listen=:7", "-vault-address=x", "-tls-key-file=k"],
        &env,
        Purpose::Serve,
    )
    .expect("valid");
    assert_eq!(cfg.listen, ":7");
    let TlsSource::Files(files) = cfg.tls.expect("tls").source else {
        panic!("file mode expected");
    };
    assert_eq!(files.cert, PathBuf::from("fallback.crt"));
}

#[test]
fn validation_order_and_messages() {
    let msg = |cli: &[&str], env: &[(&str, &str)]| {
        vk_telemetry::ErrorChain(&resolve(cli, env, Purpose::Serve).expect_err("invalid"))
            .to_string()
    };
    // Env errors win over a missing address.
    assert_eq!(
        msg(&[], &[("AGENT_INJECT_USE_LEADER_ELECTOR", "yes")]),
        r#"Error parsing environment variables: cannot parse '' as bool: strconv.ParseBool: parsing "yes": invalid syntax"#
    );
    // Go's time.ParseDuration names an unknown unit (checked against `bao agent`, which
    // reports `time: unknown unit "x" in duration "5x"` for `min_backoff = "5x"`).
    assert_eq!(
        msg(&["-auth-min-backoff=5d"], &[]),
        r#"Error parsing environment variables: time: unknown unit "d" in duration "5d""#
    );
    assert_eq!(
        msg(&["-auth-max-backoff=x"], &[]),
        r#"Error parsing environment variables: time: invalid duration "x""#
    );
    assert_eq!(
        msg(
            &[],
            &[("AGENT_INJECT_TEMPLATE_MAX_CONNECTIONS_PER_HOST", "many")]
        ),
        r#"Error parsing environment variables: strconv.ParseInt: parsing "many": invalid syntax"#
    );
    assert_eq!(
        msg(
            &[],
            &[("AGENT_INJECT_TEMPLATE_LEASE_RENEWAL_THRESHOLD", "most")]
        ),
        r#"Error parsing environment variables: strconv.ParseFloat: parsing "most": invalid syntax"#
    );
    assert_eq!(
        msg(&["-log-level=nope"], &[]),
        "No Vault service configured"
    );
    assert_eq!(
        msg(
            &[
                "-vault-address=x",
                "-default-template=JSON",
                "-log-level=nope"
            ],
            &[]
        ),
        "Invalid default flag type: JSON"
    );
    assert_eq!(
        msg(&["-vault-address=x", "-log-level=nope"], &[]),
        "Error setting log level: unknown log level: nope"
    );
    let auto = msg(&["-vault-address=x"], &[]);
    assert!(
        auto.contains("-tls-auto-hosts") && auto.contains("empty"),
        "{auto}"
    );
    assert!(msg(&["-vault-address=x", "-tls-cert-file=c"], &[]).contains("-tls-key-file"));
    let mut cli = SERVE.to_vec();
    cli.push("-tls-min-version=tls1000");
    assert_eq!(
        msg(&cli, &[]),
        r#"Failed to configure TLS: invalid or unsupported TLS version "tls1000""#
    );
    let mut cli = SERVE.to_vec();
    cli.push("-tls-cipher-suites=suite1,suite2,suite3");
    assert_eq!(
        msg(&cli, &[]),
        r#"Failed to configure TLS: failed to parse TLS cipher suites list "suite1,suite2,suite3": unsupported cipher "suite1""#
    );
    let mut cli = SERVE.to_vec();
    cli.push("-telemetry-path=metrics");
    assert!(msg(&cli, &[]).contains("-telemetry-path"));
}

#[test]
fn accepted_but_ignored_settings_warn() {
    let mut cli = SERVE.to_vec();
    cli.extend(["-tls-min-version=tls10", "-use-leader-elector"]);
    let cfg = resolve(
        &cli,
        &[("AGENT_INJECT_TEMPLATE_LEASE_RENEWAL_THRESHOLD", "0.75")],
        Purpose::Serve,
    )
    .expect("valid");
    assert_eq!(cfg.warnings.len(), 3, "{:?}", cfg.warnings);
    assert_eq!(
        cfg.tls.expect("tls").settings.min_version,
        TlsMinVersion::Tls10
    );
}

#[test]
fn render_needs_no_tls() {
    let cfg = resolve(&["-vault-address=x"], &[], Purpose::Render).expect("valid");
    assert!(cfg.tls.is_none());
}

#[test]
fn agent_command_style_from_flag_or_env_and_validated() {
    let style = |cli: &[&str], env: &[(&str, &str)]| {
        let mut all = SERVE.to_vec();
        all.extend_from_slice(cli);
        resolve(&all, env, Purpose::Serve).map(|c| c.settings.agent_command_style)
    };
    assert_eq!(style(&[], &[]).expect("valid"), AgentCommandStyle::Auto);
    assert_eq!(
        style(&["-agent-command-style=native"], &[]).expect("valid"),
        AgentCommandStyle::Native
    );
    assert_eq!(
        style(&["-agent-command-style", "shell"], &[]).expect("valid"),
        AgentCommandStyle::Shell
    );
    // The environment wins over the flag, as for every other setting.
    assert_eq!(
        style(
            &["-agent-command-style=native"],
            &[("AGENT_INJECT_AGENT_COMMAND_STYLE", "shell")]
        )
        .expect("valid"),
        AgentCommandStyle::Shell
    );
    for bad in [
        &["-agent-command-style=Native"][..],
        &["-agent-command-style="],
    ] {
        let err = style(bad, &[]).expect_err("invalid");
        assert_eq!(
            vk_telemetry::ErrorChain(&err).to_string(),
            format!(
                "-agent-command-style (AGENT_INJECT_AGENT_COMMAND_STYLE) must be auto, native or shell, not {:?}",
                bad[0].split_once('=').map(|(_, v)| v).unwrap_or_default()
            )
        );
    }
    let err = style(&[], &[("AGENT_INJECT_AGENT_COMMAND_STYLE", "bash")]).expect_err("invalid");
    assert!(err.to_string().contains("AGENT_INJECT_AGENT_COMMAND_STYLE"));
    assert!(err.to_string().contains("\"bash\""));
    // The offline preview validates it too.
    assert!(
        resolve(
            &["-vault-address=x", "-agent-command-style=sh"],
            &[],
            Purpose::Render
        )
        .is_err()
    );
}

#[test]
fn vault_image_defaults_to_our_image() {
    let cfg = resolve(SERVE, &[], Purpose::Serve).expect("valid");
    assert_eq!(cfg.settings.vault_image, vk_inject::DEFAULT_AGENT_IMAGE);
    let cfg = resolve(
        SERVE,
        &[("AGENT_INJECT_VAULT_IMAGE", "hashicorp/vault:2.0.4")],
        Purpose::Serve,
    )
    .expect("valid");
    assert_eq!(cfg.settings.vault_image, "hashicorp/vault:2.0.4");
}

const HELM_AUTO: &[(&str, &str)] = &[
    ("AGENT_INJECT_VAULT_ADDR", "https://vault.vault.svc:8200"),
    ("AGENT_INJECT_TLS_AUTO", "vault-agent-injector-cfg"),
    (
        "AGENT_INJECT_TLS_AUTO_HOSTS",
        "vault-agent-injector-svc,vault-agent-injector-svc.vault,vault-agent-injector-svc.vault.svc",
    ),
    ("AGENT_INJECT_USE_LEADER_ELECTOR", "true"),
    ("NAMESPACE", "vault"),
    ("POD_NAME", "vault-agent-injector-0"),
];

fn auto_source(cfg: InjectorConfig) -> AutoTlsConfig {
    match cfg.tls.expect("tls").source {
        TlsSource::Auto(auto) => auto,
        TlsSource::Files(files) => panic!("expected auto mode, got {files:?}"),
    }
}

#[test]
fn vault_helm_default_env_selects_auto_tls_with_leader_election() {
    let auto = auto_source(resolve(&["2>&1"], HELM_AUTO, Purpose::Serve).expect("valid"));
    assert_eq!(
        auto.webhook_config.as_deref(),
        Some("vault-agent-injector-cfg")
    );
    assert_eq!(auto.hosts.hosts().len(), 3);
    assert_eq!(
        auto.hosts.hosts()[2],
        vk_server::autotls::SanHost::Dns("vault-agent-injector-svc.vault.svc".to_owned())
    );
    assert_eq!(auto.namespace, "vault");
    let leader = auto.leader.expect("leader election on");
    assert_eq!(leader.pod_name, "vault-agent-injector-0");
    assert_eq!(
        (
            leader.lease_duration,
            leader.renew_deadline,
            leader.retry_period
        ),
        (
            std::time::Duration::from_secs(15),
            std::time::Duration::from_secs(10),
            std::time::Duration::from_secs(2)
        )
    );
    assert_eq!((auto.ca_lifetime, auto.leaf_lifetime), (None, None));
}

#[test]
fn auto_tls_namespace_defaults_and_knobs_apply() {
    let env = [
        ("AGENT_INJECT_TLS_AUTO_HOSTS", "svc, 10.0.0.1 ,svc.ns"),
        ("VK_TEST_AUTO_TLS_LEAF_LIFETIME", "30s"),
        ("VK_TEST_AUTO_TLS_CA_LIFETIME", "2m"),
    ];
    let auto = auto_source(resolve(&["-vault-address=x"], &env, Purpose::Serve).expect("valid"));
    assert_eq!(auto.namespace, "default");
    assert_eq!(auto.webhook_config, None);
    assert_eq!(
        auto.hosts,
        vk_server::autotls::AutoTlsHosts::parse("svc,10.0.0.1,svc.ns").expect("hosts")
    );
    assert!(auto.leader.is_none());
    assert_eq!(auto.leaf_lifetime, Some(std::time::Duration::from_secs(30)));
    assert_eq!(auto.ca_lifetime, Some(std::time::Duration::from_secs(120)));
}

#[test]
fn auto_tls_bad_input_names_what_to_fix() {
    let with = |extra: &[(&'static str, &'static str)], drop: &str| {
        let mut env: Vec<(&str, &str)> = HELM_AUTO
            .iter()
            .copied()
            .filter(|(k, _)| *k != drop)
            .collect();
        env.extend_from_slice(extra);
        msg_env(&env)
    };
    let m = with(&[], "POD_NAME");
    assert!(m.contains("POD_NAME") && m.contains("downward API"), "{m}");
    let m = with(
        &[("AGENT_INJECT_TLS_AUTO_HOSTS", "svc,,svc.ns")],
        "AGENT_INJECT_TLS_AUTO_HOSTS",
    );
    assert!(
        m.contains("(number 2)") && m.contains("AGENT_INJECT_TLS_AUTO_HOSTS"),
        "{m}"
    );
    let m = with(
        &[("AGENT_INJECT_TLS_AUTO_HOSTS", "svc,bad name")],
        "AGENT_INJECT_TLS_AUTO_HOSTS",
    );
    assert!(m.contains("\"bad name\""), "{m}");
    let m = with(&[], "AGENT_INJECT_TLS_AUTO_HOSTS");
    assert!(m.contains("-tls-auto-hosts") && m.contains("empty"), "{m}");
    let m = with(&[("VK_LEADER_RETRY_PERIOD", "20s")], "");
    assert!(m.contains("VK_LEADER_RETRY_PERIOD <"), "{m}");
    let m = with(&[("VK_LEADER_LEASE_DURATION", "fifteen")], "");
    assert!(m.contains("VK_LEADER_LEASE_DURATION=\"fifteen\""), "{m}");
}

fn msg_env(env: &[(&str, &str)]) -> String {
    vk_telemetry::ErrorChain(&resolve(&[], env, Purpose::Serve).expect_err("invalid")).to_string()
}

#[test]
fn tls_auto_with_files_warns_instead_of_failing() {
    let mut cli = SERVE.to_vec();
    cli.push("-tls-auto=cfg");
    let cfg = resolve(&cli, &[], Purpose::Serve).expect("valid");
    assert!(matches!(
        cfg.tls.as_ref().expect("tls").source,
        TlsSource::Files(_)
    ));
    assert!(
        cfg.warnings.iter().any(|w| w.contains("-tls-auto")),
        "{:?}",
        cfg.warnings
    );
}

#[test]
fn issue_9_settings_from_flags_and_env() {
    let cfg = |cli: &[&str], env: &[(&str, &str)]| {
        let mut all = SERVE.to_vec();
        all.extend_from_slice(cli);
        resolve(&all, env, Purpose::Serve).map(|c| c.settings)
    };
    let d = cfg(&[], &[]).expect("valid");
    assert!(!d.native_sidecar && !d.deny_template_errors);
    assert_eq!(d.restricted_profile, None);
    assert_eq!(d.secret_volume_size_limit, "");
    let s = cfg(
        &[
            "-native-sidecar",
            "-deny-template-errors=true",
            "-restricted-profile=false",
            "-secret-volume-size-limit=16Mi",
        ],
        &[],
    )
    .expect("valid");
    assert!(s.native_sidecar && s.deny_template_errors);
    assert_eq!(s.restricted_profile, Some(false));
    assert_eq!(s.secret_volume_size_limit, "16Mi");
    let e = cfg(
        &[],
        &[
            ("AGENT_INJECT_NATIVE_SIDECAR", "true"),
            ("AGENT_INJECT_RESTRICTED_PROFILE", "1"),
        ],
    )
    .expect("valid");
    assert!(e.native_sidecar);
    assert_eq!(e.restricted_profile, Some(true));
    let err = cfg(&["-restricted-profile=maybe"], &[]).expect_err("invalid");
    assert_eq!(
        err.to_string(),
        "-restricted-profile (AGENT_INJECT_RESTRICTED_PROFILE) must be auto, true or false, not \"maybe\""
    );
    let err = cfg(&["-secret-volume-size-limit=lots"], &[]).expect_err("invalid");
    assert!(
        vk_telemetry::ErrorChain(&err)
            .to_string()
            .starts_with("-secret-volume-size-limit (AGENT_INJECT_SECRET_VOLUME_SIZE_LIMIT) \"lots\" is not a Kubernetes quantity: "),
        "{}",
        vk_telemetry::ErrorChain(&err)
    );
}
