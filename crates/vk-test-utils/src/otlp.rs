//! A real OTLP receiver for trace tests: `rotel-agent` (a Rust OpenTelemetry collector from
//! PyPI, installed by `cargo xtask tools`) listening for OTLP/gRPC and OTLP/HTTP on free ports,
//! printing every span it receives (`--debug-log traces --debug-log-verbosity detailed`). The
//! printed spans are parsed back into [`ReceivedSpan`]s for assertions.

use std::collections::BTreeMap;
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

use crate::util::{ChildGuard, free_port, workspace_root};

/// Where `rotel-agent` is: `VK_ROTEL` if set, else `<workspace root>/.tools/bin/rotel-agent`.
pub fn rotel_binary() -> Result<PathBuf> {
    let path = match std::env::var_os("VK_ROTEL") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => workspace_root()
            .join(".tools")
            .join("bin")
            .join("rotel-agent"),
    };
    if !path.is_file() {
        bail!(
            "rotel-agent not found at {}: run `cargo xtask tools` (or set VK_ROTEL)",
            path.display()
        );
    }
    Ok(path)
}

/// One span as the receiver printed it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedSpan {
    /// `service.name` of the resource the span came with.
    pub service: String,
    pub trace_id: String,
    /// Empty for a root span.
    pub parent_id: String,
    pub span_id: String,
    pub name: String,
    /// `SPAN_KIND_SERVER`, `SPAN_KIND_INTERNAL`, …
    pub kind: String,
    /// Attribute values as printed inside `Str(…)`, `Int(…)`, `Bool(…)`.
    pub attributes: BTreeMap<String, String>,
}

/// A running `rotel-agent`; stopped on drop.
#[derive(Debug)]
pub struct OtlpReceiver {
    child: ChildGuard,
    grpc: u16,
    http: u16,
}

impl OtlpReceiver {
    pub fn start() -> Result<Self> {
        let bin = rotel_binary()?;
        let grpc = free_port()?;
        let http = free_port()?;
        let mut cmd = Command::new(bin);
        cmd.args([
            "start",
            "--otlp-grpc-endpoint",
            &format!("127.0.0.1:{grpc}"),
            "--otlp-http-endpoint",
            &format!("127.0.0.1:{http}"),
            "--exporter",
            "blackhole",
            "--debug-log",
            "traces",
            "--debug-log-verbosity",
            "detailed",
        ])
        .env_clear()
        .env("NO_COLOR", "1");
        let mut child = ChildGuard::spawn("rotel-agent", &mut cmd)?;
        let deadline = Instant::now() + Duration::from_secs(20);
        while TcpStream::connect(("127.0.0.1", grpc)).is_err()
            || TcpStream::connect(("127.0.0.1", http)).is_err()
        {
            if !child.is_running() {
                bail!("rotel-agent exited at start:\n{}", child.stdout_text());
            }
            if Instant::now() > deadline {
                bail!(
                    "rotel-agent did not listen within 20 s:\n{}",
                    child.stdout_text()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(Self { child, grpc, http })
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` for `grpc`.
    pub fn grpc_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.grpc)
    }

    /// `OTEL_EXPORTER_OTLP_ENDPOINT` for `http/protobuf`.
    pub fn http_endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.http)
    }

    /// Everything the receiver printed (ANSI colours removed).
    pub fn output(&self) -> String {
        strip_ansi(&self.child.stdout_text())
    }

    /// Every span received so far.
    pub fn spans(&self) -> Vec<ReceivedSpan> {
        parse_spans(&self.output())
    }

    /// Waits until the received spans satisfy `done`; returns them.
    pub fn wait_for(
        &self,
        timeout: Duration,
        mut done: impl FnMut(&[ReceivedSpan]) -> bool,
    ) -> Result<Vec<ReceivedSpan>> {
        let deadline = Instant::now() + timeout;
        loop {
            let spans = self.spans();
            if done(&spans) {
                return Ok(spans);
            }
            if Instant::now() > deadline {
                return Err(anyhow::anyhow!(
                    "the expected spans did not arrive within {timeout:?}; received:\n{spans:#?}"
                ))
                .context("waiting for spans at the OTLP receiver");
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

fn strip_ansi(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' && chars.peek() == Some(&'[') {
            for n in chars.by_ref() {
                if n.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[derive(PartialEq)]
enum Section {
    Other,
    Resource,
    Span,
}

/// Parses rotel's detailed debug output (`Resource attributes:`, `Span #n`, `Trace ID : …`,
/// `Attributes:` with `-> key: Type(value)` lines).
fn parse_spans(text: &str) -> Vec<ReceivedSpan> {
    let mut spans: Vec<ReceivedSpan> = Vec::new();
    let mut service = String::new();
    let mut section = Section::Other;
    let mut in_span = false;
    for line in text.lines() {
        let t = line.trim();
        if t.starts_with("ResourceSpans #") {
            service.clear();
            in_span = false;
            section = Section::Other;
        } else if t == "Resource attributes:" {
            section = Section::Resource;
        } else if t.starts_with("ScopeSpans #") {
            section = Section::Other;
            in_span = false;
        } else if t.starts_with("Span #") {
            in_span = true;
            section = Section::Other;
            spans.push(ReceivedSpan {
                service: service.clone(),
                trace_id: String::new(),
                parent_id: String::new(),
                span_id: String::new(),
                name: String::new(),
                kind: String::new(),
                attributes: BTreeMap::new(),
            });
        } else if t == "Attributes:" && in_span {
            section = Section::Span;
        } else if t.ends_with(':') && !t.starts_with("->") {
            // Another block (events, links): not parsed.
            section = Section::Other;
        } else if let Some(kv) = t.strip_prefix("-> ") {
            let Some((key, value)) = kv.split_once(": ") else {
                continue;
            };
            let value = value
                .split_once('(')
                .and_then(|(_, v)| v.strip_suffix(')'))
                .unwrap_or(value)
                .to_owned();
            match section {
                Section::Resource if key == "service.name" => service = value,
                Section::Span => {
                    if let Some(s) = spans.last_mut() {
                        s.attributes.insert(key.to_owned(), value);
                    }
                }
                _ => {}
            }
        } else if in_span && let Some((key, value)) = t.split_once(':') {
            let value = value.trim().to_owned();
            if let Some(s) = spans.last_mut() {
                match key.trim() {
                    "Trace ID" => s.trace_id = value,
                    "Parent ID" => s.parent_id = value,
                    "ID" => s.span_id = value,
                    "Name" => s.name = value,
                    "Kind" => s.kind = value,
                    _ => {}
                }
            }
        }
    }
    spans
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_rotel_detailed_output() {
        let text = "ResourceSpans #0\nResource SchemaURL: \nResource attributes:\n     -> service.name: Str(inj)\nScopeSpans #0\nSpan #0\n    Trace ID       : 0af7\n    Parent ID      : b7ad\n    ID             : 04ed\n    Name           : admission\n    Kind           : SPAN_KIND_SERVER\nStart time: 1\nAttributes:\n     -> uid: Str(u-1)\n     -> code: Int(200)\nSpan #1\n    Trace ID       : 0af7\n    Parent ID      : \n    ID             : 05\n    Name           : x\n";
        let spans = parse_spans(text);
        assert_eq!(spans.len(), 2);
        assert_eq!(spans[0].service, "inj");
        assert_eq!(spans[0].parent_id, "b7ad");
        assert_eq!(spans[0].attributes["uid"], "u-1");
        assert_eq!(spans[0].attributes["code"], "200");
        assert_eq!(spans[1].parent_id, "");
        assert!(spans[1].attributes.is_empty());
    }
}
