//! The `agent-inject` service: configuration (Go-style flags, environment, validation), the
//! admission webhook routes mapping `vk-inject` decisions to AdmissionReview responses, its
//! metrics, and the offline preview used by `agent-inject render`.
//!
//! Owns: the HTTP contract of spec §5 and the metrics of §6. Must never: decide anything about
//! the mutation itself (that is `vk-inject`), touch sockets/TLS details (that is `vk-server`),
//! or read the process environment directly (callers pass a lookup).

pub mod admission;
pub mod autotls;
pub mod config;
pub mod handler;
pub mod metrics;
pub mod preview;
pub mod readiness;

pub use config::{ConfigError, InjectorConfig, Purpose};
pub use handler::{AppState, router};
pub use metrics::{InjectorMetrics, MetricsError, ServingState};
pub use readiness::Readiness;
