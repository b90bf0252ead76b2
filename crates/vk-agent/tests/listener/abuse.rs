//! Bad clients on the agent's listener: an oversized body is answered 413, a flood of
//! connections that never finish their headers is cut by the header timeout, garbage on a TLS
//! port fails the handshake, and through all of it a normal client is served and the agent's
//! memory stays bounded.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::{Duration, Instant};

use vk_test_utils::TestCa;
use vk_test_utils::http::request;
use vk_test_utils::util::{eventually, free_port};

use super::support::*;

/// The agent's body limit (Vault's default `max_request_size`, 32 MiB).
const MAX_BODY: usize = 32 << 20;
/// The agent's connection limit per listener.
const MAX_CONNECTIONS: usize = 64;
const SECRET: &str = "/v1/secret/data/database/config";

struct Agent {
    proc: Proc,
    port: u16,
    _pair: Pair,
}

fn start(listener: impl Fn(u16, &Path) -> String) -> Agent {
    let pair = approle_pair();
    let dir = pair.root.path().join("ours");
    let port = free_port().unwrap();
    let cfg = approle_hcl(&pair.dev, &dir, &listener(port, &dir));
    let proc = ours(&cfg, dir.join("log"));
    let sink = dir.join("sink");
    assert!(
        eventually(Duration::from_secs(30), || sink.exists()).is_ok(),
        "no login:\n{}",
        proc.log()
    );
    wait_listening(port, &proc);
    Agent {
        proc,
        port,
        _pair: pair,
    }
}

fn plain_listener(port: u16, _: &Path) -> String {
    format!("listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_disable = true\n}}")
}

fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .expect("VmRSS in /proc/<pid>/status")
}

fn assert_serves(agent: &Agent) {
    let r = call("GET", agent.port, SECRET, &[], "");
    assert_eq!(r.status, 200, "{}\n{}", r.text(), agent.proc.log());
}

/// POSTs a body of `len` bytes over raw TCP and returns the status line.
fn post_raw(port: u16, len: usize) -> String {
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
    write!(
        s,
        "POST /v1/sys/wrapping/wrap HTTP/1.1\r\nHost: agent\r\nContent-Length: {len}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let chunk = vec![b'a'; 1 << 20];
    let mut left = len;
    while left > 0 {
        let n = left.min(chunk.len());
        if s.write_all(&chunk[..n]).is_err() {
            break;
        }
        left -= n;
    }
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    String::from_utf8_lossy(&out)
        .lines()
        .next()
        .unwrap_or_default()
        .to_owned()
}

#[test]
fn oversized_bodies_get_413_and_memory_stays_bounded() {
    let agent = start(plain_listener);
    let pid = agent.proc.pid();
    let round = || {
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let port = agent.port;
                std::thread::spawn(move || post_raw(port, MAX_BODY + 1))
            })
            .collect();
        for t in threads {
            let status = t.join().unwrap();
            assert!(status.contains(" 413 "), "{status}\n{}", agent.proc.log());
        }
        assert_serves(&agent);
    };
    round();
    let after_first = rss_kib(pid);
    for _ in 0..3 {
        round();
    }
    let after_last = rss_kib(pid);
    // Four bodies of 32 MiB held at once is the expected peak; repeating it must not grow.
    assert!(
        after_last <= after_first + 64 * 1024,
        "RSS grew from {after_first} KiB to {after_last} KiB over repeated oversized bodies"
    );
}

