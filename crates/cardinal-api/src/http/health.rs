//! `/healthz` (the process answers), `/readyz` (and so does its database) and `/openapi.json`.

use crate::http::error::ApiResult;
use crate::wire::answers::Status;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::Value;

pub async fn healthz() -> Json<Status> {
    Json(Status { status: "ok" })
}

pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Status>> {
    state.store.is_empty().await?;
    Ok(Json(Status { status: "ready" }))
}

/// `GET /openapi.json`: the document the router built of the routes it serves (the route
/// table lists this handler, so the document is not built here).
pub async fn openapi_document(State(state): State<AppState>) -> Json<Value> {
    let document = state.openapi.get_or_init(|| state.openapi_source.get().map(|build| build()).unwrap_or(Value::Null));
    Json(document.clone())
}
