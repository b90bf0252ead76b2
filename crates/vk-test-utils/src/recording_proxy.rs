//! An HTTP/1.1 forwarding proxy that records the head of every request it passes on, to see
//! what a client really sent to a server (e.g. the `traceparent` header the agent puts on its
//! Vault requests). One request per connection: it asks both sides to close afterwards.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex};
use std::thread;

use anyhow::{Context, Result, bail};

/// One forwarded request: method, path (with query) and headers (names lower-cased).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordedRequest {
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
}

impl RecordedRequest {
    /// The first header with this (lower-case) name.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, v)| v.as_str())
    }
}

/// A proxy on a free port of 127.0.0.1 in front of `upstream`; it stops accepting when dropped.
#[derive(Debug)]
pub struct RecordingProxy {
    addr: SocketAddr,
    log: Arc<Mutex<Vec<RecordedRequest>>>,
    stop: Arc<std::sync::atomic::AtomicBool>,
}

impl RecordingProxy {
    /// `upstream` is `host:port` of a plain-HTTP server.
    pub fn start(upstream: &str) -> Result<Self> {
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the proxy")?;
        let addr = listener.local_addr()?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let (upstream, log2, stop2) = (upstream.to_owned(), log.clone(), stop.clone());
        thread::spawn(move || {
            for conn in listener.incoming() {
                if stop2.load(std::sync::atomic::Ordering::Relaxed) {
                    break;
                }
                let Ok(conn) = conn else { continue };
                let (upstream, log) = (upstream.clone(), log2.clone());
                thread::spawn(move || {
                    if let Err(e) = forward(conn, &upstream, &log) {
                        eprintln!("recording proxy: {e:#}");
                    }
                });
            }
        });
        Ok(Self { addr, log, stop })
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request forwarded so far.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.log.lock().map(|l| l.clone()).unwrap_or_default()
    }
}

impl Drop for RecordingProxy {
    fn drop(&mut self) {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        // Wake the accept loop so that it sees the flag.
        let _ = TcpStream::connect(self.addr);
    }
}

fn forward(client: TcpStream, upstream: &str, log: &Mutex<Vec<RecordedRequest>>) -> Result<()> {
    let mut reader = BufReader::new(client.try_clone()?);
    let mut request_line = String::new();
    if reader.read_line(&mut request_line)? == 0 {
        return Ok(());
    }
    let mut parts = request_line.split_whitespace();
    let (Some(method), Some(path)) = (parts.next(), parts.next()) else {
        bail!("malformed request line {request_line:?}");
    };
    let mut headers = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line)?;
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').context("malformed header")?;
        headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
    }
    if headers
        .iter()
        .any(|(n, v)| n == "transfer-encoding" && v.contains("chunked"))
    {
        bail!("chunked request bodies are not supported");
    }
    let length: usize = headers
        .iter()
        .find(|(n, _)| n == "content-length")
        .map(|(_, v)| v.parse())
        .transpose()?
        .unwrap_or(0);
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    log.lock()
        .map_err(|_| anyhow::anyhow!("log poisoned"))?
        .push(RecordedRequest {
            method: method.to_owned(),
            path: path.to_owned(),
            headers: headers.clone(),
        });

    let mut up = TcpStream::connect(upstream).with_context(|| format!("connecting {upstream}"))?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for (name, value) in headers.iter().filter(|(n, _)| n != "connection") {
        head.push_str(&format!("{name}: {value}\r\n"));
    }
    head.push_str("connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(&body)?;
    let mut response = Vec::new();
    up.read_to_end(&mut response)?;
    let mut client = client;
    client.write_all(&response)?;
    client.shutdown(std::net::Shutdown::Both)?;
    Ok(())
}
