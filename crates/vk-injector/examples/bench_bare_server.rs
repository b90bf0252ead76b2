//! Baseline for the benchmark: the same serving stack as `agent-inject` (vk-server: axum,
//! hyper-util, rustls) with one `POST /mutate` route that only reads and parses the JSON body
//! and answers `{}`, or with `--answer FILE` that file's bytes (read once at start: the bench
//! passes the webhook's own answer, to measure what sending it costs).
//! The difference between the two servers is the cost of the webhook's own work.
//!
//! Usage: bench_bare_server --listen 127.0.0.1:PORT --cert CERT.pem --key KEY.pem [--answer FILE]

use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Bytes;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use vk_server::{CertFiles, CertWatcher, ShutdownSignals, TlsMinVersion, TlsSettings};

// Built for the musl target, it allocates as the shipped binary does (bins/vault-k8s).
#[cfg(target_env = "musl")]
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

const USAGE: &str =
    "usage: bench_bare_server --listen ADDR --cert CERT.pem --key KEY.pem [--answer FILE]";

struct Args {
    listen: String,
    cert: String,
    key: String,
    answer: Option<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut listen = None;
    let mut cert = None;
    let mut key = None;
    let mut answer = None;
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        let slot = match flag.as_str() {
            "--listen" => &mut listen,
            "--cert" => &mut cert,
            "--key" => &mut key,
            "--answer" => &mut answer,
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        };
        *slot = Some(
            args.next()
                .ok_or_else(|| format!("{flag} needs a value\n{USAGE}"))?,
        );
    }
    match (listen, cert, key) {
        (Some(listen), Some(cert), Some(key)) => Ok(Args {
            listen,
            cert,
            key,
            answer,
        }),
        _ => Err(format!("--listen, --cert and --key are required\n{USAGE}")),
    }
}

async fn mutate(answer: Bytes, body: Bytes) -> Response {
    match serde_json::from_slice::<serde_json::Value>(&body) {
        Ok(_) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/json")],
            answer,
        )
            .into_response(),
        Err(err) => (StatusCode::BAD_REQUEST, format!("invalid JSON: {err}\n")).into_response(),
    }
}

fn main() -> ExitCode {
    let args = match parse_args() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match run(args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let mut msg = err.to_string();
            let mut source = err.source();
            while let Some(e) = source {
                msg.push_str(&format!(": {e}"));
                source = e.source();
            }
            eprintln!("{msg}");
            ExitCode::from(1)
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let watcher = CertWatcher::load(CertFiles {
        cert: args.cert.into(),
        key: args.key.into(),
    })?;
    let tls = TlsSettings {
        min_version: TlsMinVersion::Tls12,
        tls12_suites: None,
    }
    .server_config(watcher.resolver())?;
    let answer = match &args.answer {
        Some(path) => Bytes::from(
            std::fs::read(path).map_err(|e| format!("cannot read the answer file {path}: {e}"))?,
        ),
        None => Bytes::from_static(b"{}"),
    };
    let app = Router::new().route(
        "/mutate",
        post(move |body: Bytes| mutate(answer.clone(), body)),
    );
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async move {
        let mut signals = ShutdownSignals::install()?;
        let bound = vk_server::bind(&args.listen).await?;
        println!("Listening on \"{}\"...", bound.local_addr());
        tokio::spawn(watcher.run(Duration::from_millis(250)));
        let stop = async move {
            signals.recv().await;
        };
        bound
            .serve(app, Arc::new(tls), stop, Duration::from_secs(5))
            .await?;
        Ok(())
    })
}
