//! What an operator adds to an organization: bank accounts, and members with their role and
//! team (a team named for the first time is made).

use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::operator::organizations::{member_plan, text_field};
use crate::sandbox::seed;
use crate::wire::answers::{BankAccountEnvelope, MembershipEnvelope};
use crate::wire::requests::{BankAccountRequest, MembershipRequest};
use crate::wire::{BankAccountBody, MembershipDetail};
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cardinal_domain::Cents;
use cardinal_store::*;

/// `POST /_operator/organizations/{id}/bank_accounts` `{"name", "balance"?}` → `201
/// {"bank_account"}`: a euro account with a fresh IBAN, not the main one.
pub async fn add_bank_account(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<BankAccountRequest>,
) -> ApiResult<Response> {
    let organization = state.organization_named(&raw).await?;
    let name = text_field(&body.name, "/name", 1, 100)?;
    let balance = body.balance.map_or(Cents::ZERO, |b| b.0);
    let account = seed::bank_account(organization.id, &name, false, balance, organization.now());
    let parts = OrganizationParts { bank_accounts: vec![account.clone()], ..OrganizationParts::default() };
    if !state.store.extend_organization(organization.id, parts).await? {
        return Err(ApiError::not_found("organization"));
    }
    Ok((StatusCode::CREATED, Json(BankAccountEnvelope { bank_account: BankAccountBody::from(&account) }))
        .into_response())
}

/// `POST /_operator/organizations/{id}/memberships` `{"first_name", "last_name", "role",
/// "team"?, "email"?}` → `201 {"membership"}`. Issue the member a token with `POST
/// /_operator/tokens`.
pub async fn add_membership(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<MembershipRequest>,
) -> ApiResult<(StatusCode, Json<MembershipEnvelope>)> {
    let organization = state.organization_named(&raw).await?;
    let plan = member_plan("", body)?;
    let mut teams = state.store.teams(organization.id).await?;
    let mut parts = OrganizationParts::default();
    if let Some(name) = plan.team.as_deref().filter(|name| !teams.iter().any(|t| t.name == *name)) {
        let team = Team { id: crate::ids::random(), organization_id: organization.id, name: name.to_owned() };
        parts.teams.push(team.clone());
        teams.push(team);
    }
    let membership = seed::membership(&plan, &organization, &teams, organization.now());
    parts.memberships.push(membership.clone());
    match state.store.extend_organization(organization.id, parts).await {
        Ok(true) => {}
        Ok(false) => return Err(ApiError::not_found("organization")),
        // Another request made the same new team a moment ago: the member may be added again.
        Err(StoreError::Conflict(_)) => {
            return Err(ApiError::new(
                StatusCode::CONFLICT,
                "conflict",
                "the team was just made by another request: retry",
            ))
        }
        Err(other) => return Err(other.into()),
    }
    Ok((StatusCode::CREATED, Json(MembershipEnvelope { membership: MembershipDetail::from(&membership) })))
}
