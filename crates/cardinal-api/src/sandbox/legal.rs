//! `PATCH /_sandbox/organizations/{id}/legal`: set what `GET /v2/organization` shows of the
//! organization's legal identity ([`crate::app::organization`]).

use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::wire::answers::OrganizationEnvelope;
use crate::wire::LegalRequest;
use crate::AppState;
use axum::extract::{Path, State};
use uuid::Uuid;

/// The organization as its members now read it.
pub async fn set(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<LegalRequest>,
) -> ApiResult<Json<OrganizationEnvelope>> {
    let id = Uuid::parse_str(&raw).map_err(|_| ApiError::not_found("organization"))?;
    let (organization, legal) = crate::app::organization::set_legal_profile(&state.app, id, body.into()).await?;
    Ok(Json(OrganizationEnvelope {
        organization: crate::v2::organization::shown(&state, &organization, &legal).await?,
    }))
}
