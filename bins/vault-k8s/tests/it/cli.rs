//! Command-line behaviour of the binary (spec §1.1, §1.2, §7.10 cases 83–87).

use std::process::{Command, Output};

use crate::support::{BIN, CertDir, Pki, Server};

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .args(args)
        .env_clear()
        .envs(env.iter().copied())
        .output()
        .expect("run vault-k8s")
}

fn stderr(out: &Output) -> String {
    String::from_utf8_lossy(&out.stderr).into_owned()
}

#[test]
fn version_subcommand_and_flag() {
    let out = run(&["version", "ignored"], &[]);
    assert_eq!(out.status.code(), Some(0));
    let stdout = String::from_utf8(out.stdout).expect("utf-8");
    let mut lines = stdout.lines();
    assert_eq!(
        lines.next(),
        Some(concat!("vault-k8s v", env!("CARGO_PKG_VERSION")))
    );
    // The upstream releases of spec/injector.md §0.1, in lines 2 and 3; the agent's is the tag of
    // upstream's default agent image, so the two can never drift apart.
    assert_eq!(lines.next(), Some("compatible with vault-k8s: v1.7.6"));
    let agent_tag = vk_inject::UPSTREAM_AGENT_IMAGE
        .rsplit_once(':')
        .map(|(_, tag)| tag)
        .expect("upstream agent image has a tag");
    assert_eq!(
        lines.next(),
        Some(format!("compatible with Vault Agent: v{agent_tag}").as_str())
    );
    assert_eq!(agent_tag, "2.0.4");
    let rest: Vec<&str> = lines.collect();
    assert!(
        rest.iter().any(|l| l.starts_with("git revision: ")),
        "{rest:?}"
    );
    assert!(
        rest.iter().any(|l| l.starts_with("build date: ")),
        "{rest:?}"
    );
    assert!(rest.iter().any(|l| l.starts_with("target: ")), "{rest:?}");

    let out = run(&["--version"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert_eq!(stderr(&out), concat!("v", env!("CARGO_PKG_VERSION"), "\n"));
    assert!(out.stdout.is_empty());
}

#[test]
fn output_that_cannot_be_written_is_an_error_not_a_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let pod = dir.path().join("pod.yaml");
    std::fs::write(
        &pod,
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\nspec:\n  containers:\n  - name: app\n    image: app\n",
    )
    .expect("write pod");
    let pod = pod.to_str().expect("utf-8 path");
    let render = [
        "agent-inject",
        "render",
        "-f",
        pod,
        "-vault-address=https://vault:8200",
    ];
    for args in [&["version"][..], &render[..]] {
        // /dev/full fails every write with ENOSPC, as a closed pipe (`| head -1`) fails with EPIPE.
        let full = std::fs::OpenOptions::new()
            .write(true)
            .open("/dev/full")
            .expect("open /dev/full");
        let out = Command::new(BIN)
            .args(args)
            .env_clear()
            .stdout(full)
            .output()
            .expect("run vault-k8s");
        let err = stderr(&out);
        assert_eq!(out.status.code(), Some(1), "{args:?}: {err}");
        assert!(
            err.contains("writing to standard output: No space left on device"),
            "{args:?}: {err}"
        );
        assert!(!err.contains("panicked"), "{args:?}: {err}");
    }
}

#[test]
fn top_level_usage_and_exit_codes() {
    let out = run(&[], &[]);
    assert_eq!(out.status.code(), Some(127));
    assert!(stderr(&out).starts_with("Usage: vault-k8s [--version] [--help] <command> [<args>]"));
    assert_eq!(run(&["bogus"], &[]).status.code(), Some(127));
    let out = run(&["--help"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("agent-inject    Vault Agent injector service"));
    let out = run(&["agent-inject", "-h"], &[]);
    assert_eq!(out.status.code(), Some(0));
    assert!(stderr(&out).contains("-tls-cert-file=<string>"));
    let out = run(&["-x", "version"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("Invalid flags before the subcommand."));
}

#[test]
fn startup_validation_messages() {
    // Case 87.
    let out = run(&["agent-inject", "2>&1"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "No Vault service configured\n");
    let out = run(
        &["agent-inject", "-default-template=JSON"],
        &[("AGENT_INJECT_VAULT_ADDR", "http://v:8200")],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(stderr(&out), "Invalid default flag type: JSON\n");
    let out = run(
        &["agent-inject", "-vault-address=x", "-log-level=loud"],
        &[],
    );
    assert_eq!(
        stderr(&out),
        "Error setting log level: unknown log level: loud\n"
    );
    let out = run(
        &["agent-inject"],
        &[("AGENT_INJECT_USE_LEADER_ELECTOR", "yes")],
    );
    assert_eq!(
        stderr(&out),
        "Error parsing environment variables: cannot parse '' as bool: strconv.ParseBool: parsing \"yes\": invalid syntax\n"
    );
    let out = run(&["agent-inject", "-nope"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("flag provided but not defined: -nope\n"));
    // No certificate and no -tls-auto-hosts: automatic mode cannot name its certificate; a
    // clear message naming the flag, before anything is bound.
    let out = run(&["agent-inject", "-vault-address=x"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).starts_with("Invalid automatic TLS configuration: AGENT_INJECT_TLS_AUTO_HOSTS / -tls-auto-hosts: -tls-auto-hosts is empty"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &[
            "agent-inject",
            "-vault-address=x",
            "-tls-cert-file=/nonexistent/tls.crt",
            "-tls-key-file=/nonexistent/tls.key",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("/nonexistent/tls.crt"),
        "{}",
        stderr(&out)
    );
    let out = run(
        &[
            "agent-inject",
            "-vault-address=x",
            "-tls-cert-file=c",
            "-tls-key-file=k",
            "-tls-min-version=tls1000",
        ],
        &[],
    );
    assert_eq!(
        stderr(&out),
        "Failed to configure TLS: invalid or unsupported TLS version \"tls1000\"\n"
    );
    let out = run(
        &[
            "agent-inject",
            "-vault-address=x",
            "-tls-cert-file=c",
            "-tls-key-file=k",
        ],
        &[("TLS_CIPHER_SUITES", "TLS_RSA_WITH_RC4_128_SHA")],
    );
    assert!(
        stderr(&out).contains("TLS_RSA_WITH_RC4_128_SHA") && stderr(&out).contains("supported: "),
        "{}",
        stderr(&out)
    );
}

#[test]
fn log_levels_are_accepted_and_env_overrides_flags() {
    // Case 83 (accepted spellings start the server) and 84/85 (env beats flags).
    let pki = Pki::new();
    let certs = CertDir::new(&pki.leaf("webhook"));
    for level in ["INFO", " notice ", "trace", "warning", "err"] {
        let _server = Server::start(&certs, &[&format!("-log-level={level}")]);
    }
    let out = run(
        &["agent-inject", "-log-level=info"],
        &[
            ("AGENT_INJECT_VAULT_ADDR", "http://v"),
            (
                "AGENT_INJECT_TLS_CERT_FILE",
                &certs.cert.display().to_string(),
            ),
            (
                "AGENT_INJECT_TLS_KEY_FILE",
                &certs.key.display().to_string(),
            ),
            ("AGENT_INJECT_LOG_LEVEL", "foobar"),
        ],
    );
    assert_eq!(
        stderr(&out),
        "Error setting log level: unknown log level: foobar\n"
    );
}

#[test]
fn render_previews_the_webapp_fixture() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/vk-test-utils/fixtures/webapp-pod.yaml"
    );
    let out = run(
        &[
            "agent-inject",
            "render",
            "-f",
            file,
            "-vault-address=http://vault.vault.svc:8200",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let pod: k8s_openapi::api::core::v1::Pod =
        serde_norway::from_slice(&out.stdout).expect("a Pod in YAML");
    let spec = pod.spec.expect("spec");
    let names: Vec<_> = spec.containers.iter().map(|c| c.name.as_str()).collect();
    assert_eq!(names, ["webapp", "vault-agent"]);

    let out = run(
        &["agent-inject", "render", "-f", file, "-o", "patch"],
        &[("AGENT_INJECT_VAULT_ADDR", "http://v")],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let patch: serde_json::Value = serde_json::from_slice(&out.stdout).expect("json patch");
    assert!(patch.as_array().is_some_and(|ops| !ops.is_empty()));

    let out = run(&["agent-inject", "render", "-f", file], &[]);
    assert_eq!(stderr(&out), "No Vault service configured\n");
    let out = run(&["agent-inject", "render", "-vault-address=x"], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("-f FILE is required"));
}

#[test]
fn render_and_start_up_follow_the_agent_command_style() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/vk-test-utils/fixtures/webapp-pod.yaml"
    );
    let agents = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "agent-inject",
            "render",
            "-f",
            file,
            "-vault-address=http://vault.vault.svc:8200",
        ];
        args.extend_from_slice(extra);
        let out = run(&args, env);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let pod: serde_json::Value = serde_norway::from_slice(&out.stdout).expect("a Pod in YAML");
        let init = pod["spec"]["initContainers"][0].clone();
        let sidecar = pod["spec"]["containers"][1].clone();
        (init, sidecar)
    };
    let native = serde_json::json!(["/usr/local/bin/vault-k8s"]);
    let shell = serde_json::json!(["/bin/sh", "-ec"]);

    // Default: our image, our agent, no shell.
    let (init, sidecar) = agents(&[], &[]);
    assert_eq!(
        init["image"],
        concat!("localhost/vault-k8s:", env!("CARGO_PKG_VERSION"))
    );
    assert_eq!((&init["command"], &sidecar["command"]), (&native, &native));
    assert_eq!(init["args"], serde_json::json!(["agent"]));
    // Upstream's image: upstream's command.
    let (init, sidecar) = agents(&["-vault-image=hashicorp/vault:2.0.4"], &[]);
    assert_eq!((&init["command"], &sidecar["command"]), (&shell, &shell));
    // The override, by flag and by environment.
    let (init, _) = agents(
        &[
            "-vault-image=hashicorp/vault:2.0.4",
            "-agent-command-style=native",
        ],
        &[],
    );
    assert_eq!(init["command"], native);
    let (init, _) = agents(&[], &[("AGENT_INJECT_AGENT_COMMAND_STYLE", "shell")]);
    assert_eq!(init["command"], shell);

    // A bad value stops the webhook before anything is bound, naming the flag.
    let out = run(
        &[
            "agent-inject",
            "-vault-address=x",
            "-tls-cert-file=c",
            "-tls-key-file=k",
            "-agent-command-style=bash",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        stderr(&out),
        "-agent-command-style (AGENT_INJECT_AGENT_COMMAND_STYLE) must be auto, native or shell, not \"bash\"\n"
    );
}

#[test]
fn render_prints_the_admission_warnings_on_stderr() {
    let dir = tempfile::tempdir().expect("tempdir");
    let file = dir.path().join("pod.yaml");
    std::fs::write(
        &file,
        "kind: Pod\nmetadata:\n  name: p\n  annotations:\n    vault.hashicorp.com/agent-inject: 'true'\n    vault.hashicorp.com/role: r\n    vault.hashicorp.com/auth-type: azure\nspec:\n  containers: [{name: a}]\n",
    )
    .expect("write");
    let file = file.display().to_string();
    let base = [
        "agent-inject",
        "render",
        "-f",
        &file,
        "-vault-address=http://v:8200",
    ];
    let out = run(&base, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    assert!(
        err.contains("Warning: vault.hashicorp.com/auth-type: auth method \"azure\" is not supported by vault-k8s agent"),
        "{err}"
    );
    assert!(err.contains("vault.hashicorp.com/agent-image"), "{err}");
    // Upstream's agent image: no warning.
    let mut upstream = base.to_vec();
    upstream.push("-vault-image=hashicorp/vault:2.0.4");
    let out = run(&upstream, &[]);
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("Warning"), "{}", stderr(&out));
}

#[test]
fn render_follows_the_credential_handoff_flag_and_environment() {
    let file = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/vk-test-utils/fixtures/webapp-pod.yaml"
    );
    let handoff = |extra: &[&str], env: &[(&str, &str)]| {
        let mut args = vec![
            "agent-inject",
            "render",
            "-f",
            file,
            "-vault-address=http://vault.vault.svc:8200",
        ];
        args.extend_from_slice(extra);
        let out = run(&args, env);
        assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
        let pod: serde_json::Value = serde_norway::from_slice(&out.stdout).expect("a Pod in YAML");
        ["initContainers", "containers"].map(|list| {
            pod["spec"][list]
                .as_array()
                .into_iter()
                .flatten()
                .flat_map(|c| c["env"].as_array().into_iter().flatten())
                .find(|e| e["name"] == "VAULT_K8S_AGENT_HANDOFF_DIR")
                .map(|e| e["value"].clone())
        })
    };
    let on = Some(serde_json::json!("/vault/agent-cache"));
    assert_eq!(handoff(&[], &[]), [on.clone(), on]);
    assert_eq!(
        handoff(&["-agent-credential-handoff=false"], &[]),
        [None, None]
    );
    assert_eq!(
        handoff(&[], &[("AGENT_INJECT_CREDENTIAL_HANDOFF", "false")]),
        [None, None]
    );
}

/// Issue [9] through the CLI: `render -native-sidecar` puts one agent in `initContainers`,
/// a broken template is a warning on stderr (line and column), `-deny-template-errors` turns
/// it into a denial (exit 1); `agent probe` answers without a marker.
#[test]
fn render_native_sidecar_and_template_warnings() {
    let dir = tempfile::tempdir().expect("tempdir");
    let good = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/vk-test-utils/fixtures/webapp-pod.yaml"
    );
    let out = run(
        &[
            "agent-inject",
            "render",
            "-f",
            good,
            "-vault-address=http://v",
            "-native-sidecar",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert_eq!(stderr(&out), "", "a correct pod gets no warning");
    let pod: serde_json::Value = serde_norway::from_slice(&out.stdout).expect("a Pod in YAML");
    assert_eq!(pod["spec"]["initContainers"][0]["name"], "vault-agent");
    assert_eq!(pod["spec"]["initContainers"][0]["restartPolicy"], "Always");
    assert_eq!(
        pod["spec"]["initContainers"][0]["startupProbe"]["exec"]["command"][2],
        "probe"
    );
    assert_eq!(pod["spec"]["containers"].as_array().map(Vec::len), Some(1));

    let text = std::fs::read_to_string(good).expect("fixture");
    let broken = text.replace(".Data.data.password }}", ".Data.data.password }");
    let file = dir.path().join("broken.yaml");
    std::fs::write(&file, broken).expect("write");
    let file = file.to_str().expect("utf-8 path");
    let out = run(
        &[
            "agent-inject",
            "render",
            "-f",
            file,
            "-vault-address=http://v",
        ],
        &[],
    );
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    let err = stderr(&out);
    eprintln!("{err}");
    assert!(
        err.contains("vault.hashicorp.com/agent-inject-template-database-config: template does not parse: line 2, column "),
        "{err}"
    );
    let out = run(
        &[
            "agent-inject",
            "render",
            "-f",
            file,
            "-vault-address=http://v",
        ],
        &[("AGENT_INJECT_DENY_TEMPLATE_ERRORS", "true")],
    );
    assert_eq!(out.status.code(), Some(1), "{}", stderr(&out));
    assert!(
        stderr(&out).contains("(denied because of -deny-template-errors)"),
        "{}",
        stderr(&out)
    );

    let marker = dir.path().join("ready");
    let arg = format!("-ready-file={}", marker.display());
    let out = run(&["agent", "probe", &arg], &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).starts_with("not ready: "), "{}", stderr(&out));
    assert_eq!(run(&["agent", "probe"], &[]).status.code(), Some(2));
}
