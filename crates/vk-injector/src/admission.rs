//! The slice of `admission.k8s.io` (v1 and v1beta1 share the shape) that the webhook reads and
//! writes. Response field order is upstream's (spec §5.3).

use serde::{Deserialize, Serialize};

/// An incoming AdmissionReview. Unknown fields are ignored, as the Kubernetes decoder does.
#[derive(Debug, Deserialize)]
pub struct ReviewIn {
    #[serde(default)]
    pub kind: String,
    #[serde(default, rename = "apiVersion")]
    pub api_version: String,
    pub request: Option<Request>,
}

/// The parts of an AdmissionRequest the handler needs.
#[derive(Debug, Default, Deserialize)]
pub struct Request {
    #[serde(default)]
    pub uid: String,
    #[serde(default)]
    pub kind: GroupVersionKind,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub operation: String,
    #[serde(default)]
    pub object: serde_json::Value,
}

#[derive(Debug, Default, Deserialize)]
pub struct GroupVersionKind {
    #[serde(default)]
    pub group: String,
    #[serde(default)]
    pub version: String,
    #[serde(default)]
    pub kind: String,
}

/// The AdmissionReview written back: only `response` is set.
#[derive(Debug, Serialize)]
pub struct ReviewOut {
    pub kind: String,
    #[serde(rename = "apiVersion")]
    pub api_version: String,
    pub response: Response,
}

#[derive(Debug, Serialize)]
pub struct Response {
    pub uid: String,
    pub allowed: bool,
    /// Standard base64 of the JSON Patch.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub patch: Option<String>,
    #[serde(rename = "patchType", skip_serializing_if = "Option::is_none")]
    pub patch_type: Option<&'static str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub status: Option<Status>,
}

#[derive(Debug, Serialize)]
pub struct Status {
    /// Go never omits a non-pointer struct, so `"metadata":{}` always appears.
    pub metadata: serde_json::Map<String, serde_json::Value>,
    pub message: String,
}

impl ReviewOut {
    /// A response echoing the request's `kind`/`apiVersion` (defaults when absent).
    pub fn new(request_review: &ReviewIn, response: Response) -> Self {
        let pick = |v: &str, default: &str| {
            if v.is_empty() {
                default.to_owned()
            } else {
                v.to_owned()
            }
        };
        Self {
            kind: pick(&request_review.kind, "AdmissionReview"),
            api_version: pick(&request_review.api_version, "admission.k8s.io/v1"),
            response,
        }
    }
}
