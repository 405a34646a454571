//! `/v2/cards`: list, show and appearances here; creation, the actions on one card and the
//! data view in their modules.

pub mod actions;
pub mod change;
pub mod create;
pub mod data_view;

use crate::app::cards::expiry;
use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::{json_bytes, Json};
use crate::http::params::Params;
use crate::wire::{self, Meta};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::response::Response;
use cardinal_domain::card::Status;
use cardinal_domain::card::Windows;
use cardinal_domain::{CardAction, CardLevel};
use cardinal_store::{CardQuery, CardSortField, StoredCard};
use std::sync::Arc;
use uuid::Uuid;

pub use crate::wire::answers::CardBody;

/// A path id that is not a UUID names no card: 404, like an unknown one (spec §3).
pub fn card_id(raw: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(raw).map_err(|_| ApiError::not_found("card"))
}

/// The `{id}` of a card route, parsed once: a malformed one is a 404, like an unknown card.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CardId(pub Uuid);

impl<S: Send + Sync> axum::extract::FromRequestParts<S> for CardId {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> ApiResult<CardId> {
        let Path(raw) =
            Path::<String>::from_request_parts(parts, state).await.map_err(|_| ApiError::not_found("card"))?;
        card_id(&raw).map(CardId)
    }
}

pub fn render(state: &AppState, principal: &Principal, stored: &StoredCard) -> wire::Card {
    wire::Card::of(stored, principal.now(), &principal.organization.time_zone(), state.links())
}

pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Response> {
    let params = Params::parse(query.as_deref());
    let q = card_query(&params, &principal)?;
    // A read replica may serve the list (--read-database); an expiry it shows due is settled
    // on the primary, which reads the card again under its lock.
    let page = cardinal_store::staleness::may_be_stale(state.store.list_cards(&q)).await?;
    settle_expiries(&state, &principal, page.items.iter().map(|stored| &**stored)).await;
    let meta = Meta::of(&page, q.page);
    // Each card's document is rendered once per version, as for `show`: a page of 100 mostly
    // copies bytes rendered before.
    let now = principal.now();
    let windows = Windows::at(now, &principal.organization.time_zone());
    let cards = page.items.iter().map(|stored| (stored, wire::CardView::in_windows(&stored.card, now, windows)));
    let body = state.rendered.card_list_body(cards, &meta, state.links()).map_err(unrenderable)?;
    Ok(json_bytes(body))
}

fn unrenderable(e: cardinal_json::Error) -> ApiError {
    tracing::error!(error = %e, "a card could not be rendered");
    ApiError::internal()
}

fn card_query(params: &Params, principal: &Principal) -> ApiResult<CardQuery> {
    let mut q = CardQuery::all(principal.organization.id, principal.now());
    q.visibility = principal.card_visibility();
    q.search = params.one("query").map(str::trim).filter(|s| !s.is_empty()).map(str::to_owned);
    q.holder_ids = params.many_uuids("holder_ids")?;
    q.bank_account_ids = params.many_uuids("bank_account_ids")?;
    q.ids = params.many_uuids("ids")?;
    let statuses: Vec<&str> = Status::ALL.iter().map(|s| s.as_str()).collect();
    q.statuses = params.many_in_list("statuses", Status::parse, &statuses)?;
    let levels: Vec<&str> = CardLevel::ALL.iter().map(|l| l.as_str()).collect();
    q.levels = params.many_in_list("card_levels", CardLevel::parse, &levels)?;
    (q.sort, q.descending) = sort(params.one("sort_by"))?;
    q.page = params.page()?;
    Ok(q)
}

/// Every `sort_by` value [`sort`] takes (a field alone sorts ascending), for the OpenAPI document.
pub const SORTS: [&str; 12] = [
    "status",
    "status:asc",
    "status:desc",
    "nickname",
    "nickname:asc",
    "nickname:desc",
    "last_activity_at",
    "last_activity_at:asc",
    "last_activity_at:desc",
    "created_at",
    "created_at:asc",
    "created_at:desc",
];

/// `sort_by=<status|nickname|last_activity_at|created_at>:<asc|desc>`; default `created_at:desc`.
fn sort(raw: Option<&str>) -> ApiResult<(CardSortField, bool)> {
    let Some(raw) = raw else { return Ok((CardSortField::CreatedAt, true)) };
    let (field, direction) = raw.split_once(':').unwrap_or((raw, "asc"));
    let field = match field {
        "status" => CardSortField::Status,
        "nickname" => CardSortField::Nickname,
        "last_activity_at" => CardSortField::LastActivityAt,
        "created_at" => CardSortField::CreatedAt,
        _ => None.ok_or_else(|| {
            ApiError::parameter(
                "not_in_list",
                "sort_by",
                format!("sort_by field {field:?} is not one of: status, nickname, last_activity_at, created_at"),
            )
        })?,
    };
    let descending = match direction {
        "asc" => false,
        "desc" => true,
        _ => {
            return Err(ApiError::parameter(
                "not_in_list",
                "sort_by",
                format!("sort_by direction {direction:?} is not asc or desc"),
            ))
        }
    };
    Ok((field, descending))
}

pub async fn show(State(state): State<AppState>, principal: Principal, CardId(id): CardId) -> ApiResult<Response> {
    let stored = cardinal_store::staleness::may_be_stale(card_for(&state, &principal, id, CardAction::See)).await?;
    settle_expiries(&state, &principal, [&*stored].into_iter()).await;
    // The most frequent read: its document is rendered once per version of the card.
    let view = wire::CardView::at(&stored.card, principal.now(), &principal.organization.time_zone());
    let body = state.rendered.card_body(&stored, view, state.links()).map_err(unrenderable)?;
    Ok(json_bytes(body))
}

/// A read that shows a card `expired` whose expiry is not stored yet stores it first (with its
/// `cards.expired` event); what it answers does not change, the card read as expired already.
async fn settle_expiries(state: &AppState, principal: &Principal, cards: impl Iterator<Item = &StoredCard>) {
    let now = principal.now();
    let due: Vec<Uuid> = cards.filter(|c| c.card.expiry_due(now)).map(|c| c.card.id).collect();
    if !due.is_empty() {
        expiry::settle(&state.app, principal.organization.id, &crate::http::trace::origin(now), due).await;
    }
}

/// The card, loaded once, if the permission table lets the caller do `action` on it: 404 for
/// a card they may not see (whether or not it exists), 403 for one they see but may not act on.
pub async fn card_for(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: CardAction,
) -> ApiResult<Arc<StoredCard>> {
    let stored = state.store.card(principal.organization.id, id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    principal.may(action, &stored)?;
    Ok(stored)
}

/// Taking the `Principal` is what checks the credential and the route's scope.
pub async fn appearances(State(state): State<AppState>, _caller: Principal) -> ApiResult<Json<wire::Appearances>> {
    Ok(Json(wire::appearances(state.links())))
}
