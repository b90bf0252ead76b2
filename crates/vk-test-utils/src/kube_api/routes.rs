//! Request routing: authentication, discovery documents, TokenReview, and the REST verbs on
//! stored resources (get, list, watch, create, update, patch, delete), each checked against
//! the RBAC denials, and the request log.

use std::sync::Arc;
use std::time::Duration;

use hyper::body::Incoming;
use hyper::{HeaderMap, Method, Request, Response};
use serde_json::{Value, json};

use super::patch::{self, PatchType};
use super::resources::{self, ResourceType};
use super::selectors::Selector;
use super::status::{ApiError, delete_success};
use super::token_review::{self, TOKEN_REVIEW_PATH};
use super::transport::{Body, error_response, json_response, read_body, text_response};
use super::watch::{self, WatchRequest};
use super::{ApiRequest, State};

/// Entry point for every request.
pub(super) async fn handle(state: Arc<State>, req: Request<Incoming>) -> Response<Body> {
    let method = req.method().to_string();
    let path = req.uri().path().to_string();
    let query = req.uri().query().map(String::from);
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(String::from);
    let user = authenticate(&state, req.headers());
    let resp = route(&state, req, user.as_deref()).await;
    state.push_request(ApiRequest {
        method,
        path,
        query,
        content_type,
        user,
        status: resp.status().as_u16(),
    });
    resp
}

/// The user a bearer token proves: the admin, or a service account of the issuer.
fn authenticate(state: &State, headers: &HeaderMap) -> Option<String> {
    let token = headers
        .get(hyper::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::trim)?;
    if token == state.admin_token {
        return Some(super::ADMIN_USER.to_string());
    }
    state
        .verifier
        .verify(token, &[])
        .ok()
        .map(|id| id.username())
}

