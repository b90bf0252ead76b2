//! Passing a client's request through to Vault unchanged (the agent's API proxy): the
//! client's TLS settings and namespace, but the caller's method, path, headers and body.

use bytes::Bytes;
use http::Method;

use crate::client::VaultClient;
use crate::error::{VaultError, is_certificate_error};

/// A request to pass through: method, `/v1/...?query`, headers and body as received.
#[derive(Debug, Clone)]
pub struct ForwardRequest {
    pub method: String,
    /// The path and query as received (`/v1/secret/data/x?version=2`).
    pub path_and_query: String,
    /// Header names (lower case) and raw values; hop-by-hop headers are dropped here.
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Vault's answer, whatever its status.
#[derive(Debug, Clone)]
pub struct ForwardResponse {
    pub status: u16,
    pub headers: Vec<(String, Vec<u8>)>,
    pub body: Vec<u8>,
}

/// Headers that belong to one connection, not to the request (RFC 9110 §7.6.1), and the
/// ones the HTTP stack sets itself.
const NOT_FORWARDED: &[&str] = &[
    "connection",
    "keep-alive",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "host",
    "content-length",
];

fn static_method(m: &Method) -> &'static str {
    match *m {
        Method::GET => "GET",
        Method::PUT => "PUT",
        Method::POST => "POST",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::PATCH => "PATCH",
        Method::OPTIONS => "OPTIONS",
        _ => "other method",
    }
}

impl VaultClient {
    /// Sends `req` to Vault as it is (no retry: the caller's client decides) and returns the
    /// response of any status. Adds the client's namespace when the request names none.
    pub async fn forward(&self, req: ForwardRequest) -> Result<ForwardResponse, VaultError> {
        let method =
            Method::from_bytes(req.method.as_bytes()).map_err(|_| VaultError::InvalidPath {
                path: req.path_and_query.clone(),
                reason: "the request method is not a valid HTTP method",
            })?;
        if !req.path_and_query.starts_with('/') {
            return Err(VaultError::InvalidPath {
                path: req.path_and_query,
                reason: "the request path must start with /",
            });
        }
        let url = format!("{}{}", self.origin(), req.path_and_query);
        let uri = http::Uri::try_from(url).map_err(|_| VaultError::InvalidPath {
            path: req.path_and_query.clone(),
            reason: "the request path does not form a URL",
        })?;
        let mut builder = http::Request::builder().method(method.clone()).uri(uri);
        let mut has_namespace = false;
        for (name, value) in &req.headers {
            if NOT_FORWARDED.contains(&name.as_str()) {
                continue;
            }
            has_namespace |= name == "x-vault-namespace";
            builder = builder.header(name.as_str(), value.as_slice());
        }
        if let (false, Some(ns)) = (has_namespace, self.namespace()) {
            builder = builder.header("X-Vault-Namespace", ns);
        }
        let transport = |source: crate::error::BoxError| VaultError::Transport {
            method: static_method(&method),
            path: req.path_and_query.clone(),
            certificate_rejected: is_certificate_error(source.as_ref()),
            source,
        };
        // A header the caller sent that HTTP cannot carry fails like a request without answer.
        let request = builder
            .body(Bytes::from(req.body.clone()))
            .map_err(|e| transport(Box::new(e)))?;
        let permit = self.in_flight_permit().await;
        let started = std::time::Instant::now();
        let answer = self.http().send(request).await.map(|a| {
            let headers: Vec<(String, Vec<u8>)> = a
                .headers
                .iter()
                .filter(|(n, _)| !NOT_FORWARDED.contains(&n.as_str()))
                .map(|(n, v)| (n.as_str().to_owned(), v.as_bytes().to_vec()))
                .collect();
            (a.status.as_u16(), headers, a.body.to_vec())
        });
        drop(permit);
        if let Some(observer) = self.observer() {
            let class = match &answer {
                Ok((status, ..)) => crate::StatusClass::of_status(*status),
                Err(_) => crate::StatusClass::Transport,
            };
            observer.record(class, started);
        }
        let (status, headers, body) = answer.map_err(|e| transport(Box::new(e)))?;
        Ok(ForwardResponse {
            status,
            headers,
            body,
        })
    }
}
