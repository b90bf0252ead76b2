//! The OpenTelemetry trace settings, read from the standard `OTEL_*` variables through a lookup
//! function the binary passes in (this crate never reads the process environment itself).
//!
//! Tracing is on only when an OTLP endpoint is named (`OTEL_EXPORTER_OTLP_ENDPOINT` or
//! `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`) and neither `OTEL_SDK_DISABLED=true` nor
//! `OTEL_TRACES_EXPORTER=none` turns it off. Every variable is validated even when tracing is
//! off, so a typo fails at start-up instead of silently changing nothing later.

use std::fmt;
use std::time::Duration;

/// Every `OTEL_*` variable this module understands. The injector forwards exactly these to the
/// agents it injects.
pub const OTEL_VARIABLES: &[&str] = &[
    "OTEL_SDK_DISABLED",
    "OTEL_SERVICE_NAME",
    "OTEL_RESOURCE_ATTRIBUTES",
    "OTEL_TRACES_EXPORTER",
    "OTEL_TRACES_SAMPLER",
    "OTEL_TRACES_SAMPLER_ARG",
    "OTEL_PROPAGATORS",
    "OTEL_EXPORTER_OTLP_ENDPOINT",
    "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
    "OTEL_EXPORTER_OTLP_PROTOCOL",
    "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
    "OTEL_EXPORTER_OTLP_HEADERS",
    "OTEL_EXPORTER_OTLP_TRACES_HEADERS",
    "OTEL_EXPORTER_OTLP_TIMEOUT",
    "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT",
    "OTEL_EXPORTER_OTLP_COMPRESSION",
    "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
];

/// Standard variables that configure features this build does not have; setting one is an
/// error rather than a silently ignored setting.
const UNSUPPORTED: &[(&str, &str)] = &[
    (
        "OTEL_EXPORTER_OTLP_CERTIFICATE",
        "a custom CA for the collector is not supported; the system trust store is used",
    ),
    (
        "OTEL_EXPORTER_OTLP_TRACES_CERTIFICATE",
        "a custom CA for the collector is not supported; the system trust store is used",
    ),
    (
        "OTEL_EXPORTER_OTLP_CLIENT_CERTIFICATE",
        "client certificates for the collector are not supported",
    ),
    (
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_CERTIFICATE",
        "client certificates for the collector are not supported",
    ),
    (
        "OTEL_EXPORTER_OTLP_CLIENT_KEY",
        "client certificates for the collector are not supported",
    ),
    (
        "OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY",
        "client certificates for the collector are not supported",
    ),
];

/// The gRPC method path appended to a `grpc` endpoint.
pub(crate) const GRPC_EXPORT_PATH: &str =
    "/opentelemetry.proto.collector.trace.v1.TraceService/Export";

/// Wire protocol of the OTLP exporter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OtlpProtocol {
    /// Protobuf over HTTP/1.1 `POST /v1/traces` (the specification's default).
    HttpProtobuf,
    /// gRPC (HTTP/2, cleartext by prior knowledge for `http://`, ALPN for `https://`).
    Grpc,
}

/// Which traces are recorded.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum TraceSampler {
    AlwaysOn,
    AlwaysOff,
    TraceIdRatio(f64),
    ParentBasedAlwaysOn,
    ParentBasedAlwaysOff,
    ParentBasedTraceIdRatio(f64),
}

/// Validated trace export settings. `Debug` never shows header values (they usually carry an
/// API key).
#[derive(Clone, PartialEq)]
pub struct OtelConfig {
    /// Full URL the spans are posted to.
    pub url: String,
    pub protocol: OtlpProtocol,
    /// Extra request headers (`OTEL_EXPORTER_OTLP_HEADERS` and the traces-only variant).
    pub headers: Vec<(String, String)>,
    pub service_name: String,
    /// Resource attributes from `OTEL_RESOURCE_ATTRIBUTES` (without `service.name`).
    pub resource_attributes: Vec<(String, String)>,
    pub sampler: TraceSampler,
    /// Per-export timeout.
    pub timeout: Duration,
}