/// Percent-decoded query pairs (`+` is a space, as Go's `url.ParseQuery` reads it).
pub(super) fn query_pairs(query: Option<&str>) -> Vec<(String, String)> {
    fn decode(s: &str) -> String {
        let bytes = s.as_bytes();
        let mut out = Vec::with_capacity(bytes.len());
        let mut i = 0;
        while i < bytes.len() {
            match bytes[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < bytes.len() => {
                    match u8::from_str_radix(s.get(i + 1..i + 3).unwrap_or("zz"), 16) {
                        Ok(b) => {
                            out.push(b);
                            i += 2;
                        }
                        Err(_) => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
    query
        .unwrap_or_default()
        .split('&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.split_once('=') {
            Some((k, v)) => (decode(k), decode(v)),
            None => (decode(p), String::new()),
        })
        .collect()
}

struct Query(Vec<(String, String)>);

impl Query {
    fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    fn flag(&self, key: &str) -> bool {
        matches!(self.get(key), Some("true" | "1"))
    }
}

async fn route(state: &Arc<State>, req: Request<Incoming>, user: Option<&str>) -> Response<Body> {
    let path = req.uri().path().trim_end_matches('/').to_string();
    match path.as_str() {
        "/version" => return json_response(200, &resources::version()),
        "/healthz" | "/livez" | "/readyz" => return text_response(200, "ok"),
        _ => {}
    }
    if !(path == "/api"
        || path.starts_with("/api/")
        || path == "/apis"
        || path.starts_with("/apis/"))
    {
        // OpenAPI documents and anything else outside the API: kubectl treats the 404 as
        // "no OpenAPI", as with a server that does not publish it.
        return text_response(404, "404 page not found");
    }
    if path == TOKEN_REVIEW_PATH {
        return token_review_call(state, req, user).await;
    }
    let Some(user) = user else {
        return error_response(&ApiError::unauthorized());
    };
    let segments: Vec<&str> = path.split('/').skip(1).collect();
    let (group, version, rest): (&str, &str, &[&str]) = match segments.as_slice() {
        ["api"] => return json_response(200, &resources::core_versions(&state.server_address)),
        ["apis"] => return json_response(200, &resources::group_list()),
        ["apis", g] => {
            return match resources::group(g) {
                Some(doc) => json_response(200, &doc),
                None => error_response(&ApiError::no_route()),
            };
        }
        ["api", v, rest @ ..] => ("", v, rest),
        ["apis", g, v, rest @ ..] => (g, v, rest),
        _ => return error_response(&ApiError::no_route()),
    };
    if rest.is_empty() {
        return match resources::resource_list(group, version) {
            Some(doc) => json_response(200, &doc),
            None => error_response(&ApiError::no_route()),
        };
    }
    if let ("", ["namespaces", ns]) = (group, rest) {
        if req.method() != Method::GET {
            return error_response(&ApiError::method_not_allowed(req.method().as_str()));
        }
        return json_response(200, &resources::namespace(ns));
    }
    let (namespace, plural, name) = match rest {
        ["namespaces", ns, plural] => (Some(*ns), *plural, None),
        ["namespaces", ns, plural, name] => (Some(*ns), *plural, Some(*name)),
        [plural] => (None, *plural, None),
        [plural, name] => (None, *plural, Some(*name)),
        _ => return error_response(&ApiError::no_route()),
    };
    let Some(rt) = resources::find(group, version, plural).filter(|rt| rt.stored()) else {
        return error_response(&ApiError::no_route());
    };
    // A namespaced object is addressed within a namespace (a collection may be listed across
    // all); a cluster-scoped one never is.
    if (rt.namespaced && namespace.is_none() && name.is_some())
        || (!rt.namespaced && namespace.is_some())
    {
        return error_response(&ApiError::no_route());
    }
    let target = Target {
        rt,
        namespace: namespace.map(String::from),
        name: name.map(String::from),
    };
    match resource_call(state, req, user, &target).await {
        Ok(resp) => resp,
        Err(e) => error_response(&e),
    }
}

async fn token_review_call(
    state: &Arc<State>,
    req: Request<Incoming>,
    user: Option<&str>,
) -> Response<Body> {
    if req.method() != Method::POST {
        return error_response(&ApiError::method_not_allowed(req.method().as_str()));
    }
    let body = match read_body(req.into_body()).await {
        Ok(b) => b,
        Err(e) => return error_response(&e),
    };
    let Some(user) = user else {
        token_review::record_refused(state, "Unauthorized");
        return error_response(&ApiError::unauthorized());
    };
    let rt = resources::find("authentication.k8s.io", "v1", "tokenreviews");
    if user != state.reviewer_user && user != super::ADMIN_USER {
        token_review::record_refused(state, "Forbidden");
        if let Some(rt) = rt {
            return error_response(&ApiError::forbidden(rt, "create", user, None, None));
        }
    }
    if let Some(rt) = rt
        && !state.rbac.allowed("create", rt.plural)
    {
        token_review::record_refused(state, "Forbidden");
        return error_response(&ApiError::forbidden(rt, "create", user, None, None));
    }
    let failure = *state
        .review_failure
        .lock()
        .unwrap_or_else(|e| e.into_inner());
    if let Some(code) = failure {
        let err = ApiError::injected(code);
        token_review::record_failed(state, err.reason);
        return error_response(&err);
    }
    match token_review::review(state, &body) {
        Ok(v) => json_response(201, &v),
        Err(e) => error_response(&e),
    }
}

struct Target {
    rt: &'static ResourceType,
    namespace: Option<String>,
    name: Option<String>,
}

fn verb_of(method: &Method, has_name: bool, query: &Query) -> Option<&'static str> {
    Some(match (method.as_str(), has_name) {
        ("GET", true) => "get",
        ("GET", false) if query.flag("watch") => "watch",
        ("GET", false) => "list",
        ("POST", false) => "create",
        ("PUT", true) => "update",
        ("PATCH", true) => "patch",
        ("DELETE", true) => "delete",
        _ => return None,
    })
}

fn parse_json(body: &[u8]) -> Result<Value, ApiError> {
    serde_json::from_slice(body)
        .map_err(|e| ApiError::bad_request(format!("the request body is not valid JSON: {e}")))
}

async fn resource_call(
    state: &Arc<State>,
    req: Request<Incoming>,
    user: &str,
    target: &Target,
) -> Result<Response<Body>, ApiError> {
    let query = Query(query_pairs(req.uri().query()));
    let rt = target.rt;
    let ns = target.namespace.as_deref();
    let verb = verb_of(req.method(), target.name.is_some(), &query)
        .ok_or_else(|| ApiError::method_not_allowed(req.method().as_str()))?;
    if !state.rbac.allowed(verb, rt.plural) {
        return Err(ApiError::forbidden(
            rt,
            verb,
            user,
            ns,
            target.name.as_deref(),
        ));
    }
    if query.get("dryRun").is_some() {
        return Err(ApiError::bad_request(
            "dryRun is not supported by this test API server",
        ));
    }
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string();
    let body = read_body(req.into_body()).await?;
    let name = target.name.as_deref().unwrap_or_default();
    let store = &state.store;
    Ok(match verb {
        "get" => json_response(200, &store.get(rt, ns, name)?),
        "list" => {
            let selector = Selector::parse(query.get("labelSelector"), query.get("fieldSelector"))?;
            let (items, rv) = store.list(rt, ns);
            let items: Vec<Value> = items
                .into_iter()
                .filter(|o| selector.matches(o))
                .map(|mut o| {
                    // List items carry no apiVersion/kind in the API server's JSON.
                    if let Some(m) = o.as_object_mut() {
                        m.remove("apiVersion");
                        m.remove("kind");
                    }
                    o
                })
                .collect();
            json_response(
                200,
                &json!({
                    "kind": format!("{}List", rt.kind),
                    "apiVersion": rt.api_version(),
                    "metadata": {"resourceVersion": rv.to_string()},
                    "items": items,
                }),
            )
        }
        "watch" => {
            let selector = Selector::parse(query.get("labelSelector"), query.get("fieldSelector"))?;
            let timeout =
                match query.get("timeoutSeconds") {
                    Some(t) => Duration::from_secs(t.parse().map_err(|_| {
                        ApiError::bad_request(format!("invalid timeoutSeconds {t:?}"))
                    })?),
                    None => watch::DEFAULT_TIMEOUT,
                };
            let send_initial = query.flag("sendInitialEvents");
            let start = watch::parse_start(query.get("resourceVersion"), send_initial)?;
            watch::start(
                state.clone(),
                WatchRequest {
                    rt,
                    namespace: target.namespace.clone(),
                    selector,
                    start,
                    timeout,
                    bookmarks: query.flag("allowWatchBookmarks"),
                    initial_events_end: send_initial,
                },
            )
        }
        "create" => json_response(201, &store.create(rt, ns, parse_json(&body)?)?),
        "update" => json_response(200, &store.update(rt, ns, name, parse_json(&body)?)?),
        "patch" => {
            let patch_type = PatchType::from_content_type(&content_type)?;
            let patch_doc = patch::parse_body(patch_type, &body)?;
            if patch_type == PatchType::Apply && query.get("fieldManager").is_none_or(str::is_empty)
            {
                return Err(ApiError::bad_request(
                    "PATCH requests with apply content type must have a fieldManager query parameter",
                ));
            }
            let (obj, created) =
                store.modify(rt, ns, name, patch_type == PatchType::Apply, |cur| {
                    patch::apply(patch_type, cur, &patch_doc)
                })?;
            json_response(if created { 201 } else { 200 }, &obj)
        }
        "delete" => {
            let obj = store.delete(rt, ns, name)?;
            let uid = obj["metadata"]["uid"].as_str().unwrap_or_default();
            json_response(200, &delete_success(rt, name, uid))
        }
        _ => return Err(ApiError::method_not_allowed(verb)),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_query() {
        let q = query_pairs(Some(
            "labelSelector=app%3Dweb%2Ctier&watch=1&fieldSelector=metadata.name%3Dx&x=a+b&bad=%zz",
        ));
        let q = Query(q);
        assert_eq!(q.get("labelSelector"), Some("app=web,tier"));
        assert_eq!(q.get("fieldSelector"), Some("metadata.name=x"));
        assert_eq!(q.get("x"), Some("a b"));
        assert_eq!(q.get("bad"), Some("%zz"));
        assert!(q.flag("watch"));
    }
}
