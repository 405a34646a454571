//! `/v2/organization`, `/v2/bank_accounts`, `/v2/memberships`, `/v2/membership`.

use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::wire::answers::{
    BankAccountEnvelope, BankAccountList, MembershipEnvelope, MembershipList, OrganizationEnvelope,
};
use crate::wire::{BankAccountBody, MembershipDetail, MembershipSummary, Meta, OrganizationBody};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use cardinal_store::PageRequest;
use uuid::Uuid;

/// Bank accounts listed inside the organization (Qonto organizations have a handful).
const ORGANIZATION_ACCOUNTS: PageRequest = PageRequest { page: 1, per_page: 100 };

pub async fn organization(
    State(state): State<AppState>,
    principal: Principal,
) -> ApiResult<Json<OrganizationEnvelope>> {
    let organization = &principal.organization;
    let legal = crate::app::organization::legal_profile(&state.app, organization).await?;
    Ok(Json(OrganizationEnvelope { organization: shown(&state, organization, &legal).await? }))
}

/// The organization with its accounts, as `GET /v2/organization` shows it.
pub async fn shown(
    state: &AppState,
    organization: &cardinal_store::Organization,
    legal: &cardinal_domain::organization::LegalProfile,
) -> ApiResult<OrganizationBody> {
    let accounts = state.store.bank_accounts(organization.id, ORGANIZATION_ACCOUNTS).await?;
    Ok(OrganizationBody::of(organization, legal, &accounts.items))
}

pub async fn bank_accounts(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<BankAccountList>> {
    let page_request = Params::parse(query.as_deref()).page()?;
    let page = state.store.bank_accounts(principal.organization.id, page_request).await?;
    let accounts: Vec<BankAccountBody> = page.items.iter().map(BankAccountBody::from).collect();
    Ok(Json(BankAccountList { bank_accounts: accounts, meta: Meta::of(&page, page_request) }))
}

pub async fn bank_account(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> ApiResult<Json<BankAccountEnvelope>> {
    let not_found = || ApiError::not_found("bank account");
    let id = Uuid::parse_str(&raw).map_err(|_| not_found())?;
    let account = state.store.bank_account(principal.organization.id, id).await?.ok_or_else(not_found)?;
    Ok(Json(BankAccountEnvelope { bank_account: BankAccountBody::from(&account) }))
}

pub async fn memberships(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<MembershipList>> {
    let page_request = Params::parse(query.as_deref()).page()?;
    let page = state.store.memberships(principal.organization.id, page_request).await?;
    let country = &principal.organization.country;
    let members: Vec<MembershipSummary> = page.items.iter().map(|m| MembershipSummary::of(m, country)).collect();
    Ok(Json(MembershipList { memberships: members, meta: Meta::of(&page, page_request) }))
}

pub async fn membership(principal: Principal) -> ApiResult<Json<MembershipEnvelope>> {
    Ok(Json(MembershipEnvelope { membership: MembershipDetail::from(principal.membership.as_ref()) }))
}
