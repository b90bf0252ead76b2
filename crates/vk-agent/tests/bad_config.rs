//! Broken configurations and command lines, run through the agent process (the `agent`
//! example): each must exit non-zero, name what to fix (the key or flag, and the file where it
//! applies) and never panic. No Vault is needed: every case fails before the first request.
//!
//! `tests/agent.rs` already covers kubernetes without `role` (HCL) and an unknown template key
//! (HCL); `vk-agent-config`'s own tests cover the exact upstream texts.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::Duration;

use base64::Engine as _;
use vk_test_utils::util::run_with_timeout;

fn agent_bin() -> PathBuf {
    vk_test_utils::agent_example()
}

/// Where a case's configuration comes from.
enum Source {
    /// A file `name` with this text, passed as `-config=`.
    File(&'static str, String),
    /// `VAULT_CONFIG` with this exact value.
    VaultConfig(String),
    /// Nothing: only the arguments.
    None,
}

struct Case {
    name: &'static str,
    source: Source,
    args: Vec<String>,
    /// Substrings stderr must contain (`{dir}` is replaced by the case directory).
    want: Vec<&'static str>,
}

/// A valid auth block whose files live in `{dir}` (it is never used: every case fails first).
const AUTH_HCL: &str = r#"auto_auth {
  method "token_file" { config { token_file_path = "{dir}/token" } }
  sink "file" { config { path = "{dir}/sink" } }
}
"#;

fn hcl(body: &str) -> String {
    format!("{AUTH_HCL}{body}")
}

fn json_auth(method: &str, rest: &str) -> String {
    format!(
        r#"{{"auto_auth": {{"method": {method}, "sink": [{{"type": "file", "config": {{"path": "{{dir}}/sink"}}}}]}}{rest}}}"#
    )
}

fn b64(s: &str) -> String {
    base64::engine::general_purpose::STANDARD.encode(s)
}

