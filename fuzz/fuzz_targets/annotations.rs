//! Annotation parsing through the engine's entry point: each input line `key=value` becomes a pod
//! annotation (a key without `/` gets the `vault.hashicorp.com/` prefix) on an otherwise valid,
//! injectable pod. Every outcome is fine except a panic or a patch that does not apply.
#![no_main]

use libfuzzer_sys::fuzz_target;
use serde_json::{Map, Value, json};
use vk_inject::annotations::PREFIX;
use vk_inject::{Decision, InjectorSettings};

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let mut annotations = Map::new();
    annotations.insert(format!("{PREFIX}agent-inject"), Value::from("true"));
    annotations.insert(format!("{PREFIX}role"), Value::from("app"));
    for line in text.split('\n') {
        let (key, value) = line.split_once('=').unwrap_or((line, ""));
        let key = if key.contains('/') {
            key.to_owned()
        } else {
            format!("{PREFIX}{key}")
        };
        annotations.insert(key, Value::from(value.replace("\\n", "\n")));
    }
    let pod = json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": "app", "annotations": annotations},
        "spec": {
            "serviceAccountName": "app",
            "containers": [{"name": "app", "image": "app:1", "volumeMounts": [
                {"name": "sa", "mountPath": "/var/run/secrets/kubernetes.io/serviceaccount"}
            ]}],
            "volumes": [{"name": "sa", "projected": {"sources": []}}]
        }
    });
    let settings = InjectorSettings {
        vault_address: "https://vault:8200".into(),
        ..InjectorSettings::default()
    };
    if let Decision::Inject { patch, .. } = vk_inject::mutate(&pod, "default", &settings) {
        let ops: json_patch::Patch = serde_json::from_slice(&vk_inject::patch_to_json(&patch))
            .expect("the patch is a valid RFC 6902 document");
        let mut patched = pod.clone();
        if let Err(err) = json_patch::patch(&mut patched, &ops) {
            panic!("the patch does not apply to its own pod: {err}");
        }
    }
});
