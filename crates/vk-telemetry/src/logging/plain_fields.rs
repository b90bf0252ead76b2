//! Field formatting for the standard log format: the same text as `tracing_subscriber`'s
//! `DefaultFields`, with a short path for the common case.
//!
//! The fmt layer formats a span's fields when the span is created and again on every
//! `record`, whether or not a line is ever written inside it. The webhook records five fields
//! on every admission's span; through `DefaultFields` each goes through `{:?}`, which escapes a
//! string one character at a time (about 10k instructions per admission, 3 % of the request).
//! A string field whose bytes are all printable ASCII other than `"` and `\` prints under
//! `{:?}` as itself between quotes, so it is written directly; everything else (messages,
//! raw identifiers, numbers, errors, strings that need escaping) goes to `DefaultVisitor`, so
//! the text is the same in every case.

use std::fmt;

use tracing::field::{Field, Visit};
use tracing_subscriber::field::RecordFields;
use tracing_subscriber::fmt::FormatFields;
use tracing_subscriber::fmt::format::{DefaultFields, DefaultVisitor, Writer};

/// `DefaultFields`' output, with plain string values written without the `Debug` machinery.
/// Only for writers without ANSI colours (the injector and agent never colour their logs).
#[derive(Debug, Default)]
pub(crate) struct PlainFields;

impl<'w> FormatFields<'w> for PlainFields {
    fn format_fields<R: RecordFields>(&self, writer: Writer<'w>, fields: R) -> fmt::Result {
        if writer.has_ansi_escapes() {
            return DefaultFields::new().format_fields(writer, fields);
        }
        let mut visitor = PlainVisitor {
            writer,
            is_empty: true,
            result: Ok(()),
            pending: [0; PENDING],
            pending_len: 0,
        };
        fields.record(&mut visitor);
        visitor.flush();
        visitor.result
    }
}

/// Bytes of plain fields gathered before they reach the writer in one piece. The writer is
/// usually the span's empty `String`: piece by piece it grew five times for one admission's
/// four fields, a reallocation each.
const PENDING: usize = 256;

struct PlainVisitor<'w> {
    writer: Writer<'w>,
    is_empty: bool,
    result: fmt::Result,
    pending: [u8; PENDING],
    pending_len: usize,
}

/// True when `{:?}` of `s` is `s` between quotes: printable ASCII without `"` or `\`.
fn prints_as_itself(s: &str) -> bool {
    s.bytes()
        .all(|b| (0x20..0x7f).contains(&b) && b != b'"' && b != b'\\')
}

/// Field names `DefaultVisitor` treats specially.
fn is_plain_name(name: &str) -> bool {
    name != "message" && !name.starts_with("r#") && !name.starts_with("log.")
}

/// Counts what `DefaultVisitor` writes, to know whether it wrote anything (it skips `log.`
/// fields), which decides the separator before the next field.
struct Tracked<'a, 'w> {
    writer: &'a mut Writer<'w>,
    wrote: bool,
}

impl fmt::Write for Tracked<'_, '_> {
    fn write_str(&mut self, s: &str) -> fmt::Result {
        self.wrote |= !s.is_empty();
        self.writer.write_str(s)
    }
}

impl PlainVisitor<'_> {
    /// Writes the gathered plain fields out.
    fn flush(&mut self) {
        let pending = &self.pending[..self.pending_len];
        self.pending_len = 0;
        if pending.is_empty() || self.result.is_err() {
            return;
        }
        // Only whole `str`s are gathered, so the bytes are UTF-8.
        self.result = std::str::from_utf8(pending)
            .map_err(|_| fmt::Error)
            .and_then(|text| self.writer.write_str(text));
    }

    /// Appends `parts` to the gathered text, or writes them straight out when they do not fit.
    fn write_parts(&mut self, parts: [&str; 5]) {
        let len: usize = parts.iter().map(|p| p.len()).sum();
        if self.pending_len + len > PENDING {
            self.flush();
            if len > PENDING {
                self.result = parts.iter().try_for_each(|p| self.writer.write_str(p));
                return;
            }
        }
        for part in parts {
            let end = self.pending_len + part.len();
            self.pending[self.pending_len..end].copy_from_slice(part.as_bytes());
            self.pending_len = end;
        }
    }

    /// Hands one field to `DefaultVisitor`, carrying the "anything written yet" state over.
    fn delegate(&mut self, visit: impl FnOnce(&mut DefaultVisitor<'_>)) {
        self.flush();
        if self.result.is_err() {
            return;
        }
        let mut tracked = Tracked {
            writer: &mut self.writer,
            wrote: false,
        };
        let mut inner = DefaultVisitor::new(Writer::new(&mut tracked), self.is_empty);
        visit(&mut inner);
        self.result = tracing_subscriber::field::VisitOutput::finish(inner);
        self.is_empty &= !tracked.wrote;
    }
}

