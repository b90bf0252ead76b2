//! Issue [9]: native sidecar mode, template errors at admission and the secrets `sizeLimit`.
//! The native pod is validated with kubernetes-validate (`.tools/venv-kv`, `cargo xtask tools`)
//! against Kubernetes 1.29, 1.33 and 1.35.
#![allow(clippy::disallowed_methods)] // Test code: runs kubernetes-validate on temp files.

use std::path::Path;
use std::process::Command;

use serde_json::{Value, json};
use vk_inject::native::{PROBE_FAILURE_THRESHOLD, READY_FILE, probe_command};
use vk_inject::{
    DEFAULT_AGENT_IMAGE, Decision, InjectionType, InjectorSettings, UPSTREAM_AGENT_IMAGE, mutate,
    patch_to_json,
};

fn pod(annotations: Value, init_containers: Value) -> Value {
    let mut ann = json!({
        "vault.hashicorp.com/agent-inject": "true",
        "vault.hashicorp.com/role": "app",
        "vault.hashicorp.com/agent-inject-secret-db": "secret/data/db",
    });
    for (k, v) in annotations.as_object().into_iter().flatten() {
        ann[format!("vault.hashicorp.com/{k}")] = v.clone();
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "namespace": "default", "annotations": ann},
        "spec": {
            "restartPolicy": "Never",
            "initContainers": init_containers,
            "containers": [{
                "name": "app",
                "image": "app:1",
                "volumeMounts": [{
                    "name": "kube-api-access",
                    "readOnly": true,
                    "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"
                }]
            }],
            "volumes": [{"name": "kube-api-access", "projected": {"sources": [
                {"serviceAccountToken": {"path": "token", "expirationSeconds": 3607}}
            ]}}]
        }
    })
}

fn settings(image: &str, native: bool) -> InjectorSettings {
    InjectorSettings {
        vault_address: "https://vault:8200".to_owned(),
        vault_image: image.to_owned(),
        native_sidecar: native,
        ..InjectorSettings::default()
    }
}

/// (mutated pod, injection type, warnings).
fn admit(pod: &Value, settings: &InjectorSettings) -> (Value, InjectionType, Vec<String>) {
    match mutate(pod, "default", settings) {
        Decision::Inject {
            patch,
            injection,
            warnings,
        } => {
            let ops: json_patch::Patch =
                serde_json::from_slice(&patch_to_json(&patch)).expect("patch JSON");
            let mut out = pod.clone();
            json_patch::patch(&mut out, &ops).expect("patch applies");
            (out, injection, warnings)
        }
        other => panic!("expected an injection, got {other:?}"),
    }
}

fn names(pod: &Value, list: &str) -> Vec<String> {
    pod["spec"][list]
        .as_array()
        .into_iter()
        .flatten()
        .map(|c| c["name"].as_str().unwrap_or("").to_owned())
        .collect()
}

