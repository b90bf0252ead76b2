//! The client against real sockets on 127.0.0.1: a forward proxy for `http://`, a `CONNECT`
//! tunnel to a TLS server for `https://`, and the whole-exchange timeout.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};
use vk_http::{HttpClient, HttpClientOptions, HttpError, ProxyMatcher, ProxySetting};
use vk_test_utils::certs::{TestCa, client_config, server_config};

/// Reads a request head (up to the blank line) from `stream`.
async fn read_head(stream: &mut TcpStream) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        let n = stream.read(&mut byte).await.expect("read head");
        assert_eq!(n, 1, "connection closed inside a request head");
        head.push(byte[0]);
    }
    String::from_utf8(head).expect("ASCII head")
}

fn header<'a>(head: &'a str, name: &str) -> Option<&'a str> {
    head.lines().find_map(|l| {
        let (n, v) = l.split_once(':')?;
        n.eq_ignore_ascii_case(name).then(|| v.trim())
    })
}

fn options(tls: rustls::ClientConfig, proxy: ProxySetting, timeout: Duration) -> HttpClientOptions {
    HttpClientOptions {
        tls,
        http2_only: false,
        timeout,
        user_agent: "vk-http-test".to_string(),
        proxy,
    }
}

fn plain_tls() -> rustls::ClientConfig {
    let ca = TestCa::new().expect("CA");
    client_config(&ca.ca_pem()).expect("client TLS")
}

#[tokio::test]
async fn http_requests_go_to_the_forward_proxy_in_absolute_form_with_its_credentials() {
    let proxy = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let proxy_addr = proxy.local_addr().expect("addr");
    let served = tokio::spawn(async move {
        let (mut conn, _) = proxy.accept().await.expect("accept");
        let head = read_head(&mut conn).await;
        conn.write_all(
            b"HTTP/1.1 200 OK\r\ncontent-length: 8\r\nconnection: close\r\n\r\nproxied!",
        )
        .await
        .expect("answer");
        head
    });
    let matcher = ProxyMatcher::builder()
        .http(format!("http://user:pw@{proxy_addr}"))
        .build();
    let client = HttpClient::new(options(
        plain_tls(),
        ProxySetting::Matcher(Box::new(matcher)),
        Duration::from_secs(30),
    ))
    .expect("client");
    // The destination does not resolve: only the proxy can answer.
    let request = http::Request::get("http://vault.invalid:8200/v1/secret/x")
        .body(Bytes::new())
        .expect("request");
    let answer = client
        .send(request)
        .await
        .expect("answer through the proxy");
    assert_eq!(answer.status, 200);
    assert_eq!(&answer.body[..], b"proxied!");
    let head = served.await.expect("proxy task");
    assert!(
        head.starts_with("GET http://vault.invalid:8200/v1/secret/x HTTP/1.1\r\n"),
        "{head}"
    );
    assert_eq!(
        header(&head, "proxy-authorization"),
        Some("Basic dXNlcjpwdw==")
    );
    assert_eq!(header(&head, "user-agent"), Some("vk-http-test"));
}

#[tokio::test]
async fn https_requests_tunnel_through_connect_and_verify_the_server() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let ca = TestCa::new().expect("CA");
    // A name only the tunnel leads to: the proxy connects to the server whatever it is asked.
    let leaf = ca.issue_leaf(&["vault.test"]).expect("leaf");
    let acceptor =
        tokio_rustls::TlsAcceptor::from(Arc::new(server_config(&leaf).expect("server TLS")));
    let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let server_port = server.local_addr().expect("addr").port();
    tokio::spawn(async move {
        let (conn, _) = server.accept().await.expect("accept");
        let mut tls = acceptor.accept(conn).await.expect("TLS handshake");
        let mut head = Vec::new();
        let mut byte = [0u8; 1];
        while !head.ends_with(b"\r\n\r\n") {
            tls.read_exact(&mut byte).await.expect("read");
            head.push(byte[0]);
        }
        tls.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\nsecure")
            .await
            .expect("answer");
        tls.shutdown().await.ok();
    });
    let proxy = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let proxy_addr = proxy.local_addr().expect("addr");
    let tunnelled = tokio::spawn(async move {
        let (mut conn, _) = proxy.accept().await.expect("accept");
        let head = read_head(&mut conn).await;
        let mut upstream = TcpStream::connect(("127.0.0.1", server_port))
            .await
            .expect("connect upstream");
        conn.write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await
            .expect("answer CONNECT");
        let _ = tokio::io::copy_bidirectional(&mut conn, &mut upstream).await;
        head
    });
    let matcher = ProxyMatcher::builder()
        .https(format!("http://{proxy_addr}"))
        .build();
    let client = HttpClient::new(options(
        client_config(&ca.ca_pem()).expect("client TLS"),
        ProxySetting::Matcher(Box::new(matcher)),
        Duration::from_secs(30),
    ))
    .expect("client");
    let request = http::Request::get(format!("https://vault.test:{server_port}/v1/sys/health"))
        .body(Bytes::new())
        .expect("request");
    let answer = client
        .send(request)
        .await
        .expect("answer through the tunnel");
    assert_eq!(&answer.body[..], b"secure");
    let head = tunnelled.await.expect("proxy task");
    assert!(
        head.starts_with(&format!("CONNECT vault.test:{server_port} HTTP/1.1\r\n")),
        "{head}"
    );
}

