//! Per-request context: the request id every response and error carries, access logging,
//! and turning panics and timeouts into JSON errors instead of dropped connections.

use crate::http::error::ApiError;
use crate::http::trace::{new_request_id, REQUEST_ID, REQUEST_ID_HEADER, TYK_TRACE_ID_HEADER};
use crate::AppState;
use axum::extract::ConnectInfo;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::future::Future;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// How long a request may run before it is answered with a timeout error.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

/// The outermost layer: assigns the id, runs the request inside its scope (through the rate
/// limits), stamps the header, logs one line (never headers, bodies or query strings: they may
/// hold secrets); then reads what the answer left of the body ([`crate::http::drain`]). One
/// layer, not two: each layer costs every request a boxed future and a clone of the services
/// under it.
pub async fn request_context(State(state): State<AppState>, request: Request, next: Next) -> Response {
    crate::http::drain::drain_unread(request, |request| in_context(state, request, next)).await
}

async fn in_context(state: AppState, request: Request, next: Next) -> Response {
    let id = new_request_id();
    let header = HeaderValue::from_str(&id).ok();
    let method = request.method().clone();
    // The URI shares its bytes: kept for the log line without copying the path.
    let uri = request.uri().clone();
    let started = Instant::now();
    // One scope for the whole request: every error made below carries the id.
    let mut response = REQUEST_ID.scope(id, answer(state, request, next)).await;
    with_json_charset(&mut response);
    let path = redact_path(uri.path());
    // Text, not `%` Display: a field recorded as text is written as it is, where one recorded
    // through `Display` goes through the formatting machinery (1,000 instructions a request).
    tracing::info!(
        request_id = header.as_ref().and_then(|v| v.to_str().ok()).unwrap_or_default(),
        method = method.as_str(),
        path = &*path,
        status = response.status().as_u16(),
        micros = started.elapsed().as_micros() as u64,
        "request"
    );
    if let Some(value) = header {
        // Qonto's error pages name the trace by this header; clients log either (spec §1.4).
        response.headers_mut().insert(TYK_TRACE_ID_HEADER, value.clone());
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    response
}

/// The request's answer, in the contract's shape whatever made it: the handler's, a timeout's,
/// a panic's or a stalled body's.
async fn answer(state: AppState, request: Request, next: Next) -> Response {
    let patience = state.config.body_stall;
    let (request, stalled) = crate::http::stall::guard_body(request, patience);
    let run = CatchPanic(Box::pin(async move {
        let limit =
            crate::http::files::limit_for(request.method(), request.uri().path(), state.config.body_limit_bytes);
        if let Some(refused) = crate::http::body::declared_too_large(&request, limit) {
            return refused;
        }
        match nul_in_query(request.uri().query()) {
            Some(refused) => refused.into_response(),
            None if crate::http::request_log::logs(&state, request.uri().path()) => {
                crate::http::request_log::logged(&state, request, |request| admitted(&state, request, next)).await
            }
            None => admitted(&state, request, next).await,
        }
    }));
    let response = match tokio::time::timeout(REQUEST_TIMEOUT, run).await {
        Ok(Ok(response)) => response,
        Ok(Err(())) => {
            tracing::error!("request handler panicked");
            ApiError::internal().into_response()
        }
        Err(_) => ApiError::new(StatusCode::GATEWAY_TIMEOUT, "timeout", "the request took too long").into_response(),
    };
    // A client that stopped sending its body gets 408 and the connection closed, whatever
    // the handler made of the broken body (spec: never a 5xx for a client's silence).
    let response = match stalled.is_some_and(|flag| flag.load(std::sync::atomic::Ordering::Relaxed)) {
        true => crate::http::stall::timed_out(patience),
        false => response,
    };
    in_contract_shape(response).await
}

/// Every error answer uses the contract's JSON shape (spec §1.4), whichever layer produced
/// it: a framework rejection (an undecodable path, a body over the limit) arrives as plain
/// text and is rewritten here with its status kept. HTML pages (the data-view page's 410)
/// are answers meant for a browser and stay as they are.
async fn in_contract_shape(response: Response) -> Response {
    let status = response.status();
    let content_type = response.headers().get(axum::http::header::CONTENT_TYPE).and_then(|v| v.to_str().ok());
    let shaped = content_type.is_some_and(|t| t.starts_with("application/json") || t.starts_with("text/html"));
    if !(status.is_client_error() || status.is_server_error()) || shaped {
        return response;
    }
    let retry_after = response.headers().get(axum::http::header::RETRY_AFTER).cloned();
    let text = axum::body::to_bytes(response.into_body(), 4096).await.unwrap_or_default();
    let detail = String::from_utf8_lossy(&text).trim().to_owned();
    // A path segment that does not even decode (`/v2/cards/%ff`) names nothing: like any
    // malformed id, it is a 404 (spec §3).
    if status == StatusCode::BAD_REQUEST && detail.starts_with("Invalid URL") {
        return ApiError::new(StatusCode::NOT_FOUND, "not_found", "no such resource").into_response();
    }
    let code = match status.as_u16() {
        401 => "unauthorized",
        403 => "forbidden",
        404 => "not_found",
        405 => "method_not_allowed",
        409 => "conflict",
        413 => "payload_too_large",
        422 => "invalid",
        429 => "rate_limited",
        500..=599 => "internal_error",
        _ => "bad_request",
    };
    let detail = if detail.is_empty() || status.is_server_error() {
        status.canonical_reason().unwrap_or("error").to_lowercase()
    } else {
        detail
    };
    let mut shaped = ApiError::new(status, code, detail).into_response();
    if let Some(value) = retry_after {
        shaped.headers_mut().insert(axum::http::header::RETRY_AFTER, value);
    }
    shaped
}

/// A query parameter holding U+0000 (`query=%00zzzz`) is refused on every backend (spec §1.1):
/// PostgreSQL cannot compare with it, and SQLite's LIKE would stop at it and match everything.
fn nul_in_query(query: Option<&str>) -> Option<ApiError> {
    let query = query?;
    if !query.contains("%00") && !query.contains('\0') {
        return None;
    }
    form_urlencoded::parse(query.as_bytes()).find(|(k, v)| k.contains('\0') || v.contains('\0')).map(|(name, _)| {
        let name = name.replace('\0', "");
        ApiError::parameter("invalid", name.clone(), format!("{name} must not contain the character U+0000"))
    })
}

/// JSON answers say their charset (spec §1.1: `application/json; charset=utf-8`).
fn with_json_charset(response: &mut Response) {
    let headers = response.headers_mut();
    if headers.get(axum::http::header::CONTENT_TYPE).is_some_and(|t| t == "application/json") {
        headers.insert(axum::http::header::CONTENT_TYPE, HeaderValue::from_static("application/json; charset=utf-8"));
    }
}

/// Paths can carry one-time secrets (data-view tokens, SCA tokens, revoked access tokens):
/// keep only the first characters of long opaque segments.
fn redact_path(path: &str) -> std::borrow::Cow<'_, str> {
    let opaque = |segment: &[u8]| segment.len() > 24 && uuid::Uuid::try_parse_ascii(segment).is_err();
    // Split as bytes: `/` is ASCII, and a `char` searcher costs every request 700 instructions.
    if !path.as_bytes().split(|b| *b == b'/').any(opaque) {
        // The common case (ids are UUIDs): log the path as it is, without copying it.
        return path.into();
    }
    path.split('/')
        .map(|segment| match opaque(segment.as_bytes()) {
            true => format!("{}…", segment.chars().take(6).collect::<String>()),
            false => segment.to_owned(),
        })
        .collect::<Vec<_>>()
        .join("/")
        .into()
}

