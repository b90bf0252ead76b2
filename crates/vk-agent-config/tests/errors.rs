//! Start-up errors (spec agent.md §1.1, §1.2, §1.5, case E17), warnings for ignored keys,
//! environment overrides and `VAULT_CONFIG` decoding.

use std::collections::BTreeMap;

use vk_agent_config::*;

const SINK: &str = "sink \"file\" { config = { path = \"/t\" } }";

fn err(text: &str) -> String {
    match load(text, "/etc/agent.hcl", &BTreeMap::new()) {
        Ok(l) => panic!("accepted: {:?}", l.config),
        Err(e) => e.to_string(),
    }
}

fn auth(extra: &str) -> String {
    format!(
        "auto_auth {{\n  method \"kubernetes\" {{ config = {{ role = \"r\" }} }}\n  {extra}\n}}\n"
    )
}

#[test]
fn e17_unknown_template_key_fails_with_file_and_line() {
    let text = format!(
        "{}template {{\n  contents = \"x\"\n  destination = \"/d\"\n  bogus_key = 1\n}}\n",
        auth(SINK)
    );
    let msg = err(&text);
    assert!(
        msg.contains("error loading configuration from /etc/agent.hcl: error parsing 'template': decoding failed due to the following error(s):"),
        "{msg}"
    );
    assert!(
        msg.contains("'config.TemplateConfig' has invalid keys: bogus_key"),
        "{msg}"
    );
    assert!(msg.ends_with("(line 8)"), "{msg}");

    // Several keys are reported sorted; JSON input has no line.
    let json = r#"{"auto_auth": {"method": {"type": "token_file", "config": {"token_file_path": "/t"}}, "sink": [{"type": "file", "config": {"path": "/t"}}]},
                   "template": [{"contents": "x", "zz": 1, "aa": 2}]}"#;
    let e = parse(json, "c.json")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.ends_with("'config.TemplateConfig' has invalid keys: aa, zz"),
        "{e}"
    );
}

#[test]
fn template_values_are_strictly_typed() {
    let bad = [
        (
            "error_on_missing_key = \"true\"",
            "'error_on_missing_key' expected type 'bool'",
        ),
        ("destination = 5", "'destination' expected type 'string'"),
        ("perms = \"0999\"", "strconv.ParseUint"),
        ("command_timeout = \"soon\"", "time: invalid duration"),
        (
            "exec { command = \"x\"\n nope = 1 }",
            "'exec' has invalid keys: nope",
        ),
        ("wait = \"10s:5s\"", "wait: max"),
    ];
    for (line, want) in bad {
        let text = format!(
            "{}template {{\n contents = \"x\"\n {line}\n}}\n",
            auth(SINK)
        );
        let msg = err(&text);
        assert!(msg.contains(want), "{line}: {msg}");
    }
}

#[test]
fn template_source_and_contents_are_exclusive() {
    let both = format!(
        "{}template {{\n source = \"/s\"\n contents = \"x\"\n}}\n",
        auth(SINK)
    );
    assert!(err(&both).contains("template: cannot specify both 'source' and 'contents'"));
    let neither = format!("{}template {{\n destination = \"/d\"\n}}\n", auth(SINK));
    assert!(err(&neither).contains("template: must specify exactly one of 'source' or 'contents'"));
}

