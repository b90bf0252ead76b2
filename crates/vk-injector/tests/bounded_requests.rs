//! The webhook over real TLS sockets bounds what a client can make it hold: an oversized body
//! is answered 413 while others are served, a client sending its headers byte by byte is cut
//! after the header timeout, and an idle connection is closed after the idle timeout.
//! Timeouts are shortened to seconds; assertions are on outcomes, with generous margins.

use std::sync::Arc;
use std::time::{Duration, Instant};

use prometheus::Registry;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;
use vk_inject::InjectorSettings;
use vk_injector::handler::{AppState, MAX_BODY_BYTES, router};
use vk_injector::metrics::InjectorMetrics;
use vk_server::ServeLimits;

struct Server {
    addr: std::net::SocketAddr,
    connector: TlsConnector,
    stop: Option<oneshot::Sender<()>>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        self.task.abort();
    }
}

async fn start(limits: ServeLimits) -> Server {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let issued = rcgen::generate_simple_self_signed(vec!["127.0.0.1".to_owned()]).expect("cert");
    let cert = CertificateDer::from(issued.cert.der().to_vec());
    let key = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(issued.signing_key.serialize_der()));
    let server_tls = rustls::ServerConfig::builder_with_provider(provider.clone())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_no_client_auth()
        .with_single_cert(vec![cert.clone()], key)
        .expect("server config");
    let mut roots = rustls::RootCertStore::empty();
    roots.add(cert).expect("root");
    let client_tls = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();

    let registry = Registry::new();
    let metrics = InjectorMetrics::register(&registry).expect("metrics");
    let settings = InjectorSettings {
        vault_address: "https://vault:8200".into(),
        ..InjectorSettings::default()
    };
    let app = router(AppState::new(settings, metrics, None));
    let bound = vk_server::bind("127.0.0.1:0").await.expect("bind");
    let addr = bound.local_addr();
    let (stop, stopped) = oneshot::channel::<()>();
    let task = tokio::spawn(async move {
        let shutdown = async move {
            let _ = stopped.await;
        };
        let _ = bound
            .serve_with_limits(
                app,
                Arc::new(server_tls),
                shutdown,
                Duration::from_secs(1),
                limits,
            )
            .await;
    });
    Server {
        addr,
        connector: TlsConnector::from(Arc::new(client_tls)),
        stop: Some(stop),
        task,
    }
}

impl Server {
    async fn connect(&self) -> TlsStream<TcpStream> {
        let tcp = TcpStream::connect(self.addr).await.expect("connect");
        let name = ServerName::try_from("127.0.0.1").expect("name");
        self.connector.connect(name, tcp).await.expect("handshake")
    }
}

const REVIEW: &str = r#"{"kind":"AdmissionReview","apiVersion":"admission.k8s.io/v1","request":{"uid":"u1","kind":{"group":"","version":"v1","kind":"Pod"},"namespace":"default","operation":"CREATE","object":{"metadata":{"name":"p","annotations":{"team":"a"}},"spec":{"containers":[{"name":"app"}]}}}}"#;

fn post(body_len: usize) -> Vec<u8> {
    format!(
        "POST /mutate HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {body_len}\r\n\r\n"
    )
    .into_bytes()
}

