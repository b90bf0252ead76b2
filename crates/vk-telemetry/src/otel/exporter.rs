//! A small OTLP trace exporter: protobuf messages from `opentelemetry-proto`, sent with the
//! `vk-http` client the binary already carries (for the Vault client), either as
//! `http/protobuf` (HTTP/1.1 POST) or as unary gRPC over HTTP/2 (prior knowledge on `http://`,
//! ALPN `h2` on `https://`). This avoids tonic and a second HTTP stack in the static binary.
//!
//! The SDK's batch processor calls `export` from its own thread outside any tokio runtime, so
//! the exporter owns a one-thread runtime on which the requests run.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::transform::common::tonic::ResourceAttributesWithSchema;
use opentelemetry_proto::transform::trace::tonic::group_spans_by_resource_and_scope;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::{OTelSdkError, OTelSdkResult};
use opentelemetry_sdk::trace::{SpanData, SpanExporter};
use prost::Message as _;

use super::config::{OtelConfig, OtlpProtocol};

/// Building the exporter failed (TLS set-up or the export thread).
#[derive(Debug, thiserror::Error)]
pub enum ExporterError {
    #[error("no rustls crypto provider is installed for the OTLP exporter's TLS")]
    NoCryptoProvider,
    #[error("setting up TLS for the OTLP exporter")]
    Tls(#[source] rustls::Error),
    #[error("building the OTLP exporter's HTTP client")]
    HttpClient(#[source] vk_http::HttpError),
    #[error("starting the OTLP exporter's thread")]
    Runtime(#[source] std::io::Error),
    #[error("OTEL_EXPORTER_OTLP_HEADERS: header {name:?} is not valid")]
    Header { name: String },
}

/// Sends batches of finished spans to one OTLP receiver.
pub(crate) struct OtlpExporter {
    client: vk_http::HttpClient,
    url: String,
    protocol: OtlpProtocol,
    headers: http::HeaderMap,
    timeout: Duration,
    resource: ResourceAttributesWithSchema,
    runtime: Arc<tokio::runtime::Runtime>,
}

impl fmt::Debug for OtlpExporter {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values stay out of every debug output: they carry credentials.
        f.debug_struct("OtlpExporter")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .finish_non_exhaustive()
    }
}

impl OtlpExporter {
    pub(crate) fn new(config: &OtelConfig) -> Result<Self, ExporterError> {
        let provider = rustls::crypto::CryptoProvider::get_default()
            .cloned()
            .ok_or(ExporterError::NoCryptoProvider)?;
        // The system trust store, read at the first TLS handshake (never for http://).
        let verifier = vk_http::system_roots_verifier(
            provider.clone(),
            "the OTLP endpoint's CA must be in the system trust store",
        );
        let tls = rustls::ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(ExporterError::Tls)?
            .dangerous()
            .with_custom_certificate_verifier(verifier)
            .with_no_client_auth();
        let client = vk_http::HttpClient::new(vk_http::HttpClientOptions {
            tls,
            http2_only: config.protocol == OtlpProtocol::Grpc,
            // The export task has its own deadline (`timeout` below).
            timeout: Duration::ZERO,
            user_agent: concat!("vault-k8s/", env!("CARGO_PKG_VERSION")).to_string(),
            proxy: vk_http::ProxySetting::FromEnv,
        })
        .map_err(ExporterError::HttpClient)?;
        let mut headers = http::HeaderMap::new();
        for (name, value) in &config.headers {
            let header_name = http::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| ExporterError::Header { name: name.clone() })?;
            let mut header_value = http::HeaderValue::from_str(value)
                .map_err(|_| ExporterError::Header { name: name.clone() })?;
            header_value.set_sensitive(true);
            headers.append(header_name, header_value);
        }
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("otlp-export")
            .enable_all()
            .build()
            .map_err(ExporterError::Runtime)?;
        Ok(Self {
            client,
            url: config.url.clone(),
            protocol: config.protocol,
            headers,
            timeout: config.timeout,
            resource: ResourceAttributesWithSchema::from(&Resource::builder_empty().build()),
            runtime: Arc::new(runtime),
        })
    }
}

impl SpanExporter for OtlpExporter {
    fn export(&self, batch: Vec<SpanData>) -> impl Future<Output = OTelSdkResult> + Send {
        let request = ExportTraceServiceRequest {
            resource_spans: group_spans_by_resource_and_scope(batch, &self.resource),
        };
        let body = request.encode_to_vec();
        let send = send(
            self.client.clone(),
            self.url.clone(),
            self.protocol,
            self.headers.clone(),
            body,
        );
        let timeout = self.timeout;
        // The timer must be created inside the runtime.
        let task = self
            .runtime
            .spawn(async move { tokio::time::timeout(timeout, send).await });
        async move {
            let result = match task.await {
                Ok(Ok(result)) => result,
                Ok(Err(_elapsed)) => Err(OTelSdkError::Timeout(timeout)),
                Err(join) => Err(OTelSdkError::InternalFailure(format!(
                    "OTLP export task failed: {join}"
                ))),
            };
            // The SDK is built without its internal logging, so a lost batch is reported here.
            if let Err(err) = &result {
                tracing::warn!(error = %err, "exporting spans failed; this batch is dropped");
            }
            result
        }
    }

