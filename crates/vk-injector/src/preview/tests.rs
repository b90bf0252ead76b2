use super::*;

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../vk-test-utils/fixtures");

fn settings() -> InjectorSettings {
    InjectorSettings {
        vault_address: "http://vault.vault.svc:8200".into(),
        ..InjectorSettings::default()
    }
}

fn fixture(name: &str) -> String {
    std::fs::read_to_string(format!("{FIXTURES}/{name}")).expect("fixture")
}

#[test]
fn takes_pods_and_templates_from_multi_document_yaml() {
    let text = format!(
        "{}\n---\n{}\n---\napiVersion: v1\nkind: Service\nmetadata: {{name: svc}}\n---\n",
        fixture("webapp-pod.yaml"),
        fixture("app-deployment.yaml")
    );
    let pods = pods_from_manifest(&text, "team").expect("pods");
    let origins: Vec<_> = pods
        .iter()
        .map(|p| (p.origin.as_str(), p.namespace.as_str()))
        .collect();
    assert_eq!(
        origins,
        [("Pod/webapp", "default"), ("Deployment/app", "team")]
    );
    assert_eq!(pods[1].pod["kind"], "Pod");
    assert_eq!(pods[1].pod["metadata"]["namespace"], "team");
    assert_eq!(pods[1].pod["spec"]["containers"][0]["name"], "app");
}

#[test]
fn cronjob_and_list_are_unwrapped() {
    let text = r#"{"kind":"List","items":[{"kind":"CronJob","metadata":{"name":"c"},"spec":{"jobTemplate":{"spec":{"template":{"spec":{"containers":[{"name":"x"}]}}}}}}]}"#;
    let pods = pods_from_manifest(text, "").expect("pods");
    assert_eq!(pods.len(), 1);
    assert_eq!(pods[0].origin, "CronJob/c");
    assert_eq!(pods[0].namespace, "default");
}

#[test]
fn manifests_without_pods_and_broken_yaml_are_errors() {
    assert!(matches!(
        pods_from_manifest("kind: Service\n", ""),
        Err(PreviewError::NoPod)
    ));
    let err = pods_from_manifest("kind: Pod\n---\n: : [\n", "").expect_err("broken");
    assert!(err.to_string().contains("document 2"), "{err}");
}

#[test]
fn service_account_admission_adds_projected_volume_everywhere() {
    let mut pod = serde_json::json!({"spec": {"initContainers": [{"name": "i"}], "containers": [{"name": "a"}, {"name": "b", "volumeMounts": [{"name": "own", "mountPath": SA_MOUNT_PATH}]}]}});
    simulate_service_account_admission(&mut pod);
    let spec = &pod["spec"];
    assert_eq!(spec["serviceAccountName"], "default");
    let name = spec["volumes"][0]["name"].as_str().expect("volume");
    assert!(
        name.starts_with("kube-api-access-") && name.len() == "kube-api-access-".len() + 5,
        "{name}"
    );
    assert_eq!(
        spec["volumes"][0]["projected"]["sources"]
            .as_array()
            .map(Vec::len),
        Some(3)
    );
    assert_eq!(spec["initContainers"][0]["volumeMounts"][0]["name"], name);
    assert_eq!(spec["containers"][0]["volumeMounts"][0]["readOnly"], true);
    assert_eq!(
        spec["containers"][1]["volumeMounts"]
            .as_array()
            .map(Vec::len),
        Some(1),
        "existing mount kept alone"
    );

    let mut opted_out = serde_json::json!({"spec": {"automountServiceAccountToken": false, "containers": [{"name": "a"}]}});
    simulate_service_account_admission(&mut opted_out);
    assert!(opted_out["spec"].get("volumes").is_none());
}

