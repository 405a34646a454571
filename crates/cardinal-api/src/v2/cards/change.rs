//! The one path every change to an existing card takes (lock, unlock, lost, stolen, discard,
//! limits, nickname, options, restrictions):
//!
//! 1. extracting a [`CardCall`] authenticates the caller, enforces the route's scope from the
//!    route table and parses the card id (a malformed one is 404);
//! 2. the route's SCA step is checked against the presented session, writing nothing;
//! 3. the application core changes the card ([`cardinal_app::cards::change::by_member`]): in
//!    the card's transaction, the role check from the one permission table, then the SCA
//!    verdict, the domain transition and the card's validation; the card, its audit event, its
//!    webhook events and the spent SCA session commit together;
//! 4. the card is rendered.
//!
//! A handler only declares its action and how its body reads into a change.

use crate::app::cards::change;
use crate::http::auth::Principal;
use crate::http::error::ApiResult;
use crate::http::json::Json;
use crate::v2::cards::{render, CardBody, CardId};
use crate::v2::sca::ScaStep;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use cardinal_domain::CardAction;
use serde_json::Value;
use uuid::Uuid;

pub use change::{settings, transition, CardRule};

/// A request to one card's route, read once: the caller (authenticated, the route's scope
/// checked), the card's id and the route's SCA step.
pub struct CardCall {
    pub principal: Principal,
    pub id: Uuid,
    pub sca: ScaStep,
}

impl FromRequestParts<AppState> for CardCall {
    type Rejection = crate::http::error::ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> ApiResult<CardCall> {
        let principal = Principal::from_request_parts(parts, state).await?;
        let CardId(id) = CardId::from_request_parts(parts, state).await?;
        let sca = ScaStep::from_request_parts(parts, state).await?;
        Ok(CardCall { principal, id, sca })
    }
}

/// Runs `action` on the called card through the one path (module docs); `body` is the
/// request's JSON, which an SCA approval covers.
pub async fn perform(
    state: &AppState,
    call: CardCall,
    action: CardAction,
    body: Option<&Value>,
    rule: impl CardRule,
) -> ApiResult<Json<CardBody>> {
    let CardCall { principal, id, sca } = call;
    let verdict = sca.check(state, &principal, body).await?;
    let change = change::MemberChange {
        organization: principal.organization.id,
        card: id,
        member: principal.member(),
        action,
        sca: verdict.passes(),
    };
    let origin = crate::http::trace::origin(principal.now());
    let stored = change::by_member(&state.app, change, rule, origin).await?;
    // Reached when the role check passed: a refused or unanswered SCA step answers now.
    verdict.settle(state, &principal).await?;
    Ok(Json(CardBody { card: render(state, &principal, &stored) }))
}
