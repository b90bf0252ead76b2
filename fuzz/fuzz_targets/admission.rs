//! The webhook's request path without HTTP: an AdmissionReview body is decoded as the handler
//! does, the pod goes through `vk_inject::mutate_admitted`, and the response is written. Besides "no
//! panic", an injection's patch must be valid JSON that applies to the pod it was made for
//! (the API server applies it the same way; a patch that does not apply fails pod creation).
//!
//! The engine reads field names as Go's `encoding/json` does (case-insensitively, like
//! upstream), while the API server re-encodes every pod with canonical keys before sending it.
//! So the patch is checked only against pods whose keys are canonical for the fields the engine
//! reads (a key spelt `volumeMounTs` cannot come from an API server; see
//! `crates/vk-inject/tests/fuzz_regressions.rs`). The decode must also agree with serde's
//! alone (`ReviewIn::decode_by_serde`): its fast path gives exactly serde's result or error.
#![no_main]

use libfuzzer_sys::fuzz_target;
use vk_inject::{Decision, InjectorSettings};
use vk_injector::admission::{ReviewIn, ReviewOut};

/// The pod fields `vk_inject` reads, as the API server spells them.
const FIELDS: &[&str] = &[
    "annotations", "containers", "env", "initContainers", "metadata", "mountPath", "name",
    "path", "phase", "projected", "readOnly", "recursiveReadOnly", "runAsUser",
    "securityContext", "serviceAccountToken", "shareProcessNamespace", "sources", "spec",
    "status", "value", "volumeMounts", "volumes",
];

/// Whether no object key in `v` is one of [`FIELDS`] spelt in another case.
fn canonical(v: &serde_json::Value) -> bool {
    match v {
        serde_json::Value::Object(map) => map.iter().all(|(k, v)| {
            let respelt = FIELDS
                .iter()
                .any(|f| f.eq_ignore_ascii_case(k) && f != k);
            !respelt && canonical(v)
        }),
        serde_json::Value::Array(items) => items.iter().all(canonical),
        _ => true,
    }
}

fuzz_target!(|data: &[u8]| {
    let arena = bumpalo::Bump::with_capacity(vk_inject::AdmittedPod::arena_capacity(data.len()));
    let decoded = ReviewIn::decode(data, &arena);
    // The decode's fast path must give exactly serde's result or error.
    let serde_arena = bumpalo::Bump::new();
    let by_serde = ReviewIn::decode_by_serde(data, &serde_arena);
    match (&decoded, &by_serde) {
        (Ok(fast), Ok(serde)) => assert!(
            fast.same_as(serde, std::str::from_utf8(data).unwrap_or_default()),
            "the decode differs from serde's"
        ),
        (Err(fast), Err(serde)) => assert_eq!(fast.to_string(), serde.to_string()),
        _ => panic!(
            "the decode and serde disagree: {:?} / {:?}",
            decoded.as_ref().err(),
            by_serde.as_ref().err()
        ),
    }
    let Ok(review) = decoded else {
        return;
    };
    let Some(request) = &review.request else {
        return;
    };
    let settings = InjectorSettings {
        vault_address: "https://vault:8200".into(),
        ..InjectorSettings::default()
    };
    let decision = vk_inject::mutate_admitted(&request.object, &request.namespace, &settings);
    let mut response = vk_injector::admission::Response {
        uid: request.uid.to_string(),
        allowed: true,
        patch: None,
        patch_type: None,
        status: None,
        warnings: Vec::new(),
    };
    if let Decision::Inject { patch, .. } = &decision {
        let bytes = vk_inject::patch_to_json(patch);
        let ops: json_patch::Patch =
            serde_json::from_slice(&bytes).expect("the patch is a valid RFC 6902 document");
        // The handler keeps only what the engine reads of the pod: apply to the whole one.
        let whole: serde_json::Value =
            serde_json::from_slice(data).expect("a body that decodes as a review is JSON");
        let mut pod = whole
            .pointer("/request/object")
            .cloned()
            .unwrap_or_default();
        if canonical(&pod)
            && let Err(err) = json_patch::patch(&mut pod, &ops)
        {
            panic!("the patch does not apply to its own pod: {err}");
        }
        response.patch = Some(bytes);
        response.patch_type = Some("JSONPatch");
    }
    let out = ReviewOut::new(&review, response).to_json();
    serde_json::from_slice::<serde_json::Value>(&out).expect("the response is valid JSON");
});
