//! What one client can make the server hold: connections, time, streams and header bytes.
//! Request body size is bounded by the application (the webhook answers 413 past its limit),
//! since only it knows what a sensible body is.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::time::{Instant, Sleep};

/// Connections served at once; further clients wait in the kernel's accept backlog. The API
/// server keeps a handful of connections to a webhook, so this is far above real use, while
/// bounding the tasks, TLS state and file descriptors a connection flood can take.
pub const MAX_CONNECTIONS: usize = 1024;

/// How long a client may take to send a request's headers. hyper starts this timer as soon as
/// an HTTP/1.1 connection waits for its next request, so it is also the HTTP/1.1 keep-alive
/// idle limit. 30 s is hyper's own default (it only applies once a timer is installed, which
/// the server did not do before) and far above what the API server, which sends its headers
/// in one write, needs; a slow-headers client is cut after it.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// A connection on which no byte moves either way for this long is closed (HTTP/2 has no
/// idle limit of its own, and a TLS client that never sends its first request would otherwise
/// hold a task forever). This also finds peers that vanished without closing (a node gone, a
/// dropped NAT entry), which is why the server sends no HTTP/2 keep-alive PINGs: hyper's
/// server pings idle connections too, and a peer answering them would never count as idle. Longer than the 90 s idle timeout of Go's HTTP client (the API
/// server's), so the client, not the server, normally closes an idle connection: a server-side
/// close racing a new request would fail that admission.
pub const IDLE_TIMEOUT: Duration = Duration::from_secs(120);

/// HTTP/2 streams one connection may have open. The webhook's work is CPU-bound on a few
/// cores, so more concurrent requests than this only queue, and each may hold a body.
pub const H2_MAX_CONCURRENT_STREAMS: u32 = 64;

/// Bytes of decoded header fields per HTTP/2 request (h2's default is 16 MiB). The API server
/// sends a few short headers.
pub const H2_MAX_HEADER_LIST_SIZE: u32 = 64 * 1024;

/// The bounds [`crate::Bound::serve`] applies; [`Default`] gives the constants above. Tests
/// shorten the timeouts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ServeLimits {
    pub max_connections: usize,
    pub header_read_timeout: Duration,
    pub idle_timeout: Duration,
    pub h2_max_concurrent_streams: u32,
    pub h2_max_header_list_size: u32,
}

impl Default for ServeLimits {
    fn default() -> Self {
        Self {
            max_connections: MAX_CONNECTIONS,
            header_read_timeout: HEADER_READ_TIMEOUT,
            idle_timeout: IDLE_TIMEOUT,
            h2_max_concurrent_streams: H2_MAX_CONCURRENT_STREAMS,
            h2_max_header_list_size: H2_MAX_HEADER_LIST_SIZE,
        }
    }
}

/// A stream that fails with `TimedOut` once no byte has been read or written for `timeout`
/// while the server waits on it. The timer is re-armed lazily (only when it fires), so the
/// per-read cost is one clock read. Public so the agent's listener applies the same bound.
pub struct IdleTimeout<T> {
    io: T,
    timeout: Duration,
    last_activity: Instant,
    timer: Pin<Box<Sleep>>,
}

impl<T> IdleTimeout<T> {
    pub fn new(io: T, timeout: Duration) -> Self {
        let now = Instant::now();
        Self {
            io,
            timeout,
            last_activity: now,
            timer: Box::pin(tokio::time::sleep_until(now + timeout)),
        }
    }

    fn touch(&mut self) {
        self.last_activity = Instant::now();
    }

    /// Ready with an error once idle for `timeout`; otherwise registers the waker and pends.
    fn poll_idle(&mut self, cx: &mut Context<'_>) -> Poll<io::Error> {
        loop {
            ready!(self.timer.as_mut().poll(cx));
            let deadline = self.last_activity + self.timeout;
            if deadline <= Instant::now() {
                return Poll::Ready(io::Error::new(
                    io::ErrorKind::TimedOut,
                    format!("connection idle for {:?}", self.timeout),
                ));
            }
            self.timer.as_mut().reset(deadline);
        }
    }
}

impl<T: AsyncRead + Unpin> AsyncRead for IdleTimeout<T> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        match Pin::new(&mut this.io).poll_read(cx, buf) {
            Poll::Ready(result) => {
                if buf.filled().len() > before {
                    this.touch();
                }
                Poll::Ready(result)
            }
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }
}

impl<T: AsyncWrite + Unpin> AsyncWrite for IdleTimeout<T> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write(cx, buf) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            // A client that stops reading our answer is idle too.
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        match Pin::new(&mut this.io).poll_write_vectored(cx, bufs) {
            Poll::Ready(Ok(n)) => {
                if n > 0 {
                    this.touch();
                }
                Poll::Ready(Ok(n))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
            Poll::Pending => this.poll_idle(cx).map(Err),
        }
    }

    fn is_write_vectored(&self) -> bool {
        self.io.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().io).poll_shutdown(cx)
    }
}
