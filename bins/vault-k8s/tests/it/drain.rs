//! SIGTERM/SIGINT: stop accepting, finish the in-flight request, exit 0.

use std::time::Duration;

use hyper::body::Frame;
use hyper_util::rt::TokioIo;
use serde_json::Value;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::pki_types::ServerName;

use crate::support::{CertDir, Pki, Server, client_config, fixture, review};

async fn drains_on(signal: &str) {
    let pki = Pki::new();
    let certs = CertDir::new(&pki.leaf("webhook"));
    let mut server = Server::start(&certs, &[]);
    let config = client_config(&pki.ca_pem);

    // Start a request whose body arrives in two parts, with the signal in between.
    let tcp = tokio::net::TcpStream::connect(server.addr)
        .await
        .expect("connect");
    let tls = TlsConnector::from(config)
        .connect(ServerName::try_from("localhost").expect("name"), tcp)
        .await
        .expect("handshake");
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .expect("http");
    tokio::spawn(conn);
    let pod: Value = serde_json::from_str(&fixture("webapp-pod-admitted.json")).expect("fixture");
    let body = review(&pod, "default", "drain");
    let (head, tail) = body.split_at(body.len() / 2);
    let (tx, rx) = tokio::sync::mpsc::channel::<bytes::Bytes>(2);
    tx.send(bytes::Bytes::copy_from_slice(head))
        .await
        .expect("first half");
    let req = hyper::Request::post("/mutate")
        .header("host", "localhost")
        .header("content-type", "application/json")
        .header("content-length", body.len())
        .body(ChannelBody(rx))
        .expect("request");
    let in_flight = tokio::spawn(async move { sender.send_request(req).await });
    tokio::time::sleep(Duration::from_millis(300)).await;

    server.signal(signal);
    tokio::time::sleep(Duration::from_millis(300)).await;
    // New connections are refused while draining.
    assert!(
        crate::support::request(
            &client_config(&pki.ca_pem),
            server.addr,
            "GET",
            "/health/ready",
            None,
            vec![]
        )
        .await
        .is_err(),
        "a new connection was accepted after {signal}"
    );
    tx.send(bytes::Bytes::copy_from_slice(tail))
        .await
        .expect("second half");
    drop(tx);
    let resp = in_flight
        .await
        .expect("task")
        .expect("in-flight request completed");
    assert_eq!(resp.status(), 200);
    let status = server.wait(Duration::from_secs(10));
    assert_eq!(status.code(), Some(0), "clean drain exits 0");
}

/// A request body fed from a channel, so the test controls when the second half arrives.
struct ChannelBody(tokio::sync::mpsc::Receiver<bytes::Bytes>);

impl hyper::body::Body for ChannelBody {
    type Data = bytes::Bytes;
    type Error = std::convert::Infallible;

    fn poll_frame(
        mut self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        self.0
            .poll_recv(cx)
            .map(|chunk| chunk.map(|b| Ok(Frame::data(b))))
    }
}

#[tokio::test]
async fn sigterm_drains_and_exits_zero() {
    drains_on("TERM").await;
}

#[tokio::test]
async fn sigint_drains_and_exits_zero() {
    drains_on("INT").await;
}