fn container<'a>(pod: &'a Value, list: &str, name: &str) -> &'a Value {
    pod["spec"][list]
        .as_array()
        .and_then(|l| l.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no {name} in {list}: {pod:#}"))
}

fn setup_container() -> Value {
    json!([{"name": "setup", "image": "busybox:1", "command": ["true"]}])
}

#[test]
fn one_agent_in_init_containers_with_a_startup_probe() {
    let (out, injection, warnings) = admit(
        &pod(json!({}), json!([])),
        &settings(DEFAULT_AGENT_IMAGE, true),
    );
    assert_eq!(injection, InjectionType::NativeSidecar);
    assert_eq!(injection.label(), Some("native_sidecar"));
    assert!(warnings.is_empty(), "{warnings:?}");
    assert_eq!(names(&out, "initContainers"), ["vault-agent"]);
    assert_eq!(names(&out, "containers"), ["app"]);
    let agent = container(&out, "initContainers", "vault-agent");
    assert_eq!(agent["restartPolicy"], "Always");
    assert_eq!(
        agent["args"],
        json!(["agent", format!("-ready-file={READY_FILE}")])
    );
    assert_eq!(
        agent["startupProbe"]["exec"]["command"],
        json!(probe_command())
    );
    assert_eq!(
        agent["startupProbe"]["failureThreshold"],
        PROBE_FAILURE_THRESHOLD
    );
    // The marker lives on the sidecar's in-memory home volume; no init agent volume.
    let volumes: Vec<&Value> = out["spec"]["volumes"].as_array().unwrap().iter().collect();
    assert!(
        volumes
            .iter()
            .any(|v| v["name"] == "home-sidecar" && v["emptyDir"]["medium"] == "Memory")
    );
    assert!(!volumes.iter().any(|v| v["name"] == "home-init"));
    assert!(
        agent["volumeMounts"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["name"] == "home-sidecar" && m["mountPath"] == "/home/vault")
    );
    // Without pre-populate the app is not meant to wait: no probe.
    let (out, _, _) = admit(
        &pod(json!({"agent-pre-populate": "false"}), json!([])),
        &settings(DEFAULT_AGENT_IMAGE, true),
    );
    let agent = container(&out, "initContainers", "vault-agent");
    assert!(agent.get("startupProbe").is_none(), "{agent:#}");
    // The annotation turns it on without the flag, and off despite it.
    let (out, ..) = admit(
        &pod(json!({"agent-native-sidecar": "true"}), json!([])),
        &settings(DEFAULT_AGENT_IMAGE, false),
    );
    assert_eq!(names(&out, "initContainers"), ["vault-agent"]);
    let (out, injection, _) = admit(
        &pod(json!({"agent-native-sidecar": "false"}), json!([])),
        &settings(DEFAULT_AGENT_IMAGE, true),
    );
    assert_eq!(injection, InjectionType::InitAndSidecar);
    assert_eq!(names(&out, "initContainers"), ["vault-agent-init"]);
    assert_eq!(names(&out, "containers"), ["app", "vault-agent"]);
    // The init agent's patch has nothing to apply to: said, not dropped silently.
    let (out, _, warnings) = admit(
        &pod(
            json!({
                "agent-init-json-patch": r#"[{"op":"add","path":"/workingDir","value":"/tmp"}]"#,
                "agent-json-patch": r#"[{"op":"add","path":"/workingDir","value":"/w"}]"#,
            }),
            json!([]),
        ),
        &settings(DEFAULT_AGENT_IMAGE, true),
    );
    assert_eq!(
        container(&out, "initContainers", "vault-agent")["workingDir"],
        "/w"
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "vault.hashicorp.com/agent-init-json-patch: ignored with a native sidecar"
        ),
        "{warnings:?}"
    );
}

#[test]
fn placement_follows_agent_init_first() {
    let s = settings(DEFAULT_AGENT_IMAGE, true);
    let (out, ..) = admit(&pod(json!({}), setup_container()), &s);
    assert_eq!(names(&out, "initContainers"), ["setup", "vault-agent"]);
    let (out, ..) = admit(
        &pod(json!({"agent-init-first": "true"}), setup_container()),
        &s,
    );
    assert_eq!(names(&out, "initContainers"), ["vault-agent", "setup"]);
    // The pod's init containers see the secrets (as with the classic init agent).
    let setup = container(&out, "initContainers", "setup");
    assert!(
        setup["volumeMounts"]
            .as_array()
            .is_some_and(|m| m.iter().any(|m| m["mountPath"] == "/vault/secrets")),
        "{setup:#}"
    );
}

#[test]
fn pre_populate_only_and_native_are_denied_when_asked_for_together() {
    let p = pod(
        json!({"agent-native-sidecar": "true", "agent-pre-populate-only": "true"}),
        json!([]),
    );
    match mutate(&p, "default", &settings(DEFAULT_AGENT_IMAGE, false)) {
        Decision::Deny(r) => {
            assert!(
                r.message
                    .contains("vault.hashicorp.com/agent-native-sidecar")
                    && r.message
                        .contains("vault.hashicorp.com/agent-pre-populate-only"),
                "{}",
                r.message
            );
        }
        other => panic!("expected a denial, got {other:?}"),
    }
    // From the flag: the classic init-only injection stays, with a warning.
    let p = pod(json!({"agent-pre-populate-only": "true"}), json!([]));
    let (out, injection, warnings) = admit(&p, &settings(DEFAULT_AGENT_IMAGE, true));
    assert_eq!(injection, InjectionType::InitOnly);
    assert_eq!(names(&out, "initContainers"), ["vault-agent-init"]);
    assert!(
        warnings.iter().any(|w| w.contains("-native-sidecar is on")),
        "{warnings:?}"
    );
}

