//! The operator API's organizations: create (with members and their tokens; in the sandbox
//! also demo cards), list, show, delete.

use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::sandbox::seed::{self, MemberPlan, OrganizationPlan};
use crate::wire::operator::{
    ApiKeyPair, CreatedMember, CreatedOrganization, OrganizationDetail,
    OrganizationEnvelope as OperatorOrganizationEnvelope, OrganizationList, OrganizationSettings, OrganizationSummary,
    TeamBody,
};
use crate::wire::requests::{MembershipRequest, OrganizationRequest};
use crate::wire::{self, BankAccountBody, Meta};
use crate::{AppState, Mode};
use axum::extract::{Path, RawQuery, State};
use axum::http::StatusCode;
use cardinal_domain::Cents;
use cardinal_store::*;
use jiff::tz::TimeZone;

use uuid::Uuid;

/// `POST /_operator/organizations` (and, in the sandbox, `POST /_sandbox/organizations`).
pub async fn create(
    State(state): State<AppState>,
    _: Operator,
    JsonBody(body): JsonBody<OrganizationRequest>,
) -> ApiResult<(StatusCode, Json<CreatedOrganization>)> {
    let plan = organization_plan(body, state.config.mode)?;
    let created = seed::build(plan, &state.vault, jiff::Timestamp::now());
    let answer = created_organization_body(&state, &created);
    state.store.create_organization(created.seed).await.map_err(|e| match e {
        StoreError::Conflict(_) => {
            ApiError::new(StatusCode::CONFLICT, "conflict", "an organization with this slug already exists")
        }
        other => other.into(),
    })?;
    Ok((StatusCode::CREATED, Json(answer)))
}

/// The answer to creating an organization: the only time its secrets are shown.
pub fn created_organization_body(state: &AppState, created: &seed::CreatedOrganization) -> CreatedOrganization {
    let seed = &created.seed;
    let org = &seed.organization;
    let tz = org.time_zone();
    let now = org.now();
    let memberships = seed
        .memberships
        .iter()
        .zip(&created.access_tokens)
        .map(|(m, token)| CreatedMember {
            id: m.id,
            first_name: m.first_name.clone(),
            last_name: m.last_name.clone(),
            role: m.role.as_str().into(),
            team_id: m.team_id,
            email: m.email.clone(),
            access_token: token.clone(),
        })
        .collect();
    let cards = seed
        .cards
        .iter()
        .map(|new| {
            let stored = StoredCard::new(new.card.clone(), seed.holder_of(new.card.holder_id).unwrap_or_default());
            wire::Card::of(&stored, now, &tz, state.links())
        })
        .collect();
    CreatedOrganization {
        organization: OrganizationSettings::from(org),
        bank_account: seed.bank_accounts.first().map(BankAccountBody::from),
        api_key: ApiKeyPair { login: org.slug.clone(), secret_key: created.api_key_secret.clone() },
        memberships,
        cards,
    }
}

/// The organization a request asks for. In production nothing is made up: members must be
/// named, the balance starts at zero unless given, and demo cards are refused (cards are made
/// with `POST /v2/cards`); a production organization has no seed to reset to.
fn organization_plan(body: OrganizationRequest, mode: Mode) -> ApiResult<OrganizationPlan> {
    let mut plan = OrganizationPlan::default();
    if mode == Mode::Production {
        if body.members.is_none() {
            return Err(ApiError::field("required", "/members", "members is required: name at least one member"));
        }
        if body.cards == Some(true) {
            return Err(ApiError::field(
                "invalid",
                "/cards",
                "demo cards are seeded in the sandbox only: create cards with POST /v2/cards",
            ));
        }
        plan.balance = Cents::ZERO;
        plan.cards = false;
        plan.resettable = false;
    }
    if let Some(name) = body.legal_name {
        plan.legal_name = Some(text_field(&name, "/legal_name", 1, 100)?);
    }
    // The schema has checked the slug's and the country's shape and the mode's name.
    plan.slug = body.slug.or(plan.slug);
    if let Some(mode) = body.sca_mode.as_deref().and_then(ScaMode::parse) {
        plan.sca_mode = mode;
    }
    if let Some(tz) = body.timezone {
        TimeZone::get(&tz)
            .map_err(|_| ApiError::field("invalid", "/timezone", format!("{tz:?} is not an IANA time zone")))?;
        plan.timezone = tz;
    }
    if let Some(balance) = body.balance {
        plan.balance = balance.0;
    }
    plan.country = body.country.unwrap_or(plan.country);
    if let Some(members) = body.members {
        plan.members = members
            .into_iter()
            .enumerate()
            .map(|(i, m)| member_plan(&format!("/members/{i}"), m))
            .collect::<ApiResult<_>>()?;
    }
    plan.cards = body.cards.unwrap_or(plan.cards);
    Ok(plan)
}

