//! `GET|POST /v2/teams` and `POST /v2/memberships/invite_employee_or_accountant`
//! (`qonto-reference.md` §4, §8.1), on [`crate::app::teams`].

use crate::app::teams::{self, Invitation};
use crate::http::auth::Principal;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::wire::answers::MembershipEnvelope;
use crate::wire::operator::TeamBody;
use crate::wire::teams::{InviteRequest, TeamEnvelope, TeamList, TeamRequest};
use crate::wire::{MembershipDetail, Meta};
use crate::AppState;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use cardinal_domain::Role;

/// `GET /v2/teams`: a page of the organization's teams, by name.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<TeamList>> {
    let page = Params::parse(query.as_deref()).page()?;
    let all = teams::list(&state.app, &principal.organization).await?;
    let (shown, meta) = Meta::slice(all, page);
    let teams = shown.into_iter().map(|t| TeamBody { id: t.id, name: t.name }).collect();
    Ok(Json(TeamList { teams, meta }))
}

/// `POST /v2/teams` `{"name"}` → 201 `{"team": …}` (owners and admins).
pub async fn create(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<TeamRequest>,
) -> ApiResult<(StatusCode, Json<TeamEnvelope>)> {
    let team = teams::create(&state.app, &principal.organization, &principal.member(), &body.name).await?;
    Ok((StatusCode::CREATED, Json(TeamEnvelope { team: TeamBody { id: team.id, name: team.name } })))
}

/// `POST /v2/memberships/invite_employee_or_accountant` → 200 `{"membership": …}`.
pub async fn invite(
    State(state): State<AppState>,
    principal: Principal,
    JsonBody(body): JsonBody<InviteRequest>,
) -> ApiResult<Json<MembershipEnvelope>> {
    let asked = body.membership;
    // Qonto's "accountant" is Cardinal's `reporting` role.
    let role = match asked.role.as_deref().unwrap_or("employee") {
        "employee" => Role::Employee,
        "reporting" | "accountant" => Role::Reporting,
        _ => return Err(ApiError::field("not_in_list", "/membership/role", "role must be employee or accountant")),
    };
    let invitation = Invitation {
        email: asked.email,
        first_name: asked.first_name,
        last_name: asked.last_name,
        role,
        team_id: asked.team_id,
    };
    let invited = teams::invite(&state.app, &principal.organization, &principal.member(), invitation).await?;
    Ok(Json(MembershipEnvelope { membership: MembershipDetail::from(&invited) }))
}
