//! The sandbox control API under `/_sandbox/` (spec §5.2): set up organizations, tokens and
//! card states that the Qonto surface cannot create, and read cards' audit trails.
//! Mounted only in sandbox mode; authenticated with the admin token.

use crate::http::auth::{scope, Admin};
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::issuing::audit::audit_event;
use crate::issuing::events::{card_event, card_outbox, status_event};
use crate::issuing::expiry;
use crate::sandbox::seed::{self, MemberPlan, OrganizationPlan};
use crate::secrets::{hash_secret, new_token};
use crate::v2::cards::{card_id, CardBody};
use crate::wire::{self, BankAccountBody, EventBody, Time};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use cardinal_domain::card::{Outcome, SystemLockReason};
use cardinal_domain::{CardAction, Cents, DomainError, Role};
use cardinal_store::*;
use jiff::{tz::TimeZone, Timestamp};
use serde::Deserialize;
use serde_json::{json, Value};
use uuid::Uuid;

#[derive(Deserialize, Default)]
pub struct OrganizationRequest {
    legal_name: Option<String>,
    slug: Option<String>,
    sca_mode: Option<String>,
    timezone: Option<String>,
    balance: Option<serde_json::Number>,
    country: Option<String>,
    members: Option<Vec<MemberRequest>>,
    cards: Option<bool>,
}

#[derive(Deserialize)]
pub struct MemberRequest {
    first_name: Option<String>,
    last_name: Option<String>,
    role: Option<String>,
    team: Option<String>,
}

pub async fn create_organization(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(body): JsonBody<OrganizationRequest>,
) -> ApiResult<Response> {
    let plan = organization_plan(body)?;
    let created = seed::build(plan, &state.vault, jiff::Timestamp::now());
    let answer = created_organization_body(&state, &created);
    state.store.create_organization(created.seed).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", "an organization with this slug already exists")
        }
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// The answer to `POST /_sandbox/organizations`: the only time the secrets are shown.
pub fn created_organization_body(state: &AppState, created: &seed::CreatedOrganization) -> Value {
    let seed = &created.seed;
    let org = &seed.organization;
    let tz = org.time_zone();
    let now = org.now();
    let memberships: Vec<Value> = seed
        .memberships
        .iter()
        .zip(&created.access_tokens)
        .map(|(m, token)| {
            json!({"id": m.id, "first_name": m.first_name, "last_name": m.last_name, "role": m.role.as_str(),
                   "team_id": m.team_id, "email": m.email, "access_token": token})
        })
        .collect();
    let cards: Vec<wire::Card> = seed
        .cards
        .iter()
        .map(|new| {
            let stored =
                StoredCard { card: new.card.clone(), holder: seed.holder_of(new.card.holder_id).unwrap_or_default() };
            wire::Card::of(&stored, now, &tz, state.links())
        })
        .collect();
    json!({
        "organization": {
            "id": org.id, "slug": org.slug, "legal_name": org.legal_name, "locale": org.locale,
            "timezone": org.timezone, "country": org.country, "sca_mode": org.sca_mode.as_str(),
        },
        "bank_account": seed.bank_accounts.first().map(BankAccountBody::from),
        "api_key": {"login": org.slug, "secret_key": created.api_key_secret},
        "memberships": memberships,
        "cards": cards,
    })
}