impl fmt::Debug for OtelConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("OtelConfig")
            .field("url", &self.url)
            .field("protocol", &self.protocol)
            .field("header_names", &header_names)
            .field("service_name", &self.service_name)
            .field("resource_attributes", &self.resource_attributes)
            .field("sampler", &self.sampler)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// An `OTEL_*` variable has a value this build cannot use.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{variable}: {problem}")]
pub struct OtelConfigError {
    /// The variable to fix.
    pub variable: &'static str,
    /// What is wrong with it (never repeats a header value).
    pub problem: String,
}

fn invalid(variable: &'static str, problem: impl Into<String>) -> OtelConfigError {
    OtelConfigError {
        variable,
        problem: problem.into(),
    }
}

impl OtelConfig {
    /// Reads the standard variables through `lookup`. `Ok(None)`: tracing is off (no endpoint,
    /// or disabled). `default_service_name` is used when neither `OTEL_SERVICE_NAME` nor a
    /// `service.name` resource attribute is set.
    pub fn from_lookup(
        lookup: &dyn Fn(&str) -> Option<String>,
        default_service_name: &str,
    ) -> Result<Option<Self>, OtelConfigError> {
        // Empty values count as unset, as the specification says.
        let get = |name: &str| lookup(name).filter(|v| !v.trim().is_empty());

        for (variable, why) in UNSUPPORTED {
            if get(variable).is_some() {
                return Err(invalid(variable, *why));
            }
        }
        let disabled = match get("OTEL_SDK_DISABLED") {
            None => false,
            Some(v) => match v.trim().to_ascii_lowercase().as_str() {
                "true" => true,
                "false" => false,
                _ => {
                    return Err(invalid(
                        "OTEL_SDK_DISABLED",
                        format!("{v:?} is neither true nor false"),
                    ));
                }
            },
        };
        let exporter_off = match get("OTEL_TRACES_EXPORTER") {
            None => false,
            Some(v) => match v.trim() {
                "otlp" => false,
                "none" => true,
                other => {
                    return Err(invalid(
                        "OTEL_TRACES_EXPORTER",
                        format!("{other:?} is not supported; use otlp or none"),
                    ));
                }
            },
        };
        if let Some(v) = get("OTEL_PROPAGATORS") {
            for name in v.split(',').map(str::trim) {
                if name != "tracecontext" {
                    return Err(invalid(
                        "OTEL_PROPAGATORS",
                        format!(
                            "{name:?} is not supported; only tracecontext (W3C traceparent) is"
                        ),
                    ));
                }
            }
        }
        for variable in [
            "OTEL_EXPORTER_OTLP_COMPRESSION",
            "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION",
        ] {
            if let Some(v) = get(variable)
                && v.trim() != "none"
            {
                return Err(invalid(
                    variable,
                    format!("{:?} is not supported; only none is", v.trim()),
                ));
            }
        }
        let protocol = match get("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL") {
            Some(v) => parse_protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", &v)?,
            None => match get("OTEL_EXPORTER_OTLP_PROTOCOL") {
                Some(v) => parse_protocol("OTEL_EXPORTER_OTLP_PROTOCOL", &v)?,
                None => OtlpProtocol::HttpProtobuf,
            },
        };
        let url = match (
            get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
            get("OTEL_EXPORTER_OTLP_ENDPOINT"),
        ) {
            (Some(v), _) => Some(traces_url(
                "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                &v,
                protocol,
                true,
            )?),
            (None, Some(v)) => Some(traces_url(
                "OTEL_EXPORTER_OTLP_ENDPOINT",
                &v,
                protocol,
                false,
            )?),
            (None, None) => None,
        };
        let mut headers = match get("OTEL_EXPORTER_OTLP_HEADERS") {
            Some(v) => parse_pairs("OTEL_EXPORTER_OTLP_HEADERS", &v, true)?,
            None => Vec::new(),
        };
        if let Some(v) = get("OTEL_EXPORTER_OTLP_TRACES_HEADERS") {
            for (k, val) in parse_pairs("OTEL_EXPORTER_OTLP_TRACES_HEADERS", &v, true)? {
                headers.retain(|(existing, _)| !existing.eq_ignore_ascii_case(&k));
                headers.push((k, val));
            }
        }
        let timeout = match get("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT") {
            Some(v) => parse_timeout("OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", &v)?,
            None => match get("OTEL_EXPORTER_OTLP_TIMEOUT") {
                Some(v) => parse_timeout("OTEL_EXPORTER_OTLP_TIMEOUT", &v)?,
                None => Duration::from_secs(10),
            },
        };
        let mut resource_attributes = match get("OTEL_RESOURCE_ATTRIBUTES") {
            Some(v) => parse_pairs("OTEL_RESOURCE_ATTRIBUTES", &v, false)?,
            None => Vec::new(),
        };
        let attr_service = resource_attributes
            .iter()
            .position(|(k, _)| k == "service.name")
            .map(|i| resource_attributes.remove(i).1);
        let service_name = get("OTEL_SERVICE_NAME")
            .map(|v| v.trim().to_owned())
            .or(attr_service)
            .unwrap_or_else(|| default_service_name.to_owned());
        let sampler = parse_sampler(get("OTEL_TRACES_SAMPLER"), get("OTEL_TRACES_SAMPLER_ARG"))?;

        if disabled || exporter_off {
            return Ok(None);
        }
        Ok(url.map(|url| Self {
            url,
            protocol,
            headers,
            service_name,
            resource_attributes,
            sampler,
            timeout,
        }))
    }
}

