//! Small helpers to build responses.

use bytes::Bytes;
use http_body_util::Full;
use hyper::{Response, StatusCode};

pub(crate) type Body = Full<Bytes>;

pub(crate) fn respond(
    status: StatusCode,
    content_type: Option<&str>,
    body: impl Into<Bytes>,
) -> Response<Body> {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = status;
    if let Some(ct) = content_type
        && let Ok(v) = hyper::header::HeaderValue::from_str(ct)
    {
        r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
    }
    r
}

/// Vault's error shape: `{"errors":[...]}`.
pub(crate) fn errors(status: StatusCode, messages: &[String]) -> Response<Body> {
    let body = serde_json::json!({ "errors": messages }).to_string();
    respond(status, Some("application/json"), body)
}

pub(crate) fn empty(status: StatusCode) -> Response<Body> {
    respond(status, None, Bytes::new())
}

/// Go's `http.NotFound` page.
pub(crate) fn go_not_found() -> Response<Body> {
    let mut r = respond(
        StatusCode::NOT_FOUND,
        Some("text/plain; charset=utf-8"),
        "404 page not found\n",
    );
    r.headers_mut().insert(
        "x-content-type-options",
        hyper::header::HeaderValue::from_static("nosniff"),
    );
    r
}
