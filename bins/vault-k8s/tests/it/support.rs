//! Test harness: certificates, the server process, and an HTTPS client that opens a fresh
//! connection (and handshake) per request.

use std::io::{BufRead as _, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full};
use hyper::Request;
use hyper_util::rt::TokioIo;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use rustls::pki_types::pem::PemObject as _;
use tokio_rustls::TlsConnector;
use tokio_rustls::rustls::{self, ClientConfig, RootCertStore, pki_types::CertificateDer};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_vault-k8s");
pub(crate) const FIXTURES: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/vk-test-utils/fixtures"
);

/// A CA and the ability to issue serving certificates for 127.0.0.1/localhost.
pub(crate) struct Pki {
    ca_params: CertificateParams,
    ca_key: KeyPair,
    pub(crate) ca_pem: String,
}

impl Pki {
    pub(crate) fn new() -> Self {
        let ca_key = KeyPair::generate().expect("ca key");
        let mut ca_params = CertificateParams::new(Vec::<String>::new()).expect("ca params");
        ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        ca_params
            .distinguished_name
            .push(DnType::CommonName, "vault-k8s test CA");
        let ca_pem = ca_params.self_signed(&ca_key).expect("ca cert").pem();
        Self {
            ca_params,
            ca_key,
            ca_pem,
        }
    }

    /// A leaf (cert PEM, key PEM) with the given common name.
    pub(crate) fn leaf(&self, common_name: &str) -> (String, String) {
        let key = KeyPair::generate().expect("leaf key");
        let mut params =
            CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
                .expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, common_name);
        let issuer = Issuer::from_params(&self.ca_params, &self.ca_key);
        let cert = params.signed_by(&key, &issuer).expect("sign");
        (cert.pem(), key.serialize_pem())
    }
}

/// Certificate files in a temporary directory.
pub(crate) struct CertDir {
    _dir: tempfile::TempDir,
    pub(crate) cert: PathBuf,
    pub(crate) key: PathBuf,
}

impl CertDir {
    pub(crate) fn new(pair: &(String, String)) -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let cert = dir.path().join("tls.crt");
        let key = dir.path().join("tls.key");
        let this = Self {
            _dir: dir,
            cert,
            key,
        };
        this.replace(pair);
        this
    }

    /// Replace both files atomically (write aside, rename), as a Secret volume update does.
    pub(crate) fn replace(&self, (cert, key): &(String, String)) {
        for (path, text) in [(&self.key, key), (&self.cert, cert)] {
            let tmp = path.with_extension("tmp");
            std::fs::write(&tmp, text).expect("write");
            std::fs::rename(&tmp, path).expect("rename");
        }
    }
}

/// A running `vault-k8s agent-inject`, killed when dropped.
pub(crate) struct Server {
    pub(crate) child: Child,
    pub(crate) addr: SocketAddr,
    pub(crate) stdout_lines: Vec<String>,
}

