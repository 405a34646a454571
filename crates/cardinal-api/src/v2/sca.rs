//! Strong customer authentication (spec §1.8). A sensitive request without a session token
//! answers `428` with a new session bound to the member and to the exact request; the member
//! approves (in the sandbox, through the mocked routes); the identical request retried with
//! the token runs once: the session is spent in the same transaction as the change.
//! Which routes need SCA is the route table's `sca` column, read by [`ScaStep`].

use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::state::AppState;
use crate::secrets::hash_secret;
use crate::wire::answers::{Message, ScaSession as ScaSessionView};
use axum::extract::{FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{Method, StatusCode};
use cardinal_store::{ScaMode, ScaRedemption, ScaResult, ScaSession, StoreError};
use serde_json::Value;
use sha2::{Digest, Sha256};

pub const SESSION_HEADER: &str = "x-qonto-sca-session-token";

pub use cardinal_app::sca::ScaAction;

/// Identifies one exact request: method, path and body (keys sorted, so formatting and key
/// order do not matter, values do).
pub fn fingerprint(method: &str, path: &str, body: Option<&Value>) -> [u8; 32] {
    let body = body.map(Value::to_string).unwrap_or_default();
    Sha256::digest(format!("{method}\n{path}\n{body}").as_bytes()).into()
}

/// The SCA step the route table declares for the matched route, with what the request
/// presents for it, read once from the request head. Routes without SCA pass.
pub struct ScaStep {
    action: Option<ScaAction>,
    token: Option<String>,
    method: Method,
    /// The path as approved: without a trailing slash, ids in lower case.
    path: String,
}

impl FromRequestParts<AppState> for ScaStep {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _: &AppState) -> ApiResult<ScaStep> {
        let action = parts.extensions.get::<crate::http::state::RouteRule>().and_then(|rule| rule.sca);
        let token = parts.headers.get(SESSION_HEADER).and_then(|v| v.to_str().ok()).map(|t| t.trim().to_owned());
        let path = parts.uri.path();
        let path = path.strip_suffix('/').filter(|p| !p.is_empty()).unwrap_or(path).to_ascii_lowercase();
        Ok(ScaStep { action, token, method: parts.method.clone(), path })
    }
}

impl ScaStep {
    /// Decides the step for this request (`body` is part of what the member approves)
    /// without writing anything: the caller's role is checked before the verdict is settled.
    pub async fn check(&self, state: &AppState, principal: &Principal, body: Option<&Value>) -> ApiResult<ScaVerdict> {
        let Some(action) = self.action else { return Ok(ScaVerdict::Pass(None)) };
        let request = fingerprint(self.method.as_str(), &self.path, body);
        Ok(match (principal.organization.sca_mode, &self.token) {
            (ScaMode::Disabled, _) => ScaVerdict::Pass(None),
            (ScaMode::NotEnrolled, _) => ScaVerdict::Refuse(ApiError::sca(
                StatusCode::PRECONDITION_REQUIRED,
                "sca_not_enrolled",
                "You must enable SCA to perform this action",
                Some(action.action_type()),
                None,
            )),
            (ScaMode::Required, None) => ScaVerdict::Challenge { action, request },
            (ScaMode::Required, Some(token)) => redeemable(state, principal, action, &request, token).await?,
        })
    }

    /// For a request whose role check is already done: checks and settles the step, spending
    /// an allowed session now (card creation writes new cards, not a card change).
    pub async fn pass(&self, state: &AppState, principal: &Principal, body: Option<&Value>) -> ApiResult<()> {
        let verdict = self.check(state, principal, body).await?;
        if let Some(redemption) = verdict.settle(state, principal).await? {
            if !state.store.consume_sca_session(&redemption.token_hash, redemption.now).await? {
                return Err(ApiError::from(StoreError::ScaSessionUsed));
            }
        }
        Ok(())
    }
}

/// What the SCA step decided for one request.
pub enum ScaVerdict {
    /// The request may go on, spending this allowed session with its change, if any.
    Pass(Option<ScaRedemption>),
    /// The answer instead of the change.
    Refuse(ApiError),
    /// No session presented: answer `428` with a new session for this exact request.
    Challenge { action: ScaAction, request: [u8; 32] },
}

impl ScaVerdict {
    /// `Some(session to spend)` when the request may go on.
    pub fn passes(&self) -> Option<Option<ScaRedemption>> {
        match self {
            ScaVerdict::Pass(redemption) => Some(*redemption),
            _ => None,
        }
    }

