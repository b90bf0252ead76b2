//! The JSON (§1.9) and HCL (§1.9b) forms of spec agent.md decode to the same model, and the
//! injector's own `VAULT_CONFIG` round-trips.
#![allow(clippy::disallowed_methods)] // Test code, not the pure library: the forms are read from files.

use std::time::Duration;

use serde_json::json;
use vk_agent_config::*;

const HCL: &str = r#"
pid_file        = "/home/vault/.pid"
exit_after_auth = false

vault {
  address = "https://vault.vault.svc:8200"
  ca_cert = "/vault/tls/ca.crt"
  retry { num_retries = 5 }
}

auto_auth {
  method "kubernetes" {                 # label = type; mount_path defaults to auth/kubernetes
    mount_path  = "auth/kubernetes"
    min_backoff = "1s"
    max_backoff = "5m"
    config = {
      role       = "app"
      token_path = "/var/run/secrets/kubernetes.io/serviceaccount/token"
    }
  }
  sink "file" {
    config = { path = "/home/vault/.vault-token", mode = 0640 }   # 0640 is octal in HCL1
  }
}

template_config {
  exit_on_retry_failure         = true
  static_secret_render_interval = "5m"
}

template {
  destination          = "/vault/secrets/db"
  perms                = "0400"
  error_on_missing_key = true
  contents             = <<EOT
{{- with secret "database/creds/app" -}}
user={{ .Data.username }}
pass={{ .Data.password }}
{{- end }}
EOT
  exec { command = ["/bin/sh", "-c", "kill -HUP 1"], timeout = "10s" }
}
"#;

const JSON: &str = r#"{
  "pid_file": "/home/vault/.pid",
  "exit_after_auth": false,
  "vault": {"address": "https://vault.vault.svc:8200", "ca_cert": "/vault/tls/ca.crt", "retry": {"num_retries": 5}},
  "auto_auth": {
    "method": {"type": "kubernetes", "mount_path": "auth/kubernetes", "min_backoff": "1s", "max_backoff": "5m",
               "config": {"role": "app", "token_path": "/var/run/secrets/kubernetes.io/serviceaccount/token"}},
    "sink": [{"type": "file", "config": {"path": "/home/vault/.vault-token", "mode": 416}}]
  },
  "template_config": {"exit_on_retry_failure": true, "static_secret_render_interval": "5m"},
  "template": [{"destination": "/vault/secrets/db", "perms": "0400", "error_on_missing_key": true,
                "contents": "{{- with secret \"database/creds/app\" -}}\nuser={{ .Data.username }}\npass={{ .Data.password }}\n{{- end }}\n",
                "exec": {"command": ["/bin/sh", "-c", "kill -HUP 1"], "timeout": "10s"}}]
}"#;

fn ok(r: Result<Loaded, ConfigError>) -> Loaded {
    r.unwrap_or_else(|e| panic!("{e}"))
}

#[test]
fn hcl_and_json_forms_decode_to_the_same_model() {
    let hcl = ok(parse(HCL, "agent.hcl"));
    let json = ok(parse(JSON, "agent.json"));
    assert_eq!(hcl.config, json.config);
    assert!(hcl.warnings.is_empty(), "{:?}", hcl.warnings);
    assert!(json.warnings.is_empty(), "{:?}", json.warnings);

    let c = &hcl.config;
    assert_eq!(c.vault.address, "https://vault.vault.svc:8200");
    assert_eq!(c.vault.num_retries, 5);
    let aa = c.auto_auth.as_ref().unwrap_or_else(|| panic!("auto_auth"));
    assert_eq!(aa.method.kind, "kubernetes");
    assert_eq!(aa.method.config_str("role"), Some("app"));
    assert_eq!(aa.method.min_backoff, Duration::from_secs(1));
    assert_eq!(aa.method.max_backoff, Duration::from_secs(300));
    assert_eq!(aa.sinks.len(), 1);
    assert_eq!(aa.sinks[0].kind, "file");
    assert_eq!(aa.sinks[0].path, "/home/vault/.vault-token");
    assert_eq!(aa.sinks[0].mode, 0o640);
    let t = &c.templates[0];
    assert_eq!(t.perms, Some(0o400));
    assert!(t.error_on_missing_key && t.create_dest_dirs && t.error_fatal);
    assert!(
        t.contents
            .as_deref()
            .is_some_and(|s| s.starts_with("{{- with secret") && s.ends_with("{{- end }}\n"))
    );
    assert_eq!(
        t.exec,
        Some(Exec {
            command: vec!["/bin/sh".into(), "-c".into(), "kill -HUP 1".into()],
            timeout: Duration::from_secs(10)
        })
    );
    assert!(c.template_config.exit_on_retry_failure);
    assert_eq!(c.template_config.max_connections_per_host, 10);
    assert_eq!(c.template_config.lease_renewal_threshold, 0.9);
    assert_eq!(validate(c, "agent.hcl"), Ok(()));
}