impl Server {
    pub(crate) fn start(certs: &CertDir, extra: &[&str]) -> Self {
        let mut args = vec![
            "agent-inject".to_owned(),
            "-listen=127.0.0.1:0".to_owned(),
            "-vault-address=http://vault.vault.svc:8200".to_owned(),
            format!("-tls-cert-file={}", certs.cert.display()),
            format!("-tls-key-file={}", certs.key.display()),
        ];
        args.extend(extra.iter().map(|s| (*s).to_owned()));
        let mut child = Command::new(BIN)
            .args(&args)
            .env_clear()
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn vault-k8s");
        let stdout = child.stdout.take().expect("stdout");
        let mut reader = BufReader::new(stdout);
        let mut stdout_lines = Vec::new();
        let addr = loop {
            let mut line = String::new();
            let n = reader.read_line(&mut line).expect("read stdout");
            assert!(n > 0, "server exited before listening: {stdout_lines:?}");
            let line = line.trim_end().to_owned();
            stdout_lines.push(line.clone());
            if let Some(rest) = line.strip_prefix("Listening on \"") {
                let addr = rest.strip_suffix("\"...").expect("listening line format");
                break addr.parse().expect("socket address");
            }
        };
        // Keep draining stdout so the server never blocks on a full pipe.
        std::thread::spawn(move || for _ in reader.lines() {});
        Self {
            child,
            addr,
            stdout_lines,
        }
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.child.id().to_string())
            .status()
            .expect("kill");
        assert!(status.success());
    }

    /// Wait for exit, at most `timeout`.
    pub(crate) fn wait(&mut self, timeout: Duration) -> std::process::ExitStatus {
        let deadline = std::time::Instant::now() + timeout;
        loop {
            if let Some(status) = self.child.try_wait().expect("try_wait") {
                return status;
            }
            assert!(
                std::time::Instant::now() < deadline,
                "server did not exit within {timeout:?}"
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A client trusting only `ca_pem`.
pub(crate) fn client_config(ca_pem: &str) -> Arc<ClientConfig> {
    let mut roots = RootCertStore::empty();
    for cert in rustls::pki_types::CertificateDer::pem_slice_iter(ca_pem.as_bytes()) {
        roots.add(cert.expect("ca pem")).expect("add root");
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_root_certificates(roots)
        .with_no_client_auth();
    // Every request must see a full handshake: a resumed session reports the certificate of the
    // original one, which would hide a rotation.
    config.resumption = rustls::client::Resumption::disabled();
    Arc::new(config)
}

/// A response: status, content type, body, and the certificate the server presented.
pub(crate) struct Reply {
    pub(crate) status: u16,
    pub(crate) content_type: String,
    pub(crate) body: Bytes,
    pub(crate) peer_cert: CertificateDer<'static>,
}

/// One request on a new TLS connection, verifying the server as `localhost`.
pub(crate) async fn request(
    config: &Arc<ClientConfig>,
    addr: SocketAddr,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Reply, String> {
    request_as(config, addr, "localhost", method, path, content_type, body).await
}

/// One request on a new TLS connection, verifying the server as `server_name` against
/// `config`'s roots (also the `Host` header).
pub(crate) async fn request_as(
    config: &Arc<ClientConfig>,
    addr: SocketAddr,
    server_name: &str,
    method: &str,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Result<Reply, String> {
    let tcp = tokio::net::TcpStream::connect(addr)
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let name = rustls::pki_types::ServerName::try_from(server_name.to_owned())
        .map_err(|e| e.to_string())?;
    let tls = TlsConnector::from(config.clone())
        .connect(name, tcp)
        .await
        .map_err(|e| format!("handshake: {e}"))?;
    let peer_cert = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first().cloned())
        .ok_or("no peer certificate")?;
    let (mut sender, conn) = hyper::client::conn::http1::handshake(TokioIo::new(tls))
        .await
        .map_err(|e| format!("http handshake: {e}"))?;
    tokio::spawn(conn);
    let mut req = Request::builder()
        .method(method)
        .uri(path)
        .header("host", server_name);
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let req = req
        .body(Full::new(Bytes::from(body)))
        .map_err(|e| e.to_string())?;
    let resp = sender
        .send_request(req)
        .await
        .map_err(|e| format!("send: {e}"))?;
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    let body = resp
        .into_body()
        .collect()
        .await
        .map_err(|e| format!("body: {e}"))?
        .to_bytes();
    Ok(Reply {
        status,
        content_type,
        body,
        peer_cert,
    })
}

/// Wrap a pod into an AdmissionReview v1 for a CREATE in `namespace`.
pub(crate) fn review(pod: &serde_json::Value, namespace: &str, uid: &str) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "kind": "AdmissionReview",
        "apiVersion": "admission.k8s.io/v1",
        "request": {
            "uid": uid,
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": namespace,
            "operation": "CREATE",
            "object": pod
        }
    }))
    .expect("review json")
}

pub(crate) fn fixture(name: &str) -> String {
    std::fs::read_to_string(Path::new(FIXTURES).join(name)).expect("fixture")
}