impl Visit for PlainVisitor<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if self.result.is_err() {
            return;
        }
        let name = field.name();
        if !(is_plain_name(name) && prints_as_itself(value)) {
            return self.delegate(|v| v.record_str(field, value));
        }
        let pad = if self.is_empty { "" } else { " " };
        self.is_empty = false;
        self.write_parts([pad, name, "=\"", value, "\""]);
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        self.delegate(|v| v.record_error(field, value));
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.delegate(|v| v.record_debug(field, value));
    }
}

#[cfg(test)]
mod tests {
    use std::sync::{Arc, Mutex};

    use tracing_subscriber::layer::SubscriberExt as _;

    use super::*;

    /// A writer the tests read back.
    #[derive(Clone, Default)]
    struct Captured(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Captured {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[derive(Debug)]
    struct Failure;
    impl fmt::Display for Failure {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("it \"failed\"\n")
        }
    }
    impl std::error::Error for Failure {}

    /// Spans and events with every kind of field, recorded at creation and later.
    fn emit() {
        let span = tracing::info_span!(
            "admission",
            uid = tracing::field::Empty,
            namespace = "my-ns",
            r#type = "raw",
            count = 3,
            quoted = "say \"hi\"",
        );
        let _entered = span.enter();
        span.record("uid", "00000000-0000-4000-8000-00000000b3c4");
        tracing::info!(
            path = "/vault/secrets/db",
            tab = "a\tb",
            back = "c:\\d",
            unicode = "héllo ☃",
            control = "\u{7}\u{7f}",
            empty = "",
            single = "it's",
            flag = true,
            "Rendered {} files",
            2
        );
        let inner = tracing::info_span!("inner", stage = "render");
        let _inner = inner.enter();
        inner.record("stage", "write");
        tracing::warn!(
            error = &Failure as &(dyn std::error::Error + 'static),
            "Denied"
        );
        tracing::warn!(
            message = "plain \"message\"",
            "log.target" = "x",
            after = "y"
        );
        // More plain text than the gathering buffer holds, in one field and across several,
        // with a field that needs escaping between them.
        let hundred = "h".repeat(100);
        let long = "l".repeat(PENDING + 44);
        tracing::info!(
            a = hundred.as_str(),
            b = hundred.as_str(),
            c = "needs \"escaping\"",
            d = hundred.as_str(),
            e = long.as_str(),
            f = "end",
            "Long"
        );
    }

    fn render<N>(fields: N) -> String
    where
        N: for<'w> FormatFields<'w> + Send + Sync + 'static,
    {
        let out = Captured::default();
        let writer = out.clone();
        let layer = tracing_subscriber::fmt::layer()
            .with_ansi(false)
            .without_time()
            .with_writer(move || writer.clone())
            .fmt_fields(fields);
        let subscriber = tracing_subscriber::registry().with(layer);
        tracing::subscriber::with_default(subscriber, emit);
        let bytes = out.0.lock().unwrap().clone();
        String::from_utf8(bytes).unwrap()
    }

    #[test]
    fn lines_are_those_of_the_default_fields() {
        let plain = render(PlainFields);
        let default = render(DefaultFields::new());
        assert_eq!(plain, default);
        // The cases above did reach both paths.
        assert!(
            plain.contains("uid=\"00000000-0000-4000-8000-00000000b3c4\""),
            "{plain}"
        );
        assert!(plain.contains("tab=\"a\\tb\""), "{plain}");
        // Four events; the error's own line break splits one of them.
        assert_eq!(plain.lines().count(), 5, "{plain}");
        let long = format!("e=\"{}\" f=\"end\"", "l".repeat(PENDING + 44));
        assert!(plain.contains(&long), "{plain}");
    }

    #[test]
    fn only_printable_ascii_without_quote_or_backslash_prints_as_itself() {
        assert!(prints_as_itself("webapp-7f9c ~!@#$%^&*()_+{}|:<>?'"));
        assert!(prints_as_itself(""));
        for s in ["a\"b", "a\\b", "a\nb", "\u{7f}", "\u{1b}[31m"] {
            assert!(!prints_as_itself(s), "{s:?}");
            assert_ne!(format!("{s:?}"), format!("\"{s}\""), "{s:?}");
        }
        // Conservative: non-ASCII takes the default path even where `{:?}` would not escape it.
        assert!(!prints_as_itself("é"));
    }
}