fn organization_plan(body: OrganizationRequest) -> ApiResult<OrganizationPlan> {
    let mut plan = OrganizationPlan::default();
    if let Some(name) = body.legal_name {
        plan.legal_name = Some(text_field(&name, "/legal_name", 1, 100)?);
    }
    if let Some(slug) = body.slug {
        let ok = (1..=50).contains(&slug.len())
            && slug.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        if !ok {
            return Err(ApiError::field(
                "invalid",
                "/slug",
                "slug must be 1 to 50 lowercase letters, digits or dashes",
            ));
        }
        plan.slug = Some(slug);
    }
    if let Some(mode) = body.sca_mode {
        plan.sca_mode = ScaMode::parse(&mode).ok_or_else(|| {
            ApiError::field("not_in_list", "/sca_mode", "sca_mode must be one of: required, disabled, not_enrolled")
        })?;
    }
    if let Some(tz) = body.timezone {
        TimeZone::get(&tz)
            .map_err(|_| ApiError::field("invalid", "/timezone", format!("{tz:?} is not an IANA time zone")))?;
        plan.timezone = tz;
    }
    if let Some(balance) = body.balance {
        plan.balance = euros(&balance, "/balance")?;
    }
    if let Some(country) = body.country {
        if country.len() != 2 || !country.bytes().all(|b| b.is_ascii_uppercase()) {
            return Err(ApiError::field("invalid", "/country", "country must be an ISO 3166 alpha-2 code such as FR"));
        }
        plan.country = country;
    }
    if let Some(members) = body.members {
        if members.is_empty() {
            return Err(ApiError::field("too_short", "/members", "members must list at least one member"));
        }
        plan.members = members.into_iter().enumerate().map(|(i, m)| member_plan(i, m)).collect::<ApiResult<_>>()?;
    }
    plan.cards = body.cards.unwrap_or(true);
    Ok(plan)
}

fn member_plan(index: usize, m: MemberRequest) -> ApiResult<MemberPlan> {
    let pointer = |field: &str| format!("/members/{index}/{field}");
    let required = |value: Option<String>, field: &str| {
        value.ok_or_else(|| ApiError::field("required", pointer(field), format!("{field} is required")))
    };
    let roles = Role::ALL.iter().map(|r| r.as_str()).collect::<Vec<_>>().join(", ");
    let role_text = required(m.role, "role")?;
    let role = Role::parse(&role_text)
        .ok_or_else(|| ApiError::field("not_in_list", pointer("role"), format!("role must be one of: {roles}")))?;
    Ok(MemberPlan {
        first_name: text_field(&required(m.first_name, "first_name")?, &pointer("first_name"), 1, 60)?,
        last_name: text_field(&required(m.last_name, "last_name")?, &pointer("last_name"), 1, 60)?,
        role,
        team: m.team.map(|t| text_field(&t, &pointer("team"), 1, 60)).transpose()?,
    })
}

/// A trimmed text field of `min..=max` characters.
pub fn text_field(value: &str, pointer: &str, min: usize, max: usize) -> ApiResult<String> {
    let trimmed = value.trim();
    let field = pointer.rsplit('/').next().unwrap_or(pointer);
    let length = trimmed.chars().count();
    if length < min {
        return Err(ApiError::field("too_short", pointer, format!("{field} must have at least {min} characters")));
    }
    if length > max {
        return Err(ApiError::field("too_long", pointer, format!("{field} must have at most {max} characters")));
    }
    Ok(trimmed.to_owned())
}

/// A non-negative euro amount with at most two decimals, as cents.
pub fn euros(number: &serde_json::Number, pointer: &str) -> ApiResult<Cents> {
    let field = pointer.rsplit('/').next().unwrap_or(pointer);
    crate::http::fields::euros(&Value::Number(number.clone()))
        .map_err(|why| ApiError::field("invalid", pointer, format!("{field} {why}")))
}

