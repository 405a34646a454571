//! The one path every change to an existing card takes (lock, unlock, lost, stolen, discard,
//! limits, nickname, options, restrictions):
//!
//! 1. extracting a [`CardCall`] authenticates the caller, enforces the route's scope from the
//!    route table and parses the card id (a malformed one is 404);
//! 2. the route's SCA step is checked against the presented session, writing nothing;
//! 3. in the card's transaction, on the card as it is locked: the role check from the one
//!    permission table, then the SCA verdict, the domain transition and the card's validation;
//! 4. the card, its audit event, its webhook events (the outbox) and the spent SCA session
//!    commit together ([`cardinal_store::CardWrite`]);
//! 5. the card is rendered.
//!
//! A handler only declares its action and how its body reads into a change.

use crate::http::auth::Principal;
use crate::http::error::ApiResult;
use crate::issuing::audit::{audit_event, changed_fields, verb};
use crate::issuing::events::{card_event, card_outbox};
use crate::v2::cards::{render, CardBody, CardId};
use crate::v2::sca::ScaStep;
use crate::AppState;
use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::Json;
use cardinal_domain::{rules, Card, CardAction, DomainError};
use cardinal_store::{CardWrite, ScaRedemption, StoredCard};
use jiff::Timestamp;
use serde_json::Value;
use uuid::Uuid;

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

/// A card's change as a handler declares it: what it does to the card at `now`.
pub trait CardRule: FnMut(&mut Card, Timestamp) -> Result<(), DomainError> + Send + 'static {}
impl<R: FnMut(&mut Card, Timestamp) -> Result<(), DomainError> + Send + 'static> CardRule for R {}

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
    let stored = change_card(state, &principal, id, action, verdict.passes(), rule).await?;
    // Reached when the role check passed: a refused or unanswered SCA step answers now.
    verdict.settle(state, &principal).await?;
    Ok(Json(CardBody { card: render(state, &principal, &stored) }))
}

/// The domain transition of a lifecycle action.
pub fn transition(action: CardAction) -> impl CardRule {
    move |card: &mut Card, now| card.apply(action, now).map(|_| ())
}

/// A settings change: any card not in a terminal state (spec §2.2).
pub fn settings(action: CardAction, mut update: impl FnMut(&mut Card) + Send + 'static) -> impl CardRule {
    move |card: &mut Card, now| {
        card.ensure_not_terminal(action, now)?;
        update(card);
        Ok(())
    }
}

/// Step 3 and 4 of the path, in the store's transaction. `sca` is `Some(session to spend)`
/// when the SCA step passed; `None` stops after the role check, writing nothing. A rule that
/// changes nothing writes no card and no event (the session is still spent).
async fn change_card(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: CardAction,
    sca: Option<Option<ScaRedemption>>,
    mut rule: impl CardRule,
) -> ApiResult<StoredCard> {
    let now = principal.now();
    let (who, actor, request_id) = (principal.clone(), principal.actor(), crate::http::trace::request_id());
    let stored = state
        .store
        .update_card(
            principal.organization.id,
            id,
            Box::new(move |stored| {
                who.may(action, stored)?;
                let Some(redeems_sca) = sca else { return Ok(CardWrite::NOTHING) };
                let before = stored.card.clone();
                rule(&mut stored.card, now)?;
                if stored.card == before {
                    return Ok(CardWrite { redeems_sca, ..CardWrite::NOTHING });
                }
                stored.card.updated_at = now;
                DomainError::check(rules::check_card(&stored.card, "/card"))?;
                let changes = changed_fields(&before, &stored.card, now);
                let from = Some(before.status(now));
                let event = audit_event(&stored.card, verb(action), actor.clone(), from, now, &request_id, changes);
                let events = card_outbox(&stored.card, card_event(action), now);
                Ok(CardWrite { event: Some(event), events, redeems_sca })
            }),
        )
        .await?;
    Ok(stored)
}