    /// After the role check: the session to spend, or the answer (a challenge opens its
    /// session now, so a caller who may not act never gets one).
    pub async fn settle(self, state: &AppState, principal: &Principal) -> ApiResult<Option<ScaRedemption>> {
        match self {
            ScaVerdict::Pass(redemption) => Ok(redemption),
            ScaVerdict::Refuse(answer) => Err(answer),
            ScaVerdict::Challenge { action, request } => Err(challenge(state, principal, action, &request).await?),
        }
    }
}

async fn challenge(
    state: &AppState,
    principal: &Principal,
    action: ScaAction,
    request: &[u8; 32],
) -> ApiResult<ApiError> {
    let token = crate::app::sca::open(
        &state.app,
        crate::app::sca::Challenge {
            organization_id: principal.organization.id,
            membership_id: principal.membership.id,
            action,
            request_hash: *request,
            now: principal.now(),
        },
    )
    .await?;
    Ok(ApiError::sca(
        StatusCode::PRECONDITION_REQUIRED,
        "sca_required",
        "SCA required",
        Some(action.action_type()),
        Some(token),
    ))
}

/// Whether the presented session approves this exact request now; reads, never writes.
async fn redeemable(
    state: &AppState,
    principal: &Principal,
    action: ScaAction,
    request: &[u8; 32],
    token: &str,
) -> ApiResult<ScaVerdict> {
    let hash = hash_secret(token);
    let refuse = |why| Ok(ScaVerdict::Refuse(ApiError::sca_session_invalid(why)));
    let Some(session) =
        state.store.sca_session(&hash).await?.filter(|s| s.organization_id == principal.organization.id)
    else {
        return refuse("unknown SCA session token");
    };
    if session.membership_id != principal.membership.id
        || session.action_type != action.action_type()
        || &session.request_hash != request
    {
        return refuse("this SCA session was approved for another request");
    }
    if session.consumed_at.is_some() {
        return refuse("this SCA session has already been used");
    }
    let now = principal.now();
    let failed =
        |code, why| Ok(ScaVerdict::Refuse(ApiError::sca(StatusCode::PRECONDITION_FAILED, code, why, None, None)));
    match session.result_at(now) {
        ScaResult::Deny => failed("sca_denied", "The SCA session was denied or has expired"),
        ScaResult::Waiting => failed("sca_pending", "The SCA session is still waiting for the member's approval"),
        ScaResult::Allow => Ok(ScaVerdict::Pass(Some(ScaRedemption { token_hash: hash, now }))),
    }
}

/// The session as clients poll it.
async fn session_view(state: &AppState, token: &str) -> ApiResult<(ScaSession, ScaSessionView)> {
    let session =
        state.store.sca_session(&hash_secret(token)).await?.ok_or_else(|| ApiError::not_found("SCA session"))?;
    let organization =
        state.store.organization(session.organization_id).await?.ok_or_else(|| ApiError::not_found("SCA session"))?;
    let view = ScaSessionView { result: session.result_at(organization.now()).as_str().into(), canceled_at: None };
    Ok((session, view))
}

/// `GET /v2/sca_sessions/{token}` — any member of the session's organization.
pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(token): Path<String>,
) -> ApiResult<Json<ScaSessionView>> {
    let (session, view) = session_view(&state, &token).await?;
    if session.organization_id != principal.organization.id {
        return Err(ApiError::not_found("SCA session"));
    }
    Ok(Json(view))
}

/// `GET /v2/mocked_sca_sessions/{token}` (sandbox): the token itself is the credential.
pub async fn mocked_show(State(state): State<AppState>, Path(token): Path<String>) -> ApiResult<Json<ScaSessionView>> {
    Ok(Json(session_view(&state, &token).await?.1))
}

/// `POST /v2/mocked_sca_sessions/{token}/{allow|deny}` (sandbox): the member's decision.
pub async fn mocked_decide(
    State(state): State<AppState>,
    Path((token, decision)): Path<(String, String)>,
) -> ApiResult<Json<Message>> {
    let result = match decision.as_str() {
        "allow" => ScaResult::Allow,
        "deny" => ScaResult::Deny,
        _ => return Err(ApiError::not_found("decision (use allow or deny)")),
    };
    crate::app::sca::decide(&state.app, &hash_secret(&token), result)
        .await?
        .ok_or_else(|| ApiError::not_found("SCA session"))?;
    Ok(Json(Message { message: "Success".into() }))
}
