//! Changing an existing card: the lifecycle actions (`PUT lock|unlock|lost|stolen|discard`)
//! and the settings updates (`PATCH limits|nickname|options|restrictions`, spec §3.5). Each
//! handler declares its action and reads its body; [`crate::v2::cards::change`] does the rest.

use crate::app::cards::settings::{self as card_settings, LimitsPatch};
use crate::app::issues::Issues;
use crate::http::body::{JsonBody, JsonBodyWithRaw};
use crate::http::error::ApiResult;
use crate::http::json::Json;
use crate::v2::cards::change::{perform, settings, transition, CardCall};
use crate::v2::cards::CardBody;
use crate::wire::requests::{LimitsUpdate, NicknameUpdate, OptionsUpdate, RestrictionsUpdate};
use crate::AppState;
use axum::extract::State;
use cardinal_domain::card::CardOptions;
use cardinal_domain::{rules, CardAction, Transition};

/// `PUT /v2/cards/{id}/<action>`: the lifecycle actions. Unlock's SCA is the route table's.
macro_rules! lifecycle_handler {
    ($($name:ident => $transition:expr),+ $(,)?) => {$(
        pub async fn $name(State(state): State<AppState>, call: CardCall) -> ApiResult<Json<CardBody>> {
            perform(&state, call, CardAction::from($transition), None, transition($transition)).await
        }
    )+};
}

lifecycle_handler! {
    lock => Transition::Lock,
    unlock => Transition::Unlock,
    lost => Transition::ReportLost,
    stolen => Transition::ReportStolen,
    discard => Transition::Discard,
}

/// `PATCH /v2/cards/{id}/limits` — owners and admins, with SCA; checked on the resulting card.
pub async fn limits(
    State(state): State<AppState>,
    call: CardCall,
    request: JsonBodyWithRaw<LimitsUpdate>,
) -> ApiResult<Json<CardBody>> {
    let patch = LimitsPatch::from(&request.body.card);
    let action = CardAction::UpdateLimits;
    perform(&state, call, action, Some(&request.json), settings(action, move |card| patch.apply(card))).await
}

/// `PATCH /v2/cards/{id}/nickname`.
pub async fn nickname(
    State(state): State<AppState>,
    call: CardCall,
    JsonBody(request): JsonBody<NicknameUpdate>,
) -> ApiResult<Json<CardBody>> {
    let mut f = Issues::at("/card");
    let nickname = f.check(rules::check_nickname(&request.card.nickname));
    f.finish()?;
    let nickname = nickname.unwrap_or_default();
    let action = CardAction::UpdateNickname;
    perform(&state, call, action, None, settings(action, move |card| card.nickname = nickname.clone())).await
}

/// `PATCH /v2/cards/{id}/options` — all four options are required (Qonto).
pub async fn options(
    State(state): State<AppState>,
    call: CardCall,
    JsonBody(request): JsonBody<OptionsUpdate>,
) -> ApiResult<Json<CardBody>> {
    let given = request.card;
    let options = CardOptions {
        atm: given.atm_option,
        nfc: given.nfc_option,
        online: given.online_option,
        foreign: given.foreign_option,
    };
    let action = CardAction::UpdateOptions;
    perform(&state, call, action, None, settings(action, move |card| card.options = options)).await
}

/// `PATCH /v2/cards/{id}/restrictions` — `active_days` and/or `categories`.
pub async fn restrictions(
    State(state): State<AppState>,
    call: CardCall,
    JsonBody(request): JsonBody<RestrictionsUpdate>,
) -> ApiResult<Json<CardBody>> {
    let given = request.card;
    let mut f = Issues::at("/card");
    if given.active_days.is_none() && given.categories.is_none() {
        f.add("required", "active_days", "give active_days, categories, or both");
    }
    let (days, categories) = card_settings::restrictions(&mut f, given.active_days, given.categories);
    f.finish()?;
    let action = CardAction::UpdateRestrictions;
    perform(
        &state,
        call,
        action,
        None,
        settings(action, move |card| {
            if let Some(days) = &days {
                card.active_days = days.clone();
            }
            if let Some(categories) = &categories {
                card.categories = categories.clone();
            }
        }),
    )
    .await
}
