//! `POST /v2/cards` and `POST /v2/cards/bulk` (spec §3.2, §3.3): validate everything, then
//! SCA, then issue — PAN, CVV and expiry generated, the PAN sealed before it reaches the store.

use crate::http::auth::Principal;
use crate::http::body::JsonBodyWithRaw;
use crate::http::error::{ApiError, ApiResult};
use crate::http::fields::Issues;
use crate::issuing::audit::audit_event;
use crate::issuing::events::{card_event, card_outbox};
use crate::issuing::issue;
use crate::v2::cards::actions::{read_restrictions, LimitsPatch};
use crate::v2::cards::{render, CardBody};
use crate::v2::sca::ScaStep;
use crate::wire::requests::{AddressFields, BulkCreateRequest, CardFields, CreateCardRequest, OptionalOptions};
use crate::AppState;
use axum::extract::State;
use axum::Json;
use cardinal_domain::card::{Address, CardOptions, TypeOfPrint};
use cardinal_domain::permissions::{reach, Reach};
use cardinal_domain::{catalog, rules, CardAction, CardLevel, Category, Cents, FieldIssue};
use cardinal_store::{AuditEvent, NewCard};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::Value;
use uuid::Uuid;

/// A create request that passed the shape checks; references are resolved later.
struct CardRequest {
    pointer: String,
    holder_id: Uuid,
    bank_account_id: Uuid,
    level: CardLevel,
    initiator_id: Option<Uuid>,
    nickname: Option<String>,
    card_design: Option<&'static str>,
    active_days: Option<Vec<i8>>,
    categories: Option<Vec<Category>>,
    limits: LimitsPatch,
    options: OptionalOptions,
    ship_to_business: bool,
    address: Option<Address>,
    type_of_print: Option<TypeOfPrint>,
    pre_expires_at: Option<Timestamp>,
}

fn read_request(fields: CardFields, f: &mut Issues, principal: &Principal) -> CardRequest {
    if let Some(org) = &fields.organization_id {
        let o = &principal.organization;
        if *org != o.id.to_string() && *org != o.slug {
            f.add("invalid", "organization_id", "organization_id must be your organization's id or slug");
        }
    }
    let level = fields.card_level;
    let nickname = fields.nickname.and_then(|n| f.check(rules::check_nickname(&n)));
    let (active_days, categories) = read_restrictions(f, fields.active_days, fields.categories);
    let card_design = fields.card_design.and_then(|code| match catalog::find(level, &code) {
        Some(design) => Some(design.code),
        None => {
            let offered: Vec<&str> = catalog::designs_of(level).map(|d| d.code).collect();
            let detail = format!("card_design for {level} must be one of: {}", offered.join(", "));
            f.add("not_in_list", "card_design", detail);
            None
        }
    });
    let address = fields.address.and_then(|a| read_address(f, a));
    let request = CardRequest {
        pointer: f.prefix().to_owned(),
        holder_id: fields.holder_id,
        bank_account_id: fields.bank_account_id,
        level,
        initiator_id: fields.initiator_id,
        nickname,
        card_design,
        active_days,
        categories,
        limits: LimitsPatch::from(&fields.limits),
        options: fields.options,
        ship_to_business: fields.ship_to_business.unwrap_or(false),
        address,
        type_of_print: fields.type_of_print,
        pre_expires_at: fields.pre_expires_at.map(|t| t.0),
    };
    level_requirements(f, &request, fields.limits.payment_lifespan_limit.is_some());
    request
}

/// The per-level requirements of spec §3.2's table.
fn level_requirements(f: &mut Issues, r: &CardRequest, has_lifespan_limit: bool) {
    if r.level == CardLevel::Flash {
        if !has_lifespan_limit {
            f.add("required", "payment_lifespan_limit", "payment_lifespan_limit is required");
        }
        if r.pre_expires_at.is_none() {
            f.add("required", "pre_expires_at", "pre_expires_at is required");
        }
    }
    if r.level.is_physical() && !r.ship_to_business && r.address.is_none() && !f.has_issue("address") {
        f.add("required", "address", "address is required unless ship_to_business is true");
    }
    if r.type_of_print.is_some() && r.level != CardLevel::Plus {
        f.add("invalid", "type_of_print", "type_of_print only applies to plus cards");
    }
    if r.pre_expires_at.is_some() && r.level != CardLevel::Flash {
        f.add("invalid", "pre_expires_at", "pre_expires_at only applies to flash cards");
    }
}

