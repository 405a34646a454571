//! `/healthz` (the process answers), `/readyz` (and so does its database) and `/openapi.json`.

use crate::http::error::ApiResult;
use crate::wire::answers::Status;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use schemars::JsonSchema;
use serde::Serialize;
use serde_json::Value;

pub async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Status>> {
    state.store.is_empty().await?;
    Ok(Json(Status { status: "ready" }))
}

/// An OpenAPI 3.1 document.
#[derive(Serialize, JsonSchema)]
#[serde(transparent)]
#[schemars(extend("type" = "object"))]
pub struct OpenApiDocument(Value);

/// `GET /openapi.json`: the document the router built of the routes it serves (the route
/// table lists this handler, so the document is not built here).
pub async fn openapi_document(State(state): State<AppState>) -> Json<OpenApiDocument> {
    let document = state.openapi.get_or_init(|| state.openapi_source.get().map(|build| build()).unwrap_or(Value::Null));
    Json(OpenApiDocument(document.clone()))
}
