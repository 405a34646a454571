//! `X-Qonto-Idempotency-Key` on every `/v2` write (spec §1.6). Keys are scoped to the
//! credential (a hash of the `Authorization` value), claimed atomically in the store — so of
//! concurrent duplicates exactly one runs — and a `2xx` answer is replayed for 30 minutes.
//! Anything else, a `428` SCA challenge included, releases the key so a retry proceeds.
//!
//! A release the database could not take (it was failing over) is retried in the background
//! until it is taken: a client retrying with its key through a failover is served as soon as
//! fresh calls are, not when the claim is a minute old (issue 28). Each claim carries a random
//! token, so a late release frees only its own claim.

use crate::http::auth::Principal;
use crate::http::error::ApiError;
use crate::wire::requests::IdempotencyKey;
use crate::AppState;
use axum::body::Body;
use axum::extract::{FromRequestParts, Request, State};
use axum::http::{header, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use cardinal_store::{IdempotencyBegin, IdempotencyClaim, IdempotencyRequest, Store, StoreError};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::time::Duration;

pub const KEY_HEADER: &str = "x-qonto-idempotency-key";
pub const REPLAYED_HEADER: &str = "idempotent-replayed";
const KEEP_FOR_SECONDS: i64 = 30 * 60;
/// A key still `running` this long after it was claimed belongs to a process that died.
const ABANDON_AFTER_SECONDS: i64 = 60;

/// The layer on the operations that take keys (`Operation::takes_idempotency_keys`).
pub async fn idempotency(State(state): State<AppState>, request: Request, next: Next) -> Response {
    let key = request.headers().get(KEY_HEADER).map(|v| v.to_str().map(str::to_owned));
    let auth = request.headers().get(header::AUTHORIZATION).map(|v| v.as_bytes().to_vec());
    let (Some(key), Some(auth)) = (key, auth) else {
        return next.run(request).await;
    };
    let key = match key {
        Ok(key) if IdempotencyKey::accepts(&key) => key,
        _ => {
            return ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid",
                "X-Qonto-Idempotency-Key must be 1 to 255 visible ASCII characters",
            )
            .into_response()
        }
    };
    let (mut parts, body) = request.into_parts();
    // Credentials first: a revoked or expired token gets its 401, never a stored answer
    // (spec §1.6). The handler reuses this principal.
    match Principal::from_request_parts(&mut parts, &state).await {
        Ok(principal) => {
            parts.extensions.insert(principal);
        }
        Err(refused) => return refused.into_response(),
    }
    let limit = crate::http::files::limit_for(&parts.method, parts.uri.path(), state.config.body_limit_bytes);
    let bytes = match axum::body::to_bytes(body, limit).await {
        Ok(bytes) => bytes,
        Err(_) => return ApiError::payload_too_large("the request body is too large").into_response(),
    };
    let scope_hash: [u8; 32] = Sha256::digest(&auth).into();
    let target = parts.uri.path_and_query().map(|p| p.as_str()).unwrap_or("/");
    let request_hash: [u8; 32] = Sha256::new()
        .chain_update(parts.method.as_str())
        .chain_update(b"\n")
        .chain_update(target)
        .chain_update(b"\n")
        .chain_update(&bytes)
        .finalize()
        .into();
    let begin = IdempotencyRequest {
        scope_hash,
        key: key.clone(),
        request_hash,
        now: jiff::Timestamp::now(),
        keep_for_seconds: KEEP_FOR_SECONDS,
        abandon_after_seconds: ABANDON_AFTER_SECONDS,
        claim: *uuid::Uuid::new_v4().as_bytes(),
    };
    let claimed = begin.claimed();
    match state.store.begin_idempotent(begin).await {
        Err(e) => {
            // The claim's commit may have landed although its answer was lost (a failover
            // during the COMMIT): release it once the database is back, so the retry is not
            // refused as "in use" for a minute.
            if matches!(e, StoreError::Unavailable(_)) {
                release_when_possible(state.store.clone(), claimed);
            }
            ApiError::from(e).into_response()
        }
        Ok(IdempotencyBegin::Replay { status, body }) => replay(status, body),
        Ok(IdempotencyBegin::InProgress) => ApiError::new(
            StatusCode::CONFLICT,
            "idempotency_key_in_use",
            "a request with this idempotency key is still being processed",
        )
        .into_response(),
        Ok(IdempotencyBegin::Mismatch) => ApiError::new(
            StatusCode::UNPROCESSABLE_ENTITY,
            "idempotency_key_reused",
            "this idempotency key was already used for a different request",
        )
        .into_response(),
        Ok(IdempotencyBegin::Started) => {
            let mut claim = Claim { held: Some((state.store.clone(), claimed)) };
            let response = next.run(Request::from_parts(parts, Body::from(bytes))).await;
            claim.settle(response).await
        }
    }
}

fn replay(status: u16, body: Vec<u8>) -> Response {
    let status = StatusCode::from_u16(status).unwrap_or(StatusCode::OK);
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(header::CONTENT_TYPE, HeaderValue::from_static("application/json"));
    headers.insert(REPLAYED_HEADER, HeaderValue::from_static("true"));
    response
}

/// A claimed key. Settled with the answer; if the request is dropped midway (client gone,
/// panic), the claim is released so the key does not stay blocked.
struct Claim {
    /// Taken when the claim is settled; still here when the request was dropped.
    held: Option<(Arc<dyn Store>, IdempotencyClaim)>,
}

impl Claim {
    async fn settle(&mut self, response: Response) -> Response {
        let Some((store, claimed)) = self.held.take() else { return response };
        if !response.status().is_success() {
            release_now_or_later(store, claimed).await;
            return response;
        }
        let (parts, body) = response.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else {
            release_now_or_later(store, claimed).await;
            return ApiError::internal().into_response();
        };
        if let Err(e) = store.finish_idempotent(claimed, parts.status.as_u16(), bytes.to_vec()).await {
            tracing::error!(error = %e, "could not store an idempotent answer");
        }
        Response::from_parts(parts, Body::from(bytes))
    }
}

impl Drop for Claim {
    fn drop(&mut self) {
        if let (Some((store, claimed)), Ok(_)) = (self.held.take(), tokio::runtime::Handle::try_current()) {
            release_when_possible(store, claimed);
        }
    }
}

/// Releases a claim; if the database cannot take the release now, keeps trying in the
/// background.
async fn release_now_or_later(store: Arc<dyn Store>, claimed: IdempotencyClaim) {
    if let Err(e) = store.abandon_idempotent(claimed.clone()).await {
        tracing::warn!(error = %e, "could not release an idempotency key yet: retrying until the database answers");
        release_when_possible(store, claimed);
    }
}

/// How often a release the database could not take is tried again.
const RELEASE_RETRY_EVERY: Duration = Duration::from_millis(250);

/// Tries to release `claimed` until the database takes it, for as long as the claim could
/// still hold its key (after [`ABANDON_AFTER_SECONDS`] any request takes it over anyway).
fn release_when_possible(store: Arc<dyn Store>, claimed: IdempotencyClaim) {
    tokio::spawn(async move {
        let give_up = tokio::time::Instant::now() + Duration::from_secs(ABANDON_AFTER_SECONDS as u64);
        while store.abandon_idempotent(claimed.clone()).await.is_err() {
            if tokio::time::Instant::now() >= give_up {
                tracing::error!("could not release an idempotency key: it is freed by age");
                return;
            }
            tokio::time::sleep(RELEASE_RETRY_EVERY).await;
        }
    });
}
