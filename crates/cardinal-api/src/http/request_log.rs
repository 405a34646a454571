//! Feeds the sandbox's request log (`cardinal_app::request_log`, spec §10) from the `/v2`
//! routes: the layer notes what the request was, lets the credential extractor say whose it
//! is, and hands the record over once the answer is made — without waiting, and only for a
//! request some organization's credential made (an unauthenticated one belongs to nobody).

use crate::app::request_log::{kept_bodies, Body as KeptBody, LoggedRequest};
use crate::http::auth::Principal;
use crate::http::trace::request_id;
use crate::AppState;
use axum::body::{Body, Bytes};
use axum::extract::{MatchedPath, Request, State};
use axum::http::{header, HeaderMap};
use axum::middleware::Next;
use axum::response::Response;
use cardinal_store::CredentialKind;
use std::sync::{Arc, OnceLock};
use std::time::Instant;
use uuid::Uuid;

/// Whose request it is, told by the credential extractor.
#[derive(Clone, Default)]
pub struct CallerSlot(Arc<OnceLock<Caller>>);

struct Caller {
    organization_id: Uuid,
    membership_id: Uuid,
    credential: &'static str,
}

impl CallerSlot {
    pub fn fill(&self, principal: &Principal) {
        let _ = self.0.set(Caller {
            organization_id: principal.organization.id,
            membership_id: principal.membership.id,
            credential: match principal.kind {
                CredentialKind::AccessToken => "access_token",
                CredentialKind::ApiKey => "api_key",
            },
        });
    }
}

/// The layer on the `/v2` routes in sandbox mode.
pub async fn log_requests(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let started = Instant::now();
    let (mut parts, body) = request.into_parts();
    let slot = CallerSlot::default();
    parts.extensions.insert(slot.clone());
    let route = parts.extensions.get::<MatchedPath>().map(|m| m.as_str().to_owned());
    let (body, request_bytes) = buffered(body, state.config.body_limit_bytes).await;
    let method = parts.method.to_string();
    let path = parts.uri.path().to_owned();
    let query = parts.uri.query().map(str::to_owned);
    let idempotency_key = header_text(&parts.headers, "x-qonto-idempotency-key");
    let response = next.run(Request::from_parts(parts, body)).await;
    let Some(caller) = slot.0.get() else {
        return response;
    };
    let json =
        response.headers().get(header::CONTENT_TYPE).is_none_or(|t| t.as_bytes().starts_with(b"application/json"));
    let (response, answer_bytes) = match json {
        true => answered(response).await,
        false => (response, Bytes::new()),
    };
    let (request_body, mut response_body) = kept_bodies(&method, route.as_deref(), &request_bytes, &answer_bytes);
    if !json {
        // A PDF or an image is not read, let alone kept.
        response_body = KeptBody::Withheld("not JSON");
    }
    state.app.requests.record(LoggedRequest {
        sequence: 0,
        organization_id: caller.organization_id,
        at: jiff::Timestamp::now(),
        method,
        route,
        path,
        query,
        status: response.status().as_u16(),
        latency_micros: started.elapsed().as_micros() as u64,
        request_id: request_id(),
        idempotency_key,
        credential: caller.credential,
        membership_id: caller.membership_id,
        request_body,
        response_body,
    });
    response
}

fn header_text(headers: &HeaderMap, name: &str) -> Option<String> {
    headers.get(name).and_then(|v| v.to_str().ok()).map(str::to_owned)
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

/// The answer, its body read so it can be kept.
async fn answered(response: Response) -> (Response, Bytes) {
    let (parts, body) = response.into_parts();
    match axum::body::to_bytes(body, usize::MAX).await {
        Ok(bytes) => (Response::from_parts(parts, Body::from(bytes.clone())), bytes),
        Err(_) => (Response::from_parts(parts, Body::empty()), Bytes::new()),
    }
}
