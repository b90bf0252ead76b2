use std::time::Duration;

use super::{OtelConfig, OtelConfigError, OtlpProtocol, TraceSampler};

fn parse(vars: &[(&str, &str)]) -> Result<Option<OtelConfig>, OtelConfigError> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect();
    OtelConfig::from_lookup(
        &|name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone()),
        "svc-default",
    )
}

fn on(vars: &[(&str, &str)]) -> OtelConfig {
    parse(vars).expect("valid").expect("tracing on")
}

fn error(vars: &[(&str, &str)]) -> OtelConfigError {
    parse(vars).expect_err("invalid")
}

const EP: (&str, &str) = ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318");

#[test]
fn nothing_set_means_off() {
    assert_eq!(parse(&[]).expect("valid"), None);
    // Settings without an endpoint are validated but do not turn tracing on.
    assert_eq!(parse(&[("OTEL_SERVICE_NAME", "x")]).expect("valid"), None);
}

#[test]
fn defaults_with_an_endpoint() {
    let c = on(&[EP]);
    assert_eq!(c.url, "http://collector:4318/v1/traces");
    assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
    assert_eq!(c.service_name, "svc-default");
    assert_eq!(c.sampler, TraceSampler::ParentBasedAlwaysOn);
    assert_eq!(c.timeout, Duration::from_secs(10));
    assert!(c.headers.is_empty());
}

#[test]
fn endpoints_and_protocols() {
    assert_eq!(
        on(&[("OTEL_EXPORTER_OTLP_ENDPOINT", "https://c:4318/base/")]).url,
        "https://c:4318/base/v1/traces"
    );
    // The traces endpoint wins and is used as is.
    assert_eq!(
        on(&[
            EP,
            ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "http://t:9/custom")
        ])
        .url,
        "http://t:9/custom"
    );
    let grpc = on(&[
        ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317"),
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
    ]);
    assert_eq!(grpc.protocol, OtlpProtocol::Grpc);
    assert_eq!(
        grpc.url,
        "http://c:4317/opentelemetry.proto.collector.trace.v1.TraceService/Export"
    );
    // The traces-only protocol overrides the general one.
    let c = on(&[
        EP,
        ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
        ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "http/protobuf"),
    ]);
    assert_eq!(c.protocol, OtlpProtocol::HttpProtobuf);
}

#[test]
fn disabled_wins_over_an_endpoint() {
    assert_eq!(
        parse(&[EP, ("OTEL_SDK_DISABLED", "TRUE")]).expect("valid"),
        None
    );
    assert_eq!(
        parse(&[EP, ("OTEL_TRACES_EXPORTER", "none")]).expect("valid"),
        None
    );
    assert!(
        parse(&[EP, ("OTEL_SDK_DISABLED", "false")])
            .expect("valid")
            .is_some()
    );
}

#[test]
fn headers_are_decoded_and_merged() {
    let c = on(&[
        EP,
        ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=a%20b, x-org=1"),
        ("OTEL_EXPORTER_OTLP_TRACES_HEADERS", "X-Org=2"),
    ]);
    assert_eq!(
        c.headers,
        vec![
            ("api-key".to_owned(), "a b".to_owned()),
            ("X-Org".to_owned(), "2".to_owned())
        ]
    );
    // Debug output names headers but never shows their values.
    let debug = format!("{c:?}");
    assert!(
        debug.contains("api-key") && !debug.contains("a b"),
        "{debug}"
    );
}

#[test]
fn service_name_and_resource_attributes() {
    let c = on(&[
        EP,
        (
            "OTEL_RESOURCE_ATTRIBUTES",
            "service.name=from-attrs,deployment.environment=prod",
        ),
    ]);
    assert_eq!(c.service_name, "from-attrs");
    assert_eq!(
        c.resource_attributes,
        vec![("deployment.environment".to_owned(), "prod".to_owned())]
    );
    let c = on(&[
        EP,
        ("OTEL_SERVICE_NAME", "explicit"),
        ("OTEL_RESOURCE_ATTRIBUTES", "service.name=from-attrs"),
    ]);
    assert_eq!(c.service_name, "explicit");
}

#[test]
fn samplers() {
    for (name, arg, want) in [
        ("always_on", None, TraceSampler::AlwaysOn),
        ("always_off", None, TraceSampler::AlwaysOff),
        (
            "traceidratio",
            Some("0.25"),
            TraceSampler::TraceIdRatio(0.25),
        ),
        (
            "parentbased_always_off",
            None,
            TraceSampler::ParentBasedAlwaysOff,
        ),
        (
            "parentbased_traceidratio",
            Some("0.5"),
            TraceSampler::ParentBasedTraceIdRatio(0.5),
        ),
        (
            "parentbased_traceidratio",
            None,
            TraceSampler::ParentBasedTraceIdRatio(1.0),
        ),
    ] {
        let mut vars = vec![EP, ("OTEL_TRACES_SAMPLER", name)];
        if let Some(a) = arg {
            vars.push(("OTEL_TRACES_SAMPLER_ARG", a));
        }
        assert_eq!(on(&vars).sampler, want, "{name}");
    }
}

