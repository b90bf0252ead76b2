//! OpenTelemetry traces: the `tracing` spans of our own crates exported over OTLP, configured
//! only by the standard `OTEL_*` variables. Nothing here runs unless an endpoint is configured:
//! with tracing off no exporter, thread or layer exists.

use opentelemetry::KeyValue;
use opentelemetry::trace::TracerProvider as _;
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::trace::{BatchSpanProcessor, Sampler, SdkTracerProvider};

mod config;
mod exporter;
mod propagation;

pub use config::{OTEL_VARIABLES, OtelConfig, OtelConfigError, OtlpProtocol, TraceSampler};
pub use exporter::ExporterError;
pub use propagation::{current_trace_headers, set_parent_from_headers};

/// Crates whose spans are exported. Dependencies' spans (hyper, h2, kube) are not: they add
/// volume, not insight, and their fields are not reviewed for secrets.
pub(crate) const TRACED_CRATES: &[&str] = &[
    "vk_injector",
    "vk_agent",
    "vk_vault_client",
    "vk_server",
    "vault_k8s",
];

/// Keeps the trace pipeline alive; [`TelemetryGuard::shutdown`] flushes the spans still queued.
/// Dropping the guard flushes too.
#[derive(Debug, Default)]
pub struct TelemetryGuard {
    provider: Option<SdkTracerProvider>,
}

impl TelemetryGuard {
    pub(crate) fn new(provider: Option<SdkTracerProvider>) -> Self {
        Self { provider }
    }

    /// Whether spans are being exported.
    pub fn tracing_enabled(&self) -> bool {
        self.provider.is_some()
    }

    /// Exports the spans still queued and stops the exporter. Blocks for at most the export
    /// timeout; call it outside the async runtime, after the work is done.
    pub fn shutdown(mut self) {
        self.flush_and_stop();
    }

    fn flush_and_stop(&mut self) {
        if let Some(provider) = self.provider.take()
            && let Err(err) = provider.shutdown()
        {
            // The subscriber may be the only one reading this; stderr is certain.
            eprintln!("flushing trace spans on shutdown failed: {err}");
        }
    }
}

impl Drop for TelemetryGuard {
    fn drop(&mut self) {
        self.flush_and_stop();
    }
}

pub(crate) fn sampler(kind: TraceSampler) -> Sampler {
    match kind {
        TraceSampler::AlwaysOn => Sampler::AlwaysOn,
        TraceSampler::AlwaysOff => Sampler::AlwaysOff,
        TraceSampler::TraceIdRatio(r) => Sampler::TraceIdRatioBased(r),
        TraceSampler::ParentBasedAlwaysOn => Sampler::ParentBased(Box::new(Sampler::AlwaysOn)),
        TraceSampler::ParentBasedAlwaysOff => Sampler::ParentBased(Box::new(Sampler::AlwaysOff)),
        TraceSampler::ParentBasedTraceIdRatio(r) => {
            Sampler::ParentBased(Box::new(Sampler::TraceIdRatioBased(r)))
        }
    }
}

/// Builds the provider and the tracer the `tracing` layer records into.
pub(crate) fn build_pipeline(
    config: &OtelConfig,
) -> Result<(SdkTracerProvider, opentelemetry_sdk::trace::Tracer), ExporterError> {
    let exporter = exporter::OtlpExporter::new(config)?;
    let resource = Resource::builder_empty()
        .with_service_name(config.service_name.clone())
        .with_attributes(
            config
                .resource_attributes
                .iter()
                .map(|(k, v)| KeyValue::new(k.clone(), v.clone())),
        )
        .with_attribute(KeyValue::new("service.version", env!("CARGO_PKG_VERSION")))
        .build();
    let provider = SdkTracerProvider::builder()
        .with_span_processor(BatchSpanProcessor::builder(exporter).build())
        .with_sampler(sampler(config.sampler))
        .with_resource(resource)
        .build();
    let tracer = provider.tracer("vault-k8s");
    Ok((provider, tracer))
}

#[cfg(test)]
mod tests;
