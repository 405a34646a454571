//! What the system (not a member) does to a card of any organization: system locks,
//! activation, and the card's audit trail.

use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::issuing::audit::audit_event;
use crate::issuing::events::{card_event, card_outbox, status_event};
use crate::v2::cards::{card_id, CardBody};
use crate::wire::{self, EventBody};
use crate::AppState;
use axum::extract::{Path, State};
use axum::Json;
use cardinal_domain::card::{Outcome, SystemLockReason};
use cardinal_domain::{CardAction, DomainError};
use cardinal_store::*;
use jiff::Timestamp;
use serde::Deserialize;
use serde_json::{json, Value};

#[derive(Deserialize)]
pub struct SystemLockRequest {
    reason: Option<String>,
}

fn lock_reason(raw: &str, pointer: Option<&str>) -> ApiResult<SystemLockReason> {
    SystemLockReason::parse(raw).ok_or_else(|| {
        let detail = "reason must be 1 to 64 lowercase letters, digits or underscores, e.g. fraud_suspicion";
        match pointer {
            Some(p) => ApiError::field("invalid", p, detail),
            None => ApiError::not_found("system lock"),
        }
    })
}

pub async fn add_system_lock(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<SystemLockRequest>,
) -> ApiResult<Json<CardBody>> {
    let reason_text = body.reason.ok_or_else(|| ApiError::field("required", "/reason", "reason is required"))?;
    let reason = lock_reason(&reason_text, Some("/reason"))?;
    system_change(&state, &raw, move |card, now| {
        let changed = card.add_system_lock(reason.clone(), now)?;
        Ok((changed, "system_lock", json!({"system_lock_added": reason.as_str()})))
    })
    .await
}

pub async fn remove_system_lock(
    State(state): State<AppState>,
    _: Operator,
    Path((raw, reason)): Path<(String, String)>,
) -> ApiResult<Json<CardBody>> {
    let reason = lock_reason(&reason, None)?;
    // Idempotent: lifting a lock the card does not have answers the card, unchanged.
    system_change(&state, &raw, move |card, now| {
        let changed = card.remove_system_lock(&reason, now).unwrap_or(Outcome::Unchanged);
        Ok((changed, "system_unlock", json!({"system_lock_removed": reason.as_str()})))
    })
    .await
}

pub async fn activate(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<Json<CardBody>> {
    system_change(&state, &raw, |card, now| {
        let changed = card.apply(CardAction::Activate, now)?;
        Ok((changed, "activate", json!({"pin_set": true})))
    })
    .await
}

type SystemRule =
    dyn FnMut(&mut cardinal_domain::Card, Timestamp) -> Result<(Outcome, &'static str, Value), DomainError> + Send;

/// A change the system (not a member) makes to a card of any organization, audited.
async fn system_change<F>(state: &AppState, raw: &str, rule: F) -> ApiResult<Json<CardBody>>
where
    F: FnMut(&mut cardinal_domain::Card, Timestamp) -> Result<(Outcome, &'static str, Value), DomainError>
        + Send
        + 'static,
{
    let (card, organization) = card_and_organization(state, raw).await?;
    let now = organization.now();
    let request_id = crate::http::trace::request_id();
    let mut rule: Box<SystemRule> = Box::new(rule);
    let stored = state
        .store
        .update_card(
            organization.id,
            card.card.id,
            Box::new(move |stored| {
                let from = stored.card.status(now);
                let (outcome, action, changes) = rule(&mut stored.card, now)?;
                let system = Actor { kind: ActorKind::System, id: None };
                if outcome == Outcome::Unchanged {
                    return Ok(CardWrite::NOTHING);
                }
                let webhook = match action {
                    "activate" => card_event(CardAction::Activate),
                    _ => status_event(from, stored.card.status(now)),
                };
                let events = card_outbox(&stored.card, webhook, now);
                let event = audit_event(&stored.card, action, system, Some(from), now, &request_id, changes);
                Ok(CardWrite { event: Some(event), events, redeems_sca: None })
            }),
        )
        .await?;
    let card = wire::Card::of(&stored, now, &organization.time_zone(), state.links());
    Ok(Json(CardBody { card }))
}

async fn card_and_organization(state: &AppState, raw: &str) -> ApiResult<(StoredCard, Organization)> {
    let id = card_id(raw)?;
    let card = state.store.card_by_id(id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    let organization =
        state.store.organization(card.card.organization_id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    Ok((card, organization))
}

pub async fn events(State(state): State<AppState>, _: Operator, Path(raw): Path<String>) -> ApiResult<Json<Value>> {
    let (card, organization) = card_and_organization(&state, &raw).await?;
    let events = state.store.card_events(organization.id, card.card.id).await?;
    let events: Vec<EventBody> = events.iter().map(EventBody::from).collect();
    Ok(Json(json!({"events": events})))
}