fn cases() -> Vec<Case> {
    let file = |name: &'static str, text: String, want: Vec<&'static str>| Case {
        name,
        source: Source::File(name, text),
        args: Vec::new(),
        want,
    };
    let token_file_method =
        r#"{"type": "token_file", "config": {"token_file_path": "{dir}/token"}}"#;
    vec![
        // HCL.
        file(
            "unknown-template-key.hcl",
            hcl("template {\n  contents = \"x\"\n  destination = \"{dir}/o\"\n  colour = \"red\"\n}\n"),
            vec!["has invalid keys: colour", "unknown-template-key.hcl", "(line 8)"],
        ),
        file(
            "method-without-type.hcl",
            "auto_auth {\n  method { config { role = \"r\" } }\n  sink \"file\" { config { path = \"{dir}/sink\" } }\n}\n".into(),
            vec!["method type must be specified", "method-without-type.hcl", "(line 2)"],
        ),
        file(
            "approle-without-role-id.hcl",
            "auto_auth {\n  method \"approle\" { config { secret_id_file_path = \"{dir}/s\" } }\n  sink \"file\" { config { path = \"{dir}/sink\" } }\n}\n".into(),
            vec!["auto_auth.method.config.role_id_file_path", "approle-without-role-id.hcl"],
        ),
        file(
            "token-file-without-path.hcl",
            "auto_auth {\n  method \"token_file\" { config { } }\n  sink \"file\" { config { path = \"{dir}/sink\" } }\n}\n".into(),
            vec!["auto_auth.method.config.token_file_path", "token-file-without-path.hcl"],
        ),
        file(
            "unsupported-method.hcl",
            "auto_auth {\n  method \"gcp\" { config { role = \"r\" } }\n  sink \"file\" { config { path = \"{dir}/sink\" } }\n}\n".into(),
            vec!["auto_auth.method.type", "\"gcp\"", "unsupported-method.hcl"],
        ),
        file(
            "unsupported-aws.hcl",
            "auto_auth {\n  method \"aws\" { config { role = \"r\" } }\n  sink \"file\" { config { path = \"{dir}/sink\" } }\n}\n".into(),
            vec!["auto_auth.method.type", "auth method \"aws\"", "AWS credentials", "not supported by vault-k8s agent", "vault.hashicorp.com/agent-image", "unsupported-aws.hcl"],
        ),
        file(
            "method-wrap-ttl.hcl",
            "auto_auth {\n  method \"token_file\" {\n    wrap_ttl = \"5m\"\n    config { token_file_path = \"{dir}/token\" }\n  }\n  sink \"file\" { config { path = \"{dir}/sink\" } }\n}\n".into(),
            vec!["auto_auth.method.wrap_ttl", "not supported by vault-k8s agent", "vault.hashicorp.com/agent-image"],
        ),
        file(
            "reauth-new-creds.hcl",
            "auto_auth {\n  enable_reauth_on_new_credentials = true\n  method \"token_file\" { config { token_file_path = \"{dir}/token\" } }\n  sink \"file\" { config { path = \"{dir}/sink\" } }\n}\n".into(),
            vec!["auto_auth.enable_reauth_on_new_credentials", "not supported by vault-k8s agent"],
        ),
        file(
            "dh-sink.hcl",
            "auto_auth {\n  method \"token_file\" { config { token_file_path = \"{dir}/token\" } }\n  sink \"file\" {\n    dh_type = \"curve25519\"\n    dh_path = \"{dir}/dh.json\"\n    config { path = \"{dir}/sink\" }\n  }\n}\n".into(),
            vec!["auto_auth.sink.dh_type", "Diffie-Hellman", "not supported by vault-k8s agent", "vault.hashicorp.com/agent-image"],
        ),
        file(
            "exec-supervisor.hcl",
            hcl("exec {\n  command = [\"/bin/app\"]\n}\n"),
            vec!["exec in", "process supervisor", "not supported by vault-k8s agent"],
        ),
        file(
            "env-template.hcl",
            hcl("env_template \"FOO\" {\n  contents = \"x\"\n}\n"),
            vec!["env_template in", "not supported by vault-k8s agent"],
        ),
        file(
            "function-denylist.hcl",
            hcl("template {\n  contents = \"x\"\n  destination = \"{dir}/o\"\n  function_denylist = [\"env\"]\n}\n"),
            vec!["template[0].function_denylist", "not supported by vault-k8s agent"],
        ),
        file(
            "sandbox-path.hcl",
            hcl("template {\n  contents = \"x\"\n  destination = \"{dir}/o\"\n  sandbox_path = \"/tmp\"\n}\n"),
            vec!["template[0].sandbox_path", "not supported by vault-k8s agent"],
        ),
        file(
            "error-fatal-false.hcl",
            hcl("template {\n  contents = \"x\"\n  destination = \"{dir}/o\"\n  error_fatal = false\n}\n"),
            vec!["template[0].error_fatal", "not supported by vault-k8s agent"],
        ),
        file(
            "unknown-user.hcl",
            hcl("template {\n  contents = \"x\"\n  destination = \"{dir}/o\"\n  user = \"no-such-user-xyz\"\n}\n"),
            vec!["template[0].user", "no-such-user-xyz", "unknown-user.hcl"],
        ),
        file(
            "garbage-remove-secret-id.hcl",
            "auto_auth {\n  method \"approle\" { config {\n    role_id_file_path = \"{dir}/role\"\n    remove_secret_id_file_after_reading = \"sometimes\"\n  } }\n  sink \"file\" { config { path = \"{dir}/sink\" } }\n}\n".into(),
            vec!["auto_auth.method.config.remove_secret_id_file_after_reading", "\"sometimes\"", "invalid syntax"],
        ),
        file(
            "string-bool-exit-after-auth.hcl",
            format!("exit_after_auth = \"True\"\n{AUTH_HCL}"),
            vec!["exit_after_auth", "string-bool-exit-after-auth.hcl", "(line 1)"],
        ),
        file(
            "bad-render-interval.hcl",
            hcl("template_config {\n  static_secret_render_interval = \"soon\"\n}\n"),
            vec!["static_secret_render_interval", "invalid duration \"soon\"", "bad-render-interval.hcl", "(line 6)"],
        ),
        file(
            "bad-min-backoff.hcl",
            "auto_auth {\n  method \"token_file\" {\n    min_backoff = \"fast\"\n    config { token_file_path = \"{dir}/token\" }\n  }\n  sink \"file\" { config { path = \"{dir}/sink\" } }\n}\n".into(),
            vec!["min_backoff", "invalid duration \"fast\"", "bad-min-backoff.hcl", "(line 3)"],
        ),
        file(
            "bad-threshold.hcl",
            hcl("template_config {\n  lease_renewal_threshold = \"high\"\n}\n"),
            vec!["lease_renewal_threshold", "bad-threshold.hcl"],
        ),
        file(
            "bad-num-retries.hcl",
            hcl("vault {\n  retry { num_retries = \"many\" }\n}\n"),
            vec!["num_retries", "bad-num-retries.hcl"],
        ),
        file(
            "bad-tls-skip-verify.hcl",
            hcl("vault {\n  tls_skip_verify = \"maybe\"\n}\n"),
            vec!["tls_skip_verify", "\"maybe\"", "bad-tls-skip-verify.hcl"],
        ),
        file(
            "bad-exit-after-auth.hcl",
            format!("exit_after_auth = \"perhaps\"\n{AUTH_HCL}"),
            vec!["exit_after_auth", "bad-exit-after-auth.hcl", "(line 1)"],
        ),
        file(
            "bad-perms.hcl",
            hcl("template {\n  contents = \"x\"\n  destination = \"{dir}/o\"\n  perms = \"rw-r--r--\"\n}\n"),
            vec!["'perms'", "bad-perms.hcl", "(line 8)"],
        ),
        file(
            "bad-perms-digit.hcl",
            hcl("template {\n  contents = \"x\"\n  destination = \"{dir}/o\"\n  perms = \"0999\"\n}\n"),
            vec!["'perms'", "\"0999\"", "bad-perms-digit.hcl"],
        ),
        file(
            "bad-command-timeout.hcl",
            hcl("template {\n  contents = \"x\"\n  destination = \"{dir}/o\"\n  command_timeout = \"later\"\n}\n"),
            vec!["'command_timeout'", "bad-command-timeout.hcl"],
        ),
        file(
            "template-without-source.hcl",
            hcl("template {\n  destination = \"{dir}/o\"\n}\n"),
            vec!["must specify exactly one of 'source' or 'contents'", "template-without-source.hcl"],
        ),
        file(
            "unreadable-source.hcl",
            hcl("template {\n  source = \"{dir}/missing.ctmpl\"\n  destination = \"{dir}/o\"\n}\n"),
            vec!["missing.ctmpl", "template[0].source", "unreadable-source.hcl"],
        ),
        file(
            "sink-mode.hcl",
            "auto_auth {\n  method \"token_file\" { config { token_file_path = \"{dir}/token\" } }\n  sink \"file\" {\n    config {\n      path = \"{dir}/sink\"\n      mode = \"rwx\"\n    }\n  }\n}\n".into(),
            vec!["sink.file", "file mode \"rwx\"", "sink-mode.hcl"],
        ),
        file(
            "sink-in-missing-dir.hcl",
            "auto_auth {\n  method \"token_file\" { config { token_file_path = \"{dir}/token\" } }\n  sink \"file\" { config { path = \"{dir}/no/such/dir/sink\" } }\n}\n".into(),
            vec!["sink", "{dir}/no/such/dir/sink"],
        ),
        file(
            "bad-address.hcl",
            hcl("vault {\n  address = \"not a url\"\n}\n"),
            vec!["'vault' settings of", "bad-address.hcl", "\"not a url\""],
        ),
        file(
            "missing-ca.hcl",
            hcl("vault {\n  address = \"https://127.0.0.1:1\"\n  ca_cert = \"{dir}/missing-ca.pem\"\n}\n"),
            vec!["ca_cert", "{dir}/missing-ca.pem", "missing-ca.hcl"],
        ),
        file(
            "malformed.hcl",
            hcl("\nvault {\n  address = = \"x\"\n}\n"),
            vec!["malformed.hcl", "At 7:"],
        ),
        file(
            "unterminated.hcl",
            hcl("template {\n  contents = \"x\n}\n"),
            vec!["unterminated.hcl", "At 6:"],
        ),
        file(
            "two-vault-blocks.hcl",
            hcl("vault {}\nvault {}\n"),
            vec!["\"vault\" block", "two-vault-blocks.hcl"],
        ),
        // JSON.
        file(
            "unknown-template-key.json",
            json_auth(token_file_method, r#", "template": [{"contents": "x", "destination": "{dir}/o", "colour": 1}]"#),
            vec!["has invalid keys: colour", "unknown-template-key.json"],
        ),
        // HCL1's JSON reader turns an object holding only objects into labelled blocks, so
        // `config` becomes the method's type, as upstream reads it.
        file(
            "method-without-type.json",
            json_auth(r#"{"config": {"role": "r"}}"#, ""),
            vec!["auto_auth.method.type", "method-without-type.json"],
        ),
        file(
            "kubernetes-without-role.json",
            json_auth(r#"{"type": "kubernetes", "config": {"token_path": "{dir}/jwt"}}"#, ""),
            vec!["auto_auth.method.config.role", "kubernetes-without-role.json"],
        ),
        file(
            "bad-max-backoff.json",
            json_auth(r#"{"type": "token_file", "max_backoff": "forever", "config": {"token_file_path": "{dir}/token"}}"#, ""),
            vec!["max_backoff", "invalid duration \"forever\"", "bad-max-backoff.json"],
        ),
        file(
            "bad-perms.json",
            json_auth(token_file_method, r#", "template": [{"contents": "x", "destination": "{dir}/o", "perms": "abc"}]"#),
            vec!["'perms'", "\"abc\"", "bad-perms.json"],
        ),
        file(
            "bad-render-interval.json",
            json_auth(token_file_method, r#", "template_config": {"static_secret_render_interval": "soon"}"#),
            vec!["static_secret_render_interval", "bad-render-interval.json"],
        ),
        file(
            "truncated.json",
            "{\"auto_auth\": {\n  \"method\": ".into(),
            vec!["truncated.json", "At 2:"],
        ),
        // VAULT_CONFIG.
        Case {
            name: "VAULT_CONFIG not base64",
            source: Source::VaultConfig("%%% not base64 %%%".into()),
            args: Vec::new(),
            want: vec!["VAULT_CONFIG is not valid base64"],
        },
        Case {
            name: "VAULT_CONFIG not JSON",
            source: Source::VaultConfig(b64("{\"auto_auth\": ")),
            args: Vec::new(),
            want: vec!["VAULT_CONFIG", "At 1:"],
        },
        Case {
            name: "VAULT_CONFIG a JSON array",
            source: Source::VaultConfig(b64("[1, 2]")),
            args: Vec::new(),
            want: vec!["VAULT_CONFIG", "root object"],
        },
        Case {
            name: "VAULT_CONFIG bad key",
            source: Source::VaultConfig(b64(&json_auth(
                token_file_method,
                r#", "template_config": {"lease_renewal_threshold": "high"}"#,
            ))),
            args: Vec::new(),
            want: vec!["VAULT_CONFIG", "lease_renewal_threshold"],
        },
        // Command line.
        Case {
            name: "-exit-after-auth=maybe",
            source: Source::File("ok.hcl", AUTH_HCL.into()),
            args: vec!["-exit-after-auth=maybe".into()],
            want: vec!["-exit-after-auth", "\"maybe\""],
        },
        Case {
            name: "-revoke-on-exit=perhaps",
            source: Source::File("ok.hcl", AUTH_HCL.into()),
            args: vec!["-revoke-on-exit=perhaps".into()],
            want: vec!["-revoke-on-exit", "\"perhaps\""],
        },
        Case {
            name: "-revoke-grace=soon",
            source: Source::File("ok.hcl", AUTH_HCL.into()),
            args: vec!["-revoke-grace=soon".into()],
            want: vec!["-revoke-grace", "\"soon\"", "parse error"],
        },
        Case {
            name: "unknown flag",
            source: Source::File("ok.hcl", AUTH_HCL.into()),
            args: vec!["-colour=red".into()],
            want: vec!["flag provided but not defined: -colour"],
        },
        Case {
            name: "-config without a value",
            source: Source::None,
            args: vec!["-config".into()],
            want: vec!["flag needs an argument: -config"],
        },
        Case {
            name: "missing config file",
            source: Source::None,
            args: vec!["-config={dir}/nope.hcl".into()],
            want: vec!["{dir}/nope.hcl"],
        },
        Case {
            name: "no configuration at all",
            source: Source::None,
            args: Vec::new(),
            want: vec!["-config", "VAULT_CONFIG"],
        },
    ]
}

fn run_case(case: &Case, dir: &Path) -> Result<(), String> {
    let d = dir.display().to_string();
    let sub = |s: &str| s.replace("{dir}", &d);
    let mut cmd = Command::new(agent_bin());
    cmd.env_remove("VAULT_ADDR")
        .env_remove("VAULT_CONFIG")
        .env("NO_COLOR", "1");
    match &case.source {
        Source::File(name, text) => {
            let path = dir.join(name);
            std::fs::write(&path, sub(text)).map_err(|e| e.to_string())?;
            cmd.arg(format!("-config={}", path.display()));
        }
        Source::VaultConfig(value) => {
            cmd.env("VAULT_CONFIG", sub(value));
        }
        Source::None => {}
    }
    cmd.args(case.args.iter().map(|a| sub(a)));
    let out = run_with_timeout(&mut cmd, Duration::from_secs(60)).map_err(|e| e.to_string())?;
    let err = out.stderr_str();
    if out.timed_out {
        return Err(format!("still running after 60 s; stderr:\n{err}"));
    }
    if out.success() || out.code().is_none() {
        return Err(format!("exit status {:?}; stderr:\n{err}", out.status));
    }
    if err.contains("panicked") {
        return Err(format!("panicked:\n{err}"));
    }
    let last = err
        .lines()
        .rev()
        .find(|l| l.starts_with("error: "))
        .ok_or_else(|| format!("no `error: ` line:\n{err}"))?;
    for want in &case.want {
        let want = sub(want);
        if !err.contains(&want) {
            return Err(format!("stderr lacks {want:?}; last line: {last}"));
        }
    }
    // Nothing was written for a configuration that never started.
    for artefact in ["sink", "o", "pid"] {
        if dir.join(artefact).exists() {
            return Err(format!("{artefact} was written"));
        }
    }
    Ok(())
}

#[test]
fn every_broken_configuration_exits_non_zero_naming_what_to_fix() {
    let mut failures = BTreeMap::new();
    let cases = cases();
    for case in &cases {
        let dir = tempfile::tempdir().unwrap();
        if let Err(e) = run_case(case, dir.path()) {
            failures.insert(case.name, e);
        }
    }
    assert!(
        failures.is_empty(),
        "{} of {} cases failed:\n{}",
        failures.len(),
        cases.len(),
        failures
            .iter()
            .map(|(k, v)| format!("--- {k}: {v}"))
            .collect::<Vec<_>>()
            .join("\n")
    );
}
