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
