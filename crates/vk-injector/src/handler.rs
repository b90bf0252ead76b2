//! HTTP routes of the webhook (spec §5.1–5.3): `/mutate`, `/health/ready`, the optional
//! telemetry path and Go `ServeMux`-style 404s. Exact path match, any method, query ignored.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use bumpalo::Bump;
use prometheus::Registry;
use tracing::Instrument as _;
use vk_go::quote_bytes as go_quote;
use vk_inject::{AdmittedPod, Decision, InjectorSettings};

use crate::admission::{ReviewIn, ReviewOut, Status};
use crate::metrics::{InjectorMetrics, ServingState};
use crate::readiness::Readiness;

/// Upper bound on an AdmissionReview body: 3 MiB, the API server's own limit on a request
/// object (etcd's default value size limit is 1.5 MiB), so no review it sends is refused,
/// while a misbehaving client cannot make the webhook hold more. Larger bodies get 413.
pub const MAX_BODY_BYTES: usize = 3 * 1024 * 1024;

/// Everything the routes need; cheap to clone.
#[derive(Clone, Debug)]
pub struct AppState {
    settings: Arc<InjectorSettings>,
    metrics: InjectorMetrics,
    telemetry: Option<(Arc<str>, Registry)>,
    readiness: Readiness,
    serving: ServingState,
}

impl AppState {
    /// `telemetry` is the path and registry to expose, if `-telemetry-path` is set.
    pub fn new(
        settings: InjectorSettings,
        metrics: InjectorMetrics,
        telemetry: Option<(String, Registry)>,
    ) -> Self {
        Self {
            settings: Arc::new(settings),
            metrics,
            telemetry: telemetry.map(|(p, r)| (Arc::from(p), r)),
            readiness: Readiness::always(),
            serving: ServingState::default(),
        }
    }

    /// What the certificate and leader series report.
    pub fn with_serving_state(mut self, serving: ServingState) -> Self {
        self.serving = serving;
        self
    }

    /// What `/health/ready` reports (default: always ready).
    pub fn with_readiness(mut self, readiness: Readiness) -> Self {
        self.readiness = readiness;
        self
    }
}

/// The webhook application.
pub fn router(state: AppState) -> Router {
    Router::new().fallback(dispatch).with_state(state)
}

async fn dispatch(State(state): State<AppState>, request: Request) -> Response {
    match request.uri().path() {
        "/mutate" => mutate(state, request).await,
        "/health/ready" => match state.readiness.check() {
            Ok(()) => StatusCode::NO_CONTENT.into_response(),
            Err(reason) => http_error(
                StatusCode::SERVICE_UNAVAILABLE,
                format!("not ready: {reason}"),
            ),
        },
        path if state.telemetry.as_ref().is_some_and(|(p, _)| **p == *path) => metrics_page(&state),
        _ => http_error(StatusCode::NOT_FOUND, "404 page not found".to_owned()),
    }
}

fn metrics_page(state: &AppState) -> Response {
    let Some((_, registry)) = &state.telemetry else {
        return http_error(StatusCode::NOT_FOUND, "404 page not found".to_owned());
    };
    state.metrics.refresh(&state.serving, &state.readiness);
    match vk_telemetry::encode_text(registry) {
        Ok(body) => (
            [(header::CONTENT_TYPE, vk_telemetry::TEXT_CONTENT_TYPE)],
            body,
        )
            .into_response(),
        Err(err) => http_error(
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("{}", vk_telemetry::ErrorChain(&err)),
        ),
    }
}

/// Counts the request as queued while alive; observes its duration when dropped, so requests
/// whose client goes away mid-way are still accounted for.
struct InFlight<'a> {
    metrics: &'a InjectorMetrics,
    start: Instant,
}

impl<'a> InFlight<'a> {
    fn enter(metrics: &'a InjectorMetrics) -> Self {
        metrics.queue_length.inc();
        Self {
            metrics,
            start: Instant::now(),
        }
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        let elapsed = self.start.elapsed();
        // Whole milliseconds, truncated, as upstream.
        self.metrics
            .processing_ms
            .observe(elapsed.as_millis() as f64);
        self.metrics
            .admission_seconds
            .observe(elapsed.as_secs_f64());
        self.metrics.queue_length.dec();
    }
}

/// Every admission runs in one `admission` span (the project's rule: a span on every request),
/// with the request's uid, namespace, kind and operation recorded once they are decoded, and
/// the outcome at the end. These fields are also the span's OpenTelemetry attributes: never
/// record the pod spec or anything taken from it here. A W3C `traceparent` header from the
/// caller makes the span part of the caller's trace.
async fn mutate(state: AppState, request: Request) -> Response {
    let span = tracing::info_span!(
        "admission",
        uid = tracing::field::Empty,
        namespace = tracing::field::Empty,
        kind = tracing::field::Empty,
        operation = tracing::field::Empty,
        outcome = tracing::field::Empty,
        otel.kind = "server",
        otel.status_code = tracing::field::Empty,
    );
    vk_telemetry::set_parent_from_headers(&span, request.headers());
    let response = mutate_in_span(state, request)
        .instrument(span.clone())
        .await;
    if !response.status().is_success() {
        span.record("outcome", "error");
        span.record("otel.status_code", "error");
    }
    response
}