#[test]
fn upstream_image_gets_a_shell_probe_over_the_destinations() {
    let p = pod(json!({"agent-inject-file-db": "db.env"}), json!([]));
    let (out, ..) = admit(&p, &settings(UPSTREAM_AGENT_IMAGE, true));
    let agent = container(&out, "initContainers", "vault-agent");
    assert_eq!(agent["command"], json!(["/bin/sh", "-ec"]));
    assert_eq!(
        agent["startupProbe"]["exec"]["command"],
        json!(["/bin/sh", "-c", "test -e '/vault/secrets/db.env'"])
    );
    // Config-map mode hides the destinations: refused when asked for, classic from the flag.
    let cm = pod(
        json!({"agent-configmap": "cfg", "agent-native-sidecar": "true"}),
        json!([]),
    );
    assert!(matches!(
        mutate(&cm, "default", &settings(UPSTREAM_AGENT_IMAGE, false)),
        Decision::Deny(r) if r.message.contains("vault.hashicorp.com/agent-configmap")
    ));
    let (out, ..) = admit(&cm, &settings(DEFAULT_AGENT_IMAGE, false));
    assert_eq!(
        container(&out, "initContainers", "vault-agent")["args"],
        json!([
            "agent",
            "-config=/vault/configs/config.hcl",
            format!("-ready-file={READY_FILE}")
        ])
    );
}

/// `python3 kubernetes-validate` from the venv (run through its python: the script's `#!`
/// names the directory the venv was created in, which a worktree's symlink does not match).
fn kubernetes_validate() -> Command {
    let bin = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../.tools/venv-kv/bin");
    let script = bin.join("kubernetes-validate");
    assert!(
        script.exists(),
        "{} is missing: run `cargo xtask tools`, which creates the venv",
        script.display()
    );
    let mut cmd = Command::new(bin.join("python3"));
    cmd.arg(script);
    cmd
}

#[test]
fn native_pods_validate_for_kubernetes_1_29_1_33_1_35() {
    let dir = tempfile_dir();
    let cases = [
        (
            "own",
            pod(json!({}), setup_container()),
            settings(DEFAULT_AGENT_IMAGE, true),
        ),
        (
            "own-init-first-sized",
            pod(
                json!({"agent-init-first": "true", "secret-volume-size-limit": "16Mi"}),
                setup_container(),
            ),
            settings(DEFAULT_AGENT_IMAGE, true),
        ),
        (
            "upstream",
            pod(json!({"agent-revoke-on-shutdown": "true"}), json!([])),
            settings(UPSTREAM_AGENT_IMAGE, true),
        ),
        (
            "openshift",
            pod(json!({}), json!([])),
            InjectorSettings {
                set_security_context: false,
                ..settings(DEFAULT_AGENT_IMAGE, true)
            },
        ),
    ];
    for (label, p, s) in cases {
        let (out, ..) = admit(&p, &s);
        let file = dir.join(format!("{label}.json"));
        std::fs::write(&file, serde_json::to_vec_pretty(&out).unwrap()).unwrap();
        for version in ["1.29", "1.33", "1.35"] {
            let run = kubernetes_validate()
                .args(["-k", version, "--strict"])
                .arg(&file)
                .output()
                .expect("run kubernetes-validate");
            let text = format!(
                "{}{}",
                String::from_utf8_lossy(&run.stdout),
                String::from_utf8_lossy(&run.stderr)
            );
            assert!(
                run.status.success() && text.contains("passed"),
                "{label} for {version}: {text}"
            );
        }
    }
    let _ = std::fs::remove_dir_all(&dir);
}