pub async fn delete_organization(
    State(state): State<AppState>,
    _: Admin,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let not_found = || ApiError::not_found("organization");
    let id = Uuid::parse_str(&raw).map_err(|_| not_found())?;
    if state.store.delete_organization(id).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

#[derive(Deserialize)]
pub struct ClockRequest {
    advance_by: Option<i64>,
    set: Option<String>,
}

/// The most one call may move a clock (100 years): the sum stays far inside what timestamps
/// can hold.
const MAX_ADVANCE_SECONDS: i64 = 100 * 366 * 24 * 3600;

/// `POST /_sandbox/organizations/{id}/clock`: `{"advance_by": seconds}` or `{"set": time}`,
/// never backwards → `{"now"}` (spec §6.4).
pub async fn clock(
    State(state): State<AppState>,
    _: Admin,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<ClockRequest>,
) -> ApiResult<Json<Value>> {
    let not_found = || ApiError::not_found("organization");
    let id = Uuid::parse_str(&raw).map_err(|_| not_found())?;
    let organization = state.store.organization(id).await?.ok_or_else(not_found)?;
    let real_now = Timestamp::now();
    let change = match (body.advance_by, body.set) {
        // An advance is an increment, so concurrent advances all count.
        (Some(seconds), None) if (0..=MAX_ADVANCE_SECONDS).contains(&seconds) => ClockChange::By(seconds),
        (Some(seconds), None) if seconds < 0 => {
            return Err(ApiError::field(
                "invalid",
                "/advance_by",
                "advance_by must not be negative: clocks never go backwards",
            ))
        }
        (Some(_), None) => {
            return Err(ApiError::field(
                "invalid",
                "/advance_by",
                format!("advance_by must be at most {MAX_ADVANCE_SECONDS} seconds (100 years)"),
            ))
        }
        (None, Some(text)) => {
            let at: Timestamp = text.parse().map_err(|_| {
                ApiError::field("invalid", "/set", "set must be an RFC 3339 timestamp such as 2026-03-01T00:00:00Z")
            })?;
            if at < organization.now_at(real_now) {
                return Err(ApiError::field(
                    "invalid",
                    "/set",
                    "set must not be before the organization's current time",
                ));
            }
            ClockChange::ToAtLeast(at.as_second().saturating_sub(real_now.as_second()))
        }
        _ => return Err(ApiError::field("required", "/advance_by", "give exactly one of advance_by or set")),
    };
    let updated = state.store.advance_clock(id, change).await?.ok_or_else(not_found)?;
    let now = updated.now_at(real_now);
    // The cards this move expired announce it now (cards.expired), not at their next read.
    let expired = expiry::sweep(&state, id, now).await?;
    Ok(Json(json!({"now": Time(now), "cards_expired": expired})))
}

#[derive(Deserialize)]
pub struct TokenRequest {
    membership_id: Option<String>,
    scopes: Option<Vec<String>>,
    expires_in: Option<i64>,
}

pub async fn create_token(
    State(state): State<AppState>,
    _: Admin,
    JsonBody(body): JsonBody<TokenRequest>,
) -> ApiResult<Response> {
    let raw =
        body.membership_id.ok_or_else(|| ApiError::field("required", "/membership_id", "membership_id is required"))?;
    let unknown = || ApiError::field("invalid", "/membership_id", "no membership has this id");
    let membership_id = Uuid::parse_str(&raw).map_err(|_| unknown())?;
    let membership = state.store.membership_by_id(membership_id).await?.ok_or_else(unknown)?;
    let scopes = body.scopes.unwrap_or_else(|| scope::ALL.iter().map(|s| s.to_string()).collect());
    if let Some((i, bad)) = scopes.iter().enumerate().find(|(_, s)| !scope::ALL.contains(&s.as_str())) {
        return Err(ApiError::field(
            "not_in_list",
            format!("/scopes/{i}"),
            format!("scope {bad:?} is not one of: {}", scope::ALL.join(", ")),
        ));
    }
    let organization = state.store.organization(membership.organization_id).await?.ok_or_else(unknown)?;
    let now = organization.now();
    let expires_at = match body.expires_in {
        Some(seconds) if seconds <= 0 => {
            return Err(ApiError::field("invalid", "/expires_in", "expires_in must be a positive number of seconds"))
        }
        Some(seconds) => {
            Some(Timestamp::from_second(now.as_second().saturating_add(seconds)).unwrap_or(Timestamp::MAX))
        }
        None => None,
    };
    let token = new_token();
    state
        .store
        .insert_credential(NewCredential {
            id: crate::ids::random(),
            organization_id: membership.organization_id,
            membership_id,
            kind: CredentialKind::AccessToken,
            secret_hash: hash_secret(&token),
            scopes: scopes.clone(),
            expires_at,
            created_at: now,
        })
        .await?;
    let answer = json!({"access_token": token, "scopes": scopes, "expires_at": expires_at.map(Time)});
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

pub async fn revoke_token(State(state): State<AppState>, _: Admin, Path(token): Path<String>) -> ApiResult<StatusCode> {
    if state.store.revoke_credential(&hash_secret(&token), Timestamp::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("access token"))
    }
}

#[derive(Deserialize)]
pub struct SystemLockRequest {
    reason: Option<String>,
}

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
    _: Admin,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<SystemLockRequest>,
) -> ApiResult<Json<CardBody>> {
    let reason_text = body.reason.ok_or_else(|| ApiError::field("required", "/reason", "reason is required"))?;
    let reason = lock_reason(&reason_text, Some("/reason"))?;
    system_change(&state, &raw, move |card, now| {
        let changed = card.add_system_lock(reason.clone(), now)?;
        Ok((changed, "system_lock", json!({"system_lock_added": reason.as_str()})))
    })
    .await
}

