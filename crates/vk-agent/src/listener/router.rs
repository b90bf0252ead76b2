//! Which handler answers a request (as observed with `bao agent`): `metrics_only` listeners
//! serve only `/agent/v1/metrics`; `require_request_header` refuses requests without
//! `X-Vault-Request: true` (412); `/agent/v1/quit` exists only with `enable_quit`;
//! everything else goes to the API proxy.

use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Limited};
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};

use super::http::{Body, empty, errors, go_not_found, respond};
use super::{Api, Route, Selector};

/// Requests larger than this are refused with 413 (Vault's default `max_request_size`).
pub(crate) const MAX_BODY: usize = 32 << 20;

/// A request body must arrive within this time (Go's `ReadTimeout` in Vault's HTTP servers is
/// 30 s), or the agent answers 408: a client trickling its body cannot hold a connection slot.
pub(crate) const BODY_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

pub(crate) async fn route(api: Arc<Api>, route: Route, req: Request<Incoming>) -> Response<Body> {
    let path = req.uri().path().to_owned();
    if route.metrics_only {
        return if path == "/agent/v1/metrics" {
            metrics(&api, &req)
        } else {
            go_not_found()
        };
    }
    if route.require_request_header
        && req.headers().get("x-vault-request").map(|v| v.as_bytes()) != Some(b"true")
    {
        return errors(
            StatusCode::PRECONDITION_FAILED,
            &["missing \"X-Vault-Request\" header".to_owned()],
        );
    }
    match path.as_str() {
        "/agent/v1/metrics" => return metrics(&api, &req),
        "/agent/v1/quit" => {
            if !route.enable_quit {
                return empty(StatusCode::NOT_FOUND);
            }
            if req.method() != Method::POST {
                return empty(StatusCode::METHOD_NOT_ALLOWED);
            }
            tracing::info!("quit requested through /agent/v1/quit");
            (api.quit)();
            return empty(StatusCode::OK);
        }
        _ => {}
    }
    let (parts, body) = req.into_parts();
    let body = match read_body(body).await {
        Ok(b) => b,
        Err(resp) => return resp,
    };
    if path == "/agent/v1/cache-clear"
        && let Some(cache) = &api.cache
    {
        return match parse_clear(&body) {
            Ok(None) => empty(StatusCode::OK),
            Ok(Some(sel)) => {
                let n = cache.clear(&sel);
                tracing::info!(evicted = n, "cache-clear");
                empty(StatusCode::OK)
            }
            Err((status, message)) => errors(status, &[message]),
        };
    }
    super::proxy::handle(&api, route.auto_auth, parts, body).await
}

async fn read_body(body: Incoming) -> Result<Bytes, Response<Body>> {
    let collected = tokio::time::timeout(BODY_TIMEOUT, Limited::new(body, MAX_BODY).collect());
    let Ok(collected) = collected.await else {
        return Err(errors(
            StatusCode::REQUEST_TIMEOUT,
            &[format!(
                "the request body did not arrive within {}s",
                BODY_TIMEOUT.as_secs()
            )],
        ));
    };
    match collected {
        Ok(c) => Ok(c.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => Err(errors(
            StatusCode::PAYLOAD_TOO_LARGE,
            &["http: request body too large".to_owned()],
        )),
        Err(e) => Err(errors(
            StatusCode::BAD_REQUEST,
            &[format!("failed to read the request body: {e}")],
        )),
    }
}

/// `{"type": …, "value": …}`; an empty body clears nothing.
fn parse_clear(body: &[u8]) -> Result<Option<Selector>, (StatusCode, String)> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Ok(None);
    }
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| {
        (
            StatusCode::BAD_REQUEST,
            format!("failed to parse JSON input: {e}"),
        )
    })?;
    let text = |k: &str| v.get(k).and_then(|x| x.as_str()).unwrap_or("").to_owned();
    let (kind, value) = (text("type"), text("value"));
    let need = |what: &str, f: fn(String) -> Selector| {
        if value.is_empty() {
            Err((
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("failed to clear cache: {what} not provided"),
            ))
        } else {
            Ok(Some(f(value.clone())))
        }
    };
    match kind.as_str() {
        "all" => Ok(Some(Selector::All)),
        "request_path" => need("request path", Selector::RequestPath),
        "lease" => need("lease", Selector::Lease),
        "token" => need("token", Selector::Token),
        "token_accessor" => need("token accessor", Selector::TokenAccessor),
        _ => Err((
            StatusCode::BAD_REQUEST,
            "failed to clear cache: invalid type provided".to_owned(),
        )),
    }
}

fn metrics(api: &Api, req: &Request<Incoming>) -> Response<Body> {
    if req.method() != Method::GET {
        return errors(StatusCode::METHOD_NOT_ALLOWED, &[]);
    }
    let format = req
        .uri()
        .query()
        .unwrap_or("")
        .split('&')
        .find_map(|kv| kv.strip_prefix("format="))
        .unwrap_or("");
    match format {
        "" => respond(
            StatusCode::OK,
            Some("application/json"),
            api.metrics.json().to_string(),
        ),
        "prometheus" if !api.prometheus => respond(
            StatusCode::BAD_REQUEST,
            Some("text/plain"),
            "prometheus is not enabled",
        ),
        "prometheus" => match api.metrics.prometheus_text() {
            Ok(text) => respond(StatusCode::OK, Some(vk_telemetry::TEXT_CONTENT_TYPE), text),
            Err(e) => errors(StatusCode::INTERNAL_SERVER_ERROR, &[e.to_string()]),
        },
        other => respond(
            StatusCode::BAD_REQUEST,
            Some("text/plain"),
            format!("metric response format {other:?} unknown"),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cache_clear_bodies() {
        assert_eq!(parse_clear(b""), Ok(None));
        assert_eq!(parse_clear(br#"{"type":"all"}"#), Ok(Some(Selector::All)));
        assert_eq!(
            parse_clear(br#"{"type":"lease","value":"db/creds/r/1"}"#),
            Ok(Some(Selector::Lease("db/creds/r/1".into())))
        );
        assert_eq!(
            parse_clear(br#"{"type":"lease"}"#).unwrap_err(),
            (
                StatusCode::INTERNAL_SERVER_ERROR,
                "failed to clear cache: lease not provided".to_owned()
            )
        );
        assert_eq!(
            parse_clear(br#"{"type":"bogus"}"#).unwrap_err().0,
            StatusCode::BAD_REQUEST
        );
        assert!(
            parse_clear(b"xx")
                .unwrap_err()
                .1
                .starts_with("failed to parse JSON input")
        );
    }
}
