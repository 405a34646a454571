//! `POST /_sandbox/memberships/{id}/accept`: an invited member joins, as if they had followed
//! the invitation e-mail's link ([`crate::app::teams::accept`]).

use crate::http::auth::Operator;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::wire::answers::MembershipEnvelope;
use crate::wire::MembershipDetail;
use crate::AppState;
use axum::extract::{Path, State};
use uuid::Uuid;

pub async fn accept(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
) -> ApiResult<Json<MembershipEnvelope>> {
    let id = Uuid::parse_str(&raw).map_err(|_| ApiError::not_found("membership"))?;
    let joined = crate::app::teams::accept(&state.app, id).await?;
    Ok(Json(MembershipEnvelope { membership: MembershipDetail::from(&joined) }))
}
