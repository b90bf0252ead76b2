//! The slice of `admission.k8s.io` (v1 and v1beta1 share the shape) that the webhook reads and
//! writes. Response field order is upstream's (spec §5.3).

use std::borrow::Cow;

use serde::{Deserialize, Serialize};

mod decode;

/// An incoming AdmissionReview, decoded for the fields the handler reads only (the rest is
/// skipped), with strings borrowed from the body unless they carry JSON escapes and the pod's
/// tree in a per-request arena ([`ReviewIn::decode`]). Unknown fields are ignored, as the
/// Kubernetes decoder does.
#[derive(Debug)]
pub struct ReviewIn<'a> {
    pub kind: Cow<'a, str>,
    pub api_version: Cow<'a, str>,
    pub request: Option<Request<'a>>,
}

/// The parts of an AdmissionRequest the handler needs.
#[derive(Debug, Default)]
pub struct Request<'a> {
    pub uid: Cow<'a, str>,
    pub kind: GroupVersionKind<'a>,
    pub namespace: Cow<'a, str>,
    pub operation: Cow<'a, str>,
    /// Only what the engine reads of the pod is decoded (see [`vk_inject::AdmittedPod`]).
    pub object: vk_inject::AdmittedPod<'a>,
}

/// Of the request's group/version/kind, only the kind is read (for the log span).
#[derive(Debug, Default, Deserialize)]
pub struct GroupVersionKind<'a> {
    #[serde(default, borrow)]
    pub kind: Cow<'a, str>,
}

/// The AdmissionReview written back: only `response` is set.
#[derive(Debug, Serialize)]
pub struct ReviewOut<'a> {
    pub kind: &'a str,
    #[serde(rename = "apiVersion")]
    pub api_version: &'a str,
    pub response: Response,
}

#[derive(Debug, Serialize)]
pub struct Response {
    pub uid: String,
    pub allowed: bool,
    /// The JSON Patch, unencoded; it goes on the wire as standard base64.
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "serialize_base64"
    )]
    pub patch: Option<Vec<u8>>,
    #[serde(rename = "patchType", skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
    /// Admission warnings (kubectl prints them); omitted when empty, so a response without
    /// warnings is byte for byte upstream's.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub warnings: Vec<String>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    /// Go never omits a non-pointer struct, so `"metadata":{}` always appears.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub message: String,
}

fn serialize_base64<S: serde::Serializer>(
    patch: &Option<Vec<u8>>,
    serializer: S,
) -> Result<S::Ok, S::Error> {
    match patch {
        Some(raw) => serializer.serialize_str(&vk_go::base64_std(raw)),
        None => serializer.serialize_none(),
    }
}

impl<'a> ReviewOut<'a> {
    /// A response echoing the request's `kind`/`apiVersion` (defaults when absent).
    pub fn new(request_review: &'a ReviewIn<'_>, response: Response) -> Self {
        let pick = |v: &'a str, default: &'static str| if v.is_empty() { default } else { v };
        Self {
            kind: pick(&request_review.kind, "AdmissionReview"),
            api_version: pick(&request_review.api_version, "admission.k8s.io/v1"),
            response,
        }
    }
}

