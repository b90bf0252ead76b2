//! The connector under TLS: a direct TCP connection, an HTTP `CONNECT` tunnel through a proxy
//! (for `https://` destinations), or a connection to the proxy itself on which `http://`
//! requests are sent in absolute form.

use std::future::Future;
use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use http::uri::Scheme;
use hyper::rt::{Read, ReadBufCursor, Write};
use hyper_rustls::{HttpsConnector, MaybeHttpsStream};
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::legacy::connect::{Connected, Connection, HttpConnector};
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;
type Stream = MaybeHttpsStream<TokioIo<TcpStream>>;

/// Connects to a destination, through the proxy the matcher names for it, if any.
#[derive(Clone)]
pub(crate) struct ProxyConnector {
    tcp: HttpConnector,
    /// Reaches the proxy itself: plain for an `http://` proxy, TLS for an `https://` one.
    to_proxy: HttpsConnector<HttpConnector>,
    matcher: Option<Arc<Matcher>>,
}

impl ProxyConnector {
    pub(crate) fn new(
        tcp: HttpConnector,
        proxy_tls: rustls::ClientConfig,
        matcher: Option<Arc<Matcher>>,
    ) -> Self {
        let mut proxy_tls = proxy_tls;
        proxy_tls.alpn_protocols = vec![b"http/1.1".to_vec()];
        Self {
            to_proxy: HttpsConnector::from((tcp.clone(), proxy_tls)),
            tcp,
            matcher,
        }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = ProxyStream;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<ProxyStream, BoxError>> + Send>>;

    fn poll_ready(&mut self, _cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, dst: Uri) -> Self::Future {
        let intercept = self.matcher.as_deref().and_then(|m| proxy_for(m, &dst));
        match intercept {
            None => {
                let connecting = self.tcp.call(dst);
                Box::pin(async move {
                    Ok(ProxyStream {
                        io: MaybeHttpsStream::Http(connecting.await?),
                        forward_proxy: false,
                    })
                })
            }
            Some(proxy) if dst.scheme() == Some(&Scheme::HTTPS) => {
                let mut tunnel = Tunnel::new(proxy.uri().clone(), self.to_proxy.clone());
                if let Some(auth) = proxy.basic_auth() {
                    tunnel = tunnel.with_auth(auth.clone());
                }
                let connecting = tunnel.call(dst);
                Box::pin(async move {
                    Ok(ProxyStream {
                        io: connecting.await?,
                        forward_proxy: false,
                    })
                })
            }
            Some(proxy) => {
                let connecting = self.to_proxy.call(proxy.uri().clone());
                Box::pin(async move {
                    Ok(ProxyStream {
                        io: connecting.await?,
                        forward_proxy: true,
                    })
                })
            }
        }
    }
}

/// The proxy `matcher` names for `dst`, except for `localhost` and loopback addresses, which are
/// always reached directly (as Go's `ProxyFromEnvironment`, which Vault's own client uses, does).
pub(crate) fn proxy_for(
    matcher: &Matcher,
    dst: &Uri,
) -> Option<hyper_util::client::proxy::matcher::Intercept> {
    let host = dst.host()?;
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    let loopback = host.eq_ignore_ascii_case("localhost")
        || bare
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback());
    if loopback {
        return None;
    }
    matcher.intercept(dst)
}

/// The proxy variables as [`Matcher::from_env`] reads them: of each pair, the first one set.
const PROXY_VARIABLES: [[&str; 2]; 3] = [
    ["HTTPS_PROXY", "https_proxy"],
    ["HTTP_PROXY", "http_proxy"],
    ["ALL_PROXY", "all_proxy"],
];

