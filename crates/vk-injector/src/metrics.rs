//! The four upstream injector metrics (spec §6), registered into a caller-owned registry.

use prometheus::{Histogram, HistogramOpts, IntCounterVec, IntGauge, Opts, Registry};

const NAMESPACE: &str = "vault";
const SUBSYSTEM: &str = "agent_injector";
const BUCKETS_MS: &[f64] = &[
    5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0,
];

/// Handles to the admission metrics.
#[derive(Debug, Clone)]
pub struct InjectorMetrics {
    pub queue_length: IntGauge,
    pub processing_ms: Histogram,
    /// Labels: `namespace`, `injection_type` (closed set: init_and_sidecar, init_only, sidecar_only).
    pub injections: IntCounterVec,
    /// Label: `namespace`.
    pub failures: IntCounterVec,
}

/// A metric could not be created or registered (e.g. registered twice).
#[derive(Debug, thiserror::Error)]
#[error("registering the injector metrics")]
pub struct MetricsError(#[source] prometheus::Error);

impl InjectorMetrics {
    /// Create the metrics and register them in `registry`.
    pub fn register(registry: &Registry) -> Result<Self, MetricsError> {
        let opts = |name: &str, help: &str| {
            Opts::new(name, help)
                .namespace(NAMESPACE)
                .subsystem(SUBSYSTEM)
        };
        let queue_length = IntGauge::with_opts(opts(
            "request_queue_length",
            "Count of webhook requests in the injector's queue",
        ))
        .map_err(MetricsError)?;
        let processing_ms = Histogram::with_opts(
            HistogramOpts::new(
                "request_processing_duration_ms",
                "Webhook request processing times in milliseconds",
            )
            .namespace(NAMESPACE)
            .subsystem(SUBSYSTEM)
            .buckets(BUCKETS_MS.to_vec()),
        )
        .map_err(MetricsError)?;
        let injections = IntCounterVec::new(
            opts(
                "injections_by_namespace_total",
                "Total count of Agent Sidecar injections by namespace",
            ),
            &["namespace", "injection_type"],
        )
        .map_err(MetricsError)?;
        let failures = IntCounterVec::new(
            opts(
                "failed_injections_by_namespace_total",
                "Total count of failed Agent Sidecar injections by namespace",
            ),
            &["namespace"],
        )
        .map_err(MetricsError)?;
        registry
            .register(Box::new(queue_length.clone()))
            .map_err(MetricsError)?;
        registry
            .register(Box::new(processing_ms.clone()))
            .map_err(MetricsError)?;
        registry
            .register(Box::new(injections.clone()))
            .map_err(MetricsError)?;
        registry
            .register(Box::new(failures.clone()))
            .map_err(MetricsError)?;
        Ok(Self {
            queue_length,
            processing_ms,
            injections,
            failures,
        })
    }
}
