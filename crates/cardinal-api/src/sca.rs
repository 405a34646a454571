//! Strong customer authentication (spec §1.8). A sensitive request without a session token
//! answers `428` with a new session bound to the member and to the exact request; the member
//! approves (in the sandbox, through the mocked routes); the identical request retried with
//! the token runs once.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::secrets::{hash_secret, new_token};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use cardinal_store::{ScaMode, ScaResult, ScaSession};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use sha2::{Digest, Sha256};

pub const SESSION_HEADER: &str = "x-qonto-sca-session-token";
const LIFETIME: SignedDuration = SignedDuration::from_mins(15);

/// The sensitive actions of the card surface.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ScaAction {
    CreateCard,
    BulkCreateCards,
    UpdateLimits,
    Unlock,
}

impl ScaAction {
    pub fn action_type(self) -> &'static str {
        match self {
            ScaAction::CreateCard => "card.create",
            ScaAction::BulkCreateCards => "card.bulk_create",
            ScaAction::UpdateLimits => "card.limits_update",
            ScaAction::Unlock => "card.unlock",
        }
    }
}

/// Identifies one exact request: method, path and body (keys sorted, so formatting and key
/// order do not matter, values do).
pub fn fingerprint(method: &str, path: &str, body: Option<&Value>) -> [u8; 32] {
    let body = body.map(Value::to_string).unwrap_or_default();
    Sha256::digest(format!("{method}\n{path}\n{body}").as_bytes()).into()
}

/// Lets the request through when the organization's SCA mode allows it; otherwise answers
/// with the SCA step the client must take.
pub async fn guard(
    state: &AppState,
    principal: &Principal,
    action: ScaAction,
    request: &[u8; 32],
    headers: &HeaderMap,
) -> ApiResult<()> {
    match principal.organization.sca_mode {
        ScaMode::Disabled => Ok(()),
        ScaMode::NotEnrolled => Err(ApiError::sca(
            StatusCode::PRECONDITION_REQUIRED,
            "sca_not_enrolled",
            "You must enable SCA to perform this action",
            json!({"action_type": action.action_type()}),
        )),
        ScaMode::Required => match headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()) {
            None => Err(challenge(state, principal, action, request).await?),
            Some(token) => redeem(state, principal, action, request, token.trim()).await,
        },
    }
}

async fn challenge(
    state: &AppState,
    principal: &Principal,
    action: ScaAction,
    request: &[u8; 32],
) -> ApiResult<ApiError> {
    let token = new_token();
    let now = principal.now();
    state
        .store
        .insert_sca_session(ScaSession {
            token_hash: hash_secret(&token),
            organization_id: principal.organization.id,
            membership_id: principal.membership.id,
            action_type: action.action_type().to_owned(),
            request_hash: *request,
            result: ScaResult::Waiting,
            created_at: now,
            expires_at: now.saturating_add(LIFETIME).unwrap_or(Timestamp::MAX),
            consumed_at: None,
        })
        .await?;
    Ok(ApiError::sca(
        StatusCode::PRECONDITION_REQUIRED,
        "sca_required",
        "SCA required",
        json!({"action_type": action.action_type(), "sca_session_token": token}),
    ))
}

fn invalid(why: &str) -> ApiError {
    ApiError::sca(StatusCode::UNPROCESSABLE_ENTITY, "sca_session_invalid", why, json!({}))
}

async fn redeem(
    state: &AppState,
    principal: &Principal,
    action: ScaAction,
    request: &[u8; 32],
    token: &str,
) -> ApiResult<()> {
    let hash = hash_secret(token);
    let session = state
        .store
        .sca_session(&hash)
        .await?
        .filter(|s| s.organization_id == principal.organization.id)
        .ok_or_else(|| invalid("unknown SCA session token"))?;
    if session.membership_id != principal.membership.id
        || session.action_type != action.action_type()
        || &session.request_hash != request
    {
        return Err(invalid("this SCA session was approved for another request"));
    }
    if session.consumed_at.is_some() {
        return Err(invalid("this SCA session has already been used"));
    }
    let now = principal.now();
    match session.result_at(now) {
        ScaResult::Deny => Err(ApiError::sca(
            StatusCode::PRECONDITION_FAILED,
            "sca_denied",
            "The SCA session was denied or has expired",
            json!({}),
        )),
        ScaResult::Waiting => Err(ApiError::sca(
            StatusCode::PRECONDITION_FAILED,
            "sca_pending",
            "The SCA session is still waiting for the member's approval",
            json!({}),
        )),
        ScaResult::Allow if state.store.consume_sca_session(&hash, now).await? => Ok(()),
        ScaResult::Allow => Err(invalid("this SCA session has already been used")),
    }
}

/// The session as clients poll it.
async fn session_view(state: &AppState, token: &str) -> ApiResult<(ScaSession, Value)> {
    let session =
        state.store.sca_session(&hash_secret(token)).await?.ok_or_else(|| ApiError::not_found("SCA session"))?;
    let organization =
        state.store.organization(session.organization_id).await?.ok_or_else(|| ApiError::not_found("SCA session"))?;
    let view = json!({"result": session.result_at(organization.now()).as_str(), "canceled_at": null});
    Ok((session, view))
}

/// `GET /v2/sca_sessions/{token}` — any member of the session's organization.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(token): Path<String>,
) -> ApiResult<Json<Value>> {
    let (session, view) = session_view(&state, &token).await?;
    if session.organization_id != principal.organization.id {
        return Err(ApiError::not_found("SCA session"));
    }
    Ok(Json(view))
}

/// `GET /v2/mocked_sca_sessions/{token}` (sandbox): the token itself is the credential.
pub async fn mocked_show(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Json<Value>> {
    Ok(Json(session_view(&state, &token).await?.1))
}

/// `POST /v2/mocked_sca_sessions/{token}/{allow|deny}` (sandbox): the member's decision.
pub async fn mocked_decide(
    State(state): State<AppState>,
    Path((token, decision)): Path<(String, String)>,
) -> ApiResult<Json<Value>> {
    let result = match decision.as_str() {
        "allow" => ScaResult::Allow,
        "deny" => ScaResult::Deny,
        _ => return Err(ApiError::not_found("decision (use allow or deny)")),
    };
    state
        .store
        .decide_sca_session(&hash_secret(&token), result)
        .await?
        .ok_or_else(|| ApiError::not_found("SCA session"))?;
    Ok(Json(json!({"message": "Success"})))
}