/// An address with its lines trimmed; a required line that is only spaces is refused.
fn read_address(f: &mut Issues, a: AddressFields) -> Option<Address> {
    let mut required = |name: &str, value: String| {
        let trimmed = value.trim();
        if trimmed.is_empty() {
            f.add("invalid", &format!("address/{name}"), format!("{name} must not be blank"));
            return None;
        }
        Some(trimmed.to_owned())
    };
    let first_line = required("first_line", a.first_line);
    let zipcode = required("zipcode", a.zipcode);
    let city = required("city", a.city);
    let country = required("country", a.country);
    let optional = |value: Option<String>| value.map(|v| v.trim().to_owned()).filter(|v| !v.is_empty());
    Some(Address {
        contact_name: optional(a.contact_name),
        first_line: first_line?,
        second_line: optional(a.second_line),
        third_line: optional(a.third_line),
        zipcode: zipcode?,
        city: city?,
        country: country?.to_uppercase(),
    })
}

/// Checks the references against the organization, issues the card and validates the result.
/// `Ok(None)` when the request has issues (added to `issues`).
async fn build(
    state: &AppState,
    principal: &Principal,
    r: CardRequest,
    issues: &mut Vec<FieldIssue>,
) -> ApiResult<Option<NewCard>> {
    let org = &principal.organization;
    let at = |name: &str| format!("{}/{name}", r.pointer);
    let holder = state.store.membership(org.id, r.holder_id).await?.filter(|m| m.status == "active");
    if holder.is_none() {
        issues.push(FieldIssue::invalid(at("holder_id"), "holder_id must be an active member of your organization"));
    }
    let account = state.store.bank_account(org.id, r.bank_account_id).await?;
    if account.is_none() {
        issues.push(FieldIssue::invalid(
            at("bank_account_id"),
            "bank_account_id must be one of your organization's accounts",
        ));
    }
    if let Some(initiator) = r.initiator_id {
        if state.store.membership(org.id, initiator).await?.is_none() {
            issues.push(FieldIssue::invalid(at("initiator_id"), "initiator_id must be a member of your organization"));
        }
    }
    let now = principal.now();
    if let Some(end) = r.pre_expires_at {
        let latest = now.saturating_add(SignedDuration::from_hours(24 * 365)).unwrap_or(Timestamp::MAX);
        if end <= now || end > latest {
            issues.push(FieldIssue::invalid(
                at("pre_expires_at"),
                "pre_expires_at must be in the future and at most one year away",
            ));
        }
    }
    let (Some(holder), Some(account)) = (holder, account) else { return Ok(None) };
    let monthly = r.limits.payment_monthly().unwrap_or_else(|| rules::default_payment_monthly(r.level));
    let initiator = r.initiator_id.unwrap_or(principal.membership.id);
    let tz = org.time_zone();
    let (mut card, secrets) =
        issue::card(&state.vault, r.level, &holder, account.id, initiator, monthly, Cents::ZERO, now, &tz);
    if r.level == CardLevel::Flash {
        // A flash card's budget is its lifespan limit; the monthly limit follows it.
        card.limits.payment_monthly = Cents::euros(rules::FLASH_LIFESPAN_MAX_EUROS);
        card.limits.payment_daily = card.limits.payment_monthly;
        card.limits.payment_transaction = card.limits.payment_monthly;
        card.pre_expires_at = r.pre_expires_at;
    }
    r.limits.apply(&mut card);
    let (given, defaults) = (r.options, card.options);
    card.options = CardOptions {
        atm: given.atm_option.unwrap_or(defaults.atm),
        nfc: given.nfc_option.unwrap_or(defaults.nfc),
        online: given.online_option.unwrap_or(defaults.online),
        foreign: given.foreign_option.unwrap_or(defaults.foreign),
    };
    card.nickname = r.nickname.unwrap_or(card.nickname);
    card.card_design = r.card_design.map(str::to_owned).unwrap_or(card.card_design);
    card.active_days = r.active_days.unwrap_or(card.active_days);
    card.categories = r.categories.unwrap_or(card.categories);
    card.ship_to_business = r.ship_to_business;
    card.address = r.address;
    card.type_of_print = r.type_of_print.or(card.type_of_print);
    let problems = rules::check_card(&card);
    if !problems.is_empty() {
        issues.extend(problems.iter().map(|issue| crate::http::error::placed(issue, &r.pointer)));
        return Ok(None);
    }
    Ok(Some(NewCard { card, secrets }))
}

