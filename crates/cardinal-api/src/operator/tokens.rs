//! Credentials the operator issues and revokes: members' access tokens, and the
//! organization's API key (Qonto's `login:secret_key`, read-only, one live at a time).

use crate::http::auth::{scope, Operator};
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::secrets::{hash_secret, new_token};
use crate::wire::operator::{AccessToken, ApiKey};
use crate::wire::requests::TokenRequest;
use crate::wire::Time;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use cardinal_domain::Role;
use cardinal_store::*;
use jiff::Timestamp;
use uuid::Uuid;

pub async fn create_token(
    State(state): State<AppState>,
    _: Operator,
    JsonBody(body): JsonBody<TokenRequest>,
) -> ApiResult<(StatusCode, Json<AccessToken>)> {
    let unknown = || ApiError::field("invalid", "/membership_id", "no membership has this id");
    let membership = state.store.membership_by_id(body.membership_id).await?.ok_or_else(unknown)?;
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
            membership_id: body.membership_id,
            kind: CredentialKind::AccessToken,
            secret_hash: hash_secret(&token),
            scopes: scopes.clone(),
            expires_at,
            created_at: now,
            grant_id: None,
        })
        .await?;
    let answer = AccessToken { access_token: token, scopes, expires_at: expires_at.map(Time) };
    Ok((StatusCode::CREATED, Json(answer)))
}

pub async fn revoke_token(
    State(state): State<AppState>,
    _: Operator,
    Path(token): Path<String>,
) -> ApiResult<StatusCode> {
    if state.store.revoke_credential(&hash_secret(&token), Timestamp::now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("access token"))
    }
}

/// `POST /_operator/organizations/{id}/api_key`: a new API key for the organization, held by
/// its first owner; the one before it stops working in the same step. The secret is shown
/// this once.
pub async fn issue_api_key(State(state): State<AppState>, _: Operator, Path(raw): Path<String>) -> ApiResult<Response> {
    let organization = state.organization_named(&raw).await?;
    let owner = first_owner(&state, organization.id).await?;
    let secret = new_token();
    let now = organization.now();
    let credential = NewCredential {
        id: crate::ids::random(),
        organization_id: organization.id,
        membership_id: owner,
        kind: CredentialKind::ApiKey,
        secret_hash: hash_secret(&secret),
        scopes: scope::API_KEY.iter().map(|s| s.to_string()).collect(),
        expires_at: None,
        created_at: now,
        grant_id: None,
    };
    state.store.replace_api_key(organization.id, Some(credential), now).await?;
    let answer = ApiKey { login: organization.slug, secret_key: secret, created_at: Time(now) };
    Ok((StatusCode::CREATED, Json(answer)).into_response())
}

/// `DELETE /_operator/organizations/{id}/api_key`: the organization's API key stops working.
pub async fn revoke_api_key(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<StatusCode> {
    let organization = state.organization_named(&raw).await?;
    if state.store.replace_api_key(organization.id, None, organization.now()).await? {
        Ok(StatusCode::NO_CONTENT)
    } else {
        Err(ApiError::not_found("API key"))
    }
}

/// The member an organization's API key acts as: its first owner (Qonto's keys read as the
/// organization's owner).
async fn first_owner(state: &AppState, organization: Uuid) -> ApiResult<Uuid> {
    let mut page = PageRequest { page: 1, per_page: 100 };
    loop {
        let members = state.store.memberships(organization, page).await?;
        if let Some(owner) = members.items.iter().find(|m| m.role == Role::Owner) {
            return Ok(owner.id);
        }
        if members.items.len() < page.per_page as usize {
            return Err(ApiError::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "invalid_state",
                "the organization has no owner to hold its API key: add one with POST /_operator/organizations/{id}/memberships",
            ));
        }
        page.page += 1;
    }
}