#[test]
fn a_connection_flood_with_unfinished_headers_is_cut_and_a_normal_client_is_served() {
    let agent = start(plain_listener);
    let pid = agent.proc.pid();
    let before = rss_kib(pid);
    // More than the listener's connection limit, each stuck mid-headers.
    let mut slow: Vec<TcpStream> = (0..MAX_CONNECTIONS + 16)
        .map(|_| {
            let mut s = TcpStream::connect(("127.0.0.1", agent.port)).unwrap();
            s.write_all(b"GET /v1/sys/health HTTP/1.1\r\nHost: ag")
                .unwrap();
            s
        })
        .collect();
    // The normal client may wait for a slot, but the header timeout (30 s) frees them.
    let started = Instant::now();
    let port = agent.port;
    let normal = std::thread::spawn(move || call("GET", port, SECRET, &[], ""));
    let r = normal.join().unwrap();
    assert_eq!(r.status, 200, "{}\n{}", r.text(), agent.proc.log());
    assert!(
        started.elapsed() < Duration::from_secs(120),
        "served only after {:?}",
        started.elapsed()
    );
    // Every slow connection is closed by the agent (EOF or reset), none is kept forever.
    for s in &mut slow {
        s.set_read_timeout(Some(Duration::from_secs(120))).unwrap();
        let mut buf = [0u8; 1024];
        let mut total = 0;
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => total += n,
            }
            assert!(total < 64 * 1024, "endless answer to a slow client");
        }
    }
    assert!(
        rss_kib(pid) <= before + 32 * 1024,
        "RSS grew by more than 32 MiB under the flood"
    );
    assert_serves(&agent);
}

#[test]
fn garbage_and_stalled_handshakes_on_a_tls_listener_leave_it_serving() {
    let ca = TestCa::new().unwrap();
    let leaf = ca.leaf().unwrap();
    let tls_dir = tempfile::tempdir().unwrap();
    let files = ca.write_tls_dir(tls_dir.path(), &leaf).unwrap();
    let agent = start(|port, _| {
        format!(
            "listener \"tcp\" {{\n  address = \"127.0.0.1:{port}\"\n  tls_cert_file = \"{}\"\n  tls_key_file = \"{}\"\n}}",
            files.cert.display(),
            files.key.display()
        )
    });
    // Garbage instead of a ClientHello, a truncated ClientHello, and a plain HTTP request.
    let bad: [&[u8]; 3] = [
        &[0xde; 4096],
        &[
            0x16, 0x03, 0x01, 0x02, 0x00, 0x01, 0x00, 0x01, 0xfc, 0x03, 0x03,
        ],
        b"GET /v1/sys/health HTTP/1.1\r\nHost: agent\r\n\r\n",
    ];
    let mut stalled = Vec::new();
    for _ in 0..10 {
        for bytes in bad {
            let mut s = TcpStream::connect(("127.0.0.1", agent.port)).unwrap();
            let _ = s.write_all(bytes);
            stalled.push(s);
        }
    }
    let https = |agent: &Agent| {
        request(
            "GET",
            &format!("https://127.0.0.1:{}{SECRET}", agent.port),
            Some(&ca.ca_pem()),
            &[],
            &[],
        )
        .unwrap()
    };
    let r = https(&agent);
    assert_eq!(r.status, 200, "{}\n{}", r.text(), agent.proc.log());
    // Garbage is refused at once; the truncated hello is cut by the handshake timeout (10 s).
    for s in &mut stalled {
        s.set_read_timeout(Some(Duration::from_secs(60))).unwrap();
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(_) => {}
            }
        }
    }
    assert_eq!(https(&agent).status, 200);
}

#[test]
fn a_trickled_body_gets_408_and_frees_its_connection() {
    let agent = start(plain_listener);
    let mut s = TcpStream::connect(("127.0.0.1", agent.port)).unwrap();
    s.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    write!(
        s,
        "POST /v1/sys/wrapping/wrap HTTP/1.1\r\nHost: agent\r\nContent-Length: 1000\r\n\r\n"
    )
    .unwrap();
    // One byte every 2 s: bytes keep moving, so only the body deadline (30 s) can end it.
    let started = Instant::now();
    let mut out = Vec::new();
    while started.elapsed() < Duration::from_secs(120) {
        let _ = s.write_all(b"x");
        let mut buf = [0u8; 1024];
        match s.read(&mut buf) {
            Ok(0) => break,
            Ok(n) => out.extend_from_slice(&buf[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {}
            Err(e) if e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(_) => break,
        }
        if out.windows(4).any(|w| w == b"\r\n\r\n") {
            break;
        }
        std::thread::sleep(Duration::from_secs(2));
    }
    let text = String::from_utf8_lossy(&out);
    assert!(
        text.starts_with("HTTP/1.1 408"),
        "after {:?}: {text}\n{}",
        started.elapsed(),
        agent.proc.log()
    );
    assert!(
        started.elapsed() >= Duration::from_secs(25),
        "cut too early"
    );
    assert_serves(&agent);
}