fn require_creator(principal: &Principal) -> ApiResult<()> {
    if reach(principal.role(), CardAction::Create) != Reach::All {
        let role = principal.role();
        return Err(ApiError::forbidden(format!(
            "{} {role} may not create cards",
            cardinal_domain::error::article(role.as_str())
        )));
    }
    Ok(())
}

/// Validates every item and builds the cards; all or nothing.
async fn prepare(state: &AppState, principal: &Principal, items: Vec<(CardFields, String)>) -> ApiResult<Vec<NewCard>> {
    let mut issues = Vec::new();
    let mut requests = Vec::new();
    for (fields, pointer) in items {
        let mut f = Issues::at(pointer);
        requests.push(read_request(fields, &mut f, principal));
        issues.append(&mut f.list);
    }
    let mut cards = Vec::new();
    for request in requests {
        cards.extend(build(state, principal, request, &mut issues).await?);
    }
    if !issues.is_empty() {
        return Err(ApiError::issues(issues));
    }
    Ok(cards)
}

async fn insert(state: &AppState, principal: &Principal, cards: Vec<NewCard>) -> ApiResult<Vec<CardBody>> {
    let now = principal.now();
    let request_id = crate::http::trace::request_id();
    let events: Vec<AuditEvent> = cards
        .iter()
        .map(|new| audit_event(&new.card, "create", principal.actor(), None, now, &request_id, shipping(&new.card)))
        .collect();
    let stored = insert_with_fresh_pans(state, cards, events).await?;
    Ok(stored.iter().map(|s| CardBody { card: render(state, principal, s) }).collect())
}

/// Where a physical card is shipped is not part of Qonto's card object; the creation event
/// shows it back (`GET /_sandbox/cards/{id}/events`).
fn shipping(card: &cardinal_domain::Card) -> Value {
    match &card.address {
        Some(address) => serde_json::json!({"ship_to_business": card.ship_to_business, "address": address}),
        None if card.level.is_physical() => serde_json::json!({"ship_to_business": card.ship_to_business}),
        None => serde_json::json!({}),
    }
}

/// PANs are random within the BIN, so among millions of cards two can collide; the store's
/// uniqueness check catches it and the cards get new numbers.
pub async fn insert_with_fresh_pans(
    state: &AppState,
    mut cards: Vec<NewCard>,
    events: Vec<AuditEvent>,
) -> ApiResult<Vec<cardinal_store::StoredCard>> {
    const ATTEMPTS: usize = 5;
    for attempt in 1..=ATTEMPTS {
        // Made again on each attempt: a new number shows in the event's `masked_pan`.
        let outbox =
            cards.iter().flat_map(|new| card_outbox(&new.card, card_event(CardAction::Create), new.card.created_at));
        match state.store.insert_cards(cards.clone(), events.clone(), outbox.collect()).await {
            Err(cardinal_store::StoreError::Conflict(cause))
                if attempt < ATTEMPTS && cause.contains("pan_fingerprint") =>
            {
                for new in &mut cards {
                    issue::reissue_pan(&state.vault, new);
                }
            }
            other => return Ok(other?),
        }
    }
    Err(ApiError::internal())
}

/// `POST /v2/cards`.
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    sca: ScaStep,
    request: JsonBodyWithRaw<CreateCardRequest>,
) -> ApiResult<Json<CardBody>> {
    require_creator(&principal)?;
    let cards = prepare(&state, &principal, vec![(request.body.card, "/card".to_owned())]).await?;
    sca.pass(&state, &principal, Some(&request.json)).await?;
    let mut created = insert(&state, &principal, cards).await?;
    created.pop().map(Json).ok_or_else(ApiError::internal)
}

/// `{"cards": [{"card": {...}}, ...]}`.
#[derive(Serialize, schemars::JsonSchema)]
#[schemars(rename = "BulkCards")]
pub struct BulkBody {
    cards: Vec<CardBody>,
}

/// `POST /v2/cards/bulk`: 1..50 items, each `{"card": {...}}` or the bare card object.
pub async fn bulk(
    State(state): State<AppState>,
    principal: Principal,
    sca: ScaStep,
    request: JsonBodyWithRaw<BulkCreateRequest>,
) -> ApiResult<Json<BulkBody>> {
    require_creator(&principal)?;
    let items = request.body.cards.into_iter().enumerate().map(|(i, item)| item.fields(i)).collect();
    let cards = prepare(&state, &principal, items).await?;
    sca.pass(&state, &principal, Some(&request.json)).await?;
    Ok(Json(BulkBody { cards: insert(&state, &principal, cards).await? }))
}
