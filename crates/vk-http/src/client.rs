//! [`HttpClient`]: a pooled hyper-util client with a whole-exchange timeout.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::header::{HeaderValue, PROXY_AUTHORIZATION, USER_AGENT};
use http::uri::Scheme;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};

use crate::proxy::ProxyConnector;

/// Which proxy, if any, requests go through.
#[derive(Default)]
pub enum ProxySetting {
    /// Always connect directly.
    None,
    /// `HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`, `NO_PROXY` (or lower case), read once when the
    /// client is built; a proxy URL other than `http://` or `https://` (e.g. `socks5://`) makes
    /// [`HttpClient::new`] fail naming the variable.
    #[default]
    FromEnv,
    /// Explicit rules.
    Matcher(Box<Matcher>),
}

impl fmt::Debug for ProxySetting {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // A proxy URL may carry a password: never print it.
        f.write_str(match self {
            ProxySetting::None => "None",
            ProxySetting::FromEnv => "FromEnv",
            ProxySetting::Matcher(_) => "Matcher(..)",
        })
    }
}

/// How to build an [`HttpClient`].
#[derive(Debug)]
pub struct HttpClientOptions {
    /// TLS settings (its ALPN list is replaced to match `http2_only`).
    pub tls: rustls::ClientConfig,
    /// Speak HTTP/2 only: prior knowledge on `http://`, ALPN `h2` on `https://` (gRPC).
    /// Otherwise HTTP/1.1.
    pub http2_only: bool,
    /// Bound on a whole exchange: connecting, sending, and reading the answer and its body.
    /// Zero: no bound.
    pub timeout: Duration,
    /// `User-Agent` of every request that sets none.
    pub user_agent: String,
    /// Proxy rules.
    pub proxy: ProxySetting,
}

/// What went wrong in one exchange, or in building the client.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    /// The user agent is not a valid header value.
    #[error("invalid User-Agent {0:?}")]
    UserAgent(String),
    /// The whole exchange took longer than the client's timeout.
    #[error("no complete answer within {0:?}")]
    Timeout(Duration),
    /// Connecting or sending failed, or the answer's head could not be read.
    #[error("sending the request")]
    Send(#[source] hyper_util::client::legacy::Error),
    /// The answer's body could not be read to its end.
    #[error("reading the response body")]
    Body(#[source] hyper::Error),
    /// A proxy variable of the environment names a proxy this client cannot use.
    #[error(
        "{variable} names a {scheme} proxy; only http:// and https:// proxies are supported (unset {variable} or point it at an HTTP proxy)"
    )]
    ProxyScheme {
        variable: &'static str,
        scheme: String,
    },
    /// A proxy variable of the environment is not a URL.
    #[error("{variable} is not a proxy URL (expected http://host:port)")]
    ProxyUrl { variable: &'static str },
}

/// A complete answer: head, body and (HTTP/2) trailers.
#[derive(Debug)]
pub struct Answer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Bytes,
    pub trailers: Option<HeaderMap>,
}

/// One connection pool with its TLS, proxy and timeout settings. Cheap to clone.
#[derive(Clone)]
pub struct HttpClient {
    pub(crate) client: Client<HttpsConnector<ProxyConnector>, Full<Bytes>>,
    pub(crate) timeout: Duration,
    user_agent: HeaderValue,
    matcher: Option<Arc<Matcher>>,
}

impl fmt::Debug for HttpClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpClient")
            .field("timeout", &self.timeout)
            .field("proxied", &self.matcher.is_some())
            .finish_non_exhaustive()
    }
}

impl HttpClient {
    /// Builds the client; nothing is connected until the first request.
    pub fn new(options: HttpClientOptions) -> Result<Self, HttpError> {
        let HttpClientOptions {
            mut tls,
            http2_only,
            timeout,
            user_agent,
            proxy,
        } = options;
        let user_agent = HeaderValue::from_str(&user_agent)
            .map_err(|_| HttpError::UserAgent(user_agent.clone()))?;
        let matcher = match proxy {
            ProxySetting::None => None,
            ProxySetting::FromEnv => {
                crate::proxy::check_env(|name| std::env::var(name).ok())?;
                Some(Matcher::from_env())
            }
            ProxySetting::Matcher(m) => Some(*m),
        }
        .map(Arc::new);
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        let below_tls = ProxyConnector::new(tcp, tls.clone(), matcher.clone());
        tls.alpn_protocols = if http2_only {
            vec![b"h2".to_vec()]
        } else {
            vec![b"http/1.1".to_vec()]
        };
        let connector = HttpsConnector::from((below_tls, tls));
        let client = Client::builder(TokioExecutor::new())
            .pool_timer(TokioTimer::new())
            .pool_idle_timeout(Duration::from_secs(90))
            .http2_only(http2_only)
            .build(connector);
        Ok(Self {
            client,
            timeout,
            user_agent,
            matcher,
        })
    }

    /// The bound on one exchange.
    pub fn timeout(&self) -> Duration {
        self.timeout
    }

    /// Sends `request` (absolute URI) and reads the whole answer, of any status.
    pub async fn send(&self, mut request: Request<Bytes>) -> Result<Answer, HttpError> {
        self.prepare(&mut request);
        let exchange = async {
            let response = self
                .client
                .request(request.map(Full::new))
                .await
                .map_err(HttpError::Send)?;
            let (head, body) = response.into_parts();
            let collected = body.collect().await.map_err(HttpError::Body)?;
            let trailers = collected.trailers().cloned();
            Ok(Answer {
                status: head.status,
                headers: head.headers,
                body: collected.to_bytes(),
                trailers,
            })
        };
        if self.timeout.is_zero() {
            return exchange.await;
        }
        match tokio::time::timeout(self.timeout, exchange).await {
            Ok(answer) => answer,
            Err(_elapsed) => Err(HttpError::Timeout(self.timeout)),
        }
    }

    /// The headers every request gets: the default `User-Agent`, and the forward proxy's
    /// credentials.
    pub(crate) fn prepare(&self, request: &mut Request<Bytes>) {
        let headers = request.headers_mut();
        if !headers.contains_key(USER_AGENT) {
            headers.insert(USER_AGENT, self.user_agent.clone());
        }
        // A forward proxy sees the request itself: its credentials go on the request (a
        // tunnel carries them on the CONNECT instead).
        if request.uri().scheme() == Some(&Scheme::HTTP)
            && let Some(proxy) = self
                .matcher
                .as_deref()
                .and_then(|m| crate::proxy::proxy_for(m, request.uri()))
            && let Some(auth) = proxy.basic_auth()
        {
            request
                .headers_mut()
                .insert(PROXY_AUTHORIZATION, auth.clone());
        }
    }
}
