//! `/v2/cards`: list, show, appearances and the lifecycle actions.

use crate::auth::Principal;
use crate::error::{ApiError, ApiResult};
use crate::params::Params;
use crate::wire::{self, Meta};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cardinal_domain::card::Status;
use cardinal_domain::{rules, Card, CardAction, CardLevel, DomainError};
use cardinal_store::{Actor, AuditEvent, CardQuery, CardSortField, StoredCard};
use jiff::Timestamp;
use serde::Serialize;
use uuid::Uuid;

#[derive(Serialize)]
pub struct CardBody {
    pub card: wire::Card,
}

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
    let page = state.store.list_cards(&q).await?;
    let meta = Meta::of(&page, q.page);
    // Each card's document is rendered once per version, as for `show`: a page of 100 mostly
    // copies bytes rendered before.
    let (now, time_zone) = (principal.now(), principal.organization.time_zone());
    let cards = page.items.iter().map(|stored| (stored, wire::CardView::at(&stored.card, now, &time_zone)));
    let body = state.rendered.card_list_body(cards, &meta, state.links()).map_err(unrenderable)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn unrenderable(e: serde_json::Error) -> ApiError {
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
    let stored = visible_card(&state, &principal, id).await?;
    // The most frequent read: its document is rendered once per version of the card.
    let view = wire::CardView::at(&stored.card, principal.now(), &principal.organization.time_zone());
    let body = state.rendered.card_body(&stored, view, state.links()).map_err(unrenderable)?;
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

/// The card if the caller may see it; otherwise 404 whether or not it exists.
pub async fn visible_card(state: &AppState, principal: &Principal, id: Uuid) -> ApiResult<StoredCard> {
    let stored = state.store.card(principal.organization.id, id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    principal.may(CardAction::See, &stored)?;
    Ok(stored)
}

/// Taking the `Principal` is what checks the credential and the route's scope.
pub async fn appearances(State(state): State<AppState>, _caller: Principal) -> ApiResult<Json<serde_json::Value>> {
    Ok(Json(wire::appearances(state.links())))
}

/// Applies `rule` to the card under the store's write lock, after the permission check for
/// `action`, and validates the resulting card. A rule that changes nothing writes nothing;
/// otherwise `updated_at` moves and an audit event records every changed field.
pub async fn change_card<R>(
    state: &AppState,
    principal: &Principal,
    id: Uuid,
    action: CardAction,
    mut rule: R,
) -> ApiResult<StoredCard>
where
    R: FnMut(&mut Card, Timestamp) -> Result<(), DomainError> + Send + 'static,
{
    let now = principal.now();
    let (who, actor, request_id) = (principal.clone(), principal.actor(), crate::trace::request_id());
    let stored = state
        .store
        .update_card(
            principal.organization.id,
            id,
            Box::new(move |stored| {
                who.may(action, stored)?;
                let before = stored.card.clone();
                rule(&mut stored.card, now)?;
                if stored.card == before {
                    return Ok(None);
                }
                stored.card.updated_at = now;
                DomainError::check(rules::check_card(&stored.card, "/card"))?;
                let changes = changed_fields(&before, &stored.card, now);
                Ok(Some(audit_event(
                    &stored.card,
                    verb(action),
                    actor.clone(),
                    Some(before.status(now)),
                    now,
                    &request_id,
                    changes,
                )))
            }),
        )
        .await?;
    Ok(stored)
}

/// `{field: [before, after]}`, in Qonto's names and units, for every field an update or a
/// lifecycle action can change. Compared on the domain card: it runs on the write path.
fn changed_fields(before: &Card, after: &Card, now: Timestamp) -> serde_json::Value {
    fn note<T: PartialEq + Serialize>(
        changes: &mut serde_json::Map<String, serde_json::Value>,
        name: &str,
        old: T,
        new: T,
    ) {
        if old != new {
            changes.insert(name.to_owned(), serde_json::json!([old, new]));
        }
    }
    let mut c = serde_json::Map::new();
    note(&mut c, "status", before.status(now).as_str(), after.status(now).as_str());
    note(
        &mut c,
        "has_only_user_liftable_locks",
        before.has_only_user_liftable_locks(),
        after.has_only_user_liftable_locks(),
    );
    note(&mut c, "nickname", &before.nickname, &after.nickname);
    note(&mut c, "pin_set", before.pin_set, after.pin_set);
    let (o, n) = (&before.options, &after.options);
    note(&mut c, "atm_option", o.atm, n.atm);
    note(&mut c, "nfc_option", o.nfc, n.nfc);
    note(&mut c, "online_option", o.online, n.online);
    note(&mut c, "foreign_option", o.foreign, n.foreign);
    let (o, n) = (&before.limits, &after.limits);
    let euros = wire::Euros;
    note(&mut c, "atm_monthly_limit", euros(o.atm_monthly), euros(n.atm_monthly));
    note(&mut c, "atm_daily_limit", euros(o.atm_daily), euros(n.atm_daily));
    note(&mut c, "atm_daily_limit_option", o.atm_daily_option, n.atm_daily_option);
    note(&mut c, "payment_monthly_limit", euros(o.payment_monthly), euros(n.payment_monthly));
    note(&mut c, "payment_daily_limit", euros(o.payment_daily), euros(n.payment_daily));
    note(&mut c, "payment_daily_limit_option", o.payment_daily_option, n.payment_daily_option);
    note(&mut c, "payment_transaction_limit", euros(o.payment_transaction), euros(n.payment_transaction));
    note(&mut c, "payment_transaction_limit_option", o.payment_transaction_option, n.payment_transaction_option);
    note(&mut c, "payment_lifespan_limit", o.payment_lifespan.map(euros), n.payment_lifespan.map(euros));
    note(&mut c, "active_days", &before.active_days, &after.active_days);
    note(&mut c, "categories", &before.categories, &after.categories);
    serde_json::Value::Object(c)
}

/// The action name audit events record.
pub fn verb(action: CardAction) -> &'static str {
    match action {
        CardAction::ReportLost => "lost",
        CardAction::ReportStolen => "stolen",
        other => other.as_str(),
    }
}

/// An audit event for a change already applied to `card`.
pub fn audit_event(
    card: &Card,
    action: &str,
    actor: Actor,
    from: Option<Status>,
    now: Timestamp,
    request_id: &str,
    changes: serde_json::Value,
) -> AuditEvent {
    AuditEvent {
        id: crate::ids::time_ordered(),
        card_id: card.id,
        action: action.to_owned(),
        actor,
        from_status: from,
        to_status: card.status(now),
        changes,
        request_id: request_id.to_owned(),
        at: now,
    }
}
