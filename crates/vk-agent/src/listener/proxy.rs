//! The API proxy: a request goes to Vault with the agent's token when the configuration says
//! so (spec §1.7 `use_auto_auth_token`), through the lease cache when there is one.

use std::sync::Arc;

use bytes::Bytes;
use hyper::header::HeaderValue;
use hyper::{Response, StatusCode, http::request::Parts};
use vk_agent_config::AutoAuthToken;
use vk_vault_client::{ForwardRequest, ForwardResponse};

use super::cache::CacheKey;
use super::http::{Body, errors};
use super::{Api, Selector};

pub(crate) async fn handle(
    api: &Api,
    auto_auth: AutoAuthToken,
    parts: Parts,
    body: Bytes,
) -> Response<Body> {
    let path_and_query = parts
        .uri
        .path_and_query()
        .map_or("/", |p| p.as_str())
        .to_owned();
    let mut headers: Vec<(String, Vec<u8>)> = parts
        .headers
        .iter()
        .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
        .collect();
    let given = headers
        .iter()
        .find(|(n, _)| n == "x-vault-token")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .filter(|t| !t.is_empty());
    let agent_token = || api.vault.token().map(|t| t.expose().to_owned());
    let token = match (auto_auth, given) {
        (AutoAuthToken::Force, _) | (AutoAuthToken::Yes, None) => agent_token(),
        (_, given) => given,
    }
    .unwrap_or_default();
    headers.retain(|(n, _)| n != "x-vault-token");
    if !token.is_empty() {
        headers.push(("x-vault-token".to_owned(), token.clone().into_bytes()));
    }
    tracing::debug!(method = %parts.method, path = parts.uri.path(), "proxying request");
    let req = ForwardRequest {
        method: parts.method.as_str().to_owned(),
        path_and_query: path_and_query.clone(),
        headers,
        body: body.to_vec(),
    };
    let Some(cache) = &api.cache else {
        return match forward(api, req).await {
            Ok(r) => to_response(&r, None),
            Err(resp) => resp,
        };
    };
    let key = CacheKey {
        method: req.method.clone(),
        path_and_query,
        body: req.body.clone(),
        token,
    };
    if let Some(hit) = cache.get(&key) {
        api.metrics.cache_hit.inc();
        return to_response(&hit.response, Some(("HIT", Some(hit.age_secs))));
    }
    let _serial = cache.stripe(&key).lock().await;
    if let Some(hit) = cache.get(&key) {
        api.metrics.cache_hit.inc();
        return to_response(&hit.response, Some(("HIT", Some(hit.age_secs))));
    }
    api.metrics.cache_miss.inc();
    let resp = match forward(api, req).await {
        Ok(r) => Arc::new(r),
        Err(resp) => return resp,
    };
    if resp.status < 400 {
        follow_revocation(api, &key);
    }
    let out = to_response(&resp, (resp.status < 400).then_some(("MISS", None)));
    if cache.offer(key, resp) {
        tracing::debug!(entries = cache.len(), "response stored in the lease cache");
    }
    out
}

async fn forward(api: &Api, req: ForwardRequest) -> Result<ForwardResponse, Response<Body>> {
    match api.vault.forward(req).await {
        Ok(r) => {
            if r.status < 400 {
                api.metrics.proxy_success.inc();
            } else {
                api.metrics.proxy_client_error.inc();
            }
            Ok(r)
        }
        Err(e) => {
            api.metrics.proxy_error.inc();
            let msg = vk_telemetry::ErrorChain(&e).to_string();
            tracing::warn!(error = %msg, "forwarding a request to Vault failed");
            Err(errors(
                StatusCode::BAD_GATEWAY,
                &[format!("failed to get the response: {msg}")],
            ))
        }
    }
}

/// A revocation that went through the proxy drops what it revoked from the cache.
fn follow_revocation(api: &Api, key: &CacheKey) {
    let Some(cache) = &api.cache else { return };
    let path = key.path_and_query.split('?').next().unwrap_or("");
    let field = |name: &str| {
        serde_json::from_slice::<serde_json::Value>(&key.body)
            .ok()
            .and_then(|v| v.get(name).and_then(|x| x.as_str()).map(str::to_owned))
    };
    let sel = match path.trim_end_matches('/') {
        "/v1/sys/leases/revoke" => field("lease_id").map(Selector::Lease),
        p if p.starts_with("/v1/sys/leases/revoke/") => Some(Selector::Lease(
            p["/v1/sys/leases/revoke/".len()..].to_owned(),
        )),
        "/v1/auth/token/revoke-self" => Some(Selector::Token(key.token.clone())),
        "/v1/auth/token/revoke" => field("token").map(Selector::Token),
        "/v1/auth/token/revoke-accessor" => field("accessor").map(Selector::TokenAccessor),
        _ => None,
    };
    if let Some(sel) = sel {
        let n = cache.clear(&sel);
        tracing::debug!(
            evicted = n,
            "revocation through the proxy evicted cache entries"
        );
    }
}

fn to_response(r: &ForwardResponse, cache: Option<(&'static str, Option<u64>)>) -> Response<Body> {
    let mut out = Response::new(http_body_util::Full::new(Bytes::from(r.body.clone())));
    *out.status_mut() = StatusCode::from_u16(r.status).unwrap_or(StatusCode::BAD_GATEWAY);
    let h = out.headers_mut();
    for (n, v) in &r.headers {
        if let (Ok(name), Ok(value)) = (
            hyper::header::HeaderName::from_bytes(n.as_bytes()),
            HeaderValue::from_bytes(v),
        ) {
            h.append(name, value);
        }
    }
    if let Some((state, age)) = cache {
        h.insert("x-cache", HeaderValue::from_static(state));
        if let Some(age) = age {
            h.insert(hyper::header::AGE, HeaderValue::from(age));
        }
    }
    out
}
