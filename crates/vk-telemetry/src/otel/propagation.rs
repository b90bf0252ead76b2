//! W3C trace context (`traceparent`, `tracestate`) in and out of HTTP headers. Without the
//! OpenTelemetry layer installed these are cheap no-ops: no span has an OpenTelemetry context,
//! so nothing is extracted into it and nothing is injected.

use opentelemetry::propagation::{Extractor, Injector, TextMapPropagator as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use tracing_opentelemetry::OpenTelemetrySpanExt as _;

struct HeaderReader<'a>(&'a http::HeaderMap);

impl Extractor for HeaderReader<'_> {
    fn get(&self, key: &str) -> Option<&str> {
        self.0.get(key).and_then(|v| v.to_str().ok())
    }

    fn keys(&self) -> Vec<&str> {
        self.0.keys().map(http::HeaderName::as_str).collect()
    }
}

struct PairWriter(Vec<(&'static str, String)>);

impl Injector for PairWriter {
    fn set(&mut self, key: &str, value: String) {
        // The trace-context propagator only ever writes these two keys.
        let key = match key {
            "traceparent" => "traceparent",
            "tracestate" => "tracestate",
            _ => return,
        };
        self.0.push((key, value));
    }
}

/// Makes the caller's trace (a valid `traceparent` header) the parent of `span`. A missing or
/// malformed header leaves `span` a root span, as the W3C specification asks.
pub fn set_parent_from_headers(span: &tracing::Span, headers: &http::HeaderMap) {
    if !headers.contains_key("traceparent") {
        return;
    }
    let parent = TraceContextPropagator::new().extract(&HeaderReader(headers));
    // Fails only when no OpenTelemetry layer is installed, i.e. tracing is off.
    let _ = span.set_parent(parent);
}

/// The `traceparent` (and `tracestate`) headers that carry the current span's trace to the
/// next hop. Empty when tracing is off or the current span is not sampled-in to a trace.
pub fn current_trace_headers() -> Vec<(&'static str, String)> {
    let span = tracing::Span::current();
    if span.is_disabled() {
        return Vec::new();
    }
    let cx = span.context();
    let mut writer = PairWriter(Vec::new());
    TraceContextPropagator::new().inject_context(&cx, &mut writer);
    writer.0
}
