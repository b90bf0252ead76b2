//! HTTPS transport: the TLS listener, HTTP/1.1 connections, bounded request bodies, and the
//! response bodies (whole JSON documents, or a stream of chunks for watches).

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::{Frame, Incoming};
use hyper::{Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::Value;

use super::State;
use super::status::ApiError;

/// The API server's request body limit (3 MiB); larger bodies get 413.
pub(super) const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// How long a connection may take to send its request headers.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(30);

/// Every response body: a whole document or a watch stream.
pub(super) type Body = UnsyncBoxBody<Bytes, Infallible>;

/// A response body fed chunk by chunk through a channel; it ends when the sender is dropped.
pub(super) struct ChannelBody(pub(super) tokio::sync::mpsc::Receiver<Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Infallible>>> {
        self.0.poll_recv(cx).map(|c| c.map(|b| Ok(Frame::data(b))))
    }
}

fn with_type(code: u16, content_type: &'static str, body: Body) -> Response<Body> {
    let mut resp = Response::new(body);
    *resp.status_mut() = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    resp.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static(content_type),
    );
    resp
}

/// A JSON document response.
pub(super) fn json_response(code: u16, body: &Value) -> Response<Body> {
    with_type(
        code,
        "application/json",
        Full::new(Bytes::from(body.to_string())).boxed_unsync(),
    )
}

/// A plain-text response (`404 page not found` for paths outside the API, health checks).
pub(super) fn text_response(code: u16, text: &'static str) -> Response<Body> {
    with_type(
        code,
        "text/plain; charset=utf-8",
        Full::new(Bytes::from_static(text.as_bytes())).boxed_unsync(),
    )
}

/// A `Status` response for `err`.
pub(super) fn error_response(err: &ApiError) -> Response<Body> {
    json_response(err.code, &err.to_status())
}

/// A streamed JSON response (watch events) fed by the returned sender.
pub(super) fn stream_response() -> (tokio::sync::mpsc::Sender<Bytes>, Response<Body>) {
    let (tx, rx) = tokio::sync::mpsc::channel(64);
    (
        tx,
        with_type(200, "application/json", ChannelBody(rx).boxed_unsync()),
    )
}

/// The whole request body, at most [`MAX_BODY_BYTES`] (413 beyond).
pub(super) async fn read_body(body: Incoming) -> Result<Bytes, ApiError> {
    match Limited::new(body, MAX_BODY_BYTES).collect().await {
        Ok(b) => Ok(b.to_bytes()),
        Err(e) if e.is::<http_body_util::LengthLimitError>() => {
            Err(ApiError::too_large(MAX_BODY_BYTES))
        }
        Err(e) => Err(ApiError::bad_request(format!(
            "reading the request body: {e}"
        ))),
    }
}

/// Accepts TLS connections until `shutdown` fires; each connection serves HTTP/1.1.
pub(super) async fn serve(
    listener: std::net::TcpListener,
    tls: Arc<rustls::ServerConfig>,
    state: Arc<State>,
    mut shutdown: tokio::sync::oneshot::Receiver<()>,
) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(l) => l,
        Err(e) => {
            eprintln!("kube-api: cannot register the listener: {e}");
            return;
        }
    };
    let acceptor = tokio_rustls::TlsAcceptor::from(tls);
    loop {
        tokio::select! {
            _ = &mut shutdown => break,
            accepted = listener.accept() => {
                let Ok((tcp, _)) = accepted else { continue };
                let acceptor = acceptor.clone();
                let state = state.clone();
                tokio::spawn(async move {
                    let Ok(Ok(stream)) =
                        tokio::time::timeout(HEADER_READ_TIMEOUT, acceptor.accept(tcp)).await
                    else {
                        return;
                    };
                    let service = hyper::service::service_fn(move |req| {
                        let state = state.clone();
                        async move { Ok::<_, Infallible>(super::routes::handle(state, req).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .timer(TokioTimer::new())
                        .header_read_timeout(HEADER_READ_TIMEOUT)
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        }
    }
}
