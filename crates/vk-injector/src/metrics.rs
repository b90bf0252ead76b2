//! The injector's metrics, registered into a caller-owned registry: upstream's four series
//! (spec §6), unchanged, and the project's admission, TLS, leader, build and process series
//! (docs/metrics.md).

use prometheus::{
    Gauge, Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry,
};
use tokio::sync::watch;
use vk_server::ReloadingCert;

const NAMESPACE: &str = "vault";
const SUBSYSTEM: &str = "agent_injector";
const BUCKETS_MS: &[f64] = &[
    5.0, 10.0, 25.0, 50.0, 75.0, 100.0, 250.0, 500.0, 1000.0, 2500.0, 5000.0, 7500.0, 10000.0,
];
/// Admission latency buckets in seconds: 1 ms to 10 s (the API server's default webhook
/// timeout is 10 s).
const BUCKETS_SECONDS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// Every `outcome`/`reason` pair, shown at zero from the start (see docs/metrics.md).
const ADMISSION_LABELS: [(&str, &str); 16] = [
    ("injected", "init_and_sidecar"),
    ("injected", "native_sidecar"),
    ("injected", "init_only"),
    ("injected", "sidecar_only"),
    ("injected", "nothing"),
    ("skipped", "not_annotated"),
    ("skipped", "disabled"),
    ("skipped", "not_pending"),
    ("skipped", "already_injected"),
    ("denied", "pod_decode"),
    ("denied", "inject_annotation"),
    ("denied", "system_namespace"),
    ("denied", "annotations"),
    ("denied", "agent_config"),
    ("denied", "validation"),
    ("denied", "patch"),
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
    /// Labels: `outcome` (injected, skipped, denied), `reason` (closed per outcome).
    pub admissions: IntCounterVec,
    pub admission_seconds: Histogram,
    tls_reloads: IntCounter,
    tls_expiry: Gauge,
    leader: IntGauge,
    ready: IntGauge,
}

/// A metric could not be created or registered (e.g. registered twice).
#[derive(Debug, thiserror::Error)]
#[error("registering the injector metrics")]
pub struct MetricsError(#[source] prometheus::Error);

/// What the scrape-time series read: the serving certificate and the leader status.
#[derive(Debug, Clone, Default)]
pub struct ServingState {
    /// The slot the webhook serves its certificate from.
    pub certificate: Option<std::sync::Arc<ReloadingCert>>,
    /// With leader election: whether this replica holds the Lease.
    pub is_leader: Option<watch::Receiver<bool>>,
}

fn register<C: prometheus::core::Collector + Clone + 'static>(
    registry: &Registry,
    made: prometheus::Result<C>,
) -> Result<C, MetricsError> {
    let c = made.map_err(MetricsError)?;
    registry
        .register(Box::new(c.clone()))
        .map_err(MetricsError)?;
    Ok(c)
}

