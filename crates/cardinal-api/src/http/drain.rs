//! Answers before the body is read. A request refused before its body is read — an unknown
//! route, a 401, a 413 — is answered while the client may still be sending. Closing the
//! connection then would drop what the kernel still holds unread and reset the connection: the
//! client gets a broken pipe instead of the answer (Node's fetch reports `fetch failed`). So,
//! as mature servers do, the rest of an unread body is read and thrown away, up to a bound and
//! for a while, before the answer goes out; past the bound the answer says `Connection: close`.
//! A client that asked `Expect: 100-continue` and was never told to continue sends nothing
//! more: its body is left alone.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderValue};
use axum::response::Response;
use http_body::{Body as _, Frame, SizeHint};
use http_body_util::BodyExt;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::Duration;

/// The most an unread body is read to throw away (a 16 MB upload refused at 15 MB fits).
const DRAIN_BYTES: u64 = 32 * 1024 * 1024;
/// How long it may take.
const DRAIN_TIME: Duration = Duration::from_secs(5);

/// Runs `answer` (the request context calls this first) keeping a handle on the request body,
/// and after the answer is made reads what the handler left unread.
pub async fn drain_unread<F, Fut>(request: Request, answer: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: std::future::Future<Output = Response>,
{
    if request.body().is_end_stream() {
        return answer(request).await;
    }
    let waits_for_continue =
        request.headers().get(header::EXPECT).is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let declared = crate::http::body::declared_length(request.headers()).unwrap_or(0);
    let (parts, body) = request.into_parts();
    let slot = Arc::new(Mutex::new(Slot { body: Some(body), polled: false, ended: false }));
    let mut response = answer(Request::from_parts(parts, Body::new(Shared(slot.clone())))).await;
    let rest = {
        let mut slot = slot.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        match (slot.ended, waits_for_continue && !slot.polled) {
            (false, false) => slot.body.take(),
            _ => None,
        }
    };
    let Some(rest) = rest else { return response };
    // A body declared larger than the bound is not waited for: the answer closes at once.
    let declared_too_long = declared.max(rest.size_hint().lower()) > DRAIN_BYTES;
    if declared_too_long || !discard(rest).await {
        response.headers_mut().insert(header::CONNECTION, HeaderValue::from_static("close"));
    }
    response
}

/// Reads `body` to its end within the bounds; whether it got there.
async fn discard(mut body: Body) -> bool {
    let read = async {
        let mut seen: u64 = 0;
        while let Some(frame) = body.frame().await {
            let Ok(frame) = frame else { return false };
            seen += frame.data_ref().map_or(0, |d| d.len() as u64);
            if seen > DRAIN_BYTES {
                return false;
            }
        }
        true
    };
    tokio::time::timeout(DRAIN_TIME, read).await.unwrap_or(false)
}

struct Slot {
    body: Option<Body>,
    /// The handler asked for the body at least once.
    polled: bool,
    /// The body was read to its end (or broke off).
    ended: bool,
}

/// The request body as the handler sees it: reads go through the slot, which keeps whatever
/// the handler leaves.
struct Shared(Arc<Mutex<Slot>>);

impl http_body::Body for Shared {
    type Data = Bytes;
    type Error = axum::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, axum::Error>>> {
        let mut slot = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.polled = true;
        let Some(body) = slot.body.as_mut() else { return Poll::Ready(None) };
        let polled = Pin::new(body).poll_frame(cx);
        if matches!(polled, Poll::Ready(None) | Poll::Ready(Some(Err(_)))) {
            slot.ended = true;
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        let slot = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.body.as_ref().is_none_or(|b| b.is_end_stream())
    }

    fn size_hint(&self) -> SizeHint {
        let slot = self.0.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
        slot.body.as_ref().map_or_else(|| SizeHint::with_exact(0), |b| b.size_hint())
    }
}
