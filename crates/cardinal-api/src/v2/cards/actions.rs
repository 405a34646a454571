//! Changing an existing card: the lifecycle actions (`PUT lock|unlock|lost|stolen|discard`)
//! and the settings updates (`PATCH limits|nickname|options|restrictions`, spec §3.5). Each
//! handler declares its action and reads its body; [`crate::v2::cards::change`] does the rest.

use crate::http::body::{JsonBody, JsonBodyWithRaw};
use crate::http::error::ApiResult;
use crate::http::fields::Issues;
use crate::v2::cards::change::{perform, settings, transition, CardCall};
use crate::v2::cards::CardBody;
use crate::wire::requests::{LimitFields, LimitsUpdate, NicknameUpdate, OptionsUpdate, RestrictionsUpdate};
use crate::wire::Limit;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use cardinal_domain::card::CardOptions;
use cardinal_domain::{rules, Card, CardAction, Cents, Transition};

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

/// The requested limit changes; `None` leaves a limit as it is.
#[derive(Debug, Default, Clone, Copy)]
pub struct LimitsPatch {
    atm_monthly: Option<Cents>,
    atm_daily: Option<Cents>,
    atm_daily_option: Option<bool>,
    payment_monthly: Option<Cents>,
    payment_daily: Option<Cents>,
    payment_daily_option: Option<bool>,
    payment_transaction: Option<Cents>,
    payment_transaction_option: Option<bool>,
    payment_lifespan: Option<Cents>,
}

impl From<&LimitFields> for LimitsPatch {
    fn from(given: &LimitFields) -> LimitsPatch {
        let cents = |limit: Option<Limit>| limit.map(|l| l.0);
        LimitsPatch {
            atm_monthly: cents(given.atm_monthly_limit),
            atm_daily: cents(given.atm_daily_limit),
            atm_daily_option: given.atm_daily_limit_option,
            payment_monthly: cents(given.payment_monthly_limit),
            payment_daily: cents(given.payment_daily_limit),
            payment_daily_option: given.payment_daily_limit_option,
            payment_transaction: cents(given.payment_transaction_limit),
            payment_transaction_option: given.payment_transaction_limit_option,
            payment_lifespan: cents(given.payment_lifespan_limit),
        }
    }
}

impl LimitsPatch {
    pub fn payment_monthly(&self) -> Option<Cents> {
        self.payment_monthly
    }

    pub fn apply(&self, card: &mut Card) {
        let l = &mut card.limits;
        let set = |target: &mut Cents, value: Option<Cents>| *target = value.unwrap_or(*target);
        let flag = |target: &mut bool, value: Option<bool>| *target = value.unwrap_or(*target);
        set(&mut l.atm_monthly, self.atm_monthly);
        set(&mut l.atm_daily, self.atm_daily);
        flag(&mut l.atm_daily_option, self.atm_daily_option);
        set(&mut l.payment_monthly, self.payment_monthly);
        set(&mut l.payment_daily, self.payment_daily);
        flag(&mut l.payment_daily_option, self.payment_daily_option);
        set(&mut l.payment_transaction, self.payment_transaction);
        flag(&mut l.payment_transaction_option, self.payment_transaction_option);
        if self.payment_lifespan.is_some() {
            l.payment_lifespan = self.payment_lifespan;
        }
    }
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
    let (days, categories) = read_restrictions(&mut f, given.active_days, given.categories);
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

/// The restriction fields of a create or update body, normalized by the card rules.
pub fn read_restrictions(
    f: &mut Issues,
    days: Option<Vec<i64>>,
    categories: Option<Vec<String>>,
) -> (Option<Vec<i8>>, Option<Vec<cardinal_domain::Category>>) {
    let days = days.and_then(|d| f.check(rules::check_active_days(&d)));
    let categories = categories.and_then(|c| f.check(rules::check_categories(&c)));
    (days, categories)
}
