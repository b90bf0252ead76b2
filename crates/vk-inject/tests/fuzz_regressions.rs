//! Inputs the fuzz targets (`fuzz/`, `cargo xtask fuzz`) found, kept as regression tests.

use serde_json::Value;
use vk_inject::{Decision, InjectorSettings, mutate, patch_to_json};

fn settings() -> InjectorSettings {
    InjectorSettings {
        vault_address: "https://vault:8200".into(),
        ..InjectorSettings::default()
    }
}

/// The pod of an AdmissionReview body.
fn review_pod(body: &[u8]) -> Value {
    let review: Value = serde_json::from_slice(body).unwrap();
    review["request"]["object"].clone()
}

/// `admission` found a pod whose container spells `volumeMounTs`. The engine reads field names
/// as Go's `encoding/json` does (upstream's decoder: case-insensitive), so it sees the mounts
/// and appends to `volumeMounts/-`, exactly as upstream. That patch cannot apply to the raw
/// body, but the API server never sends such a body: it decodes the pod case-sensitively and
/// re-encodes it with canonical keys, and the patch applies to the pod it holds. The fuzz
/// target now checks the patch only against pods with canonical keys.
#[test]
fn admission_volume_mounts_spelt_in_another_case() {
    let pod = review_pod(include_bytes!(
        "fuzz_inputs/admission-volumemounts-case.json"
    ));
    let Decision::Inject { patch, .. } = mutate(&pod, "default", &settings()) else {
        panic!("the annotated pod is injected");
    };
    let ops: json_patch::Patch = serde_json::from_slice(&patch_to_json(&patch)).unwrap();
    let text = serde_json::to_string(&ops).unwrap();
    assert!(
        text.contains("\"/spec/containers/0/volumeMounts/-\""),
        "the mounts spelt volumeMounTs are read as upstream reads them: {text}"
    );
    // The same pod with the key as the API server writes it: the patch applies.
    let mut canonical = pod.clone();
    let container = canonical["spec"]["containers"][0].as_object_mut().unwrap();
    let mounts = container.remove("volumeMounTs").unwrap();
    container.insert("volumeMounts".into(), mounts);
    let Decision::Inject { patch, .. } = mutate(&canonical, "default", &settings()) else {
        panic!("the canonical pod is injected");
    };
    let ops: json_patch::Patch = serde_json::from_slice(&patch_to_json(&patch)).unwrap();
    json_patch::patch(&mut canonical, &ops).expect("the patch applies to the canonical pod");
}