/// A member as a request describes it; error pointers start with `prefix` (`/members/0`).
pub(crate) fn member_plan(prefix: &str, m: MembershipRequest) -> ApiResult<MemberPlan> {
    let pointer = |field: &str| format!("{prefix}/{field}");
    Ok(MemberPlan {
        first_name: text_field(&m.first_name, &pointer("first_name"), 1, 60)?,
        last_name: text_field(&m.last_name, &pointer("last_name"), 1, 60)?,
        role: m.role,
        team: m.team.map(|t| text_field(&t, &pointer("team"), 1, 60)).transpose()?,
        email: m.email.map(|e| email(&e, &pointer("email"))).transpose()?,
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

/// An address with one `@`, text on both sides and a dot in the domain: what a member's
/// email must look like (Cardinal sends no mail, so no more is checked).
fn email(value: &str, pointer: &str) -> ApiResult<String> {
    let trimmed = value.trim();
    let valid = trimmed.len() <= 254
        && trimmed.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && domain.contains('.') && !domain.starts_with('.') && !domain.ends_with('.')
        })
        && trimmed.matches('@').count() == 1
        && !trimmed.contains(char::is_whitespace);
    if valid {
        Ok(trimmed.to_owned())
    } else {
        Err(ApiError::field("invalid", pointer, "email must be an address such as ada@example.com"))
    }
}

/// `DELETE /_operator/organizations/{id}`: everything in it goes.
pub async fn delete(State(state): State<AppState>, _: Operator, Path(raw): Path<String>) -> ApiResult<StatusCode> {
    let not_found = || ApiError::not_found("organization");
    let id = Uuid::parse_str(&raw).map_err(|_| not_found())?;
    if state.store.delete_organization(id).await? {
        state.app.requests.forget(id);
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(not_found())
    }
}

/// `GET /_operator/organizations`: every organization, oldest first.
pub async fn list(
    State(state): State<AppState>,
    _: Operator,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<OrganizationList>> {
    let page = Params::parse(query.as_deref()).page()?;
    let found = state.store.organizations(page).await?;
    let organizations = found.items.iter().map(OrganizationSummary::from).collect();
    Ok(Json(OrganizationList { organizations, meta: Meta::of(&found, page) }))
}

/// `GET /_operator/organizations/{id}`: the organization, its bank accounts and teams, and how
/// many members it has.
pub async fn show(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<Json<OperatorOrganizationEnvelope>> {
    let organization = state.organization_named(&raw).await?;
    let all = PageRequest { page: 1, per_page: 100 };
    let accounts = state.store.bank_accounts(organization.id, all).await?;
    let members = state.store.memberships(organization.id, PageRequest { page: 1, per_page: 1 }).await?;
    let teams = state.store.teams(organization.id).await?;
    Ok(Json(OperatorOrganizationEnvelope {
        organization: OrganizationDetail {
            summary: OrganizationSummary::from(&organization),
            bank_accounts: accounts.items.iter().map(BankAccountBody::from).collect(),
            teams: teams.into_iter().map(|t| TeamBody { id: t.id, name: t.name }).collect(),
            memberships_count: members.total,
        },
    }))
}
