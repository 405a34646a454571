//! Request bodies that stop arriving. A client that announces a `Content-Length` and then
//! sends less would otherwise hold its handler until the request timeout (30 s) and get a
//! 504; instead, a body with no data for the configured stall time (`--idle-timeout`, the
//! same patience as for request heads) fails, and the request is answered
//! `408 request_timeout` with the connection closed.

use crate::http::error::ApiError;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;
use tokio::time::Sleep;

/// Wraps the body of a request that has one (most reads have none, and pay nothing); the flag
/// says afterwards whether it stalled.
pub fn guard_body(request: Request, patience: Duration) -> (Request, Option<Arc<AtomicBool>>) {
    let has_body = request.headers().contains_key(header::TRANSFER_ENCODING)
        || request
            .headers()
            .get(header::CONTENT_LENGTH)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|length| length.trim() != "0");
    if !has_body {
        return (request, None);
    }
    let stalled = Arc::new(AtomicBool::new(false));
    let (parts, body) = request.into_parts();
    let guarded = StallGuard { inner: body, patience, timer: None, stalled: stalled.clone() };
    (Request::from_parts(parts, Body::new(guarded)), Some(stalled))
}

/// The answer to a request whose body stalled.
pub fn timed_out(patience: Duration) -> Response {
    let mut response = ApiError::new(
        StatusCode::REQUEST_TIMEOUT,
        "request_timeout",
        format!("the request body stopped arriving for {} s", patience.as_secs()),
    )
    .into_response();
    response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    response
}

#[derive(Debug)]
struct BodyStalled;

impl std::fmt::Display for BodyStalled {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "the request body stopped arriving")
    }
}

impl std::error::Error for BodyStalled {}

struct StallGuard {
    inner: Body,
    patience: Duration,
    /// Armed while the body waits for data; made on first wait, reset after each frame.
    timer: Option<Pin<Box<Sleep>>>,
    stalled: Arc<AtomicBool>,
}

impl http_body::Body for StallGuard {
    type Data = Bytes;
    type Error = axum::BoxError;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match Pin::new(&mut self.inner).poll_frame(cx) {
            Poll::Ready(frame) => {
                self.timer = None;
                Poll::Ready(frame.map(|f| f.map_err(Into::into)))
            }
            Poll::Pending => {
                let patience = self.patience;
                let timer = self.timer.get_or_insert_with(|| Box::pin(tokio::time::sleep(patience)));
                match timer.as_mut().poll(cx) {
                    Poll::Ready(()) => {
                        self.stalled.store(true, Ordering::Relaxed);
                        Poll::Ready(Some(Err(Box::new(BodyStalled))))
                    }
                    Poll::Pending => Poll::Pending,
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}
