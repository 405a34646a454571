//! What the system (not a member) does to a card of any organization: system locks,
//! activation, and the card's audit trail.

use crate::app::cards::change::{by_system, SystemChange};
use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::v2::cards::{card_id, CardBody};
use crate::wire::answers::Events;
use crate::wire::requests::SystemLockRequest;
use crate::wire::{self, EventBody};
use crate::AppState;
use axum::extract::{Path, State};
use cardinal_domain::card::SystemLockReason;
use cardinal_store::*;
use std::sync::Arc;

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
    let reason = lock_reason(&body.reason, Some("/reason"))?;
    system_change(&state, &raw, SystemChange::AddLock(reason)).await
}

pub async fn remove_system_lock(
    State(state): State<AppState>,
    _: Operator,
    Path((raw, reason)): Path<(String, String)>,
) -> ApiResult<Json<CardBody>> {
    let reason = lock_reason(&reason, None)?;
    // Idempotent: lifting a lock the card does not have answers the card, unchanged.
    system_change(&state, &raw, SystemChange::RemoveLock(reason)).await
}

pub async fn activate(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<Json<CardBody>> {
    system_change(&state, &raw, SystemChange::Activate).await
}

/// A change the system (not a member) makes to a card of any organization, through the
/// application core, audited.
async fn system_change(state: &AppState, raw: &str, change: SystemChange) -> ApiResult<Json<CardBody>> {
    let (card, organization) = card_and_organization(state, raw).await?;
    let now = organization.now();
    let origin = crate::http::trace::origin(now);
    let (stored, _) = by_system(&state.app, organization.id, card.card.id, change, origin).await?;
    let card = wire::Card::of(&stored, now, &organization.time_zone(), state.links());
    Ok(Json(CardBody { card }))
}

async fn card_and_organization(state: &AppState, raw: &str) -> ApiResult<(Arc<StoredCard>, Organization)> {
    let id = card_id(raw)?;
    let card = state.store.card_by_id(id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    let organization =
        state.store.organization(card.card.organization_id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    Ok((card, organization))
}

/// The most `newest=` may ask for.
pub const NEWEST_EVENTS_MAX: u32 = 10_000;

/// A card's audit events, oldest first: all of them, or with `?newest=N` only the latest `N`
/// (a card changed every day for years has thousands).
pub async fn events(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> ApiResult<Json<Events>> {
    let newest =
        crate::http::params::Params::parse(query.as_deref()).optional_bounded("newest", 1, NEWEST_EVENTS_MAX)?;
    let (card, organization) = card_and_organization(&state, &raw).await?;
    Ok(Json(Events { events: events_of(&state, organization.id, card.card.id, newest).await? }))
}

/// A card's events as the operator API and the console show them, oldest first; only the
/// `newest` so many when given.
pub async fn events_of(
    state: &AppState,
    org: uuid::Uuid,
    card: uuid::Uuid,
    newest: Option<u32>,
) -> ApiResult<Vec<EventBody>> {
    Ok(state.store.card_events(org, card, newest).await?.iter().map(EventBody::from).collect())
}
