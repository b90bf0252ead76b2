//! The webhook's request path without HTTP: an AdmissionReview body is decoded as the handler
//! does, the pod goes through `vk_inject::mutate`, and the response is written. Besides "no
//! panic", an injection's patch must be valid JSON that applies to the pod it was made for
//! (the API server applies it the same way; a patch that does not apply fails pod creation).
#![no_main]

use libfuzzer_sys::fuzz_target;
use vk_inject::{Decision, InjectorSettings};
use vk_injector::admission::{ReviewIn, ReviewOut};

fuzz_target!(|data: &[u8]| {
    let Ok(review) = serde_json::from_slice::<ReviewIn<'_>>(data) else {
        return;
    };
    let Some(request) = &review.request else {
        return;
    };
    let settings = InjectorSettings {
        vault_address: "https://vault:8200".into(),
        ..InjectorSettings::default()
    };
    let decision = vk_inject::mutate(&request.object, &request.namespace, &settings);
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
        let mut pod = request.object.clone();
        if let Err(err) = json_patch::patch(&mut pod, &ops) {
            panic!("the patch does not apply to its own pod: {err}");
        }
        response.patch = Some(bytes);
        response.patch_type = Some("JSONPatch");
    }
    let out = ReviewOut::new(&review, response).to_json();
    serde_json::from_slice::<serde_json::Value>(&out).expect("the response is valid JSON");
});