#[tokio::test]
async fn loopback_destinations_bypass_the_proxy() {
    let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = server.local_addr().expect("addr");
    tokio::spawn(async move {
        let (mut conn, _) = server.accept().await.expect("accept");
        read_head(&mut conn).await;
        conn.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 6\r\nconnection: close\r\n\r\ndirect")
            .await
            .expect("answer");
    });
    // A proxy nobody listens on: using it would fail.
    let dead = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let dead_addr = dead.local_addr().expect("addr");
    drop(dead);
    let matcher = ProxyMatcher::builder()
        .all(format!("http://{dead_addr}"))
        .build();
    let client = HttpClient::new(options(
        plain_tls(),
        ProxySetting::Matcher(Box::new(matcher)),
        Duration::from_secs(30),
    ))
    .expect("client");
    let request = http::Request::get(format!("http://{addr}/v1/sys/health"))
        .body(Bytes::new())
        .expect("request");
    let answer = client.send(request).await.expect("direct answer");
    assert_eq!(&answer.body[..], b"direct");
}

#[tokio::test]
async fn a_server_that_never_answers_runs_into_the_timeout() {
    let silent = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = silent.local_addr().expect("addr");
    let held = tokio::spawn(async move {
        let (conn, _) = silent.accept().await.expect("accept");
        tokio::time::sleep(Duration::from_secs(30)).await;
        drop(conn);
    });
    let client = HttpClient::new(options(
        plain_tls(),
        ProxySetting::None,
        Duration::from_millis(300),
    ))
    .expect("client");
    let request = http::Request::get(format!("http://{addr}/"))
        .body(Bytes::new())
        .expect("request");
    let started = std::time::Instant::now();
    let err = client.send(request).await.expect_err("no answer");
    assert!(matches!(err, HttpError::Timeout(_)), "{err:?}");
    assert!(started.elapsed() < Duration::from_secs(20));
    held.abort();
}

#[tokio::test]
async fn a_streaming_answer_hands_over_each_chunk_as_it_arrives() {
    let server = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = server.local_addr().expect("addr");
    let (release_tx, release_rx) = tokio::sync::oneshot::channel::<()>();
    let serving = tokio::spawn(async move {
        let (mut conn, _) = server.accept().await.expect("accept");
        read_head(&mut conn).await;
        conn.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n6\r\nfirst\n\r\n")
            .await
            .expect("first chunk");
        // The second chunk is sent only once the client has seen the first one.
        release_rx.await.expect("release");
        conn.write_all(b"7\r\nsecond\n\r\n0\r\n\r\n")
            .await
            .expect("second chunk");
    });
    let client = HttpClient::new(options(
        plain_tls(),
        ProxySetting::None,
        Duration::from_secs(20),
    ))
    .expect("client");
    let request = http::Request::get(format!("http://{addr}/watch"))
        .body(Bytes::new())
        .expect("request");
    let mut answer = client.send_streaming(request).await.expect("head");
    assert_eq!(answer.status, 200);
    let first = answer.chunk().await.expect("read").expect("first chunk");
    assert_eq!(&first[..], b"first\n");
    release_tx.send(()).expect("server waiting");
    let second = answer.chunk().await.expect("read").expect("second chunk");
    assert_eq!(&second[..], b"second\n");
    assert!(answer.chunk().await.expect("end").is_none());
    serving.await.expect("server");
}
