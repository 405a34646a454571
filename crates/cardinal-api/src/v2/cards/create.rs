//! `POST /v2/cards` and `POST /v2/cards/bulk` (spec §3.2, §3.3): validate everything, then
//! SCA, then issue — PAN, CVV and expiry generated, the PAN sealed before it reaches the store.

use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::fields::{wrapped, Fields};
use crate::issuing::audit::audit_event;
use crate::issuing::events::{card_event, card_outbox};
use crate::issuing::issue;
use crate::v2::cards::actions::{read_restrictions, LimitsPatch};
use crate::v2::cards::{render, CardBody};
use crate::v2::sca::ScaStep;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use cardinal_domain::card::{Address, CardOptions, TypeOfPrint};
use cardinal_domain::permissions::{reach, Reach};
use cardinal_domain::{catalog, rules, CardAction, CardLevel, Category, Cents, FieldIssue};
use cardinal_store::{AuditEvent, NewCard};
use jiff::{SignedDuration, Timestamp};
use serde::Serialize;
use serde_json::{Map, Value};
use uuid::Uuid;

const BULK_MAX: usize = 50;

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
    options: [Option<bool>; 4],
    ship_to_business: bool,
    address: Option<Address>,
    type_of_print: Option<TypeOfPrint>,
    pre_expires_at: Option<Timestamp>,
}

fn read_request(f: &mut Fields, principal: &Principal) -> Option<CardRequest> {
    if let Some(org) = f.string("organization_id") {
        let o = &principal.organization;
        if org != o.id.to_string() && org != o.slug {
            f.issue("invalid", "organization_id", "organization_id must be your organization's id or slug");
        }
    }
    let level = f.choice("card_level", CardLevel::parse, || {
        let known: Vec<&str> = CardLevel::ALL.iter().map(|l| l.as_str()).collect();
        format!("card_level must be one of: {}", known.join(", "))
    });
    let level = f.required("card_level", level);
    let holder_id = f.uuid("holder_id");
    let holder_id = f.required("holder_id", holder_id);
    let bank_account_id = f.uuid("bank_account_id");
    let bank_account_id = f.required("bank_account_id", bank_account_id);
    let initiator_id = f.uuid("initiator_id");
    let nickname = f.string("nickname").and_then(|n| rules::check_nickname(&n).map_err(|i| f.push_card_issue(i)).ok());
    let (active_days, categories) = read_restrictions(f);
    let limits = LimitsPatch::read(f);
    let options = ["atm_option", "nfc_option", "online_option", "foreign_option"].map(|name| f.boolean(name));
    let ship_to_business = f.boolean("ship_to_business").unwrap_or(false);
    let address = f.object("address").and_then(|a| read_address(f, a));
    let type_of_print =
        f.choice("type_of_print", TypeOfPrint::parse, || "type_of_print must be print or embossed".into());
    let pre_expires_at = f.timestamp("pre_expires_at");
    let design = f.string("card_design");
    let level = level?;
    let card_design = match design {
        Some(code) => match catalog::find(level, &code) {
            Some(d) => Some(d.code),
            None => {
                let offered: Vec<&str> = catalog::designs_of(level).map(|d| d.code).collect();
                f.issue(
                    "not_in_list",
                    "card_design",
                    format!("card_design for {level} must be one of: {}", offered.join(", ")),
                );
                None
            }
        },
        None => None,
    };
    level_requirements(f, level, ship_to_business, address.is_some(), type_of_print, pre_expires_at);
    Some(CardRequest {
        pointer: f.prefix().to_owned(),
        holder_id: holder_id?,
        bank_account_id: bank_account_id?,
        level,
        initiator_id,
        nickname,
        card_design,
        active_days,
        categories,
        limits,
        options,
        ship_to_business,
        address,
        type_of_print,
        pre_expires_at,
    })
}

