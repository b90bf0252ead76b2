//! Binding listeners (TCP, unix socket, TLS) and serving HTTP/1.1 on them (no HTTP/2, as
//! `bao agent`'s listener answers HTTP/1.1 only over cleartext), bounded: at most
//! [`MAX_CONNECTIONS`] connections per listener, a header read timeout (also the keep-alive
//! idle limit), a TLS handshake timeout, an idle timeout on the socket (vk-server's
//! [`IdleTimeout`], so a client that stops sending its body or reading its answer is cut), and
//! the body size and time limits of the router.

use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use rustls::pki_types::pem::{self, PemObject};
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use vk_server::IdleTimeout;

use super::settings::{Bind, ListenerSettings};
use super::{Api, Route};
use crate::error::AgentError;

/// Connections served at once per listener; more wait in the kernel's backlog.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// How long a client may take to send a request's headers; hyper also applies it while an
/// HTTP/1.1 connection waits for its next request, so it is the keep-alive idle limit too.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(30);
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// A connection on which no byte moves either way for this long is closed (the webhook's value).
pub(crate) const IDLE_TIMEOUT: Duration = vk_server::IDLE_TIMEOUT;

/// A bound listener, not yet serving.
pub(crate) enum Bound {
    Tcp(TcpListener),
    Unix(UnixListener, PathBuf),
}

fn listen_error(address: &str, what: &str, source: std::io::Error) -> AgentError {
    AgentError::Listen {
        address: address.to_owned(),
        what: what.to_owned(),
        source,
    }
}

pub(crate) async fn bind(s: &ListenerSettings) -> Result<Bound, AgentError> {
    match &s.bind {
        Bind::Tcp(addr) => {
            let l = TcpListener::bind(addr)
                .await
                .map_err(|e| listen_error(addr, "binding the TCP address", e))?;
            Ok(Bound::Tcp(l))
        }
        Bind::Unix {
            path,
            mode,
            uid,
            gid,
        } => {
            let shown = path.display().to_string();
            // A socket left by a previous run would make bind fail.
            if std::fs::symlink_metadata(path).is_ok_and(|m| {
                use std::os::unix::fs::FileTypeExt;
                m.file_type().is_socket()
            }) {
                let _ = std::fs::remove_file(path);
            }
            let l = UnixListener::bind(path)
                .map_err(|e| listen_error(&shown, "binding the unix socket", e))?;
            if let Some(mode) = mode {
                std::fs::set_permissions(path, std::fs::Permissions::from_mode(*mode))
                    .map_err(|e| listen_error(&shown, "setting socket_mode", e))?;
            }
            if uid.is_some() || gid.is_some() {
                std::os::unix::fs::chown(path, *uid, *gid)
                    .map_err(|e| listen_error(&shown, "setting socket_user/socket_group", e))?;
            }
            Ok(Bound::Unix(l, path.clone()))
        }
    }
}

impl Bound {
    /// `127.0.0.1:PORT` or the socket path.
    pub(crate) fn address(&self) -> String {
        match self {
            Bound::Tcp(l) => l.local_addr().map(|a| a.to_string()).unwrap_or_default(),
            Bound::Unix(_, p) => p.display().to_string(),
        }
    }
}

/// Builds the TLS acceptor from the listener's PEM files.
pub(crate) fn tls_acceptor(cert: &Path, key: &Path) -> Result<TlsAcceptor, AgentError> {
    let shown = cert.display().to_string();
    let read = |p: &Path| {
        std::fs::read(p).map_err(|e| listen_error(&shown, &format!("reading {}", p.display()), e))
    };
    let cert_pem = read(cert)?;
    let key_pem = read(key)?;
    let certs = CertificateDer::pem_slice_iter(&cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| listen_error(&shown, "parsing tls_cert_file", std::io::Error::other(e)))?;
    let invalid =
        |what: &str| std::io::Error::new(std::io::ErrorKind::InvalidData, what.to_owned());
    if certs.is_empty() {
        return Err(listen_error(
            &shown,
            "tls_cert_file",
            invalid("no certificate in the file"),
        ));
    }
    let key = match PrivateKeyDer::from_pem_slice(&key_pem) {
        Ok(key) => key,
        Err(pem::Error::NoItemsFound) => {
            return Err(listen_error(
                &shown,
                "tls_key_file",
                invalid("no private key in the file"),
            ));
        }
        Err(e) => {
            return Err(listen_error(
                &shown,
                "parsing tls_key_file",
                std::io::Error::other(e),
            ));
        }
    };
    let config = rustls::ServerConfig::builder()
        .with_no_client_auth()
        .with_single_cert(certs, key)
        .map_err(|e| {
            listen_error(
                &shown,
                "tls_cert_file/tls_key_file",
                invalid(&e.to_string()),
            )
        })?;
    Ok(TlsAcceptor::from(Arc::new(config)))
}

/// Accepts and serves until the task is aborted.
pub(crate) async fn serve(bound: Bound, tls: Option<TlsAcceptor>, api: Arc<Api>, route: Route) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else {
            return;
        };
        let accepted: std::io::Result<Box<dyn Io>> = match &bound {
            Bound::Tcp(l) => l.accept().await.map(|(s, _)| {
                let _ = s.set_nodelay(true);
                Box::new(s) as Box<dyn Io>
            }),
            Bound::Unix(l, _) => l.accept().await.map(|(s, _)| Box::new(s) as Box<dyn Io>),
        };
        let stream = match accepted {
            Ok(s) => s,
            Err(e) => {
                // Typically EMFILE: back off instead of spinning.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
                continue;
            }
        };
        let (api, route, tls) = (api.clone(), route.clone(), tls.clone());
        tokio::spawn(async move {
            let _permit = permit;
            match tls {
                None => connection(stream, api, route).await,
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                        Ok(Ok(s)) => connection(s, api, route).await,
                        Ok(Err(e)) => tracing::debug!(error = %e, "TLS handshake failed"),
                        Err(_) => tracing::debug!("TLS handshake timed out"),
                    }
                }
            }
        });
    }
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

async fn connection<S: AsyncRead + AsyncWrite + Unpin + Send + 'static>(
    stream: S,
    api: Arc<Api>,
    route: Route,
) {
    let svc = service_fn(move |req| {
        let (api, route) = (api.clone(), route.clone());
        async move { Ok::<_, std::convert::Infallible>(super::router::route(api, route, req).await) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(HEADER_TIMEOUT)
        .serve_connection(TokioIo::new(IdleTimeout::new(stream, IDLE_TIMEOUT)), svc);
    if let Err(e) = conn.await {
        tracing::debug!(error = %e, "connection ended with an error");
    }
}