    fn set_resource(&mut self, resource: &Resource) {
        self.resource = ResourceAttributesWithSchema::from(resource);
    }
}

async fn send(
    client: vk_http::HttpClient,
    url: String,
    protocol: OtlpProtocol,
    headers: http::HeaderMap,
    body: Vec<u8>,
) -> OTelSdkResult {
    let failed = |what: String| Err(OTelSdkError::InternalFailure(what));
    let mut request = http::Request::post(url.as_str());
    if let Some(map) = request.headers_mut() {
        map.extend(headers);
    }
    let request = match protocol {
        OtlpProtocol::HttpProtobuf => request
            .header(http::header::CONTENT_TYPE, "application/x-protobuf")
            .body(bytes::Bytes::from(body)),
        OtlpProtocol::Grpc => {
            let mut framed = Vec::with_capacity(body.len() + 5);
            framed.push(0); // not compressed
            framed.extend_from_slice(&(body.len() as u32).to_be_bytes());
            framed.extend_from_slice(&body);
            request
                .header(http::header::CONTENT_TYPE, "application/grpc")
                .header(http::header::TE, "trailers")
                .body(bytes::Bytes::from(framed))
        }
    }
    .map_err(|e| OTelSdkError::InternalFailure(format!("OTLP export to {url}: {e}")))?;
    let answer = client.send(request).await.map_err(|e| {
        OTelSdkError::InternalFailure(format!("OTLP export to {url}: {}", error_chain(&e)))
    })?;
    let status = answer.status;
    if !status.is_success() {
        return failed(format!("OTLP export to {url}: HTTP status {status}"));
    }
    if protocol == OtlpProtocol::HttpProtobuf {
        return Ok(());
    }
    // A failed call may answer with headers only ("trailers-only" response).
    let head_status = grpc_status(&answer.headers);
    let code = answer
        .trailers
        .as_ref()
        .and_then(grpc_status)
        .or(head_status);
    match code {
        Some((0, _)) => Ok(()),
        Some((code, message)) => failed(format!(
            "OTLP export to {url}: gRPC status {code}: {message}"
        )),
        None => failed(format!(
            "OTLP export to {url}: no gRPC status in the answer"
        )),
    }
}

/// `outer: cause: cause` (the client's errors name the step, their causes the reason).
fn error_chain(err: &(dyn std::error::Error + 'static)) -> String {
    let mut text = err.to_string();
    let mut source = err.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}

fn grpc_status(map: &http::HeaderMap) -> Option<(u32, String)> {
    let code = map.get("grpc-status")?.to_str().ok()?.trim().parse().ok()?;
    let message = map
        .get("grpc-message")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    Some((code, message))
}
