//! `POST /apis/authentication.k8s.io/v1/tokenreviews`: the review answer and its log.

use std::collections::BTreeMap;

use serde_json::{Value, json};

use super::State;
use super::status::ApiError;
use super::tokens::unverified_subject;

/// The TokenReview path.
pub(super) const TOKEN_REVIEW_PATH: &str = "/apis/authentication.k8s.io/v1/tokenreviews";

/// One TokenReview call the server received.
#[derive(Debug, Clone)]
pub struct ReviewRecord {
    /// Whether the caller presented a token allowed to create TokenReviews (else it got 401/403).
    pub caller_authorized: bool,
    /// `spec.audiences` of the request.
    pub requested_audiences: Vec<String>,
    /// The reviewed token's `sub` claim, when the payload could be decoded.
    pub subject: Option<String>,
    /// `status.authenticated` of the answer.
    pub authenticated: bool,
    /// `status.error` of the answer.
    pub error: Option<String>,
}

/// Logs a review call that was refused before the review (401 or 403).
pub(super) fn record_refused(state: &State, why: &str) {
    state.push_review(ReviewRecord {
        caller_authorized: false,
        requested_audiences: Vec::new(),
        subject: None,
        authenticated: false,
        error: Some(why.to_string()),
    });
}

/// Logs a review call from an authorized caller that got an injected failure.
pub(super) fn record_failed(state: &State, reason: &str) {
    state.push_review(ReviewRecord {
        caller_authorized: true,
        requested_audiences: Vec::new(),
        subject: None,
        authenticated: false,
        error: Some(reason.to_string()),
    });
}

/// The TokenReview answer for a request body from an authorized caller.
pub(super) fn review(state: &State, body: &[u8]) -> Result<Value, ApiError> {
    let req: Value = serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("request body is not JSON: {e}")))?;
    // Like the API server, an absent apiVersion/kind defaults from the URL (OpenBao's client
    // sends neither); a present but different one is refused.
    let api_version = req["apiVersion"].as_str().unwrap_or_default();
    let kind = req["kind"].as_str().unwrap_or_default();
    if !(api_version.is_empty() || api_version == "authentication.k8s.io/v1")
        || !(kind.is_empty() || kind == "TokenReview")
    {
        return Err(ApiError::bad_request(format!(
            "expected apiVersion authentication.k8s.io/v1 kind TokenReview, got {} {}",
            req["apiVersion"], req["kind"]
        )));
    }
    let token = req["spec"]["token"].as_str().unwrap_or_default();
    let requested: Vec<String> = req["spec"]["audiences"]
        .as_array()
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default();
    let mut spec = serde_json::Map::new();
    spec.insert("token".into(), json!(token));
    if !requested.is_empty() {
        spec.insert("audiences".into(), json!(requested));
    }
    let (status_json, authenticated, error) = if token.is_empty() {
        (
            json!({"authenticated": false, "user": {}, "error": "token is required"}),
            false,
            Some("token is required".to_string()),
        )
    } else {
        match state.verifier.verify(token, &requested) {
            Ok(id) => {
                let mut extra = BTreeMap::new();
                if let Some((name, uid)) = &id.pod {
                    extra.insert("authentication.kubernetes.io/pod-name", json!([name]));
                    extra.insert("authentication.kubernetes.io/pod-uid", json!([uid]));
                }
                let mut user = json!({
                    "username": id.username(),
                    "uid": id.sa_uid,
                    "groups": [
                        "system:serviceaccounts",
                        format!("system:serviceaccounts:{}", id.namespace),
                        "system:authenticated",
                    ],
                });
                if !extra.is_empty() {
                    user["extra"] = json!(extra);
                }
                (
                    json!({"authenticated": true, "user": user, "audiences": id.audiences}),
                    true,
                    None,
                )
            }
            Err(e) => (
                json!({"authenticated": false, "user": {}, "error": e}),
                false,
                Some(e),
            ),
        }
    };
    state.push_review(ReviewRecord {
        caller_authorized: true,
        requested_audiences: requested,
        subject: unverified_subject(token),
        authenticated,
        error,
    });
    Ok(json!({
        "kind": "TokenReview",
        "apiVersion": "authentication.k8s.io/v1",
        "metadata": {"creationTimestamp": null},
        "spec": spec,
        "status": status_json,
    }))
}