fn parse_protocol(variable: &'static str, raw: &str) -> Result<OtlpProtocol, OtelConfigError> {
    match raw.trim() {
        "http/protobuf" => Ok(OtlpProtocol::HttpProtobuf),
        "grpc" => Ok(OtlpProtocol::Grpc),
        other => Err(invalid(
            variable,
            format!("{other:?} is not supported; use http/protobuf or grpc"),
        )),
    }
}

/// The URL spans are sent to. A signal-specific endpoint is used as is for HTTP; the generic
/// one gets `/v1/traces` appended. gRPC always posts to the service method under the endpoint.
fn traces_url(
    variable: &'static str,
    raw: &str,
    protocol: OtlpProtocol,
    signal_specific: bool,
) -> Result<String, OtelConfigError> {
    let raw = raw.trim();
    let uri: http::Uri = raw
        .parse()
        .map_err(|e| invalid(variable, format!("{raw:?} is not a URL: {e}")))?;
    let scheme = match uri.scheme_str() {
        Some(s @ ("http" | "https")) => s,
        Some(other) => {
            return Err(invalid(
                variable,
                format!("scheme {other:?} is not supported; use http:// or https://"),
            ));
        }
        None => {
            return Err(invalid(
                variable,
                format!("{raw:?} has no scheme; use http:// or https://"),
            ));
        }
    };
    let authority = match uri.authority() {
        Some(a) if !a.host().is_empty() => a.as_str(),
        _ => return Err(invalid(variable, format!("{raw:?} has no host"))),
    };
    if uri.query().is_some() || raw.contains('#') {
        return Err(invalid(
            variable,
            format!("{raw:?} must not have a query or fragment"),
        ));
    }
    let path = uri.path();
    let base = format!("{scheme}://{authority}{}", path.trim_end_matches('/'));
    Ok(match (protocol, signal_specific) {
        (OtlpProtocol::Grpc, _) => {
            if !path.is_empty() && path != "/" {
                return Err(invalid(
                    variable,
                    format!("{raw:?}: a grpc endpoint is scheme://host:port without a path"),
                ));
            }
            format!("{base}{GRPC_EXPORT_PATH}")
        }
        (OtlpProtocol::HttpProtobuf, true) => {
            let path = if path.is_empty() { "/" } else { path };
            format!("{scheme}://{authority}{path}")
        }
        (OtlpProtocol::HttpProtobuf, false) => format!("{base}/v1/traces"),
    })
}

