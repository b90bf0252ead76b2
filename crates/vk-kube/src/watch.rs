//! A watch answer: newline-delimited JSON events (`ADDED`, `MODIFIED`, `DELETED`, `BOOKMARK`,
//! `ERROR`) arriving in chunks that need not end at a line.

use std::marker::PhantomData;

use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::api::{ApiStatus, RequestError};

/// Bound on one event (a Secret is at most 1 MiB, about 1.4 MiB as base64 JSON).
const MAX_EVENT_BYTES: usize = 16 * 1024 * 1024;

/// One watch event.
#[derive(Debug, PartialEq)]
pub(crate) enum WatchEvent<T> {
    Added(T),
    Modified(T),
    Deleted(T),
    Bookmark,
    /// The server ended the watch with a status (410 Gone: the version is too old).
    Error(ApiStatus),
}

#[derive(Deserialize)]
struct RawEvent {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    object: serde_json::Value,
}

fn parse_event<T: DeserializeOwned>(line: &[u8]) -> Result<WatchEvent<T>, RequestError> {
    let raw: RawEvent = serde_json::from_slice(line).map_err(RequestError::Decode)?;
    let object = |value| serde_json::from_value::<T>(value).map_err(RequestError::Decode);
    Ok(match raw.kind.as_str() {
        "ADDED" => WatchEvent::Added(object(raw.object)?),
        "MODIFIED" => WatchEvent::Modified(object(raw.object)?),
        "DELETED" => WatchEvent::Deleted(object(raw.object)?),
        "BOOKMARK" => WatchEvent::Bookmark,
        "ERROR" => {
            WatchEvent::Error(serde_json::from_value(raw.object).map_err(RequestError::Decode)?)
        }
        other => return Err(RequestError::Watch(format!("unknown event type {other:?}"))),
    })
}

/// Splits a byte stream into lines, whatever the chunk boundaries.
#[derive(Default)]
pub(crate) struct LineBuffer {
    buf: Vec<u8>,
}

impl LineBuffer {
    pub(crate) fn push(&mut self, chunk: &[u8]) -> Result<(), RequestError> {
        self.buf.extend_from_slice(chunk);
        if self.buf.len() > MAX_EVENT_BYTES && !self.buf.contains(&b'\n') {
            return Err(RequestError::Watch(format!(
                "an event is longer than {MAX_EVENT_BYTES} bytes"
            )));
        }
        Ok(())
    }

    /// The next complete, non-blank line.
    pub(crate) fn next_line(&mut self) -> Option<Vec<u8>> {
        loop {
            let end = self.buf.iter().position(|b| *b == b'\n')?;
            let line: Vec<u8> = self.buf.drain(..=end).collect();
            if !line.trim_ascii().is_empty() {
                return Some(line);
            }
        }
    }

    /// What is left when the stream has ended (a last event without a newline).
    pub(crate) fn finish(&mut self) -> Option<Vec<u8>> {
        let rest = std::mem::take(&mut self.buf);
        (!rest.trim_ascii().is_empty()).then_some(rest)
    }
}

/// The events of one watch request.
pub(crate) struct WatchStream<T> {
    answer: vk_http::StreamingAnswer,
    lines: LineBuffer,
    ended: bool,
    _object: PhantomData<fn() -> T>,
}

impl<T: DeserializeOwned> WatchStream<T> {
    pub(crate) fn new(answer: vk_http::StreamingAnswer) -> Self {
        Self {
            answer,
            lines: LineBuffer::default(),
            ended: false,
            _object: PhantomData,
        }
    }

    /// The next event; `None` when the server ended the watch.
    pub(crate) async fn next(&mut self) -> Option<Result<WatchEvent<T>, RequestError>> {
        loop {
            if let Some(line) = self.lines.next_line() {
                return Some(parse_event(&line));
            }
            if self.ended {
                return None;
            }
            match self.answer.chunk().await {
                Ok(Some(chunk)) => {
                    if let Err(err) = self.lines.push(&chunk) {
                        self.ended = true;
                        return Some(Err(err));
                    }
                }
                Ok(None) => {
                    self.ended = true;
                    return self.lines.finish().map(|line| parse_event(&line));
                }
                Err(err) => {
                    self.ended = true;
                    return Some(Err(RequestError::Http(err)));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::objects::Secret;

    fn events(chunks: &[&[u8]]) -> Vec<WatchEvent<Secret>> {
        let mut lines = LineBuffer::default();
        let mut out = Vec::new();
        for chunk in chunks {
            lines.push(chunk).expect("push");
            while let Some(line) = lines.next_line() {
                out.push(parse_event(&line).expect("event"));
            }
        }
        if let Some(line) = lines.finish() {
            out.push(parse_event(&line).expect("last event"));
        }
        out
    }

    fn name(event: &WatchEvent<Secret>) -> String {
        match event {
            WatchEvent::Added(s) | WatchEvent::Modified(s) | WatchEvent::Deleted(s) => {
                s.metadata.name.clone().unwrap_or_default()
            }
            WatchEvent::Bookmark => "bookmark".to_owned(),
            WatchEvent::Error(status) => format!("error {}", status.code),
        }
    }

    #[test]
    fn events_split_across_chunks_are_reassembled() {
        let stream = concat!(
            r#"{"type":"ADDED","object":{"metadata":{"name":"a","resourceVersion":"1"}}}"#,
            "\n",
            r#"{"type":"BOOKMARK","object":{"metadata":{"resourceVersion":"2"}}}"#,
            "\n\n",
            r#"{"type":"MODIFIED","object":{"metadata":{"name":"b"},"data":{"cert":"eA=="}}}"#,
            "\n",
            r#"{"type":"DELETED","object":{"metadata":{"name":"c"}}}"#,
            "\n",
            r#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old"}}"#,
        )
        .as_bytes();
        let want = ["a", "bookmark", "b", "c", "error 410"];
        // Every split point, and byte by byte.
        for cut in 0..stream.len() {
            let got: Vec<String> = events(&[&stream[..cut], &stream[cut..]])
                .iter()
                .map(name)
                .collect();
            assert_eq!(got, want, "cut at {cut}");
        }
        let bytes: Vec<&[u8]> = stream.chunks(1).collect();
        let got: Vec<String> = events(&bytes).iter().map(name).collect();
        assert_eq!(got, want);
    }

    #[test]
    fn an_error_event_carries_the_status() {
        let event: WatchEvent<Secret> = parse_event(
            br#"{"type":"ERROR","object":{"kind":"Status","code":410,"reason":"Expired","message":"too old resource version"}}"#,
        )
        .expect("event");
        assert_eq!(
            event,
            WatchEvent::Error(ApiStatus {
                code: 410,
                reason: "Expired".to_owned(),
                message: "too old resource version".to_owned(),
            })
        );
        let err =
            parse_event::<Secret>(br#"{"type":"SURPRISE","object":{}}"#).expect_err("unknown");
        assert!(err.to_string().contains("SURPRISE"), "{err}");
    }

    #[test]
    fn an_endless_line_is_refused() {
        let mut lines = LineBuffer::default();
        let big = vec![b'x'; MAX_EVENT_BYTES + 1];
        assert!(lines.push(&big).is_err());
    }
}
