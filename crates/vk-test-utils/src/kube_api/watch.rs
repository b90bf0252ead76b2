//! WATCH: newline-delimited JSON events over a chunked response.
//!
//! A watch without `resourceVersion` (or with `"0"`, or with `sendInitialEvents=true`) first
//! gets a synthetic `ADDED` for every matching object, as the API server does; a watch from a
//! resourceVersion replays the kept history after it, or gets an `ERROR` event carrying a 410
//! Expired `Status` when the history no longer reaches back that far (the API server answers
//! 200 and reports the 410 in the stream, which is what clients re-list on). With
//! `allowWatchBookmarks=true`, `BOOKMARK` events carry the current resourceVersion every
//! [`BOOKMARK_INTERVAL`] and just before the watch ends on `timeoutSeconds`. An object that
//! stops matching the selector is not reported as `DELETED` (the API server does that).

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Value, json};

use super::State;
use super::resources::ResourceType;
use super::selectors::Selector;
use super::status::ApiError;
use super::transport::{Body, stream_response};

/// How often a watch that allows bookmarks gets one.
pub(super) const BOOKMARK_INTERVAL: Duration = Duration::from_secs(10);

/// The API server's default watch duration when no `timeoutSeconds` is given.
pub(super) const DEFAULT_TIMEOUT: Duration = Duration::from_secs(1800);

/// Where the watch starts.
#[derive(Debug, Clone, Copy)]
pub(super) enum Start {
    /// Synthetic ADDED events for the current state, then changes.
    CurrentState,
    /// Changes after this resourceVersion.
    After(u64),
}

/// A parsed watch request.
pub(super) struct WatchRequest {
    pub(super) rt: &'static ResourceType,
    pub(super) namespace: Option<String>,
    pub(super) selector: Selector,
    pub(super) start: Start,
    pub(super) timeout: Duration,
    pub(super) bookmarks: bool,
    /// `sendInitialEvents=true`: end the initial ADDED events with an annotated bookmark.
    pub(super) initial_events_end: bool,
}

fn line(event_type: &str, object: &Value) -> Bytes {
    let mut s = json!({"type": event_type, "object": object}).to_string();
    s.push('\n');
    Bytes::from(s)
}

fn bookmark(rt: &ResourceType, rv: u64, initial_events_end: bool) -> Bytes {
    let mut meta = json!({"resourceVersion": rv.to_string(), "creationTimestamp": null});
    if initial_events_end {
        meta["annotations"] = json!({"k8s.io/initial-events-end": "true"});
    }
    line(
        "BOOKMARK",
        &json!({"kind": rt.kind, "apiVersion": rt.api_version(), "metadata": meta}),
    )
}

impl WatchRequest {
    fn wants(&self, rt: &ResourceType, namespace: Option<&str>, object: &Value) -> bool {
        rt == self.rt
            && self
                .namespace
                .as_deref()
                .is_none_or(|ns| namespace == Some(ns))
            && self.selector.matches(object)
    }
}

/// Starts streaming `req`; the response is sent at once and fed by a task on the server's
/// runtime, which ends on timeout, client disconnect or server stop.
pub(super) fn start(state: Arc<State>, req: WatchRequest) -> Response {
    let (tx, resp) = stream_response();
    tokio::spawn(async move {
        let _ = run(&state, &req, &tx).await;
    });
    resp
}

type Response = hyper::Response<Body>;

/// Why a watch stopped early: the client went away.
struct Gone;

async fn send(tx: &tokio::sync::mpsc::Sender<Bytes>, b: Bytes) -> Result<(), Gone> {
    tx.send(b).await.map_err(|_| Gone)
}

async fn run(
    state: &State,
    req: &WatchRequest,
    tx: &tokio::sync::mpsc::Sender<Bytes>,
) -> Result<(), Gone> {
    let deadline = tokio::time::Instant::now() + req.timeout;
    let mut changes = state.store.subscribe();
    let mut last = match req.start {
        Start::CurrentState => {
            let (items, rv) = state.store.list(req.rt, req.namespace.as_deref());
            for obj in items.iter().filter(|o| req.selector.matches(o)) {
                send(tx, line("ADDED", obj)).await?;
            }
            if req.initial_events_end {
                send(tx, bookmark(req.rt, rv, true)).await?;
            }
            rv
        }
        Start::After(rv) => rv,
    };
    let mut ticker = tokio::time::interval_at(
        tokio::time::Instant::now() + BOOKMARK_INTERVAL,
        BOOKMARK_INTERVAL,
    );
    loop {
        match state.store.events_after(last) {
            Err(e) => {
                send(tx, line("ERROR", &e.to_status())).await?;
                return Ok(());
            }
            Ok((events, now)) => {
                for ev in events {
                    if req.wants(ev.rt, ev.namespace.as_deref(), &ev.object) {
                        send(tx, line(ev.kind, &ev.object)).await?;
                    }
                }
                last = now;
            }
        }
        tokio::select! {
            changed = changes.changed() => {
                if changed.is_err() {
                    return Ok(());
                }
            }
            _ = ticker.tick(), if req.bookmarks => {
                send(tx, bookmark(req.rt, last, false)).await?;
            }
            _ = tokio::time::sleep_until(deadline) => {
                if req.bookmarks {
                    send(tx, bookmark(req.rt, last, false)).await?;
                }
                return Ok(());
            }
            _ = tx.closed() => return Err(Gone),
        }
    }
}

/// Parses the watch's `resourceVersion` parameter.
pub(super) fn parse_start(rv: Option<&str>, send_initial_events: bool) -> Result<Start, ApiError> {
    match rv {
        _ if send_initial_events => Ok(Start::CurrentState),
        None | Some("") | Some("0") => Ok(Start::CurrentState),
        Some(v) => v.parse().map(Start::After).map_err(|_| {
            ApiError::bad_request(format!("invalid resourceVersion {v:?}: expected a number"))
        }),
    }
}
