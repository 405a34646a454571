//! `GET /v2/labels[/{id}]` (`qonto-reference.md` §6), on [`crate::app::labels`].

use crate::app::labels;
use crate::http::auth::Principal;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::http::params::Params;
use crate::wire::attachments::{LabelBody, LabelEnvelope, LabelList};
use crate::wire::Meta;
use crate::AppState;
use axum::extract::{Path, RawQuery, State};
use uuid::Uuid;

/// A page of the organization's labels, by name.
pub async fn list(
    State(state): State<AppState>,
    principal: Principal,
    RawQuery(query): RawQuery,
) -> ApiResult<Json<LabelList>> {
    let page = Params::parse(query.as_deref()).page()?;
    let all = labels::list(&state.app, &principal.organization).await?;
    let (shown, meta) = Meta::slice(all, page);
    Ok(Json(LabelList { labels: shown.iter().map(LabelBody::from).collect(), meta }))
}

pub async fn show(
    State(state): State<AppState>,
    principal: Principal,
    Path(raw): Path<String>,
) -> ApiResult<Json<LabelEnvelope>> {
    let id = Uuid::parse_str(&raw).map_err(|_| ApiError::not_found("label"))?;
    let label = labels::get(&state.app, &principal.organization, id).await?;
    Ok(Json(LabelEnvelope { label: LabelBody::from(&label) }))
}
