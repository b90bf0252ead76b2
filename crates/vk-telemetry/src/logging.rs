//! Log level parsing (upstream's hclog spellings) and subscriber installation.

use std::fmt;

use tracing_subscriber::EnvFilter;

mod hclog_json;

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
}

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

    fn directive(self) -> &'static str {
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
        f.write_str(self.directive())
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

/// Install the process-wide subscriber writing to stderr.
///
/// The level applies to our own crates; dependencies (hyper, rustls) stay at warn so that a
/// `-log-level=trace` does not drown the injector's own lines in connection-level noise.
pub fn init_logging(level: LogLevel, format: LogFormat) -> Result<(), TelemetryError> {
    let deps = match level {
        LogLevel::Error => "error",
        _ => "warn",
    };
    // kube-client's request builder logs every failed call at error level without saying which
    // call; vk-kube reports the same failure with the verb, resource and object, so the
    // builder's line is only noise.
    let filter = EnvFilter::new(format!(
        "{deps},kube_client::client::builder=off,vk_server={lvl},vk_injector={lvl},vk_kube={lvl},vk_inject={lvl},vk_agent={lvl},vk_vault_client={lvl},vault_k8s={lvl}",
        lvl = level.directive()
    ));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .with_ansi(false)
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(hclog_json::HclogJson)
            .try_init(),
        LogFormat::Standard => builder.with_ansi(false).try_init(),
    };
    result.map_err(TelemetryError::AlreadyInstalled)
}

#[cfg(test)]
mod tests;
