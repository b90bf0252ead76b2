//! Test helper for `tests/reload.rs`: a stand-in application that reloads on SIGHUP.
//! `reload_probe WATCHED LOG READY`: once its handler is installed it creates READY; on each
//! SIGHUP it appends one line to LOG holding a checksum of WATCHED's bytes at that moment.

use std::hash::{Hash, Hasher};
use std::io::Write;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let args: Vec<String> = std::env::args().collect();
    let [_, watched, log, ready] = args.as_slice() else {
        eprintln!("usage: reload_probe WATCHED LOG READY");
        std::process::exit(2);
    };
    let mut hup = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::hangup())
        .expect("installing the SIGHUP handler");
    std::fs::write(ready, b"ready").expect("writing READY");
    while hup.recv().await.is_some() {
        let bytes = std::fs::read(watched).unwrap_or_default();
        let mut h = std::collections::hash_map::DefaultHasher::new();
        bytes.hash(&mut h);
        let mut f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(log)
            .expect("opening LOG");
        writeln!(f, "{:016x}", h.finish()).expect("writing LOG");
    }
}
