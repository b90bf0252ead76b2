//! Bind → serve → drain. The listener is bound before serving so the caller can print the
//! actual address (tests bind port 0).

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use rustls::ServerConfig;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_rustls::TlsAcceptor;

use crate::limits::{IdleTimeout, ServeLimits};

/// A bound listener that is not serving yet.
#[derive(Debug)]
pub struct Bound {
    listener: TcpListener,
    addr: SocketAddr,
}

/// Binding or serving failed.
#[derive(Debug, thiserror::Error)]
pub enum ServeError {
    #[error("listening on {0:?}")]
    Bind(String, #[source] io::Error),
    #[error("drain did not finish within {0:?}; {1} connection(s) were cut")]
    DrainTimeout(Duration, usize),
}

// A client that connects and never finishes the handshake must not hold a task forever.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// Bind a TCP listener. Go-style `:PORT` means every interface (IPv6 and, where the kernel
/// allows it, IPv4 on the same socket; plain IPv4 if IPv6 is unavailable).
pub async fn bind(addr: &str) -> Result<Bound, ServeError> {
    let listener = match addr.strip_prefix(':') {
        Some(port) => match TcpListener::bind(format!("[::]:{port}")).await {
            Ok(l) => l,
            Err(_) => TcpListener::bind(format!("0.0.0.0:{port}"))
                .await
                .map_err(|e| ServeError::Bind(addr.to_owned(), e))?,
        },
        None => TcpListener::bind(addr)
            .await
            .map_err(|e| ServeError::Bind(addr.to_owned(), e))?,
    };
    let addr = listener
        .local_addr()
        .map_err(|e| ServeError::Bind(addr.to_owned(), e))?;
    Ok(Bound { listener, addr })
}

impl Bound {
    /// The address actually bound (resolves port 0).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// Serve `app` over TLS until `shutdown` resolves, then stop accepting and let in-flight
    /// requests finish, waiting at most `grace`. Applies [`ServeLimits::default`].
    pub async fn serve(
        self,
        app: Router,
        tls: Arc<ServerConfig>,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
    ) -> Result<(), ServeError> {
        self.serve_with_limits(app, tls, shutdown, grace, ServeLimits::default())
            .await
    }

    /// [`Bound::serve`] with explicit limits.
    pub async fn serve_with_limits(
        self,
        app: Router,
        tls: Arc<ServerConfig>,
        shutdown: impl Future<Output = ()>,
        grace: Duration,
        limits: ServeLimits,
    ) -> Result<(), ServeError> {
        let acceptor = TlsAcceptor::from(tls);
        let graceful = GracefulShutdown::new();
        let service = TowerToHyperService::new(app);
        let builder = Arc::new(connection_builder(&limits));
        let slots = Arc::new(Semaphore::new(limits.max_connections.max(1)));
        tokio::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => break,
                (slot, accepted) = accept_within(&self.listener, &slots) => match accepted {
                    Ok((stream, peer)) => {
                        let acceptor = acceptor.clone();
                        let service = service.clone();
                        let builder = Arc::clone(&builder);
                        let watcher = graceful.watcher();
                        let idle_timeout = limits.idle_timeout;
                        tokio::spawn(async move {
                            // Held for the connection's whole life.
                            let _slot = slot;
                            let tls = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                                Ok(Ok(tls)) => tls,
                                Ok(Err(err)) => {
                                    tracing::debug!(%peer, error = %err, "TLS handshake failed");
                                    return;
                                }
                                Err(_) => {
                                    tracing::debug!(%peer, "TLS handshake timed out");
                                    return;
                                }
                            };
                            let io = TokioIo::new(IdleTimeout::new(tls, idle_timeout));
                            let conn = builder.serve_connection_with_upgrades(io, service);
                            if let Err(err) = watcher.watch(conn.into_owned()).await {
                                tracing::debug!(%peer, error = %err, "Connection ended with an error");
                            }
                        });
                    }
                    Err(err) => {
                        drop(slot);
                        // Typically EMFILE; back off instead of spinning on the error.
                        tracing::warn!(error = %err, "Accepting a connection failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
            }
        }
        drop(self.listener);
        let open = graceful.count();
        tracing::info!(connections = open, "Draining connections");
        tokio::time::timeout(grace, graceful.shutdown())
            .await
            .map_err(|_| ServeError::DrainTimeout(grace, open))
    }
}

/// Waits for a free connection slot, then accepts: at the limit, new clients wait in the
/// kernel's backlog instead of costing a task and a TLS handshake each.
async fn accept_within(
    listener: &TcpListener,
    slots: &Arc<Semaphore>,
) -> (
    Option<OwnedSemaphorePermit>,
    io::Result<(TcpStream, SocketAddr)>,
) {
    // The semaphore is never closed, so acquiring only fails in theory; serve unbounded then.
    let slot = Arc::clone(slots).acquire_owned().await.ok();
    (slot, listener.accept().await)
}

/// One hyper builder for every connection, HTTP/1.1 and HTTP/2, with the limits' timeouts.
fn connection_builder(limits: &ServeLimits) -> auto::Builder<TokioExecutor> {
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(limits.header_read_timeout);
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(limits.h2_max_concurrent_streams)
        .max_header_list_size(limits.h2_max_header_list_size);
    builder
}