pub async fn remove_system_lock(
    State(state): State<AppState>,
    _: Admin,
    Path((raw, reason)): Path<(String, String)>,
) -> ApiResult<Json<CardBody>> {
    let reason = lock_reason(&reason, None)?;
    // Idempotent: lifting a lock the card does not have answers the card, unchanged.
    system_change(&state, &raw, move |card, now| {
        let changed = card.remove_system_lock(&reason, now).unwrap_or(Outcome::Unchanged);
        Ok((changed, "system_unlock", json!({"system_lock_removed": reason.as_str()})))
    })
    .await
}

pub async fn activate(State(state): State<AppState>, _: Admin, Path(raw): Path<String>) -> ApiResult<Json<CardBody>> {
    system_change(&state, &raw, |card, now| {
        let changed = card.apply(CardAction::Activate, now)?;
        Ok((changed, "activate", json!({"pin_set": true})))
    })
    .await
}

type SystemRule =
    dyn FnMut(&mut cardinal_domain::Card, Timestamp) -> Result<(Outcome, &'static str, Value), DomainError> + Send;

/// A change the system (not a member) makes to a card of any organization, audited.
async fn system_change<F>(state: &AppState, raw: &str, rule: F) -> ApiResult<Json<CardBody>>
where
    F: FnMut(&mut cardinal_domain::Card, Timestamp) -> Result<(Outcome, &'static str, Value), DomainError>
        + Send
        + 'static,
{
    let (card, organization) = card_and_organization(state, raw).await?;
    let now = organization.now();
    let request_id = crate::http::trace::request_id();
    let mut rule: Box<SystemRule> = Box::new(rule);
    let stored = state
        .store
        .update_card(
            organization.id,
            card.card.id,
            Box::new(move |stored| {
                let from = stored.card.status(now);
                let (outcome, action, changes) = rule(&mut stored.card, now)?;
                let system = Actor { kind: ActorKind::System, id: None };
                if outcome == Outcome::Unchanged {
                    return Ok(CardWrite::NOTHING);
                }
                let webhook = match action {
                    "activate" => card_event(CardAction::Activate),
                    _ => status_event(from, stored.card.status(now)),
                };
                let events = card_outbox(&stored.card, webhook, now);
                let event = audit_event(&stored.card, action, system, Some(from), now, &request_id, changes);
                Ok(CardWrite { event: Some(event), events, redeems_sca: None })
            }),
        )
        .await?;
    let card = wire::Card::of(&stored, now, &organization.time_zone(), state.links());
    Ok(Json(CardBody { card }))
}

async fn card_and_organization(state: &AppState, raw: &str) -> ApiResult<(StoredCard, Organization)> {
    let id = card_id(raw)?;
    let card = state.store.card_by_id(id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    let organization =
        state.store.organization(card.card.organization_id).await?.ok_or_else(|| ApiError::not_found("card"))?;
    Ok((card, organization))
}

pub async fn events(State(state): State<AppState>, _: Admin, Path(raw): Path<String>) -> ApiResult<Json<Value>> {
    let (card, organization) = card_and_organization(&state, &raw).await?;
    let events = state.store.card_events(organization.id, card.card.id).await?;
    let events: Vec<EventBody> = events.iter().map(EventBody::from).collect();
    Ok(Json(json!({"events": events})))
}