fn tempfile_dir() -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("vk-inject-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn broken_templates_warn_with_line_and_column_or_deny_when_asked() {
    let broken = json!({"agent-inject-template-db": "ok\n{{ with secret \"secret/data/db\" }}{{ .Data.data.pw }\n{{ end }}"});
    let (_, _, warnings) = admit(
        &pod(broken.clone(), json!([])),
        &settings(UPSTREAM_AGENT_IMAGE, false),
    );
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    let w = &warnings[0];
    assert!(
        w.starts_with(
            "vault.hashicorp.com/agent-inject-template-db: template does not parse: line 2, column "
        ),
        "{w}"
    );
    // A correct pod gets none.
    let good = json!({"agent-inject-template-db": "{{ with secret \"secret/data/db\" }}{{ .Data.data.pw }}{{ end }}"});
    let (_, _, warnings) = admit(
        &pod(good.clone(), json!([])),
        &settings(UPSTREAM_AGENT_IMAGE, false),
    );
    assert!(warnings.is_empty(), "{warnings:?}");
    // A quote in a secret path breaks the default template.
    let (_, _, warnings) = admit(
        &pod(
            json!({"agent-inject-secret-q": "secret/data/\"x"}),
            json!([]),
        ),
        &settings(UPSTREAM_AGENT_IMAGE, false),
    );
    assert!(
        warnings.iter().any(|w| w.starts_with(
            "vault.hashicorp.com/agent-inject-secret-q: template does not parse: line 1"
        )),
        "{warnings:?}"
    );
    // Denial: by annotation, or by the flag.
    let mut ann = broken.clone();
    ann["agent-deny-template-errors"] = json!("true");
    match mutate(&pod(ann, json!([])), "default", &settings(UPSTREAM_AGENT_IMAGE, false)) {
        Decision::Deny(r) => assert!(
            r.message.starts_with("error validating agent configuration: vault.hashicorp.com/agent-inject-template-db: template does not parse: line 2, column ")
                && r.message.ends_with("(denied because of vault.hashicorp.com/agent-deny-template-errors: true)"),
            "{}",
            r.message
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
    let deny_flag = InjectorSettings {
        deny_template_errors: true,
        ..settings(UPSTREAM_AGENT_IMAGE, false)
    };
    assert!(
        matches!(mutate(&pod(broken, json!([])), "default", &deny_flag), Decision::Deny(r) if r.message.ends_with("(denied because of -deny-template-errors)"))
    );
    assert!(matches!(
        mutate(&pod(good, json!([])), "default", &deny_flag),
        Decision::Inject { .. }
    ));
}

#[test]
fn secrets_volume_size_limit_from_annotation_or_flag() {
    let sized = |p: &Value, s: &InjectorSettings| {
        let (out, ..) = admit(p, s);
        out["spec"]["volumes"]
            .as_array()
            .unwrap()
            .iter()
            .find(|v| v["name"] == "vault-secrets")
            .unwrap()["emptyDir"]
            .clone()
    };
    let s = settings(UPSTREAM_AGENT_IMAGE, false);
    assert_eq!(
        sized(&pod(json!({}), json!([])), &s),
        json!({"medium": "Memory"})
    );
    assert_eq!(
        sized(
            &pod(json!({"secret-volume-size-limit": "1048576"}), json!([])),
            &s
        ),
        json!({"medium": "Memory", "sizeLimit": "1048576"})
    );
    let flag = InjectorSettings {
        secret_volume_size_limit: "8Mi".to_owned(),
        ..s.clone()
    };
    assert_eq!(
        sized(&pod(json!({}), json!([])), &flag),
        json!({"medium": "Memory", "sizeLimit": "8Mi"})
    );
    match mutate(
        &pod(json!({"secret-volume-size-limit": "lots"}), json!([])),
        "default",
        &s,
    ) {
        Decision::Deny(r) => assert!(
            r.message
                .contains("vault.hashicorp.com/secret-volume-size-limit"),
            "{}",
            r.message
        ),
        other => panic!("expected a denial, got {other:?}"),
    }
}
