//! The REST layer: requests with the configured credentials, JSON answers, and the
//! `metav1.Status` of a failed call.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE};
use http::{Method, Request};
use serde::de::DeserializeOwned;

use crate::config::{Auth, ClusterConfig, TokenFileError};
use crate::watch::WatchStream;

/// Bound on the text of a non-JSON error answer kept for the message.
const ERROR_TEXT_LIMIT: usize = 4096;
/// Bound on reading a failed answer's body.
const ERROR_BODY_LIMIT: usize = 64 * 1024;

/// The `metav1.Status` of a failed call (or of a watch `ERROR` event).
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Deserialize)]
pub struct ApiStatus {
    #[serde(default)]
    pub code: u16,
    #[serde(default)]
    pub reason: String,
    #[serde(default)]
    pub message: String,
}

impl ApiStatus {
    /// The status an answer's body carries; a body that is no Status gives the HTTP status and
    /// the body text.
    pub(crate) fn from_answer(status: http::StatusCode, body: &[u8]) -> Self {
        match serde_json::from_slice::<Self>(body) {
            Ok(mut parsed) if parsed.code != 0 || !parsed.message.is_empty() => {
                if parsed.code == 0 {
                    parsed.code = status.as_u16();
                }
                parsed
            }
            _ => {
                let text = String::from_utf8_lossy(body);
                let text: String = text.trim().chars().take(ERROR_TEXT_LIMIT).collect();
                Self {
                    code: status.as_u16(),
                    reason: status.canonical_reason().unwrap_or_default().to_owned(),
                    message: text,
                }
            }
        }
    }
}