#[test]
fn the_spec_injector_json_sample_parses() {
    let sample = r#"{
  "auto_auth": {
    "method": {"type": "kubernetes", "mount_path": "auth/kubernetes", "namespace": "team-a",
               "config": {"role": "app", "token_path": "/var/run/secrets/vault.hashicorp.com/serviceaccount/token"},
               "min_backoff": "2s", "max_backoff": "1m", "exit_on_err": true},
    "sink": [{"type": "file", "config": {"path": "/home/vault/.vault-token"}}]
  },
  "exit_after_auth": true,
  "pid_file": "/home/vault/.pid",
  "vault": {"address": "https://vault.vault.svc:8200", "ca_cert": "/ca", "tls_skip_verify": false, "tls_server_name": "vault"},
  "template": [{"destination": "/vault/secrets/db", "contents": "{{ with secret \"x\" }}{{ end }}", "left_delimiter": "{{",
                "right_delimiter": "}}", "command": "echo a, echo b", "perms": "0400", "error_on_missing_key": true}],
  "listener": [{"type": "tcp", "address": "127.0.0.1:8200", "tls_disable": true, "agent_api": {"enable_quit": true}}],
  "cache": {"use_auto_auth_token": "true", "persist": {"type": "kubernetes", "path": "/vault/agent-cache"}},
  "template_config": {"exit_on_retry_failure": true, "static_secret_render_interval": "30s",
                      "max_connections_per_host": 10, "lease_renewal_threshold": 0.75},
  "disable_idle_connections": ["templating"], "disable_keep_alives": ["auto-auth"],
  "telemetry": {"prometheus_retention_time": "30s"}
}"#;
    let loaded = ok(parse(sample, "config.json"));
    let c = &loaded.config;
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let m = &c
        .auto_auth
        .as_ref()
        .unwrap_or_else(|| panic!("auto_auth"))
        .method;
    assert_eq!(m.namespace, "team-a/");
    assert!(m.exit_on_err);
    assert_eq!(c.templates[0].command, ["echo a", " echo b"]);
    assert_eq!(c.listeners[0].kind, "tcp");
    assert!(c.listeners[0].enable_quit && c.listeners[0].tls_disable);
    let cache = c.cache.as_ref().unwrap_or_else(|| panic!("cache"));
    assert_eq!(cache.use_auto_auth_token, Some(AutoAuthToken::Yes));
    assert_eq!(
        cache.persist.as_ref().map(|p| p.kind.as_str()),
        Some("kubernetes")
    );
    assert_eq!(
        c.template_config.static_secret_render_interval,
        Duration::from_secs(30)
    );
    assert_eq!(c.template_config.lease_renewal_threshold, 0.75);
    assert_eq!(c.disable_idle_connections, ["templating"]);
    assert_eq!(
        c.telemetry
            .as_ref()
            .and_then(|t| t.get("prometheus_retention_time")),
        Some(&json!("30s"))
    );
    assert_eq!(validate(c, "config.json"), Ok(()));
}

#[test]
fn injector_vault_config_round_trips() {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../vk-test-utils/fixtures/webapp-pod-admitted.json"
    );
    let text = std::fs::read_to_string(path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let pod: serde_json::Value = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{e}"));
    let settings = vk_inject::InjectorSettings {
        vault_address: "https://vault.vault.svc:8200".to_owned(),
        ..vk_inject::InjectorSettings::default()
    };
    let vk_inject::Decision::Inject { patch, .. } = vk_inject::mutate(&pod, "default", &settings)
    else {
        panic!("webapp fixture did not inject");
    };
    let init = patch
        .iter()
        .filter_map(|op| op.value.as_ref().map(vk_inject::PatchValue::to_value))
        .flat_map(|v| v.as_array().cloned().unwrap_or_else(|| vec![v.clone()]))
        .find(|v| v["name"] == "vault-agent-init")
        .unwrap_or_else(|| panic!("no init container in patch"));
    let b64 = init["env"]
        .as_array()
        .and_then(|env| env.iter().find(|e| e["name"] == "VAULT_CONFIG"))
        .and_then(|e| e["value"].as_str())
        .unwrap_or_else(|| panic!("no VAULT_CONFIG"));
    let loaded = ok(parse_vault_config(b64, "/home/vault/config.json"));
    assert!(loaded.warnings.is_empty(), "{:?}", loaded.warnings);
    let c = loaded.config;
    assert!(c.exit_after_auth);
    assert_eq!(c.pid_file, "/home/vault/.pid");
    assert_eq!(c.vault.address, "https://vault.vault.svc:8200");
    assert!(!c.vault.tls_skip_verify);
    assert_eq!(c.vault.num_retries, DEFAULT_RETRIES);
    let aa = c.auto_auth.as_ref().unwrap_or_else(|| panic!("auto_auth"));
    assert_eq!(aa.method.kind, "kubernetes");
    assert_eq!(aa.method.mount_path, "auth/kubernetes");
    assert_eq!(aa.method.config_str("role"), Some("webapp"));
    assert!(
        aa.method
            .config_str("token_path")
            .is_some_and(|p| p.ends_with("/token"))
    );
    assert_eq!(
        (aa.method.min_backoff, aa.method.max_backoff),
        (DEFAULT_MIN_BACKOFF, DEFAULT_MAX_BACKOFF)
    );
    assert_eq!(aa.sinks.len(), 1);
    assert_eq!(
        (aa.sinks[0].path.as_str(), aa.sinks[0].mode),
        ("/home/vault/.vault-token", 0o640)
    );
    assert_eq!(c.templates.len(), 1);
    let t = &c.templates[0];
    assert_eq!(t.destination, "/vault/secrets/database-config");
    assert!(
        t.contents
            .as_deref()
            .is_some_and(|s| s.contains("postgresql://"))
    );
    assert_eq!(
        (t.left_delimiter.as_str(), t.right_delimiter.as_str()),
        ("{{", "}}")
    );
    assert_eq!(t.perms, None);
    assert!(c.template_config.exit_on_retry_failure);
    assert!(c.listeners.is_empty() && c.cache.is_none());
    assert_eq!(validate(&c, "/home/vault/config.json"), Ok(()));
}