#[test]
fn structural_errors_of_section_1_2() {
    let cases: Vec<(String, &str)> = vec![
        (format!("{}{}", auth(SINK), auth(SINK)), "error parsing 'auto_auth': at most one \"auto_auth\" block is allowed"),
        ("auto_auth {\n  sink \"file\" { config = { path = \"/t\" } }\n}\n".to_owned(), "error parsing 'method': one and only one \"method\" block is required"),
        ("auto_auth {\n method { config = {} }\n sink \"file\" { config = { path = \"/t\" } }\n}\n".to_owned(), "method type must be specified"),
        (auth(""), "auto_auth requires at least one sink or at least one template or api_proxy.use_auto_auth_token=true"),
        ("pid_file = \"/p\"\n".to_owned(), "no auto_auth, cache, or listener block found in config"),
        (format!("{}cache {{}}\n", auth(SINK)), "enabling the cache requires at least 1 template or 1 listener to be defined"),
        (format!("{}vault {{}}\nvault {{}}\n", auth(SINK)), "error parsing 'vault':one and only one \"vault\" block is required"),
        (format!("{}template_config {{}}\ntemplate_config {{}}\n", auth(SINK)), "at most one \"template_config\" block is allowed"),
        (
            "auto_auth {\n method \"k\" {\n wrap_ttl = \"5m\"\n }\n sink \"file\" { config = { path = \"/a\" } }\n sink \"file\" { config = { path = \"/b\" } }\n}\n".to_owned(),
            "wrapping enabled on auth method and 0 or many sinks defined",
        ),
        (
            "auto_auth {\n method \"k\" {\n wrap_ttl = 60\n }\n sink \"file\" {\n wrap_ttl = \"1m\"\n config = { path = \"/a\" } }\n}\n".to_owned(),
            "wrapping enabled both on auth method and sink",
        ),
        (
            "auto_auth {\n method \"k\" {\n min_backoff = \"10m\"\n max_backoff = \"1m\"\n }\n sink \"file\" { config = { path = \"/a\" } }\n}\n".to_owned(),
            "min_backoff (10m0s) is greater than max_backoff (1m0s)",
        ),
        (auth("sink \"file\" { config = { mode = 0600 } }"), "sink.file: 'path' not specified for file sink"),
        (auth("sink \"file\" {\n dh_type = \"rsa\"\n config = { path = \"/a\" } }"), "sink.file: invalid value for 'dh_type'"),
        (format!("{}vault {{\n tls_skip_verify = \"maybe\"\n}}\n", auth(SINK)), "strconv.ParseBool: parsing \"maybe\": invalid syntax"),
        (format!("{}disable_keep_alives = [\"everything\"]\n", auth(SINK)), "unknown disable_keep_alives value: everything"),
        (format!("{}cache {{ use_auto_auth_token = \"sometimes\" }}\nlistener \"tcp\" {{}}\n", auth(SINK)), "value of 'use_auto_auth_token' can be either true/false/force, \"sometimes\" is an invalid option"),
        ("auto_auth {\n method \"k\" {\n max_backoff = \"forever\"\n }\n}\n".to_owned(), "time: invalid duration \"forever\""),
        ("a = ".to_owned(), "error loading configuration from /etc/agent.hcl: At 1:"),
    ];
    for (text, want) in cases {
        let msg = err(&text);
        assert!(
            msg.contains(want),
            "want {want:?}\n got {msg:?}\n for {text}"
        );
        assert!(msg.contains("/etc/agent.hcl"), "{msg}");
    }
}

/// HCL1's JSON reader turns an object whose members are all objects into labelled blocks, so
/// `auto_auth` holding only `method` loses its `method` block, exactly as upstream does.
#[test]
fn json_auto_auth_with_only_a_method_is_misread_like_upstream() {
    let json = r#"{"auto_auth": {"method": {"type": "k", "config": {}}}}"#;
    let e = parse(json, "c.json")
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
    assert!(
        e.contains("one and only one \"method\" block is required"),
        "{e}"
    );
}

#[test]
fn decode_errors_carry_the_line() {
    let text = "auto_auth {\n  method \"k\" {\n    exit_on_err = \"yes\"\n  }\n}\n";
    let e = parse(text, "a.hcl").err();
    assert!(
        matches!(&e, Some(ConfigError::Invalid { at, .. }) if at.line == Some(3) && at.file == "a.hcl"),
        "{e:?}"
    );
}

#[test]
fn unknown_keys_outside_templates_are_warnings() {
    let text = format!(
        "{}vault {{\n address = \"https://v\"\n colour = \"blue\"\n}}\nwhatever = 1\n",
        auth(SINK)
    );
    let loaded = load(&text, "w.hcl", &BTreeMap::new()).unwrap_or_else(|e| panic!("{e}"));
    let seen: Vec<(String, String, Option<u32>)> = loaded
        .warnings
        .iter()
        .map(|w| (w.section.clone(), w.key.clone(), w.at.line))
        .collect();
    assert_eq!(
        seen,
        [
            ("top level".to_owned(), "whatever".to_owned(), Some(9)),
            ("vault".to_owned(), "colour".to_owned(), Some(7)),
        ]
    );
    assert!(
        loaded.warnings[1]
            .to_string()
            .starts_with("w.hcl:7: unknown key \"colour\" in vault")
    );
}

