//! Creating cards (spec §3.2, §3.3): every order checked (its fields' rules, its level's
//! requirements, its holder and account in the creator's organization), then, after whatever
//! step the door puts between (the `/v2` API's SCA), issued — PAN, CVV and expiry generated,
//! the PAN sealed before it reaches the store — all or nothing.

use crate::cards::change::Origin;
use crate::cards::member::Member;
use crate::cards::settings::{restrictions, LimitsPatch};
use crate::issues::Issues;
use crate::issuing::audit::audit_event;
use crate::issuing::events::{card_event, card_outbox};
use crate::issuing::issue;
use crate::wire::requests::{AddressFields, CardFields, OptionalOptions};
use crate::App;
use cardinal_domain::card::{Address, CardOptions, TypeOfPrint};
use cardinal_domain::permissions::{reach, Reach};
use cardinal_domain::{catalog, rules, CardAction, CardLevel, Category, Cents, DomainError, FieldIssue};
use cardinal_store::{AuditEvent, NewCard, Organization, StoreError, StoreResult, StoredCard};
use jiff::{SignedDuration, Timestamp};
use serde_json::{json, Value};
use uuid::Uuid;

/// Who creates cards: the organization (its clock, its members and accounts) and the member
/// acting.
pub struct Creator {
    pub organization: Organization,
    pub member: Member,
}

/// A create request that passed the shape checks; references are resolved later.
struct CardOrder {
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

fn read_order(fields: CardFields, f: &mut Issues, creator: &Creator) -> CardOrder {
    if let Some(org) = &fields.organization_id {
        let o = &creator.organization;
        if *org != o.id.to_string() && *org != o.slug {
            f.add("invalid", "organization_id", "organization_id must be your organization's id or slug");
        }
    }
    let level = fields.card_level;
    let nickname = fields.nickname.and_then(|n| f.check(rules::check_nickname(&n)));
    let (active_days, categories) = restrictions(f, fields.active_days, fields.categories);
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
    let request = CardOrder {
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
fn level_requirements(f: &mut Issues, r: &CardOrder, has_lifespan_limit: bool) {
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
    app: &App,
    creator: &Creator,
    r: CardOrder,
    issues: &mut Vec<FieldIssue>,
) -> StoreResult<Option<NewCard>> {
    let org = &creator.organization;
    let at = |name: &str| format!("{}/{name}", r.pointer);
    let holder = app.store.membership(org.id, r.holder_id).await?.filter(|m| m.status == "active");
    if holder.is_none() {
        issues.push(FieldIssue::invalid(at("holder_id"), "holder_id must be an active member of your organization"));
    }
    let account = app.store.bank_account(org.id, r.bank_account_id).await?;
    if account.is_none() {
        issues.push(FieldIssue::invalid(
            at("bank_account_id"),
            "bank_account_id must be one of your organization's accounts",
        ));
    }
    if let Some(initiator) = r.initiator_id {
        if app.store.membership(org.id, initiator).await?.is_none() {
            issues.push(FieldIssue::invalid(at("initiator_id"), "initiator_id must be a member of your organization"));
        }
    }
    let now = org.now();
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
    let initiator = r.initiator_id.unwrap_or(creator.member.membership_id);
    let tz = org.time_zone();
    let (mut card, secrets) =
        issue::card(&app.vault, r.level, &holder, account.id, initiator, monthly, Cents::ZERO, now, &tz);
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
        issues.extend(problems.iter().map(|issue| issue.at(&r.pointer)));
        return Ok(None);
    }
    Ok(Some(NewCard { card, secrets }))
}

fn require_creator(member: &Member) -> Result<(), DomainError> {
    if reach(member.role, CardAction::Create) != Reach::All {
        let role = member.role;
        let article = cardinal_domain::error::article(role.as_str());
        return Err(DomainError::Forbidden(format!("{article} {role} may not create cards")));
    }
    Ok(())
}

/// Checks every order (each at its pointer: `/card`, `/cards/3/card`) and builds the cards,
/// numbers sealed, writing nothing: every problem of every order at once, or the cards. The
/// creator's role is checked first.
pub async fn prepare(app: &App, creator: &Creator, orders: Vec<(CardFields, String)>) -> StoreResult<Vec<NewCard>> {
    require_creator(&creator.member)?;
    let mut issues = Vec::new();
    let mut checked = Vec::new();
    for (fields, pointer) in orders {
        let mut f = Issues::at(pointer);
        checked.push(read_order(fields, &mut f, creator));
        issues.append(&mut f.list);
    }
    let mut cards = Vec::new();
    for order in checked {
        cards.extend(build(app, creator, order, &mut issues).await?);
    }
    if !issues.is_empty() {
        return Err(DomainError::Invalid(issues).into());
    }
    Ok(cards)
}

/// Stores the prepared cards, all or nothing, each with its `create` audit event and its
/// `cards.created` webhook event.
pub async fn commit(
    app: &App,
    creator: &Creator,
    cards: Vec<NewCard>,
    origin: &Origin,
) -> StoreResult<Vec<StoredCard>> {
    let actor = creator.member.actor.clone();
    let events: Vec<AuditEvent> = cards
        .iter()
        .map(|new| {
            let shipped = shipping(&new.card);
            audit_event(&new.card, "create", actor.clone(), None, origin.now, &origin.request_id, shipped)
        })
        .collect();
    insert_with_fresh_pans(app, cards, events).await
}

/// Where a physical card is shipped is not part of Qonto's card object; the creation event
/// shows it back (`GET /_sandbox/cards/{id}/events`).
fn shipping(card: &cardinal_domain::Card) -> Value {
    match &card.address {
        Some(address) => json!({"ship_to_business": card.ship_to_business, "address": address}),
        None if card.level.is_physical() => json!({"ship_to_business": card.ship_to_business}),
        None => json!({}),
    }
}

/// PANs are random within the BIN, so among millions of cards two can collide; the store's
/// uniqueness check catches it and the cards get new numbers.
async fn insert_with_fresh_pans(
    app: &App,
    mut cards: Vec<NewCard>,
    events: Vec<AuditEvent>,
) -> StoreResult<Vec<StoredCard>> {
    const ATTEMPTS: usize = 5;
    for attempt in 1..=ATTEMPTS {
        // Made again on each attempt: a new number shows in the event's `masked_pan`.
        let outbox =
            cards.iter().flat_map(|new| card_outbox(&new.card, card_event(CardAction::Create), new.card.created_at));
        match app.store.insert_cards(cards.clone(), events.clone(), outbox.collect()).await {
            Err(cardinal_store::StoreError::Conflict(cause))
                if attempt < ATTEMPTS && cause.contains("pan_fingerprint") =>
            {
                for new in &mut cards {
                    issue::reissue_pan(&app.vault, new);
                }
            }
            other => return other,
        }
    }
    Err(StoreError::Backend("five card numbers in a row were taken".into()))
}