impl InjectorMetrics {
    /// Create the metrics and register them in `registry`, with the process series.
    pub fn register(registry: &Registry) -> Result<Self, MetricsError> {
        let opts = |name: &str, help: &str| {
            Opts::new(name, help)
                .namespace(NAMESPACE)
                .subsystem(SUBSYSTEM)
        };
        let r = registry;
        let queue_length = register(
            r,
            IntGauge::with_opts(opts(
                "request_queue_length",
                "Count of webhook requests in the injector's queue",
            )),
        )?;
        let processing_ms = register(
            r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "request_processing_duration_ms",
                    "Webhook request processing times in milliseconds",
                )
                .namespace(NAMESPACE)
                .subsystem(SUBSYSTEM)
                .buckets(BUCKETS_MS.to_vec()),
            ),
        )?;
        let injections = register(
            r,
            IntCounterVec::new(
                opts(
                    "injections_by_namespace_total",
                    "Total count of Agent Sidecar injections by namespace",
                ),
                &["namespace", "injection_type"],
            ),
        )?;
        let failures = register(
            r,
            IntCounterVec::new(
                opts(
                    "failed_injections_by_namespace_total",
                    "Total count of failed Agent Sidecar injections by namespace",
                ),
                &["namespace"],
            ),
        )?;
        let admissions = register(
            r,
            IntCounterVec::new(
                opts(
                    "admissions_total",
                    "Decoded admission requests by outcome and reason",
                ),
                &["outcome", "reason"],
            ),
        )?;
        let admission_seconds = register(
            r,
            Histogram::with_opts(
                HistogramOpts::new(
                    "admission_duration_seconds",
                    "Time to answer a /mutate request in seconds",
                )
                .namespace(NAMESPACE)
                .subsystem(SUBSYSTEM)
                .buckets(BUCKETS_SECONDS.to_vec()),
            ),
        )?;
        let tls_reloads = register(
            r,
            IntCounter::with_opts(opts(
                "tls_certificate_reloads_total",
                "Serving certificates installed after the first one",
            )),
        )?;
        let tls_expiry = register(
            r,
            Gauge::with_opts(opts(
                "tls_certificate_expiry_timestamp_seconds",
                "Unix time at which the served certificate expires (0: none loaded)",
            )),
        )?;
        let leader = register(
            r,
            IntGauge::with_opts(opts(
                "leader",
                "1 when this replica manages the auto-TLS certificate (Lease holder, or no election), else 0",
            )),
        )?;
        let ready = register(
            r,
            IntGauge::with_opts(opts("ready", "1 when /health/ready answers 204, else 0")),
        )?;
        let build_info = register(
            r,
            IntGaugeVec::new(
                opts("build_info", "Always 1; labels describe the running build"),
                &["version"],
            ),
        )?;
        for (outcome, reason) in ADMISSION_LABELS {
            admissions.with_label_values(&[outcome, reason]);
        }
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION")])
            .set(1);
        registry
            .register(Box::new(vk_telemetry::ProcessCollector::new()))
            .map_err(MetricsError)?;
        Ok(Self {
            queue_length,
            processing_ms,
            injections,
            failures,
            admissions,
            admission_seconds,
            tls_reloads,
            tls_expiry,
            leader,
            ready,
        })
    }

    /// Brings the scrape-time series up to date with `state` (called before encoding).
    pub fn refresh(&self, state: &ServingState, readiness: &crate::readiness::Readiness) {
        self.ready.set(i64::from(readiness.check().is_ok()));
        if let Some(cert) = &state.certificate {
            let reloads = cert.reloads();
            let seen = self.tls_reloads.get();
            if reloads > seen {
                self.tls_reloads.inc_by(reloads - seen);
            }
            self.tls_expiry
                .set(cert.not_after_unix().map_or(0.0, |t| t as f64));
        }
        let leading = state.is_leader.as_ref().is_none_or(|rx| *rx.borrow());
        self.leader.set(i64::from(leading));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::readiness::Readiness;

    fn sample(text: &str, series: &str) -> String {
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' '))
            .unwrap_or_else(|| panic!("no {series} in\n{text}"))
            .to_owned()
    }

    #[test]
    fn scrape_time_series_follow_the_serving_state() {
        let registry = Registry::new();
        let metrics = InjectorMetrics::register(&registry).expect("register");
        let (tx, rx) = watch::channel(false);
        let state = ServingState {
            certificate: Some(Arc::new(ReloadingCert::empty())),
            is_leader: Some(rx),
        };
        let waiting = Readiness::from_fn(|| Err("no certificate yet".to_owned()));
        metrics.refresh(&state, &waiting);
        let text = String::from_utf8(vk_telemetry::encode_text(&registry).expect("encode"))
            .expect("utf-8");
        assert_eq!(sample(&text, "vault_agent_injector_leader"), "0");
        assert_eq!(sample(&text, "vault_agent_injector_ready"), "0");
        assert_eq!(
            sample(
                &text,
                "vault_agent_injector_tls_certificate_expiry_timestamp_seconds"
            ),
            "0"
        );
        assert_eq!(
            sample(&text, "vault_agent_injector_tls_certificate_reloads_total"),
            "0"
        );

        tx.send(true).expect("receiver alive");
        metrics.refresh(&state, &Readiness::always());
        let text = String::from_utf8(vk_telemetry::encode_text(&registry).expect("encode"))
            .expect("utf-8");
        assert_eq!(sample(&text, "vault_agent_injector_leader"), "1");
        assert_eq!(sample(&text, "vault_agent_injector_ready"), "1");
        // Without leader election the replica manages its own certificate.
        metrics.refresh(&ServingState::default(), &Readiness::always());
        let text = String::from_utf8(vk_telemetry::encode_text(&registry).expect("encode"))
            .expect("utf-8");
        assert_eq!(sample(&text, "vault_agent_injector_leader"), "1");
        // Every outcome/reason pair is present at zero.
        assert_eq!(
            text.matches("vault_agent_injector_admissions_total{")
                .count(),
            ADMISSION_LABELS.len()
        );
    }
}
