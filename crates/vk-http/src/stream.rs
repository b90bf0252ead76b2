//! Exchanges whose answer body is read as it arrives (a Kubernetes watch): the client's
//! timeout bounds getting the answer's head; the caller bounds the wait for each chunk.

use bytes::Bytes;
use http::{HeaderMap, Request, StatusCode};
use http_body_util::{BodyExt as _, Full};
use hyper::body::Incoming;

use crate::client::{HttpClient, HttpError};

/// An answer whose body is still arriving.
#[derive(Debug)]
pub struct StreamingAnswer {
    pub status: StatusCode,
    pub headers: HeaderMap,
    body: Incoming,
}

impl StreamingAnswer {
    /// The next data chunk of the body; `None` at its end (trailers are skipped).
    pub async fn chunk(&mut self) -> Result<Option<Bytes>, HttpError> {
        loop {
            match self.body.frame().await {
                None => return Ok(None),
                Some(Err(err)) => return Err(HttpError::Body(err)),
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        return Ok(Some(data));
                    }
                }
            }
        }
    }

    /// The rest of the body, at most `limit` bytes (longer bodies are cut there).
    pub async fn collect_up_to(&mut self, limit: usize) -> Result<Bytes, HttpError> {
        let mut out = Vec::new();
        while out.len() < limit {
            let Some(chunk) = self.chunk().await? else {
                break;
            };
            let take = chunk.len().min(limit - out.len());
            out.extend_from_slice(&chunk[..take]);
        }
        Ok(Bytes::from(out))
    }
}

impl HttpClient {
    /// Sends `request` (absolute URI) and returns as soon as the answer's head has arrived,
    /// of any status. The client's timeout bounds this part only.
    pub async fn send_streaming(
        &self,
        mut request: Request<Bytes>,
    ) -> Result<StreamingAnswer, HttpError> {
        self.prepare(&mut request);
        let head = self.client.request(request.map(Full::new));
        let response = if self.timeout.is_zero() {
            head.await
        } else {
            tokio::time::timeout(self.timeout, head)
                .await
                .map_err(|_elapsed| HttpError::Timeout(self.timeout))?
        }
        .map_err(HttpError::Send)?;
        let (head, body) = response.into_parts();
        Ok(StreamingAnswer {
            status: head.status,
            headers: head.headers,
            body,
        })
    }
}
