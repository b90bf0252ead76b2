//! Log level parsing (upstream's hclog spellings) and subscriber installation.

use std::fmt;

use tracing::Level;
use tracing_subscriber::filter::filter_fn;
use tracing_subscriber::filter::{LevelFilter, Targets};
use tracing_subscriber::layer::SubscriberExt as _;
use tracing_subscriber::util::SubscriberInitExt as _;
use tracing_subscriber::{Layer, Registry};

use crate::otel::{ExporterError, OtelConfig, TRACED_CRATES, TelemetryGuard, build_pipeline};

mod hclog_json;
mod plain_fields;

/// Verbosity accepted by `-log-level`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogLevel {
    Trace,
    Debug,
    Info,
    Warn,
    Error,
}

/// `-log-level` named a level that upstream does not know.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown log level: {0}")]
pub struct UnknownLogLevel(pub String);

/// Output shape selected by `-log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// Human-readable lines (any value other than `json`, as upstream).
    Standard,
    /// One JSON object per line, with hclog's keys (`@level`, `@message`, `@module`,
    /// `@timestamp`) as upstream writes them.
    Json,
}

/// Installing the subscriber failed.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    #[error("a global tracing subscriber is already installed")]
    AlreadyInstalled(#[source] Box<dyn std::error::Error + Send + Sync + 'static>),
    #[error("setting up the OpenTelemetry trace exporter")]
    Exporter(#[source] ExporterError),
}

/// The crates whose lines follow `-log-level`; every other crate (hyper, rustls, …) logs at warn.
const OUR_CRATES: &[&str] = &[
    "vk_server",
    "vk_injector",
    "vk_kube",
    "vk_inject",
    "vk_agent",
    "vk_vault_client",
    "vk_telemetry",
    "vault_k8s",
];

// === LogLevel ===

impl LogLevel {
    /// Parse the way upstream does: trimmed and lower-cased; `notice` and the empty string mean info,
    /// `warning` means warn, `err` means error.
    pub fn parse(raw: &str) -> Result<Self, UnknownLogLevel> {
        match raw.trim().to_lowercase().as_str() {
            "trace" => Ok(Self::Trace),
            "debug" => Ok(Self::Debug),
            "notice" | "info" | "" => Ok(Self::Info),
            "warn" | "warning" => Ok(Self::Warn),
            "err" | "error" => Ok(Self::Error),
            _ => Err(UnknownLogLevel(raw.to_owned())),
        }
    }

    /// The filter our own crates log at.
    fn filter(self) -> LevelFilter {
        match self {
            Self::Trace => LevelFilter::TRACE,
            Self::Debug => LevelFilter::DEBUG,
            Self::Info => LevelFilter::INFO,
            Self::Warn => LevelFilter::WARN,
            Self::Error => LevelFilter::ERROR,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Trace => "trace",
            Self::Debug => "debug",
            Self::Info => "info",
            Self::Warn => "warn",
            Self::Error => "error",
        }
    }
}

impl fmt::Display for LogLevel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

// === LogFormat ===

impl LogFormat {
    /// `json` selects JSON; anything else is the standard format (upstream never rejects a value).
    pub fn parse(raw: &str) -> Self {
        if raw == "json" {
            Self::Json
        } else {
            Self::Standard
        }
    }
}

/// Install the process-wide subscriber writing to stderr (no trace export).
pub fn init_logging(level: LogLevel, format: LogFormat) -> Result<(), TelemetryError> {
    // Without an exporter the guard holds nothing; dropping it is free.
    init_telemetry(level, format, None).map(drop)
}

/// Install the process-wide subscriber: log lines on stderr and, when `tracing` is given, the
/// spans of our crates exported over OTLP. Keep the returned guard until the end of `main` and
/// call [`TelemetryGuard::shutdown`] there so that queued spans are flushed.
///
/// The level applies to our own crates; dependencies (hyper, rustls) stay at warn so that a
/// `-log-level=trace` does not drown the injector's own lines in connection-level noise. Spans
/// are exported at info and above whatever the log level, and log events are never exported.
pub fn init_telemetry(
    level: LogLevel,
    format: LogFormat,
    tracing: Option<&OtelConfig>,
) -> Result<TelemetryGuard, TelemetryError> {
    let deps = match level {
        LogLevel::Error => LevelFilter::ERROR,
        _ => LevelFilter::WARN,
    };
    // `Targets` matches module-path prefixes, as an env filter's directives do, without linking
    // a regex engine.
    let filter = OUR_CRATES
        .iter()
        .fold(Targets::new().with_default(deps), |filter, krate| {
            filter.with_target(*krate, level.filter())
        });
    let fmt = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .with_ansi(false);
    let fmt: Box<dyn Layer<Registry> + Send + Sync> = match format {
        LogFormat::Json => fmt
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(hclog_json::HclogJson)
            .with_filter(filter)
            .boxed(),
        LogFormat::Standard => fmt
            .fmt_fields(plain_fields::PlainFields)
            .with_filter(filter)
            .boxed(),
    };
    let (provider, otel) = match tracing {
        None => (None, None),
        Some(config) => {
            let (provider, tracer) = build_pipeline(config).map_err(TelemetryError::Exporter)?;
            let layer = tracing_opentelemetry::layer()
                .with_tracer(tracer)
                .with_location(false)
                .with_threads(false)
                .with_tracked_inactivity(false)
                .with_filter(filter_fn(|meta| {
                    meta.is_span()
                        && *meta.level() <= Level::INFO
                        && TRACED_CRATES.iter().any(|c| {
                            meta.target() == *c
                                || meta
                                    .target()
                                    .strip_prefix(c)
                                    .is_some_and(|r| r.starts_with("::"))
                        })
                }));
            (Some(provider), Some(layer))
        }
    };
    tracing_subscriber::registry()
        .with(fmt)
        .with(otel)
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInstalled(Box::new(e)))?;
    Ok(TelemetryGuard::new(provider))
}

#[cfg(test)]
mod tests;
