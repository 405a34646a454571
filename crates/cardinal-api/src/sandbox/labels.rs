//! Labels on the control API (Qonto's API only reads them): make a label list or a label in
//! one, and put labels on a transaction ([`crate::app::labels`]).

use crate::app::labels;
use crate::http::auth::Operator;
use crate::http::body::JsonBody;
use crate::http::error::{ApiError, ApiResult};
use crate::http::json::Json;
use crate::wire::answers::TransactionEnvelope;
use crate::wire::attachments::{LabelBody, LabelEnvelope, LabelRequest, TransactionLabels};
use crate::wire::TransactionBody;
use crate::AppState;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use uuid::Uuid;

/// `POST /_sandbox/organizations/{id}/labels` `{"name", "parent_id"?}` → 201 `{"label"}`.
pub async fn create(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<LabelRequest>,
) -> ApiResult<(StatusCode, Json<LabelEnvelope>)> {
    let organization = Uuid::parse_str(&raw).map_err(|_| ApiError::not_found("organization"))?;
    let label = labels::create(&state.app, organization, &body.name, body.parent_id).await?;
    Ok((StatusCode::CREATED, Json(LabelEnvelope { label: LabelBody::from(&label) })))
}

/// `PUT /_sandbox/transactions/{id}/labels` `{"label_ids": […]}` → `{"transaction"}`.
pub async fn label_transaction(
    State(state): State<AppState>,
    _: Operator,
    Path(raw): Path<String>,
    JsonBody(body): JsonBody<TransactionLabels>,
) -> ApiResult<Json<TransactionEnvelope>> {
    let id = Uuid::parse_str(&raw).map_err(|_| ApiError::not_found("transaction"))?;
    let transaction = labels::label_transaction(&state.app, id, body.label_ids).await?;
    Ok(Json(TransactionEnvelope { transaction: TransactionBody::from(&transaction) }))
}
