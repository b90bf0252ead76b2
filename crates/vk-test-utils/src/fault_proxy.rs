//! An HTTP proxy in front of a real OpenBao server that answers the next N requests itself with a
//! chosen failure (500, 503, 429, or the sealed answer) and forwards everything else unchanged.
//! The agent's fault tests point the agent at it to see what it does when Vault misbehaves.
//!
//! One request per client connection (`Connection: close` both ways): simple and enough for a
//! Vault client, which reconnects. Plain HTTP, loopback only, a thread per connection.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// What the proxy answers instead of forwarding.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// 500 with a Vault-style error body.
    InternalError,
    /// 503 with a Vault-style error body (overloaded, standby without forwarding).
    Unavailable,
    /// 429 with `Retry-After: 1` (a rate-limit quota).
    TooManyRequests,
    /// 503 `Vault is sealed`, what a sealed server answers on every API path.
    Sealed,
}

impl Fault {
    /// The status code this fault answers with.
    pub fn status(self) -> u16 {
        match self {
            Fault::InternalError => 500,
            Fault::Unavailable | Fault::Sealed => 503,
            Fault::TooManyRequests => 429,
        }
    }

    fn response(self) -> String {
        let (reason, message, extra) = match self {
            Fault::InternalError => ("Internal Server Error", "internal error", ""),
            Fault::Unavailable => ("Service Unavailable", "service unavailable", ""),
            Fault::TooManyRequests => (
                "Too Many Requests",
                "request path \\\"x\\\": rate limit quota exceeded",
                "Retry-After: 1\r\n",
            ),
            Fault::Sealed => ("Service Unavailable", "Vault is sealed", ""),
        };
        let body = format!("{{\"errors\":[\"{message}\"]}}\n");
        format!(
            "HTTP/1.1 {} {reason}\r\nContent-Type: application/json\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
            self.status(),
            body.len()
        )
    }
}

#[derive(Default)]
struct State {
    fault: Option<Fault>,
    remaining: usize,
}

/// A running proxy; stopped on drop.
pub struct FaultProxy {
    addr: String,
    port: u16,
    state: Arc<Mutex<State>>,
    injected: Arc<AtomicUsize>,
    forwarded: Arc<AtomicUsize>,
    stop: Arc<AtomicBool>,
    accept: Option<JoinHandle<()>>,
}

impl FaultProxy {
    /// Listens on a free loopback port and forwards to `upstream` (`http://127.0.0.1:PORT`).
    pub fn start(upstream: &str) -> Result<Self> {
        let upstream = upstream
            .strip_prefix("http://")
            .with_context(|| format!("the fault proxy forwards plain HTTP only, not {upstream}"))?
            .trim_end_matches('/')
            .to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").context("binding the fault proxy")?;
        let port = listener.local_addr()?.port();
        let state = Arc::new(Mutex::new(State::default()));
        let injected = Arc::new(AtomicUsize::new(0));
        let forwarded = Arc::new(AtomicUsize::new(0));
        let stop = Arc::new(AtomicBool::new(false));
        let accept = {
            let (state, injected, forwarded, stop) = (
                state.clone(),
                injected.clone(),
                forwarded.clone(),
                stop.clone(),
            );
            std::thread::spawn(move || {
                for conn in listener.incoming() {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = conn else { continue };
                    let fault = {
                        let mut s = state.lock().unwrap_or_else(|e| e.into_inner());
                        match s.fault {
                            Some(f) if s.remaining > 0 => {
                                s.remaining -= 1;
                                Some(f)
                            }
                            _ => None,
                        }
                    };
                    let upstream = upstream.clone();
                    let (injected, forwarded) = (injected.clone(), forwarded.clone());
                    std::thread::spawn(move || {
                        let result = match fault {
                            Some(f) => answer(client, f).map(|()| &injected),
                            None => forward(client, &upstream).map(|()| &forwarded),
                        };
                        if let Ok(counter) = result {
                            counter.fetch_add(1, Ordering::SeqCst);
                        }
                    });
                }
            })
        };
        Ok(Self {
            addr: format!("http://127.0.0.1:{port}"),
            port,
            state,
            injected,
            forwarded,
            stop,
            accept: Some(accept),
        })
    }

    /// The proxy's address, to configure as Vault's.
    pub fn addr(&self) -> &str {
        &self.addr
    }

    /// Answers the next `requests` requests (any path) with `fault`.
    pub fn inject(&self, fault: Fault, requests: usize) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        s.fault = Some(fault);
        s.remaining = requests;
    }

    /// Requests still to be answered with the fault.
    pub fn remaining(&self) -> usize {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remaining
    }

    /// Requests answered with a fault so far.
    pub fn injected(&self) -> usize {
        self.injected.load(Ordering::SeqCst)
    }

    /// Requests forwarded to the server so far.
    pub fn forwarded(&self) -> usize {
        self.forwarded.load(Ordering::SeqCst)
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        // Wakes the accept loop so it sees the flag.
        let _ = TcpStream::connect(("127.0.0.1", self.port));
        if let Some(h) = self.accept.take() {
            let _ = h.join();
        }
    }
}

/// One request head and body, read from the client.
struct Request {
    head: Vec<String>,
    body: Vec<u8>,
}

fn read_request(reader: &mut BufReader<&TcpStream>) -> Result<Request> {
    let mut head = Vec::new();
    let mut content_length = 0usize;
    loop {
        let mut line = String::new();
        if reader.read_line(&mut line)? == 0 {
            bail!("client closed before the end of the request head");
        }
        let line = line.trim_end_matches(['\r', '\n']).to_owned();
        if line.is_empty() {
            break;
        }
        if let Some((name, value)) = line.split_once(':') {
            let name = name.trim().to_ascii_lowercase();
            if name == "content-length" {
                content_length = value.trim().parse().context("bad Content-Length")?;
            }
            if name == "transfer-encoding" {
                bail!("the fault proxy does not forward chunked request bodies");
            }
            if name == "connection" || name == "keep-alive" {
                continue;
            }
        }
        head.push(line);
    }
    let mut body = vec![0; content_length];
    reader.read_exact(&mut body)?;
    Ok(Request { head, body })
}

fn answer(client: TcpStream, fault: Fault) -> Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(&client);
    read_request(&mut reader)?;
    (&client).write_all(fault.response().as_bytes())?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}

fn forward(client: TcpStream, upstream: &str) -> Result<()> {
    client.set_read_timeout(Some(Duration::from_secs(30)))?;
    let mut reader = BufReader::new(&client);
    let request = read_request(&mut reader)?;
    let mut server =
        TcpStream::connect(upstream).with_context(|| format!("connecting to {upstream}"))?;
    server.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut out = request.head.join("\r\n");
    out.push_str("\r\nConnection: close\r\n\r\n");
    server.write_all(out.as_bytes())?;
    server.write_all(&request.body)?;
    // The server closes after its answer (Connection: close), which ends the copy.
    std::io::copy(&mut server, &mut &client)?;
    let _ = client.shutdown(Shutdown::Both);
    Ok(())
}