/// Reads one HTTP/1.1 response (headers and a Content-Length body); returns status and body.
async fn read_response(stream: &mut TlsStream<TcpStream>) -> (u16, String) {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(end) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..end]).to_string();
            let status: u16 = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("status");
            let len: usize = head
                .lines()
                .find_map(|l| {
                    let (k, v) = l.split_once(':')?;
                    k.eq_ignore_ascii_case("content-length")
                        .then(|| v.trim().parse().ok())?
                })
                .unwrap_or(0);
            while buf.len() < end + 4 + len {
                let n = stream.read(&mut chunk).await.expect("read body");
                assert!(n > 0, "connection closed mid-body");
                buf.extend_from_slice(&chunk[..n]);
            }
            let body = String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).to_string();
            return (status, body);
        }
        let n = stream.read(&mut chunk).await.expect("read head");
        assert!(n > 0, "connection closed before a response");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn review_is_served(server: &Server) {
    let mut stream = server.connect().await;
    let mut request = post(REVIEW.len());
    request.extend_from_slice(REVIEW.as_bytes());
    stream.write_all(&request).await.expect("write");
    let (status, body) = read_response(&mut stream).await;
    assert_eq!(status, 200, "{body}");
    assert!(body.contains(r#""allowed":true"#), "{body}");
}

/// Whether the server closed the connection (EOF or an error) within `within`.
async fn closed_within(stream: &mut TlsStream<TcpStream>, within: Duration) -> bool {
    let mut chunk = [0u8; 1024];
    let deadline = Instant::now() + within;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, stream.read(&mut chunk)).await {
            Err(_) => return false,
            Ok(Ok(0) | Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_body_gets_413_and_others_are_served() {
    let server = start(ServeLimits::default()).await;
    // Declared too large: answered without the body being sent at all.
    let mut stream = server.connect().await;
    stream
        .write_all(&post(MAX_BODY_BYTES + 1))
        .await
        .expect("write");
    let (status, body) = read_response(&mut stream).await;
    assert_eq!(status, 413, "{body}");
    assert!(body.contains("larger than 3145728 bytes"), "{body}");

    // Sent in full while others are served; the answer is still a clean 413.
    let big = server.connect().await;
    let sender = tokio::spawn(async move {
        let mut big = big;
        let mut request = post(MAX_BODY_BYTES + 1);
        request.resize(request.len() + MAX_BODY_BYTES + 1, b' ');
        // The server may close once it has answered; a failed write is fine here.
        let _ = big.write_all(&request).await;
        big
    });
    review_is_served(&server).await;
    let mut big = sender.await.expect("sender");
    let (status, _) = read_response(&mut big).await;
    assert_eq!(status, 413);
    review_is_served(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_headers_are_cut_after_the_header_timeout() {
    let limits = ServeLimits {
        header_read_timeout: Duration::from_secs(1),
        ..ServeLimits::default()
    };
    let server = start(limits).await;
    let mut slow = server.connect().await;
    let started = Instant::now();
    let request = post(REVIEW.len());
    let mut cut = false;
    // One byte every 100 ms would take ~9 s for these headers; the server must cut well before.
    for byte in &request {
        if slow.write_all(&[*byte]).await.is_err() || slow.flush().await.is_err() {
            cut = true;
            break;
        }
        if closed_within(&mut slow, Duration::from_millis(100)).await {
            cut = true;
            break;
        }
    }
    let elapsed = started.elapsed();
    assert!(cut, "the slow client was never cut ({elapsed:?})");
    assert!(
        elapsed >= Duration::from_secs(1),
        "cut before the timeout: {elapsed:?}"
    );
    // Others are served meanwhile and after.
    review_is_served(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn idle_connection_is_closed_after_the_idle_timeout() {
    // The header timeout (which hyper also applies between HTTP/1.1 requests) is set far
    // above the idle timeout, so this exercises the idle bound of every connection.
    let limits = ServeLimits {
        header_read_timeout: Duration::from_secs(600),
        idle_timeout: Duration::from_secs(1),
        ..ServeLimits::default()
    };
    let server = start(limits).await;

    // Idle after a served request …
    let mut stream = server.connect().await;
    let mut request = post(REVIEW.len());
    request.extend_from_slice(REVIEW.as_bytes());
    stream.write_all(&request).await.expect("write");
    let (status, _) = read_response(&mut stream).await;
    assert_eq!(status, 200);
    let started = Instant::now();
    assert!(
        closed_within(&mut stream, Duration::from_secs(30)).await,
        "an idle connection stayed open"
    );
    assert!(started.elapsed() >= Duration::from_millis(900));

    // … idle from the start (TLS done, no request ever sent) …
    let mut silent = server.connect().await;
    assert!(
        closed_within(&mut silent, Duration::from_secs(30)).await,
        "a silent connection stayed open"
    );

    // … and an HTTP/2 connection (preface and SETTINGS sent, then nothing).
    let mut h2 = server.connect().await;
    h2.write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
        .await
        .expect("h2 preface");
    h2.flush().await.expect("flush");
    assert!(
        closed_within(&mut h2, Duration::from_secs(30)).await,
        "an idle HTTP/2 connection stayed open"
    );
    review_is_served(&server).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connections_past_the_limit_wait_for_a_free_slot() {
    let limits = ServeLimits {
        max_connections: 1,
        ..ServeLimits::default()
    };
    let server = start(limits).await;
    let holder = server.connect().await;
    // The second client's handshake cannot complete while the only slot is taken.
    let tcp = TcpStream::connect(server.addr).await.expect("connect");
    let name = ServerName::try_from("127.0.0.1").expect("name");
    let second = server.connector.connect(name, tcp);
    tokio::pin!(second);
    assert!(
        tokio::time::timeout(Duration::from_millis(500), &mut second)
            .await
            .is_err(),
        "a connection past the limit was served"
    );
    drop(holder);
    let mut second = tokio::time::timeout(Duration::from_secs(30), second)
        .await
        .expect("served once the slot is free")
        .expect("handshake");
    let mut request = post(REVIEW.len());
    request.extend_from_slice(REVIEW.as_bytes());
    second.write_all(&request).await.expect("write");
    let (status, _) = read_response(&mut second).await;
    assert_eq!(status, 200);
}
