//! `POST /v2/cards` and `POST /v2/cards/bulk` (spec §3.2, §3.3): the core checks every order
//! ([`crate::app::cards::create`]), then the SCA step, then the core issues the cards.

use crate::app::cards::create::{self, Creator};
use crate::http::auth::Principal;
use crate::http::body::JsonBodyWithRaw;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::v2::cards::{render, CardBody};
use crate::v2::sca::ScaStep;
use crate::wire::requests::{BulkCreateRequest, CardFields, CreateCardRequest};
use crate::AppState;
use axum::extract::State;

/// `POST /v2/cards`.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    sca: ScaStep,
    request: JsonBodyWithRaw<CreateCardRequest>,
) -> ApiResult<Json<CardBody>> {
    let orders = vec![(request.body.card, "/card".to_owned())];
    let mut created = issue_cards(&state, &principal, sca, orders, &request.json).await?;
    created.pop().map(Json).ok_or_else(ApiError::internal)
}

/// Checks the orders, passes the SCA step (after the checks: a bad request is a 422, not a
/// 428), then issues the cards.
async fn issue_cards(
    state: &AppState,
    principal: &Principal,
    sca: ScaStep,
    orders: Vec<(CardFields, String)>,
    json: &serde_json::Value,
) -> ApiResult<Vec<CardBody>> {
    let creator = Creator { organization: (*principal.organization).clone(), member: principal.member() };
    let cards = create::prepare(&state.app, &creator, orders).await?;
    sca.pass(state, principal, Some(json)).await?;
    let origin = crate::http::trace::origin(principal.now());
    let stored = create::commit(&state.app, &creator, cards, &origin).await?;
    Ok(stored.iter().map(|s| CardBody { card: render(state, principal, s) }).collect())
}

pub use crate::wire::answers::BulkBody;

/// `POST /v2/cards/bulk`: 1..50 items, each `{"card": {...}}` or the bare card object.
pub async fn bulk(
    State(state): State<AppState>,
    principal: Principal,
    sca: ScaStep,
    request: JsonBodyWithRaw<BulkCreateRequest>,
) -> ApiResult<Json<BulkBody>> {
    let orders = request.body.cards.into_iter().enumerate().map(|(i, item)| item.fields(i)).collect();
    Ok(Json(BulkBody { cards: issue_cards(&state, &principal, sca, orders, &request.json).await? }))
}
