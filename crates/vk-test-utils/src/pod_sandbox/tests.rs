//! Runs of real containers in the sandbox (need root).

use std::path::Path;
use std::time::Duration;

use serde_json::{Value, json};

use super::*;

fn pod() -> Value {
    json!({
        "metadata": {"name": "p", "namespace": "ns1", "labels": {"app": "demo"}},
        "spec": {
            "volumes": [
                {"name": "data", "emptyDir": {}},
                {"name": "sa", "projected": {"sources": [
                    {"serviceAccountToken": {"path": "token"}},
                    {"downwardAPI": {"items": [{"path": "namespace", "fieldRef": {"fieldPath": "metadata.namespace"}}]}}
                ]}}
            ],
            "containers": [{
                "name": "c",
                "command": ["/bin/sh", "-ec"],
                "args": ["echo \"$NS $IP $APP $(GREETING)\" > /vault/secrets/out; cat /var/run/secrets/kubernetes.io/serviceaccount/token; id -u; echo hi >> /vault/secrets/out; vault version | head -c 7; touch /var/run/secrets/kubernetes.io/serviceaccount/x 2>/dev/null && echo rw || echo ro"],
                "env": [
                    {"name": "NS", "valueFrom": {"fieldRef": {"fieldPath": "metadata.namespace"}}},
                    {"name": "IP", "valueFrom": {"fieldRef": {"fieldPath": "status.podIP"}}},
                    {"name": "APP", "valueFrom": {"fieldRef": {"fieldPath": "metadata.labels['app']"}}},
                    {"name": "GREETING", "value": "hello-$(NS)"}
                ],
                "securityContext": {"runAsUser": 100, "runAsGroup": 1000},
                "volumeMounts": [
                    {"name": "data", "mountPath": "/vault/secrets"},
                    {"name": "sa", "readOnly": true, "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
                ]
            }]
        }
    })
}

#[test]
fn runs_a_container_with_real_paths_and_leaves_nothing_behind() {
    let existed = Path::new("/vault").exists() || Path::new("/run/secrets").exists();
    let mut sb = PodSandbox::new(&pod()).unwrap();
    sb.set_service_account_token("tok-123").unwrap();
    let run = sb.run("c").unwrap();
    assert!(run.success(), "{}", run.describe());
    assert_eq!(
        run.output.stdout_str(),
        "tok-123100\nOpenBaoro\n",
        "{}",
        run.describe()
    );
    let out = std::fs::read_to_string(sb.host_path("c", "/vault/secrets/out").unwrap()).unwrap();
    assert_eq!(out, "ns1 127.0.0.1 demo hello-ns1\nhi\n");
    let ns = std::fs::read_to_string(sb.volume_dir("sa").unwrap().join("namespace")).unwrap();
    assert_eq!(ns, "ns1");
    if !existed {
        assert!(!Path::new("/vault").exists(), "/vault leaked onto the host");
        assert!(
            !Path::new("/run/secrets").exists(),
            "/run/secrets leaked onto the host"
        );
    }
}

#[test]
fn agent_binary_appears_at_the_image_path_without_touching_the_host() {
    use std::os::unix::fs::PermissionsExt;
    let host_had_it = Path::new(AGENT_BINARY_PATH).exists();
    let host_entries: Vec<String> = std::fs::read_dir("/usr/local/bin")
        .map(|d| {
            d.filter_map(|e| e.ok())
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "vault-k8s")
                .collect()
        })
        .unwrap_or_default();
    let scripts = tempfile::tempdir().unwrap();
    let fake = scripts.path().join("fake-agent");
    std::fs::write(
        &fake,
        "#!/bin/sh\necho \"fake agent: $*\"\nls /usr/local/bin\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();

    let mut p = pod();
    p["spec"]["containers"][0]["command"] = json!([AGENT_BINARY_PATH]);
    p["spec"]["containers"][0]["args"] = json!(["agent", "-x=$(GREETING)"]);
    let mut sb = PodSandbox::new(&p).unwrap();
    let err = sb.run("c").expect_err("no agent binary set");
    assert!(format!("{err:#}").contains("set_agent_binary"), "{err:#}");

    sb.set_agent_binary(&fake);
    let run = sb.run("c").unwrap();
    assert!(run.success(), "{}", run.describe());
    let out = run.output.stdout_str();
    let mut lines = out.lines();
    assert_eq!(lines.next(), Some("fake agent: agent -x=hello-ns1"));
    let listed: Vec<&str> = lines.collect();
    assert!(listed.contains(&"vault-k8s"), "{listed:?}");
    for entry in &host_entries {
        assert!(
            listed.contains(&entry.as_str()),
            "host entry {entry} hidden: {listed:?}"
        );
    }
    if !host_had_it {
        assert!(
            !Path::new(AGENT_BINARY_PATH).exists(),
            "{AGENT_BINARY_PATH} leaked onto the host"
        );
    }
    // The container cannot overwrite the binary (read-only bind, not its owner).
    let run = sb
        .run_with_command("c", &["/bin/sh", "-c", "echo x > /usr/local/bin/vault-k8s"])
        .unwrap();
    assert!(!run.success(), "{}", run.describe());
    assert!(
        std::fs::read_to_string(&fake)
            .unwrap()
            .starts_with("#!/bin/sh")
    );
}

#[test]
fn timeout_kills_the_container() {
    let mut p = pod();
    p["spec"]["containers"][0]["args"] = json!(["sleep 30"]);
    let mut sb = PodSandbox::new(&p).unwrap();
    sb.set_timeout(Duration::from_millis(500));
    let start = std::time::Instant::now();
    let run = sb.run("c").unwrap();
    assert!(run.output.timed_out && !run.success());
    assert!(start.elapsed() < Duration::from_secs(10));
}