#[test]
fn renders_the_webapp_fixture_with_both_agents() {
    let pods = pods_from_manifest(&fixture("webapp-pod.yaml"), "").expect("pods");
    let Rendered::Injected { pod, patch, .. } = render(&pods[0], &settings()).expect("render")
    else {
        panic!("expected an injection");
    };
    assert!(!patch.is_empty());
    let init: Vec<_> = pod["spec"]["initContainers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    let containers: Vec<_> = pod["spec"]["containers"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|c| c["name"].as_str())
        .collect();
    assert_eq!(init, ["vault-agent-init"]);
    assert_eq!(containers, ["webapp", "vault-agent"]);
    assert_eq!(
        pod["metadata"]["annotations"]["vault.hashicorp.com/agent-inject-status"],
        "injected"
    );
}

#[test]
fn denials_and_skips_are_reported() {
    let pods = pods_from_manifest("kind: Pod\nmetadata: {name: p, annotations: {vault.hashicorp.com/agent-inject: 'yes'}}\nspec: {containers: [{name: a}]}\n", "").expect("pods");
    assert!(
        matches!(render(&pods[0], &settings()).expect("render"), Rendered::Denied(m) if m.contains("parsing \"yes\""))
    );
    let pods = pods_from_manifest(
        "kind: Pod\nmetadata: {name: p}\nspec: {containers: [{name: a}]}\n",
        "",
    )
    .expect("pods");
    assert!(matches!(
        render(&pods[0], &settings()).expect("render"),
        Rendered::Skipped(_)
    ));
}

/// The preview runs the same engine as the webhook, so it follows the command-style rule.
#[test]
fn preview_follows_the_agent_command_rule() {
    let pods = pods_from_manifest(&fixture("webapp-pod.yaml"), "").expect("pods");
    let agents = |settings: &InjectorSettings| {
        let Rendered::Injected { pod, .. } = render(&pods[0], settings).expect("render") else {
            panic!("expected an injection");
        };
        let init = pod["spec"]["initContainers"][0].clone();
        let sidecar = pod["spec"]["containers"][1].clone();
        (init, sidecar)
    };
    let native = serde_json::json!(["/usr/local/bin/vault-k8s"]);
    let shell = serde_json::json!(["/bin/sh", "-ec"]);

    let (init, sidecar) = agents(&settings());
    assert_eq!(init["image"], vk_inject::DEFAULT_AGENT_IMAGE);
    assert_eq!((&init["command"], &sidecar["command"]), (&native, &native));
    assert_eq!(init["args"], serde_json::json!(["agent"]));

    let upstream = InjectorSettings {
        vault_image: vk_inject::UPSTREAM_AGENT_IMAGE.into(),
        ..settings()
    };
    let (init, sidecar) = agents(&upstream);
    assert_eq!((&init["command"], &sidecar["command"]), (&shell, &shell));

    let forced = InjectorSettings {
        agent_command_style: vk_inject::AgentCommandStyle::Native,
        ..upstream
    };
    let (init, _) = agents(&forced);
    assert_eq!(init["command"], native);
}

/// The preview returns the webhook's admission warnings (the CLI prints them on stderr).
#[test]
fn preview_returns_the_admission_warnings() {
    let manifest = "kind: Pod\nmetadata: {name: p, annotations: {vault.hashicorp.com/agent-inject: 'true', vault.hashicorp.com/role: r, vault.hashicorp.com/auth-type: gcp}}\nspec: {containers: [{name: a}]}\n";
    let pods = pods_from_manifest(manifest, "").expect("pods");
    let Rendered::Injected { warnings, .. } = render(&pods[0], &settings()).expect("render") else {
        panic!("expected an injection");
    };
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "vault.hashicorp.com/auth-type: auth method \"gcp\" is not supported by vault-k8s agent"
        ),
        "{}",
        warnings[0]
    );
    let upstream = InjectorSettings {
        vault_image: vk_inject::UPSTREAM_AGENT_IMAGE.into(),
        ..settings()
    };
    let Rendered::Injected { warnings, .. } = render(&pods[0], &upstream).expect("render") else {
        panic!("expected an injection");
    };
    assert!(warnings.is_empty(), "{warnings:?}");
}

/// Issue [9]: `agent-inject render` shows the template parse warnings the webhook returns.
#[test]
fn preview_shows_template_parse_warnings() {
    let manifest = "kind: Pod\nmetadata: {name: p, annotations: {vault.hashicorp.com/agent-inject: 'true', vault.hashicorp.com/role: r, vault.hashicorp.com/agent-inject-template-x: '{{ if .A }}'}}\nspec: {containers: [{name: a}]}\n";
    let pods = pods_from_manifest(manifest, "").expect("pods");
    let Rendered::Injected { warnings, .. } = render(&pods[0], &settings()).expect("render") else {
        panic!("expected an injection");
    };
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert!(
        warnings[0].starts_with(
            "vault.hashicorp.com/agent-inject-template-x: template does not parse: line 1"
        ),
        "{}",
        warnings[0]
    );
}
