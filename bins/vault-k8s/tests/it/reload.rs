//! Certificate rotation under load: new files are served without a restart and without a
//! single failed request.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use crate::support::{CertDir, Pki, Server, client_config, request};
use rustls::pki_types::pem::PemObject as _;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rotated_certificate_is_served_without_failed_requests() {
    let pki = Pki::new();
    let first = pki.leaf("first");
    let certs = CertDir::new(&first);
    let server = Server::start(&certs, &[]);
    let config = client_config(&pki.ca_pem);
    let addr = server.addr;

    let first_der = rustls::pki_types::CertificateDer::pem_slice_iter(first.0.as_bytes())
        .next()
        .expect("cert")
        .expect("pem");
    let reply = request(&config, addr, "GET", "/health/ready", None, vec![])
        .await
        .expect("first request");
    assert_eq!(reply.peer_cert, first_der);

    let stop = Arc::new(AtomicBool::new(false));
    let sent = Arc::new(AtomicUsize::new(0));
    let failures = Arc::new(std::sync::Mutex::new(Vec::<String>::new()));
    let mut clients = Vec::new();
    for _ in 0..2 {
        let (stop, sent, failures, config) =
            (stop.clone(), sent.clone(), failures.clone(), config.clone());
        clients.push(tokio::spawn(async move {
            while !stop.load(Ordering::Relaxed) {
                match request(&config, addr, "GET", "/health/ready", None, vec![]).await {
                    Ok(r) if r.status == 204 => {}
                    Ok(r) => failures
                        .lock()
                        .expect("lock")
                        .push(format!("status {}", r.status)),
                    Err(e) => failures.lock().expect("lock").push(e),
                }
                sent.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }

    tokio::time::sleep(Duration::from_millis(300)).await;
    let second = pki.leaf("second");
    certs.replace(&second);
    let second_der = rustls::pki_types::CertificateDer::pem_slice_iter(second.0.as_bytes())
        .next()
        .expect("cert")
        .expect("pem");

    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let reply = request(&config, addr, "GET", "/health/ready", None, vec![])
            .await
            .expect("probe");
        if reply.peer_cert == second_der {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the new certificate was not served within 10 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Keep the load on across the swap for a little longer.
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::Relaxed);
    for c in clients {
        c.await.expect("client task");
    }
    let failures = failures.lock().expect("lock").clone();
    assert!(
        failures.is_empty(),
        "{} failed of {}: {failures:?}",
        failures.len(),
        sent.load(Ordering::Relaxed)
    );
    assert!(
        sent.load(Ordering::Relaxed) > 10,
        "the clients actually sent requests"
    );

    // A broken replacement keeps the current certificate.
    std::fs::write(&certs.cert, "garbage").expect("write");
    tokio::time::sleep(Duration::from_millis(800)).await;
    let reply = request(&config, addr, "GET", "/health/ready", None, vec![])
        .await
        .expect("still serving");
    assert_eq!(reply.peer_cert, second_der);
}