/// The request, inside its `admission` span.
async fn mutate_in_span(state: AppState, request: Request) -> Response {
    let _in_flight = InFlight::enter(&state.metrics);
    tracing::debug!(method = %request.method(), uri = %request.uri(), "Request received");
    let (parts, body) = request.into_parts();
    if let Some(message) = content_type_error(&parts.headers) {
        return http_error(StatusCode::BAD_REQUEST, message);
    }
    // A declared length over the limit is refused before reading a byte of the body.
    let declared = parts
        .headers
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok()?.parse::<u64>().ok());
    if declared.is_some_and(|n| n > MAX_BODY_BYTES as u64) {
        return body_too_large();
    }
    let body = match axum::body::to_bytes(body, MAX_BODY_BYTES).await {
        Ok(b) => b,
        Err(err) if is_length_limit(&err) => return body_too_large(),
        Err(err) => {
            return http_error(
                StatusCode::BAD_REQUEST,
                format!(
                    "error reading request body: {}",
                    vk_telemetry::ErrorChain(&err)
                ),
            );
        }
    };
    if body.is_empty() {
        return http_error(StatusCode::BAD_REQUEST, "Empty request body".to_owned());
    }
    // The pod's tree is built in this arena and freed with it in one piece: no malloc per
    // object or array (24 fewer malloc/free pairs per admission of the bench's pod), no walk
    // of the tree to drop it.
    let arena = Bump::with_capacity(AdmittedPod::arena_capacity(body.len()));
    let review = match ReviewIn::decode(&body, &arena) {
        Ok(r) => r,
        Err(err) => {
            return http_error(
                StatusCode::INTERNAL_SERVER_ERROR,
                format!("error decoding admission request: {err}"),
            );
        }
    };
    let Some(req) = &review.request else {
        return http_error(
            StatusCode::BAD_REQUEST,
            "error decoding admission request: missing request".to_owned(),
        );
    };
    let decision = vk_inject::mutate_admitted(&req.object, &req.namespace, &state.settings);
    let span = tracing::Span::current();
    // One record for the four fields: each record is a pass through every layer.
    tracing::record_all!(
        span,
        uid = &*req.uid,
        namespace = &*req.namespace,
        kind = &*req.kind.kind,
        operation = &*req.operation
    );
    let (response, outcome) = respond(&req.uid, decision);
    let (outcome_label, reason) = match outcome {
        Outcome::Skipped(r) => ("skipped", r.label()),
        Outcome::Injected(label) => ("injected", label.unwrap_or("nothing")),
        Outcome::Denied(stage) => ("denied", stage.label()),
    };
    span.record("outcome", outcome_label);
    let out = ReviewOut::new(&review, response);
    let bytes = out.to_json();
    state
        .metrics
        .admissions
        .with_label_values(&[outcome_label, reason])
        .inc();
    match outcome {
        Outcome::Injected(Some(label)) => {
            state
                .metrics
                .injections
                .with_label_values(&[&*req.namespace, label])
                .inc();
        }
        Outcome::Injected(None) | Outcome::Skipped(_) => {}
        Outcome::Denied(_) => state
            .metrics
            .failures
            .with_label_values(&[&*req.namespace])
            .inc(),
    }
    ([(header::CONTENT_TYPE, "application/json")], bytes).into_response()
}

#[derive(Clone, Copy)]
enum Outcome {
    Skipped(vk_inject::SkipReason),
    Injected(Option<&'static str>),
    Denied(vk_inject::DenyStage),
}

fn respond(uid: &str, decision: Decision) -> (crate::admission::Response, Outcome) {
    let mut response = crate::admission::Response {
        uid: uid.to_owned(),
        allowed: true,
        patch: None,
        patch_type: None,
        status: None,
        warnings: Vec::new(),
    };
    let outcome = match decision {
        Decision::Skip(reason) => {
            tracing::debug!(reason = reason.label(), "Not injecting");
            Outcome::Skipped(reason)
        }
        Decision::Inject {
            patch,
            injection,
            warnings,
        } => {
            response.patch = Some(vk_inject::patch_to_json(&patch));
            response.patch_type = Some("JSONPatch");
            for w in &warnings {
                tracing::warn!(warning = %w, "admission warning");
            }
            response.warnings = warnings;
            tracing::debug!(
                injection = injection.label().unwrap_or("nothing"),
                "Injected"
            );
            Outcome::Injected(injection.label())
        }
        Decision::Deny(reason) => {
            tracing::warn!(message = %reason, stage = reason.stage.label(), "Denied");
            let stage = reason.stage;
            response.allowed = false;
            response.status = Some(Status {
                metadata: serde_json::Map::new(),
                message: reason.message,
            });
            Outcome::Denied(stage)
        }
    };
    (response, outcome)
}

/// 413 with a short plain-text reason, for a body over [`MAX_BODY_BYTES`].
fn body_too_large() -> Response {
    http_error(
        StatusCode::PAYLOAD_TOO_LARGE,
        format!("request body larger than {MAX_BODY_BYTES} bytes, the limit of an AdmissionReview"),
    )
}

/// Whether reading the body failed because it grew past the limit (a body without a declared
/// length, e.g. chunked).
fn is_length_limit(err: &axum::Error) -> bool {
    let mut source: Option<&(dyn std::error::Error + 'static)> = Some(err);
    while let Some(e) = source {
        if e.is::<http_body_util::LengthLimitError>() {
            return true;
        }
        source = e.source();
    }
    false
}

/// `None` when the header is exactly `application/json`, else upstream's 400 message.
fn content_type_error(headers: &HeaderMap) -> Option<String> {
    let value = headers
        .get(header::CONTENT_TYPE)
        .map(HeaderValue::as_bytes)
        .unwrap_or_default();
    (value != b"application/json").then(|| format!("Invalid content-type: {}", go_quote(value)))
}

/// Go `http.Error`: plain text, `nosniff`, message plus newline.
fn http_error(status: StatusCode, message: String) -> Response {
    let mut resp = Response::new(Body::from(message + "\n"));
    *resp.status_mut() = status;
    let headers = resp.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    resp
}

#[cfg(test)]
mod tests;
