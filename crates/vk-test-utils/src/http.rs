//! A minimal blocking HTTP/1.1 client (plain or TLS with a pinned CA) for tests, on hyper.
//!
//! One request per connection (`Connection: close`); hyper handles the body framing
//! (`Content-Length`, chunked, read to EOF). Blocking on purpose: usable from sync tests and
//! from async ones (each request runs on its own thread and runtime).

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::rt::TokioIo;

/// A received HTTP response.
#[derive(Debug, Clone)]
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Header (name lower-cased, value) pairs in received order.
    pub headers: Vec<(String, String)>,
    /// Decoded body bytes.
    pub body: Vec<u8>,
}

impl Response {
    /// The first header with this (case-insensitive) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        let name = name.to_ascii_lowercase();
        self.headers
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.as_str())
    }

    /// The body parsed as JSON.
    pub fn json(&self) -> Result<serde_json::Value> {
        serde_json::from_slice(&self.body).with_context(|| {
            format!(
                "response body is not JSON: {}",
                String::from_utf8_lossy(&self.body)
            )
        })
    }

    /// The body as (lossy) text.
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.body).into_owned()
    }
}

/// A parsed `http://` or `https://` URL (host, port, path+query).
#[derive(Debug, Clone)]
struct Url {
    tls: bool,
    host: String,
    port: u16,
    path: String,
}

fn parse_url(url: &str) -> Result<Url> {
    let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
        (true, r)
    } else if let Some(r) = url.strip_prefix("http://") {
        (false, r)
    } else {
        bail!("unsupported URL {url:?}: expected http:// or https://");
    };
    let (authority, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (
            h,
            p.parse::<u16>()
                .with_context(|| format!("bad port in {url:?}"))?,
        ),
        None => (authority, if tls { 443 } else { 80 }),
    };
    Ok(Url {
        tls,
        host: host.to_string(),
        port,
        path: path.to_string(),
    })
}

/// Sends one request. `ca_pem` is required for `https://` URLs and is the only trusted root.
///
/// The exchange runs on a thread of its own with a current-thread runtime, so this works from
/// plain threads and from inside an async runtime alike (no nested `block_on`).
pub fn request(
    method: &str,
    url: &str,
    ca_pem: Option<&str>,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<Response> {
    let u = parse_url(url)?;
    let tls = match (u.tls, ca_pem) {
        (true, Some(ca)) => Some(Arc::new(crate::certs::client_config(ca)?)),
        (true, None) => bail!("https URL {url:?} needs a CA PEM"),
        (false, _) => None,
    };
    let req =
        build_request(method, &u, headers, body).with_context(|| format!("{method} {url}"))?;
    let outcome = std::thread::scope(|s| {
        s.spawn(|| {
            let rt = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .context("building a runtime for the HTTP client")?;
            rt.block_on(async {
                tokio::time::timeout(REQUEST_TIMEOUT, exchange(&u, tls, req))
                    .await
                    .map_err(|_| anyhow!("no complete response within {REQUEST_TIMEOUT:?}"))?
            })
        })
        .join()
        .map_err(|_| anyhow!("the HTTP client thread panicked"))?
    });
    outcome.with_context(|| format!("{method} {url}"))
}

/// Limit for one whole exchange (connect, send, receive).
const REQUEST_TIMEOUT: Duration = Duration::from_secs(120);

fn build_request(
    method: &str,
    u: &Url,
    headers: &[(&str, &str)],
    body: &[u8],
) -> Result<hyper::Request<Full<Bytes>>> {
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(u.path.as_str())
        .header(hyper::header::HOST, format!("{}:{}", u.host, u.port))
        .header(hyper::header::CONNECTION, "close")
        .header(hyper::header::CONTENT_LENGTH, body.len());
    for (n, v) in headers {
        builder = builder.header(*n, *v);
    }
    builder
        .body(Full::new(Bytes::copy_from_slice(body)))
        .context("building the request")
}

async fn exchange(
    u: &Url,
    tls: Option<Arc<rustls::ClientConfig>>,
    req: hyper::Request<Full<Bytes>>,
) -> Result<Response> {
    let tcp = tokio::net::TcpStream::connect((u.host.as_str(), u.port))
        .await
        .with_context(|| format!("connecting to {}:{}", u.host, u.port))?;
    match tls {
        Some(config) => {
            let name = rustls::pki_types::ServerName::try_from(u.host.clone())
                .with_context(|| format!("bad TLS server name {:?}", u.host))?;
            let stream = tokio_rustls::TlsConnector::from(config)
                .connect(name, tcp)
                .await
                .context("TLS handshake")?;
            send(stream, req).await
        }
        None => send(tcp, req).await,
    }
}

async fn send<S>(io: S, req: hyper::Request<Full<Bytes>>) -> Result<Response>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(io))
        .await
        .context("HTTP/1.1 handshake")?;
    let driver = tokio::spawn(conn);
    let resp = sender
        .send_request(req)
        .await
        .context("sending the request")?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(n, v)| {
            (
                n.as_str().to_ascii_lowercase(),
                String::from_utf8_lossy(v.as_bytes()).trim().to_string(),
            )
        })
        .collect();
    let body = resp
        .into_body()
        .collect()
        .await
        .context("reading the response body")?
        .to_bytes()
        .to_vec();
    drop(sender);
    // The connection ends after the response (`Connection: close`); its result is irrelevant.
    let _ = driver.await;
    Ok(Response {
        status,
        headers,
        body,
    })
}

/// POSTs JSON and returns the response.
pub fn post_json(url: &str, ca_pem: Option<&str>, body: &serde_json::Value) -> Result<Response> {
    let bytes = serde_json::to_vec(body)?;
    request(
        "POST",
        url,
        ca_pem,
        &[("Content-Type", "application/json")],
        &bytes,
    )
}

/// GETs a URL.
pub fn get(url: &str, ca_pem: Option<&str>) -> Result<Response> {
    request("GET", url, ca_pem, &[], &[])
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Serves `raw` as the whole answer to one connection and returns the URL.
    fn one_shot(raw: &'static [u8]) -> String {
        use std::io::{Read, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        std::thread::spawn(move || {
            if let Ok((mut s, _)) = listener.accept() {
                let mut buf = [0u8; 4096];
                let _ = s.read(&mut buf);
                let _ = s.write_all(raw);
            }
        });
        format!("http://{addr}/")
    }

    #[test]
    fn parses_chunked_and_sized_bodies() {
        let url = one_shot(
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n",
        );
        let r = get(&url, None).unwrap();
        assert_eq!(r.status, 200);
        assert_eq!(r.body, b"abcde");
        let url = one_shot(b"HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\n{}");
        let r = get(&url, None).unwrap();
        assert_eq!((r.status, r.body.as_slice()), (201, &b"{}"[..]));
    }

    #[test]
    fn parses_urls() {
        let u = parse_url("https://127.0.0.1:8200/v1/sys/health?x=1").unwrap();
        assert!(u.tls);
        assert_eq!((u.host.as_str(), u.port), ("127.0.0.1", 8200));
        assert_eq!(u.path, "/v1/sys/health?x=1");
        let u = parse_url("http://localhost").unwrap();
        assert_eq!((u.port, u.path.as_str()), (80, "/"));
        assert!(parse_url("ftp://x").is_err());
        assert!(request("GET", "https://127.0.0.1:1/", None, &[], &[]).is_err());
    }
}