/// `key=value,key=value` (W3C baggage style, values percent-decoded). For headers the key must
/// be a valid HTTP header name and the value a valid header value.
fn parse_pairs(
    variable: &'static str,
    raw: &str,
    as_headers: bool,
) -> Result<Vec<(String, String)>, OtelConfigError> {
    let mut pairs = Vec::new();
    for (n, item) in raw.split(',').enumerate() {
        let item = item.trim();
        if item.is_empty() {
            continue;
        }
        let Some((key, value)) = item.split_once('=') else {
            return Err(invalid(
                variable,
                format!("entry {} has no '=' (expected key=value,key=value)", n + 1),
            ));
        };
        let key = key.trim();
        if key.is_empty() {
            return Err(invalid(
                variable,
                format!("entry {} has an empty key", n + 1),
            ));
        }
        let value = percent_decode(value.trim()).ok_or_else(|| {
            invalid(
                variable,
                format!("the value of {key:?} has a broken %-escape"),
            )
        })?;
        if as_headers {
            if http::HeaderName::from_bytes(key.as_bytes()).is_err() {
                return Err(invalid(
                    variable,
                    format!("{key:?} is not a valid header name"),
                ));
            }
            if http::HeaderValue::from_str(&value).is_err() {
                // The value is not repeated: it is usually a credential.
                return Err(invalid(
                    variable,
                    format!("the value of header {key:?} is not a valid header value"),
                ));
            }
        }
        pairs.push((key.to_owned(), value));
    }
    Ok(pairs)
}

fn percent_decode(raw: &str) -> Option<String> {
    let bytes = raw.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = raw.get(i + 1..i + 3)?;
            out.push(u8::from_str_radix(hex, 16).ok()?);
            i += 3;
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).ok()
}

fn parse_timeout(variable: &'static str, raw: &str) -> Result<Duration, OtelConfigError> {
    match raw.trim().parse::<u64>() {
        Ok(ms) if ms > 0 => Ok(Duration::from_millis(ms)),
        _ => Err(invalid(
            variable,
            format!("{:?} is not a positive number of milliseconds", raw.trim()),
        )),
    }
}

fn parse_sampler(
    name: Option<String>,
    arg: Option<String>,
) -> Result<TraceSampler, OtelConfigError> {
    let ratio = || -> Result<f64, OtelConfigError> {
        match &arg {
            None => Ok(1.0),
            Some(raw) => match raw.trim().parse::<f64>() {
                Ok(r) if (0.0..=1.0).contains(&r) => Ok(r),
                _ => Err(invalid(
                    "OTEL_TRACES_SAMPLER_ARG",
                    format!("{:?} is not a ratio between 0 and 1", raw.trim()),
                )),
            },
        }
    };
    let Some(name) = name else {
        if arg.is_some() {
            return Err(invalid(
                "OTEL_TRACES_SAMPLER_ARG",
                "is set but OTEL_TRACES_SAMPLER is not; set OTEL_TRACES_SAMPLER=parentbased_traceidratio or traceidratio",
            ));
        }
        return Ok(TraceSampler::ParentBasedAlwaysOn);
    };
    let sampler = match name.trim() {
        "always_on" => TraceSampler::AlwaysOn,
        "always_off" => TraceSampler::AlwaysOff,
        "traceidratio" => return Ok(TraceSampler::TraceIdRatio(ratio()?)),
        "parentbased_always_on" => TraceSampler::ParentBasedAlwaysOn,
        "parentbased_always_off" => TraceSampler::ParentBasedAlwaysOff,
        "parentbased_traceidratio" => return Ok(TraceSampler::ParentBasedTraceIdRatio(ratio()?)),
        other => {
            return Err(invalid(
                "OTEL_TRACES_SAMPLER",
                format!(
                    "{other:?} is not supported; use always_on, always_off, traceidratio, parentbased_always_on, parentbased_always_off or parentbased_traceidratio"
                ),
            ));
        }
    };
    if arg.is_some() {
        return Err(invalid(
            "OTEL_TRACES_SAMPLER_ARG",
            format!("the sampler {:?} takes no argument", name.trim()),
        ));
    }
    Ok(sampler)
}
