//! A hook the caller installs to measure every request the client sends to Vault (the
//! agent's request latency and error metrics); the client itself keeps no metrics.

use std::fmt;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How a request to Vault ended, by HTTP status class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StatusClass {
    Success,
    Redirect,
    ClientError,
    ServerError,
    /// No HTTP answer: connection refused, TLS failure, timeout, cut-off body.
    Transport,
}

impl StatusClass {
    /// The class of an HTTP status (1xx counts with 2xx: nothing sends it here).
    pub fn of_status(status: u16) -> Self {
        match status {
            300..=399 => Self::Redirect,
            400..=499 => Self::ClientError,
            500.. => Self::ServerError,
            _ => Self::Success,
        }
    }

    /// `2xx`, `3xx`, `4xx`, `5xx` or `transport` (the metric label value).
    pub fn label(self) -> &'static str {
        match self {
            Self::Success => "2xx",
            Self::Redirect => "3xx",
            Self::ClientError => "4xx",
            Self::ServerError => "5xx",
            Self::Transport => "transport",
        }
    }
}

/// Called once per request sent, with its class and the time until the whole answer was read.
#[derive(Clone)]
pub struct RequestObserver(Arc<dyn Fn(StatusClass, Duration) + Send + Sync>);

impl RequestObserver {
    pub fn new(f: impl Fn(StatusClass, Duration) + Send + Sync + 'static) -> Self {
        Self(Arc::new(f))
    }

    pub(crate) fn record(&self, class: StatusClass, started: Instant) {
        (self.0)(class, started.elapsed());
    }
}

impl fmt::Debug for RequestObserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RequestObserver")
    }
}
