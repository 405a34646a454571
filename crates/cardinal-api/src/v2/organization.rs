//! `/v2/organization`, `/v2/bank_accounts`, `/v2/memberships`, `/v2/membership`.

use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::params::Params;
use crate::wire::{BankAccountBody, MembershipDetail, MembershipSummary, Meta, OrganizationBody};
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use axum::Json;
use cardinal_store::PageRequest;
use serde_json::{json, Value};
use uuid::Uuid;

/// Bank accounts listed inside the organization (Qonto organizations have a handful).
const ORGANIZATION_ACCOUNTS: PageRequest = PageRequest { page: 1, per_page: 100 };

pub async fn organization(State(state): State<AppState>, principal: Principal) -> ApiResult<Json<Value>> {
    let accounts = state.store.bank_accounts(principal.organization.id, ORGANIZATION_ACCOUNTS).await?;
    Ok(Json(json!({"organization": OrganizationBody::of(&principal.organization, &accounts.items)})))
}

pub async fn bank_accounts(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let page_request = Params::parse(query.as_deref()).page()?;
    let page = state.store.bank_accounts(principal.organization.id, page_request).await?;
    let accounts: Vec<BankAccountBody> = page.items.iter().map(BankAccountBody::from).collect();
    Ok(Json(json!({"bank_accounts": accounts, "meta": Meta::of(&page, page_request)})))
}

pub async fn bank_account(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> ApiResult<Json<Value>> {
    let not_found = || ApiError::not_found("bank account");
    let id = Uuid::parse_str(&raw).map_err(|_| not_found())?;
    let account = state.store.bank_account(principal.organization.id, id).await?.ok_or_else(not_found)?;
    Ok(Json(json!({"bank_account": BankAccountBody::from(&account)})))
}

pub async fn memberships(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<Value>> {
    let page_request = Params::parse(query.as_deref()).page()?;
    let page = state.store.memberships(principal.organization.id, page_request).await?;
    let members: Vec<MembershipSummary> = page.items.iter().map(MembershipSummary::from).collect();
    Ok(Json(json!({"memberships": members, "meta": Meta::of(&page, page_request)})))
}

pub async fn membership(principal: Principal) -> ApiResult<Json<Value>> {
    Ok(Json(json!({"membership": MembershipDetail::from(&principal.membership)})))
}
