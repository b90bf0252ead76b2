//! The exact bytes of the patch for a set of varied pods, pinned by length and FNV-1a hash.
//!
//! The hashes were recorded from the engine as it was before the patch was written straight to
//! JSON text (commit b2ff6ec built `serde_json::Value` trees and serialised them with Go's
//! escaping), so this checks that the direct writer is byte-identical to it, beyond what the
//! conformance cases compare (most compare parsed JSON). A deliberate change of the output
//! updates the table; the failure message prints the new patch and figures.

use serde_json::{Value, json};
use vk_inject::{Decision, InjectorSettings, mutate, patch_to_json};

const WEBAPP: &str = include_str!("../../vk-test-utils/fixtures/webapp-pod-admitted.json");

fn webapp() -> Value {
    serde_json::from_str(WEBAPP).unwrap_or_else(|e| panic!("webapp fixture: {e}"))
}

/// The webapp pod with extra `vault.hashicorp.com/` annotations.
fn with(ann: &[(&str, &str)]) -> Value {
    let mut pod = webapp();
    if let Some(m) = pod
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        for (k, v) in ann {
            m.insert(format!("vault.hashicorp.com/{k}"), json!(v));
        }
    }
    pod
}

fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(*b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// (name, pod, settings, patch length, FNV-1a of the patch).
fn scenarios() -> Vec<(&'static str, Value, InjectorSettings, usize, u64)> {
    let ours = InjectorSettings {
        vault_address: "https://vault.vault.svc:8200".into(),
        ..InjectorSettings::default()
    };
    let upstream = InjectorSettings {
        vault_image: "hashicorp/vault:1.19".into(),
        ..ours.clone()
    };
    let otel = InjectorSettings {
        agent_otel_forward: true,
        agent_otel_env: vec![
            (
                "OTEL_EXPORTER_OTLP_ENDPOINT".into(),
                "http://c<o>l&l:4318".into(),
            ),
            ("OTEL_X".into(), String::new()),
        ],
        ..ours.clone()
    };
    let cacert = InjectorSettings {
        vault_cacert_bytes: "LS0tLS1CRUdJTiBDRVJUCg==".into(),
        revoke_on_shutdown: true,
        ..upstream.clone()
    };
    let no_ids = InjectorSettings {
        set_security_context: false,
        restricted_profile: Some(true),
        ..ours.clone()
    };
    let root = InjectorSettings {
        restricted_profile: Some(false),
        run_as_user: "0".into(),
        ..ours.clone()
    };
    let mut init_first = with(&[
        ("agent-init-first", "true"),
        ("agent-copy-volume-mounts", "setup"),
    ]);
    init_first["spec"]["initContainers"] = json!([
        {
            "name": "setup", "image": "busy<box>", "args": ["a&b", "\u{2028}", "é"],
            "x": [1.5, 1e-7, 18446744073709551615u64, -9223372036854775808i64, null, {}],
            "volumeMounts": [
                {"name": "v", "mountPath": "/m", "readOnly": true, "recursiveReadOnly": "Enabled",
                 "subPath": "s", "mountPropagation": "HostToContainer", "subPathExpr": ""},
                {"name": "kube", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
            ]
        },
        {"name": "two"}
    ]);
    let mut many = webapp();
    if let Some(ann) = many
        .pointer_mut("/metadata/annotations")
        .and_then(Value::as_object_mut)
    {
        for i in 0..20 {
            ann.insert(
                format!("vault.hashicorp.com/agent-inject-secret-s{i}"),
                json!(format!("secret/data/app/s{i}")),
            );
            ann.insert(
                format!("vault.hashicorp.com/agent-inject-template-s{i}"),
                json!(format!(
                    "{{{{- with secret \"secret/data/app/s{i}\" -}}}}{{{{ .Data.data.value }}}}{{{{- end }}}}"
                )),
            );
        }
    }
    let mut two_containers = webapp();
    two_containers["spec"]["containers"] = json!([
        {"name": "a"},
        {"name": "b", "volumeMounts": [{"name": "kube", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}]}
    ]);
    two_containers["spec"]["volumes"] = json!([]);
    let sidecar_patch = r#"[{"op":"replace","path":"/name","value":"renamed"},{"op":"remove","path":"/volumeMounts"},{"op":"add","path":"/Stdin","value":true},{"op":"add","path":"/resources/limits","value":{"cpu":"1.5","x":[1.5,1e21,-3]}}]"#;
    let init_patch = r#"[{"op":"add","path":"/env/-","value":{"name":"Z","value":"<\u2028>"}}]"#;
    let rename_init = r#"[{"op":"replace","path":"/name","value":"renamed"},{"op":"remove","path":"/volumeMounts"}]"#;
    let odd = "r<o>l&e \u{2028}\u{2029} é \"q\" \\ \t";
    vec![
        (
            "webapp",
            webapp(),
            ours.clone(),
            4811,
            0xa2ea_f8b1_2329_b479,
        ),
        (
            "upstream image",
            webapp(),
            upstream.clone(),
            4559,
            0x5854_739b_7d91_ec2d,
        ),
        ("otel forward", webapp(), otel, 5015, 0x3f00_9498_5093_52c5),
        (
            "cacert bytes, revoke",
            webapp(),
            cacert,
            4818,
            0x6b75_14e2_73c9_aa97,
        ),
        (
            "restricted without ids",
            webapp(),
            no_ids,
            4743,
            0x6de4_edb5_c681_7fc9,
        ),
        (
            "root, not restricted",
            webapp(),
            root,
            4723,
            0x1ef2_845f_b56d_a289,
        ),
        (
            "native sidecar",
            with(&[("agent-native-sidecar", "true")]),
            ours.clone(),
            2634,
            0xff24_a6d8_8d35_5f68,
        ),
        (
            "native sidecar, upstream image, init first",
            with(&[
                ("agent-native-sidecar", "true"),
                ("agent-init-first", "true"),
                ("agent-inject-file-database-config", "x/it's.txt"),
            ]),
            upstream.clone(),
            2609,
            0xd568_6a0e_a0da_377b,
        ),
        (
            "metrics, revoke (native command)",
            with(&[
                ("agent-metrics", "true"),
                ("agent-revoke-on-shutdown", "true"),
                ("agent-revoke-grace", "7"),
            ]),
            ours.clone(),
            5364,
            0x00b8_aa27_71f4_692b,
        ),
        (
            "metrics, revoke (preStop)",
            with(&[
                ("agent-metrics", "true"),
                ("agent-revoke-on-shutdown", "true"),
                ("ca-cert", "/c<a>.pem"),
                ("client-cert", "/x&y"),
            ]),
            upstream.clone(),
            5427,
            0xc465_f07c_0408_689b,
        ),
        (
            "size limit, custom paths",
            with(&[
                ("secret-volume-size-limit", "64Mi"),
                ("secret-volume-path-database-config", "/other/p"),
                ("agent-inject-secret-two", "kv/two"),
                ("secret-volume-path-two", "/third"),
            ]),
            ours.clone(),
            6022,
            0x2d90_0981_b997_955f,
        ),
        (
            "json patches",
            with(&[
                ("agent-json-patch", sidecar_patch),
                ("agent-init-json-patch", init_patch),
            ]),
            ours.clone(),
            4571,
            0x00a2_950c_ffc0_6ffa,
        ),
        (
            "renamed init first",
            with(&[
                ("agent-init-json-patch", rename_init),
                ("agent-init-first", "true"),
            ]),
            ours.clone(),
            4635,
            0x18de_1809_a8bf_efe8,
        ),
        (
            "aws",
            with(&[
                ("auth-type", "aws"),
                ("auth-config-region", "eu-<1>"),
                ("auth-config-role", "r"),
            ]),
            upstream.clone(),
            4713,
            0xb292_13f1_aff8_e21b,
        ),
        (
            "config map",
            with(&[
                ("agent-configmap", "cm"),
                ("tls-skip-verify", "true"),
                ("tls-secret", "ts"),
                ("agent-extra-secret", "es"),
                ("tls-server-name", "n<&>\u{2028}\"\\\u{1}"),
            ]),
            upstream.clone(),
            3738,
            0x07e1_9570_c4f3_47f8,
        ),
        (
            "reload",
            with(&[
                ("agent-inject-reload-signal-database-config", "SIGHUP nginx"),
                ("agent-inject-secret-db", "database/creds/app"),
                (
                    "agent-inject-reload-http-db",
                    "post http://127.0.0.1:8080/-/reload",
                ),
            ]),
            ours.clone(),
            5656,
            0x22a1_bc00_47b6_3a02,
        ),
        (
            "escapes and quantities",
            with(&[
                ("role", odd),
                ("service", "https://v&<>"),
                ("proxy-address", "http://p<x>"),
                ("log-level", "debug"),
                ("go-max-procs", "2"),
                ("client-timeout", "5s"),
                ("client-max-retries", "3"),
                ("log-format", "json"),
                ("agent-limits-cpu", "1.5"),
                ("agent-requests-mem", "1e3"),
                ("agent-limits-ephemeral", "1Gi"),
                ("agent-requests-ephemeral", "0.5Gi"),
            ]),
            ours.clone(),
            5379,
            0xc57f_0234_cbc9_f3c9,
        ),
        (
            "sidecar only",
            with(&[("agent-pre-populate", "false")]),
            ours.clone(),
            2391,
            0x28f2_323e_5f52_78f8,
        ),
        (
            "init only",
            with(&[("agent-pre-populate-only", "true")]),
            ours.clone(),
            2379,
            0xafc4_0644_9941_293d,
        ),
        (
            "cache, quit, telemetry",
            with(&[
                ("agent-cache-enable", "true"),
                ("agent-enable-quit", "true"),
                ("template-lease-renewal-threshold", "0.25"),
                ("agent-telemetry-prometheus_retention_time", "5s"),
            ]),
            ours.clone(),
            5435,
            0x6f42_bdb5_786c_d2e8,
        ),
        (
            "root ids, shared namespace",
            with(&[
                ("agent-run-as-user", "0"),
                ("agent-run-as-group", "0"),
                ("agent-share-process-namespace", "true"),
            ]),
            upstream.clone(),
            4614,
            0x03ac_b2ee_860e_8883,
        ),
        (
            "init first, copied mounts",
            init_first.clone(),
            ours.clone(),
            5859,
            0x507e_76d2_6dc6_c0aa,
        ),
        (
            "init first, copied mounts, upstream image",
            init_first,
            upstream,
            5607,
            0x04da_1839_1525_f80e,
        ),
        (
            "20 secrets",
            many,
            ours.clone(),
            13879,
            0x7094_7844_d854_3a34,
        ),
        (
            "two containers, no volumes",
            two_containers,
            ours,
            4895,
            0x47f4_3878_408d_3eff,
        ),
    ]
}

#[test]
fn patches_are_byte_identical_to_the_recorded_ones() {
    let mut failures = Vec::new();
    for (name, pod, settings, len, hash) in scenarios() {
        let Decision::Inject { patch, .. } = mutate(&pod, "default", &settings) else {
            failures.push(format!("{name}: did not inject"));
            continue;
        };
        let bytes = patch_to_json(&patch);
        // The webhook hands the engine only what it reads of the pod: the same bytes.
        let text = serde_json::to_vec(&pod).unwrap_or_default();
        let admitted: vk_inject::AdmittedPod<'_> = serde_json::from_slice(&text)
            .unwrap_or_else(|e| panic!("{name}: does not decode as AdmittedPod: {e}"));
        match vk_inject::mutate_admitted(&admitted, "default", &settings) {
            Decision::Inject { patch, .. } if patch_to_json(&patch) == bytes => {}
            _ => failures.push(format!("{name}: the pruned pod gives another patch")),
        }
        let got = (bytes.len(), fnv1a(&bytes));
        if got != (len, hash) {
            failures.push(format!(
                "{name}: got length {} hash {:#018x}, want {len} {hash:#018x}\n{}",
                got.0,
                got.1,
                String::from_utf8_lossy(&bytes)
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}
