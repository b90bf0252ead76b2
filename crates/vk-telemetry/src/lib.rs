//! Process-wide telemetry plumbing: the `tracing` subscriber (standard text or JSON on stderr)
//! with optional OpenTelemetry trace export over OTLP, and the Prometheus text exposition of an
//! explicitly passed registry.
//!
//! Owns: log-level parsing with upstream's accepted spellings, subscriber installation, metric
//! encoding. Must never: create or use the global Prometheus registry, name domain types
//! (pods, annotations), or decide which metrics exist (services register their own).

mod chain;
mod logging;
mod metrics;
mod otel;
mod process;

pub use chain::ErrorChain;
pub use logging::{
    LogFormat, LogLevel, TelemetryError, UnknownLogLevel, init_logging, init_telemetry,
};
pub use metrics::{EncodeError, TEXT_CONTENT_TYPE, encode_text};
pub use otel::{
    ExporterError, OTEL_VARIABLES, OtelConfig, OtelConfigError, OtlpProtocol, TelemetryGuard,
    TraceSampler, current_trace_headers, set_parent_from_headers,
};
pub use process::ProcessCollector;
