//! `DELETE /v2/oauth2/consents` (`qonto-reference.md` §2.3): the member disconnects the
//! application whose token calls; every token it holds for them stops working.

use crate::app::oauth::tokens;
use crate::http::auth::Principal;
use crate::http::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::http::StatusCode;

pub async fn withdraw(State(state): State<AppState>, principal: Principal) -> ApiResult<StatusCode> {
    tokens::withdraw_consent(&state.app, principal.grant_id, principal.now()).await?;
    Ok(StatusCode::NO_CONTENT)
}