/// Why one request failed.
#[derive(Debug, thiserror::Error)]
pub enum RequestError {
    #[error("the API server answered {} {}: {}", .0.code, .0.reason, .0.message)]
    Status(ApiStatus),
    #[error("exchanging with the API server")]
    Http(#[source] vk_http::HttpError),
    #[error("decoding the API server's answer")]
    Decode(#[source] serde_json::Error),
    #[error(transparent)]
    Token(TokenFileError),
    #[error("the watch stream: {0}")]
    Watch(String),
    #[error("building the request: {0}")]
    Build(String),
}

/// The configured connection to one API server; cheap to clone.
#[derive(Clone)]
pub(crate) struct ApiClient {
    inner: Arc<Inner>,
}

struct Inner {
    http: vk_http::HttpClient,
    server: String,
    auth: Auth,
}

/// A request body and its content type.
pub(crate) enum Body {
    Empty,
    Json(Vec<u8>),
    JsonPatch(Vec<u8>),
}

impl ApiClient {
    pub(crate) fn new(config: ClusterConfig, user_agent: &str) -> Result<Self, vk_http::HttpError> {
        let http = vk_http::HttpClient::new(vk_http::HttpClientOptions {
            tls: config.tls,
            http2_only: false,
            // Each call's attempts are bounded by its policy; a watch runs for minutes.
            timeout: Duration::ZERO,
            // A value that is not a valid header is refused there, naming it.
            user_agent: user_agent.to_owned(),
            // As kube-rs and kubectl's in-cluster clients: the API server is reached directly.
            proxy: vk_http::ProxySetting::None,
        })?;
        Ok(Self {
            inner: Arc::new(Inner {
                http,
                server: config.server,
                auth: config.auth,
            }),
        })
    }

    fn request(
        &self,
        method: Method,
        path_and_query: &str,
        body: Body,
    ) -> Result<Request<Bytes>, RequestError> {
        let uri = format!("{}{path_and_query}", self.inner.server);
        let mut builder = Request::builder()
            .method(method)
            .uri(uri)
            .header(ACCEPT, "application/json");
        if let Some(auth) = self.inner.auth.header().map_err(RequestError::Token)? {
            builder = builder.header(AUTHORIZATION, auth);
        }
        let (content_type, bytes) = match body {
            Body::Empty => (None, Vec::new()),
            Body::Json(b) => (Some("application/json"), b),
            Body::JsonPatch(b) => (Some("application/json-patch+json"), b),
        };
        if let Some(content_type) = content_type {
            builder = builder.header(CONTENT_TYPE, content_type);
        }
        builder
            .body(Bytes::from(bytes))
            .map_err(|e| RequestError::Build(e.to_string()))
    }

    /// One request; a 2xx answer's body decoded as `T`.
    pub(crate) async fn call<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Body,
    ) -> Result<T, RequestError> {
        let request = self.request(method, path, body)?;
        let answer = self
            .inner
            .http
            .send(request)
            .await
            .map_err(RequestError::Http)?;
        if !answer.status.is_success() {
            return Err(RequestError::Status(ApiStatus::from_answer(
                answer.status,
                &answer.body,
            )));
        }
        serde_json::from_slice(&answer.body).map_err(RequestError::Decode)
    }

    /// GET an object; `None` when it does not exist (404).
    pub(crate) async fn get_opt<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Option<T>, RequestError> {
        match self.call(Method::GET, path, Body::Empty).await {
            Ok(value) => Ok(Some(value)),
            Err(RequestError::Status(status)) if status.code == 404 => Ok(None),
            Err(err) => Err(err),
        }
    }

    /// Start a watch (`path` carries `watch=true`); the stream yields its events.
    pub(crate) async fn watch<T: DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<WatchStream<T>, RequestError> {
        let request = self.request(Method::GET, path, Body::Empty)?;
        let mut answer = self
            .inner
            .http
            .send_streaming(request)
            .await
            .map_err(RequestError::Http)?;
        if !answer.status.is_success() {
            let body = answer
                .collect_up_to(ERROR_BODY_LIMIT)
                .await
                .map_err(RequestError::Http)?;
            return Err(RequestError::Status(ApiStatus::from_answer(
                answer.status,
                &body,
            )));
        }
        Ok(WatchStream::new(answer))
    }
}

/// The path of a `v1` resource collection (`name` empty) or object.
pub(crate) fn path(group: &str, resource: &str, namespace: Option<&str>, name: &str) -> String {
    let mut path = if group.is_empty() {
        "/api/v1".to_owned()
    } else {
        format!("/apis/{group}/v1")
    };
    if let Some(ns) = namespace {
        path.push_str("/namespaces/");
        path.push_str(&encode(ns));
    }
    path.push('/');
    path.push_str(resource);
    if !name.is_empty() {
        path.push('/');
        path.push_str(&encode(name));
    }
    path
}

/// Percent-encodes all but RFC 3986's unreserved characters (query values, path segments).
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(byte));
        } else {
            out.push_str(&format!("%{byte:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_of_core_group_namespaced_and_cluster_scoped_resources() {
        assert_eq!(
            path("", "secrets", Some("vault"), "certs"),
            "/api/v1/namespaces/vault/secrets/certs"
        );
        assert_eq!(
            path("coordination.k8s.io", "leases", Some("ns"), ""),
            "/apis/coordination.k8s.io/v1/namespaces/ns/leases"
        );
        assert_eq!(
            path(
                "admissionregistration.k8s.io",
                "mutatingwebhookconfigurations",
                None,
                "cfg"
            ),
            "/apis/admissionregistration.k8s.io/v1/mutatingwebhookconfigurations/cfg"
        );
        assert_eq!(encode("metadata.name=a b"), "metadata.name%3Da%20b");
    }

    #[test]
    fn a_status_body_is_read_and_any_other_body_becomes_the_message() {
        let body = br#"{"kind":"Status","status":"Failure","message":"secrets \"x\" is forbidden","reason":"Forbidden","code":403}"#;
        let status = ApiStatus::from_answer(http::StatusCode::FORBIDDEN, body);
        assert_eq!(
            status,
            ApiStatus {
                code: 403,
                reason: "Forbidden".to_owned(),
                message: "secrets \"x\" is forbidden".to_owned(),
            }
        );
        let status = ApiStatus::from_answer(http::StatusCode::BAD_GATEWAY, b"upstream down\n");
        assert_eq!(status.code, 502);
        assert_eq!(status.reason, "Bad Gateway");
        assert_eq!(status.message, "upstream down");
    }
}
