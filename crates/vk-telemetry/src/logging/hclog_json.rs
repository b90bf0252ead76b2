//! JSON log lines with hclog's keys, so log pipelines built for upstream's `-log-format=json`
//! keep working after the swap: `@level`, `@message`, `@module`, `@timestamp` (hclog's layout,
//! microseconds, UTC), then the fields of the enclosing spans (outermost first) and of the event.

use std::fmt::{self, Write as _};
use std::time::{SystemTime, UNIX_EPOCH};

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing::{Event, Level, Subscriber};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields, FormattedFields};
use tracing_subscriber::registry::LookupSpan;
use vk_go::civil_from_days;

/// The event formatter behind `-log-format=json`.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct HclogJson;

impl<S, N> FormatEvent<S, N> for HclogJson
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let mut fields = Map::new();
        if let Some(scope) = ctx.event_scope() {
            for span in scope.from_root() {
                let extensions = span.extensions();
                // Span fields are stored pre-formatted by the field formatter, which
                // `init_logging` sets to tracing-subscriber's JSON one.
                if let Some(stored) = extensions.get::<FormattedFields<N>>()
                    && let Ok(Value::Object(span_fields)) = serde_json::from_str(stored.as_str())
                {
                    fields.extend(span_fields);
                }
            }
        }
        let mut visitor = JsonFields(&mut fields);
        event.record(&mut visitor);
        let message = fields
            .remove("message")
            .unwrap_or(Value::String(String::new()));

        let mut line = Map::new();
        line.insert(
            "@level".into(),
            Value::String(level_name(*event.metadata().level()).into()),
        );
        line.insert("@message".into(), message);
        line.insert(
            "@module".into(),
            Value::String(event.metadata().target().replace("::", ".")),
        );
        line.insert(
            "@timestamp".into(),
            Value::String(hclog_timestamp(SystemTime::now())),
        );
        for (key, value) in fields {
            line.entry(key).or_insert(value);
        }
        let text = serde_json::to_string(&Value::Object(line)).map_err(|_| fmt::Error)?;
        writeln!(writer, "{text}")
    }
}

fn level_name(level: Level) -> &'static str {
    match level {
        Level::TRACE => "trace",
        Level::DEBUG => "debug",
        Level::INFO => "info",
        Level::WARN => "warn",
        Level::ERROR => "error",
    }
}

/// Records event fields as JSON values, keeping numbers and booleans typed.
struct JsonFields<'a>(&'a mut Map<String, Value>);

impl Visit for JsonFields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        self.0
            .insert(field.name().into(), Value::String(value.into()));
    }
    fn record_bool(&mut self, field: &Field, value: bool) {
        self.0.insert(field.name().into(), Value::Bool(value));
    }
    fn record_i64(&mut self, field: &Field, value: i64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_u64(&mut self, field: &Field, value: u64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_f64(&mut self, field: &Field, value: f64) {
        self.0.insert(field.name().into(), Value::from(value));
    }
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.0
            .insert(field.name().into(), Value::String(format!("{value:?}")));
    }
}

/// `2006-01-02T15:04:05.000000Z07:00` in UTC, as hclog writes `@timestamp`.
fn hclog_timestamp(now: SystemTime) -> String {
    let since = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let secs = since.as_secs();
    let (year, month, day) = civil_from_days((secs / 86_400) as i64);
    let rem = secs % 86_400;
    let mut out = String::with_capacity(27);
    let _ = write!(
        out,
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60,
        since.subsec_micros()
    );
    out
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn timestamps_use_hclog_layout_in_utc() {
        let t = UNIX_EPOCH + Duration::from_micros(1_796_528_096_123_456);
        assert_eq!(hclog_timestamp(t), "2026-12-06T03:34:56.123456Z");
        assert_eq!(hclog_timestamp(UNIX_EPOCH), "1970-01-01T00:00:00.000000Z");
        // A leap day.
        let leap = UNIX_EPOCH + Duration::from_secs(951_782_400);
        assert_eq!(hclog_timestamp(leap), "2000-02-29T00:00:00.000000Z");
    }

    /// A writer the test can read back.
    #[derive(Clone, Default)]
    struct Captured(std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("capture lock").extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn events_carry_hclog_keys_span_fields_and_typed_values() {
        let captured = Captured::default();
        let sink = captured.clone();
        let subscriber = tracing_subscriber::fmt()
            .fmt_fields(tracing_subscriber::fmt::format::JsonFields::new())
            .event_format(HclogJson)
            .with_writer(move || sink.clone())
            .finish();
        tracing::subscriber::with_default(subscriber, || {
            let span = tracing::info_span!("admission", uid = "u-1", namespace = "my ns");
            let _entered = span.enter();
            tracing::warn!(patched = true, count = 3_u64, "Request received");
        });
        let bytes = captured.0.lock().expect("capture lock").clone();
        let text = String::from_utf8(bytes).expect("utf-8");
        let line: Value = serde_json::from_str(text.trim()).expect("one JSON line");
        assert_eq!(line["@level"], "warn");
        assert_eq!(line["@message"], "Request received");
        assert_eq!(line["@module"], "vk_telemetry.logging.hclog_json.tests");
        assert!(
            line["@timestamp"]
                .as_str()
                .is_some_and(|t| t.len() == 27 && t.ends_with('Z'))
        );
        assert_eq!(line["uid"], "u-1");
        assert_eq!(line["namespace"], "my ns");
        assert_eq!(line["patched"], true);
        assert_eq!(line["count"], 3);
        let keys: Vec<&String> = line.as_object().expect("object").keys().collect();
        assert_eq!(&keys[..4], ["@level", "@message", "@module", "@timestamp"]);
    }
}