/// The per-level requirements of spec §3.2's table.
fn level_requirements(
    f: &mut Fields,
    level: CardLevel,
    ship_to_business: bool,
    has_address: bool,
    type_of_print: Option<TypeOfPrint>,
    pre_expires_at: Option<Timestamp>,
) {
    if level == CardLevel::Flash {
        for name in ["payment_lifespan_limit", "pre_expires_at"] {
            if !f.has(name) {
                f.required::<()>(name, None);
            }
        }
    }
    if level.is_physical() && !ship_to_business && !has_address && !f.has("address") {
        f.issue("required", "address", "address is required unless ship_to_business is true");
    }
    if type_of_print.is_some() && level != CardLevel::Plus {
        f.issue("invalid", "type_of_print", "type_of_print only applies to plus cards");
    }
    if pre_expires_at.is_some() && level != CardLevel::Flash {
        f.issue("invalid", "pre_expires_at", "pre_expires_at only applies to flash cards");
    }
}

fn read_address(f: &mut Fields, object: &Map<String, Value>) -> Option<Address> {
    let mut a = Fields::new(object, f.pointer("address"));
    let mut text = |name: &str, max: usize| {
        let value = a.string(name);
        match value.as_deref().map(str::trim) {
            Some(v) if !v.is_empty() && v.chars().count() <= max => Some(v.to_owned()),
            Some(_) => {
                a.issue("invalid", name, format!("{name} must have 1 to {max} characters"));
                None
            }
            None => a.required(name, None),
        }
    };
    let first_line = text("first_line", 100);
    let zipcode = text("zipcode", 20);
    let city = text("city", 100);
    let country = text("country", 2);
    let mut optional = |name: &str, max: usize| {
        let value = a.string(name)?;
        let value = value.trim();
        if value.chars().count() > max {
            a.issue("too_long", name, format!("{name} must have at most {max} characters"));
        }
        (!value.is_empty()).then(|| value.to_owned())
    };
    let contact_name = optional("contact_name", 100);
    let second_line = optional("second_line", 100);
    let third_line = optional("third_line", 100);
    f.issues.extend(a.issues);
    Some(Address {
        contact_name,
        first_line: first_line?,
        second_line,
        third_line,
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
    let [atm, nfc, online, foreign] = r.options;
    let defaults = card.options;
    card.options = CardOptions {
        atm: atm.unwrap_or(defaults.atm),
        nfc: nfc.unwrap_or(defaults.nfc),
        online: online.unwrap_or(defaults.online),
        foreign: foreign.unwrap_or(defaults.foreign),
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
async fn prepare(
    state: &AppState,
    principal: &Principal,
    items: Vec<(&Map<String, Value>, String)>,
) -> ApiResult<Vec<NewCard>> {
    let mut issues = Vec::new();
    let mut requests = Vec::new();
    for (object, pointer) in items {
        let mut f = Fields::new(object, pointer);
        let request = read_request(&mut f, principal);
        issues.append(&mut f.issues);
        requests.extend(request);
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
    body: axum::body::Bytes,
) -> ApiResult<Json<CardBody>> {
    require_creator(&principal)?;
    let json: Value = crate::http::body::parse(&body)?;
    let item = wrapped(&json, "card")?;
    let cards = prepare(&state, &principal, vec![(item, "/card".to_owned())]).await?;
    sca.pass(&state, &principal, Some(&json)).await?;
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
    body: axum::body::Bytes,
) -> ApiResult<Json<BulkBody>> {
    require_creator(&principal)?;
    let json: Value = crate::http::body::parse(&body)?;
    let list = json.get("cards").and_then(Value::as_array).ok_or_else(|| {
        ApiError::field("required", "/cards", "the body must be {\"cards\": [{\"card\": {...}}, ...]}")
    })?;
    if list.is_empty() || list.len() > BULK_MAX {
        let code = if list.is_empty() { "too_short" } else { "too_long" };
        return Err(ApiError::field(code, "/cards", format!("cards must hold 1 to {BULK_MAX} items")));
    }
    let mut items = Vec::with_capacity(list.len());
    for (i, item) in list.iter().enumerate() {
        match (item.get("card").and_then(Value::as_object), item.as_object()) {
            (Some(inner), _) => items.push((inner, format!("/cards/{i}/card"))),
            (None, Some(bare)) => items.push((bare, format!("/cards/{i}"))),
            (None, None) => {
                return Err(ApiError::field("invalid", format!("/cards/{i}"), "each item must be an object"))
            }
        }
    }
    let cards = prepare(&state, &principal, items).await?;
    sca.pass(&state, &principal, Some(&json)).await?;
    Ok(Json(BulkBody { cards: insert(&state, &principal, cards).await? }))
}