/// Polls a future, turning a panic into `Err(())` so the client gets a JSON 500.
struct CatchPanic<F>(Pin<Box<F>>);

impl<F: Future> Future for CatchPanic<F> {
    type Output = Result<F::Output, ()>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let inner = self.0.as_mut();
        match std::panic::catch_unwind(AssertUnwindSafe(|| inner.poll(cx))) {
            Ok(Poll::Pending) => Poll::Pending,
            Ok(Poll::Ready(output)) => Poll::Ready(Ok(output)),
            Err(_) => Poll::Ready(Err(())),
        }
    }
}

/// Admits or refuses each request by its client IP, then runs it. Called by the request
/// context (one layer instead of two: each layer costs every request a boxed future and a
/// clone of the services under it).
pub async fn admitted(state: &AppState, request: Request, next: Next) -> Response {
    let path = request.uri().path();
    let sandbox_surface = path.starts_with("/_sandbox/")
        || (state.config.mode == cardinal_app::Mode::Sandbox && path.starts_with("/_operator/"));
    if sandbox_surface {
        return next.run(request).await;
    }
    // Without a peer address (in-process tests) all requests share one bucket.
    let peer = request
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|ConnectInfo(addr)| addr.ip())
        .unwrap_or(IpAddr::V4(Ipv4Addr::UNSPECIFIED));
    static FORWARDED_FOR: axum::http::HeaderName = axum::http::HeaderName::from_static("x-forwarded-for");
    let forwarded_for = request.headers().get(&FORWARDED_FOR).and_then(|v| v.to_str().ok());
    let ip = crate::http::rate_limit::client_ip(peer, forwarded_for, &state.config.rate_limits.trusted_proxies);
    if let Err(wait) = state.rate_limiter.admit(ip, Instant::now()) {
        crate::http::metrics::RATE_LIMITED_REQUESTS.inc();
        return ApiError::rate_limited(wait).into_response();
    }
    let response = next.run(request).await;
    if response.status() == StatusCode::UNAUTHORIZED {
        if let Err(wait) = state.rate_limiter.record_unauthorized(ip, Instant::now()) {
            crate::http::metrics::RATE_LIMITED_UNAUTHORIZED.inc();
            return ApiError::rate_limited(wait).into_response();
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_ids_are_16_hex_chars() {
        let id = new_request_id();
        assert_eq!(id.len(), 16);
        assert!(id.chars().all(|c| c.is_ascii_hexdigit()));
    }

    #[test]
    fn long_opaque_path_segments_are_redacted() {
        let uuid = "5f0c7c9e-1f3b-4c35-9d2a-0a1b2c3d4e5f";
        assert_eq!(redact_path(&format!("/v2/cards/{uuid}/lock")), format!("/v2/cards/{uuid}/lock"));
        assert_eq!(redact_path("/_sandbox/tokens/abcdefghijklmnopqrstuvwxyz0123"), "/_sandbox/tokens/abcdef…");
        assert_eq!(redact_path("/card_data/ééééééééééééééééééééé"), "/card_data/éééééé…", "never split a character");
    }
}