impl ReviewOut<'_> {
    /// The JSON text, byte for byte what `serde_json::to_vec(self)` gives, without its costs on
    /// the hot path: the patch is base64-encoded straight into the output (the encoded text
    /// never needs JSON escaping, so it is not scanned again) and the buffer is sized up front.
    pub fn to_json(&self) -> Vec<u8> {
        let r = &self.response;
        let patch_len = r.patch.as_ref().map_or(0, |p| p.len().div_ceil(3) * 4);
        let mut out = Vec::with_capacity(
            160 + self.kind.len() + self.api_version.len() + r.uid.len() + patch_len,
        );
        out.extend_from_slice(b"{\"kind\":");
        write_str(&mut out, self.kind);
        out.extend_from_slice(b",\"apiVersion\":");
        write_str(&mut out, self.api_version);
        out.extend_from_slice(b",\"response\":{\"uid\":");
        write_str(&mut out, &r.uid);
        out.extend_from_slice(if r.allowed {
            b",\"allowed\":true"
        } else {
            b",\"allowed\":false"
        });
        if let Some(patch) = &r.patch {
            out.extend_from_slice(b",\"patch\":\"");
            vk_go::push_base64_std(&mut out, patch);
            out.push(b'"');
        }
        if let Some(patch_type) = r.patch_type {
            out.extend_from_slice(b",\"patchType\":");
            write_str(&mut out, patch_type);
        }
        if let Some(status) = &r.status {
            out.extend_from_slice(b",\"status\":{\"metadata\":");
            // Serialising a map of JSON values into a Vec cannot fail.
            let _ = serde_json::to_writer(&mut out, &status.metadata);
            out.extend_from_slice(b",\"message\":");
            write_str(&mut out, &status.message);
            out.push(b'}');
        }
        if !r.warnings.is_empty() {
            out.extend_from_slice(b",\"warnings\":[");
            for (i, w) in r.warnings.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_str(&mut out, w);
            }
            out.push(b']');
        }
        out.extend_from_slice(b"}}");
        out
    }
}

/// A JSON string with serde_json's escaping.
fn write_str(out: &mut Vec<u8>, s: &str) {
    // Writing a string into a Vec cannot fail.
    let _ = serde_json::to_writer(&mut *out, s);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn review<'a>(kind: &'a str, api_version: &'a str) -> ReviewIn<'a> {
        ReviewIn {
            kind: Cow::Borrowed(kind),
            api_version: Cow::Borrowed(api_version),
            request: None,
        }
    }

    #[test]
    fn to_json_matches_serde() {
        let responses = [
            Response {
                uid: "0a1b-\"quoted\"\\<tag>&\u{2028}\n".to_owned(),
                allowed: true,
                patch: Some(br#"[{"op":"add","path":"/a","value":"<x>"}]"#.to_vec()),
                patch_type: Some("JSONPatch"),
                status: None,
                warnings: Vec::new(),
            },
            Response {
                uid: String::new(),
                allowed: true,
                patch: Some(Vec::new()),
                patch_type: Some("JSONPatch"),
                status: None,
                warnings: Vec::new(),
            },
            Response {
                uid: "u".to_owned(),
                allowed: true,
                patch: Some(vec![0xff, 0x00, 0x10, 0x7f, 0x80]),
                patch_type: Some("JSONPatch"),
                status: None,
                warnings: Vec::new(),
            },
            Response {
                uid: "u".to_owned(),
                allowed: true,
                patch: None,
                patch_type: None,
                status: None,
                warnings: Vec::new(),
            },
            Response {
                uid: "u\u{1}".to_owned(),
                allowed: false,
                patch: None,
                patch_type: None,
                status: Some(Status {
                    metadata: serde_json::Map::new(),
                    message: "error: \"bad\" <annotation>\t\u{7f}é".to_owned(),
                }),
                warnings: Vec::new(),
            },
            Response {
                uid: "w".to_owned(),
                allowed: true,
                patch: Some(b"[]".to_vec()),
                patch_type: Some("JSONPatch"),
                status: None,
                warnings: vec!["one \"quoted\" <w>".to_owned(), "two".to_owned()],
            },
        ];
        // Long patches, ending on each padding case.
        let responses =
            responses
                .into_iter()
                .chain(
                    [3 * 1024 * 3 + 1, 3 * 1024 + 2, 3 * 1024 * 2].map(|len| Response {
                        uid: "big".to_owned(),
                        allowed: true,
                        patch: Some((0..len).map(|i| (i * 7 % 251) as u8).collect()),
                        patch_type: Some("JSONPatch"),
                        status: None,
                        warnings: Vec::new(),
                    }),
                );
        for (i, response) in responses.into_iter().enumerate() {
            let kinds = [("", ""), ("AdmissionReview", "admission.k8s.io/v1beta1")];
            let (kind, api) = kinds[i % 2];
            let review = review(kind, api);
            let out = ReviewOut::new(&review, response);
            let expected = serde_json::to_vec(&out).expect("serialise");
            assert_eq!(
                String::from_utf8_lossy(&out.to_json()),
                String::from_utf8_lossy(&expected)
            );
        }
    }
}
