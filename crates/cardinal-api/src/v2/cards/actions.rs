//! Changing an existing card: the lifecycle actions (`PUT lock|unlock|lost|stolen|discard`)
//! and the settings updates (`PATCH limits|nickname|options|restrictions`, spec §3.5). Each
//! handler declares its action and reads its body; [`crate::v2::cards::change`] does the rest.

use crate::http::error::ApiResult;
use crate::http::fields::{wrapped, Fields};
use crate::v2::cards::change::{perform, settings, transition, CardCall};
use crate::v2::cards::CardBody;
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::Json;
use cardinal_domain::card::CardOptions;
use cardinal_domain::{rules, Card, CardAction, Cents, Transition};
use serde_json::Value;

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

impl LimitsPatch {
    /// Reads the limit fields of a create or update body.
    pub fn read(f: &mut Fields) -> LimitsPatch {
        LimitsPatch {
            atm_monthly: f.limit("atm_monthly_limit"),
            atm_daily: f.limit("atm_daily_limit"),
            atm_daily_option: f.boolean("atm_daily_limit_option"),
            payment_monthly: f.limit("payment_monthly_limit"),
            payment_daily: f.limit("payment_daily_limit"),
            payment_daily_option: f.boolean("payment_daily_limit_option"),
            payment_transaction: f.limit("payment_transaction_limit"),
            payment_transaction_option: f.boolean("payment_transaction_limit_option"),
            payment_lifespan: f.limit("payment_lifespan_limit"),
        }
    }

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

/// Parses `{"card": {...}}`, collecting every field issue, with `read`.
fn card_body<T>(body: &Value, read: impl FnOnce(&mut Fields) -> T) -> ApiResult<T> {
    let mut f = Fields::new(wrapped(body, "card")?, "/card");
    let parsed = read(&mut f);
    f.finish()?;
    Ok(parsed)
}

/// `PATCH /v2/cards/{id}/limits` — owners and admins, with SCA; checked on the resulting card.
pub async fn limits(State(state): State<AppState>, call: CardCall, body: Bytes) -> ApiResult<Json<CardBody>> {
    let json = crate::http::body::parse::<Value>(&body)?;
    let patch = card_body(&json, LimitsPatch::read)?;
    let action = CardAction::UpdateLimits;
    perform(&state, call, action, Some(&json), settings(action, move |card| patch.apply(card))).await
}

/// `PATCH /v2/cards/{id}/nickname`.
pub async fn nickname(State(state): State<AppState>, call: CardCall, body: Bytes) -> ApiResult<Json<CardBody>> {
    let nickname = card_body(&crate::http::body::parse::<Value>(&body)?, |f| {
        let raw = f.string("nickname");
        let raw = f.required("nickname", raw)?;
        rules::check_nickname(&raw).map_err(|issue| f.push_card_issue(issue)).ok()
    })?
    .unwrap_or_default();
    let action = CardAction::UpdateNickname;
    perform(&state, call, action, None, settings(action, move |card| card.nickname = nickname.clone())).await
}

/// `PATCH /v2/cards/{id}/options` — all four options are required (Qonto).
pub async fn options(State(state): State<AppState>, call: CardCall, body: Bytes) -> ApiResult<Json<CardBody>> {
    let [atm, nfc, online, foreign] = card_body(&crate::http::body::parse::<Value>(&body)?, |f| {
        ["atm_option", "nfc_option", "online_option", "foreign_option"].map(|name| {
            let value = f.boolean(name);
            f.required(name, value).unwrap_or_default()
        })
    })?;
    let options = CardOptions { atm, nfc, online, foreign };
    let action = CardAction::UpdateOptions;
    perform(&state, call, action, None, settings(action, move |card| card.options = options)).await
}

/// `PATCH /v2/cards/{id}/restrictions` — `active_days` and/or `categories`.
pub async fn restrictions(State(state): State<AppState>, call: CardCall, body: Bytes) -> ApiResult<Json<CardBody>> {
    let (days, categories) = card_body(&crate::http::body::parse::<Value>(&body)?, |f| {
        if !f.has("active_days") && !f.has("categories") {
            f.issue("required", "active_days", "give active_days, categories, or both");
        }
        read_restrictions(f)
    })?;
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

/// The restriction fields of a create or update body, validated.
pub fn read_restrictions(f: &mut Fields) -> (Option<Vec<i8>>, Option<Vec<cardinal_domain::Category>>) {
    let days =
        f.integers("active_days").and_then(|d| rules::check_active_days(&d).map_err(|i| f.push_card_issue(i)).ok());
    let categories =
        f.strings("categories").and_then(|c| rules::check_categories(&c).map_err(|i| f.push_card_issue(i)).ok());
    (days, categories)
}