#[test]
fn invalid_values_name_their_variable() {
    for (vars, variable, says) in [
        (
            vec![EP, ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json")],
            "OTEL_EXPORTER_OTLP_PROTOCOL",
            "http/json",
        ),
        (
            vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4318")],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "scheme",
        ),
        (
            vec![("OTEL_EXPORTER_OTLP_ENDPOINT", "not a url")],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "not a URL",
        ),
        (
            vec![
                ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://c:4317/v1"),
                ("OTEL_EXPORTER_OTLP_PROTOCOL", "grpc"),
            ],
            "OTEL_EXPORTER_OTLP_ENDPOINT",
            "without a path",
        ),
        (
            vec![EP, ("OTEL_EXPORTER_OTLP_HEADERS", "novalue")],
            "OTEL_EXPORTER_OTLP_HEADERS",
            "no '='",
        ),
        (
            vec![EP, ("OTEL_EXPORTER_OTLP_HEADERS", "k=%zz")],
            "OTEL_EXPORTER_OTLP_HEADERS",
            "%-escape",
        ),
        (
            vec![EP, ("OTEL_EXPORTER_OTLP_HEADERS", "bad name=v")],
            "OTEL_EXPORTER_OTLP_HEADERS",
            "header name",
        ),
        (
            vec![EP, ("OTEL_TRACES_SAMPLER", "xray")],
            "OTEL_TRACES_SAMPLER",
            "xray",
        ),
        (
            vec![
                EP,
                ("OTEL_TRACES_SAMPLER", "traceidratio"),
                ("OTEL_TRACES_SAMPLER_ARG", "2"),
            ],
            "OTEL_TRACES_SAMPLER_ARG",
            "ratio",
        ),
        (
            vec![
                EP,
                ("OTEL_TRACES_SAMPLER", "always_on"),
                ("OTEL_TRACES_SAMPLER_ARG", "0.1"),
            ],
            "OTEL_TRACES_SAMPLER_ARG",
            "no argument",
        ),
        (
            vec![EP, ("OTEL_TRACES_SAMPLER_ARG", "0.1")],
            "OTEL_TRACES_SAMPLER_ARG",
            "OTEL_TRACES_SAMPLER",
        ),
        (
            vec![EP, ("OTEL_SDK_DISABLED", "yes")],
            "OTEL_SDK_DISABLED",
            "yes",
        ),
        (
            vec![EP, ("OTEL_TRACES_EXPORTER", "zipkin")],
            "OTEL_TRACES_EXPORTER",
            "zipkin",
        ),
        (
            vec![EP, ("OTEL_PROPAGATORS", "tracecontext,baggage")],
            "OTEL_PROPAGATORS",
            "baggage",
        ),
        (
            vec![EP, ("OTEL_EXPORTER_OTLP_COMPRESSION", "gzip")],
            "OTEL_EXPORTER_OTLP_COMPRESSION",
            "gzip",
        ),
        (
            vec![EP, ("OTEL_EXPORTER_OTLP_TIMEOUT", "5s")],
            "OTEL_EXPORTER_OTLP_TIMEOUT",
            "milliseconds",
        ),
        (
            vec![EP, ("OTEL_EXPORTER_OTLP_CERTIFICATE", "/ca.pem")],
            "OTEL_EXPORTER_OTLP_CERTIFICATE",
            "not supported",
        ),
    ] {
        let err = error(&vars);
        assert_eq!(err.variable, variable, "{vars:?}");
        let text = err.to_string();
        assert!(
            text.starts_with(variable) && text.contains(says),
            "{vars:?}: {text}"
        );
    }
}

#[test]
fn a_bad_header_value_is_not_repeated_in_the_error() {
    let err = error(&[EP, ("OTEL_EXPORTER_OTLP_HEADERS", "api-key=sekrit%0A")]);
    assert!(!err.to_string().contains("sekrit"), "{err}");
    assert!(err.to_string().contains("api-key"), "{err}");
}

#[test]
fn trace_headers_are_empty_without_the_layer() {
    // No OpenTelemetry layer in this test process: nothing to propagate, and a traceparent
    // on a request is ignored without error.
    let span = tracing::info_span!("x");
    let _entered = span.enter();
    assert!(super::current_trace_headers().is_empty());
    let mut headers = http::HeaderMap::new();
    headers.insert(
        "traceparent",
        http::HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
    );
    super::set_parent_from_headers(&span, &headers);
}
