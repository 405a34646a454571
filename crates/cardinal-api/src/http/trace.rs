//! The request's id: what every answer carries as `X-Request-Id` and `X-Tyk-Trace-Id`, every
//! error as `trace_id`, and every audit event as `request_id`. Kept apart from the request
//! layer so that errors and handlers can read it without depending on that layer.

tokio::task_local! {
    pub(crate) static REQUEST_ID: String;
}

// Names, not strings: a header inserted by a `&str` name is parsed and checked at each insert,
// 1,100 instructions of every answer for these two.
pub const REQUEST_ID_HEADER: axum::http::HeaderName = axum::http::HeaderName::from_static("x-request-id");
pub const TYK_TRACE_ID_HEADER: axum::http::HeaderName = axum::http::HeaderName::from_static("x-tyk-trace-id");

/// The current request's id; outside a request (tests, startup), a fresh one.
pub fn request_id() -> String {
    REQUEST_ID.try_with(Clone::clone).unwrap_or_else(|_| new_request_id())
}

/// Where a change made by the current request comes from, for the application core: this
/// request's id, at `now` on the organization's clock.
pub fn origin(now: jiff::Timestamp) -> cardinal_app::cards::change::Origin {
    cardinal_app::cards::change::Origin { now, request_id: request_id() }
}

pub(crate) fn new_request_id() -> String {
    format!("{:016x}", rand::random::<u64>())
}
