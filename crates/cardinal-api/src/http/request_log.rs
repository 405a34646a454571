//! Feeds the sandbox's request log (`cardinal_app::request_log`, spec §10) from the `/v2`
//! routes. The request layer wraps a `/v2` request in [`logged`]; the credential extractor
//! says whose request it is ([`note_caller`]); the record is handed over once the answer is
//! made, and only for a request some organization's credential made (an unauthenticated one
//! belongs to nobody). Only handles are moved here — the bodies' bytes by reference — so
//! every request can afford it; the text is made when someone reads the log.

use crate::app::request_log::{KeptBytes, LoggedRequest};
use crate::http::trace::request_id;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{header, HeaderName, Method};
use axum::response::Response;
use cardinal_store::CredentialKind;
use std::future::Future;
use std::sync::OnceLock;
use std::time::Instant;
use uuid::Uuid;

static IDEMPOTENCY_KEY: HeaderName = HeaderName::from_static("x-qonto-idempotency-key");

struct Caller {
    organization_id: Uuid,
    membership_id: Uuid,
    credential: &'static str,
    route: &'static str,
}

tokio::task_local! {
    /// Whose the request being logged is, once a credential said so.
    static CALLER: OnceLock<Caller>;
}

/// Called by the credential extractor on the route `route` once it knows the caller: a
/// request being logged learns whose it is (elsewhere this does nothing).
pub fn note_caller(organization_id: Uuid, membership_id: Uuid, kind: CredentialKind, route: &'static str) {
    let _ = CALLER.try_with(|slot| {
        slot.set(Caller {
            organization_id,
            membership_id,
            credential: match kind {
                CredentialKind::AccessToken => "access_token",
                CredentialKind::ApiKey => "api_key",
            },
            route,
        })
    });
}

/// Whether the request layer logs `path`: the `/v2` API in sandbox mode.
pub fn logs(state: &AppState, path: &str) -> bool {
    state.config.mode == crate::Mode::Sandbox && path.starts_with("/v2/")
}

/// Runs `handle` on `request` (its body read first when it has a known length, so it can be
/// kept) and keeps the record of it.
pub async fn logged<F, Fut>(state: &AppState, request: Request, handle: F) -> Response
where
    F: FnOnce(Request) -> Fut,
    Fut: Future<Output = Response>,
{
    let started = Instant::now();
    let (parts, body) = request.into_parts();
    // A file is not kept: only JSON bodies are.
    let multipart = parts.headers.get(header::CONTENT_TYPE).is_some_and(|t| t.as_bytes().starts_with(b"multipart/"));
    let (body, request_bytes) = match multipart {
        true => (body, Bytes::new()),
        false => buffered(body, state.config.body_limit_bytes).await,
    };
    let method = method_name(&parts.method);
    let target = parts.uri.path_and_query().map_or_else(|| parts.uri.path().to_owned(), |p| p.as_str().to_owned());
    let idempotency_key = parts.headers.get(&IDEMPOTENCY_KEY).and_then(|v| v.to_str().ok()).map(str::to_owned);
    // The slot lives in the scope and comes back out of it: nothing to allocate.
    let mut scoped = std::pin::pin!(CALLER.scope(OnceLock::new(), handle(Request::from_parts(parts, body))));
    let response = (&mut scoped).await;
    let Some(caller) = scoped.as_mut().take_value().and_then(OnceLock::into_inner) else {
        return response;
    };
    // A PDF or an image is not read, let alone kept.
    let json =
        response.headers().get(header::CONTENT_TYPE).is_none_or(|t| t.as_bytes().starts_with(b"application/json"));
    let (response, response_body) = match json {
        true => {
            let (response, bytes) = answered(response).await;
            (response, KeptBytes::of(bytes))
        }
        false => (response, KeptBytes::unread()),
    };
    state.app.requests.record(LoggedRequest {
        sequence: 0,
        organization_id: caller.organization_id,
        at: std::time::SystemTime::now(),
        method,
        route: Some(caller.route),
        target,
        status: response.status().as_u16(),
        latency_micros: started.elapsed().as_micros() as u64,
        request_id: request_id(),
        idempotency_key,
        credential: caller.credential,
        membership_id: caller.membership_id,
        request_body: KeptBytes::of(request_bytes),
        response_body,
    });
    response
}

fn method_name(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::PATCH => "PATCH",
        Method::DELETE => "DELETE",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "OTHER",
    }
}

/// The request's body, read so it can be kept, and the body to hand on. Only a body of a
/// known length is read here (a declared `Content-Length`, within the server's limit, which
/// the request layer checked); one sent in chunks streams on to its handler untouched and is
/// not kept.
async fn buffered(body: Body, limit: usize) -> (Body, Bytes) {
    let known = http_body::Body::size_hint(&body).exact().and_then(|n| usize::try_from(n).ok());
    match known.filter(|n| *n <= limit) {
        Some(0) | None => (body, Bytes::new()),
        Some(_) => match axum::body::to_bytes(body, limit).await {
            Ok(bytes) => (Body::from(bytes.clone()), bytes),
            // A body that broke off: its handler sees none, and the request layer answers
            // for the stall.
            Err(_) => (Body::empty(), Bytes::new()),
        },
    }
}

/// The answer, its body read so it can be kept. An answer made whole (every JSON answer) is
/// one frame: taken as it is, without gathering.
async fn answered(response: Response) -> (Response, Bytes) {
    use http_body_util::BodyExt;
    let (parts, mut body) = response.into_parts();
    let first = match body.frame().await {
        Some(Ok(frame)) => frame.into_data().unwrap_or_default(),
        Some(Err(_)) => return (Response::from_parts(parts, Body::empty()), Bytes::new()),
        None => return (Response::from_parts(parts, Body::empty()), Bytes::new()),
    };
    if http_body::Body::is_end_stream(&body) {
        return (Response::from_parts(parts, Body::from(first.clone())), first);
    }
    // Several frames: gather the rest behind the first.
    match body.collect().await {
        Ok(rest) => {
            let whole = Bytes::from([first.as_ref(), rest.to_bytes().as_ref()].concat());
            (Response::from_parts(parts, Body::from(whole.clone())), whole)
        }
        Err(_) => (Response::from_parts(parts, Body::empty()), Bytes::new()),
    }
}