#[test]
fn environment_overrides_the_file() {
    let text = format!(
        "{}vault {{\n address = \"https://file\"\n tls_skip_verify = true\n}}\n",
        auth(SINK)
    );
    let env: BTreeMap<String, String> = [
        ("VAULT_ADDR", "https://env:8200"),
        ("VAULT_CACERT", "/ca.pem"),
        ("VAULT_CAPATH", "/cas"),
        ("VAULT_CLIENT_CERT", "/c.pem"),
        ("VAULT_CLIENT_KEY", "/k.pem"),
        ("VAULT_SKIP_VERIFY", "false"),
        ("VAULT_TLS_SERVER_NAME", "vault.svc"),
        ("VAULT_NAMESPACE", "ns1"),
        ("VAULT_AGENT_DISABLE_KEEP_ALIVES", "Auto-Auth, templating"),
        ("VAULT_CLIENT_TIMEOUT", ""),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let c = load(&text, "e.hcl", &env)
        .unwrap_or_else(|e| panic!("{e}"))
        .config;
    assert_eq!(c.vault.address, "https://env:8200");
    assert_eq!(
        (
            c.vault.ca_cert.as_str(),
            c.vault.ca_path.as_str(),
            c.vault.client_cert.as_str(),
            c.vault.client_key.as_str()
        ),
        ("/ca.pem", "/cas", "/c.pem", "/k.pem")
    );
    // Vault 2.0.x parses VAULT_SKIP_VERIFY as a boolean: "false" turns verification back on.
    assert!(!c.vault.tls_skip_verify);
    assert_eq!(c.vault.tls_server_name, "vault.svc");
    assert_eq!(c.vault.namespace, "ns1");
    assert_eq!(c.disable_keep_alives, ["auto-auth", "templating"]);

    let mut cfg = Config::default();
    let one = |k: &str, v: &str| BTreeMap::from([(k.to_owned(), v.to_owned())]);
    assert_eq!(apply_env(&mut cfg, &one("VAULT_SKIP_VERIFY", "1")), Ok(()));
    assert!(cfg.vault.tls_skip_verify);
    assert_eq!(
        apply_env(&mut cfg, &one("VAULT_SKIP_VERIFY", "")),
        Ok(()),
        "empty means unset"
    );
    assert!(cfg.vault.tls_skip_verify);
    let bad = apply_env(&mut cfg, &one("VAULT_SKIP_VERIFY", "nope"))
        .err()
        .map(|e| e.to_string());
    assert_eq!(
        bad.as_deref(),
        Some(
            "error parsing environment variable VAULT_SKIP_VERIFY: could not parse VAULT_SKIP_VERIFY"
        )
    );
    assert!(apply_env(&mut cfg, &one("VAULT_AGENT_DISABLE_IDLE_CONNECTIONS", "x")).is_err());
    assert_eq!(Config::default().vault.address, DEFAULT_ADDRESS);
}

#[test]
fn vault_config_base64() {
    assert_eq!(decode_vault_config("e30=\n"), Ok("{}".to_owned()));
    assert!(matches!(
        decode_vault_config("e30"),
        Err(ConfigError::Base64(_))
    ));
    assert!(matches!(
        decode_vault_config("/w=="),
        Err(ConfigError::Base64(_))
    ));
    assert!(parse_vault_config("e30=", "c.json").is_ok());
}

#[test]
fn numbers_retries_and_defaults() {
    let text = format!(
        "{}vault {{ retry {{ num_retries = -1 }} }}\ntemplate_config {{ max_connections_per_host = \"25\" }}\n",
        auth(SINK)
    );
    let c = parse(&text, "n.hcl")
        .unwrap_or_else(|e| panic!("{e}"))
        .config;
    assert_eq!(c.vault.num_retries, 0);
    assert_eq!(c.vault.address, DEFAULT_ADDRESS);
    assert_eq!(c.template_config.max_connections_per_host, 25);
    let m = &c
        .auto_auth
        .as_ref()
        .unwrap_or_else(|| panic!("auto_auth"))
        .method;
    assert_eq!(m.mount_path, "auth/kubernetes");
    let t = "auto_auth {\n method \"AppRole\" {\n mount_path = \"auth/x/\"\n namespace = \"/a/b\"\n wrap_ttl = \"2d\"\n }\n sink \"file\" { config = { path = \"/a\", mode = \"0600\" } }\n}\n";
    let c = parse(t, "m.hcl").unwrap_or_else(|e| panic!("{e}")).config;
    let aa = c.auto_auth.unwrap_or_else(|| panic!("auto_auth"));
    assert_eq!(aa.method.kind, "approle");
    assert_eq!(aa.method.mount_path, "auth/x");
    assert_eq!(aa.method.namespace, "a/b/");
    assert_eq!(
        aa.method.wrap_ttl,
        Some(std::time::Duration::from_secs(172_800))
    );
    assert_eq!(aa.sinks[0].mode, 0o600);
}