/// Refuses proxy variables the connector cannot honour. The matcher would accept a `socks5://`
/// URL and skip an unparsable one, and every request would then fail (or bypass the proxy)
/// without naming the variable; failing when the client is built names it.
pub(crate) fn check_env(get: impl Fn(&str) -> Option<String>) -> Result<(), crate::HttpError> {
    for pair in PROXY_VARIABLES {
        let Some((variable, value)) = pair
            .iter()
            .find_map(|name| get(name).map(|value| (*name, value)))
        else {
            continue;
        };
        let value = value.trim();
        if value.is_empty() {
            continue;
        }
        let Ok(uri) = value.parse::<Uri>() else {
            return Err(crate::HttpError::ProxyUrl { variable });
        };
        match uri.scheme_str() {
            None | Some("http" | "https") if uri.authority().is_some() => {}
            None | Some("http" | "https") => {
                return Err(crate::HttpError::ProxyUrl { variable });
            }
            Some(scheme) => {
                return Err(crate::HttpError::ProxyScheme {
                    variable,
                    scheme: format!("{scheme}://"),
                });
            }
        }
    }
    Ok(())
}

/// A connection made by [`ProxyConnector`]; tells the client when requests on it must carry
/// the absolute URI (a forward proxy).
pub(crate) struct ProxyStream {
    io: Stream,
    forward_proxy: bool,
}

impl Connection for ProxyStream {
    fn connected(&self) -> Connected {
        self.io.connected().proxy(self.forward_proxy)
    }
}

impl Read for ProxyStream {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: ReadBufCursor<'_>,
    ) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_read(cx, buf)
    }
}

impl Write for ProxyStream {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.io).poll_shutdown(cx)
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.io).poll_write_vectored(cx, bufs)
    }
}

#[cfg(test)]
mod tests {
    use super::check_env;

    fn check(vars: &[(&str, &str)]) -> Result<(), String> {
        check_env(|name| {
            vars.iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (*v).to_owned())
        })
        .map_err(|e| e.to_string())
    }

    #[test]
    fn http_and_https_proxies_and_empty_variables_are_accepted() {
        assert_eq!(check(&[]), Ok(()));
        assert_eq!(
            check(&[("HTTPS_PROXY", "http://user:pw@proxy:3128")]),
            Ok(())
        );
        assert_eq!(check(&[("http_proxy", "https://proxy:443")]), Ok(()));
        assert_eq!(check(&[("ALL_PROXY", "proxy:3128")]), Ok(()));
        assert_eq!(check(&[("HTTP_PROXY", "")]), Ok(()));
    }

    #[test]
    fn a_socks_proxy_is_refused_naming_the_variable() {
        for name in [
            "HTTPS_PROXY",
            "https_proxy",
            "HTTP_PROXY",
            "http_proxy",
            "ALL_PROXY",
            "all_proxy",
        ] {
            let err = check(&[(name, "socks5h://user:secret@proxy:1080")]).expect_err(name);
            assert!(
                err.starts_with(&format!("{name} names a socks5h:// proxy")),
                "{err}"
            );
            assert!(err.contains("only http:// and https:// proxies"), "{err}");
            assert!(!err.contains("secret"), "{err}");
        }
    }

    #[test]
    fn the_upper_case_variable_shadows_the_lower_case_one_as_in_the_matcher() {
        // The matcher uses HTTPS_PROXY when both are set, so a bad lower-case value is unused.
        assert_eq!(
            check(&[
                ("HTTPS_PROXY", "http://p:1"),
                ("https_proxy", "socks5://p:2")
            ]),
            Ok(())
        );
        let err = check(&[("ALL_PROXY", "ftp://p:1")]).expect_err("ftp");
        assert!(err.starts_with("ALL_PROXY names a ftp:// proxy"), "{err}");
    }

    #[test]
    fn a_value_that_is_not_a_url_is_refused() {
        let err = check(&[("HTTP_PROXY", "http://")]).expect_err("no host");
        assert!(err.starts_with("HTTP_PROXY is not a proxy URL"), "{err}");
        let err = check(&[("HTTP_PROXY", "a b")]).expect_err("space");
        assert!(err.starts_with("HTTP_PROXY is not a proxy URL"), "{err}");
    }
}
