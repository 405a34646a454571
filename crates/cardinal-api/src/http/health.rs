//! `/healthz` (the process answers), `/readyz` (and so does its database) and `/openapi.json`.

use crate::http::error::ApiResult;
use crate::AppState;
use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

pub async fn healthz() -> Json<Value> {
    Json(json!({"status": "ok"}))
}

pub async fn readyz(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.store.is_empty().await?;
    Ok(Json(json!({"status": "ready"})))
}

/// `GET /openapi.json`. The document is built on first request by the builder the state holds:
/// the route table lists this handler, and the builder reads the route table, so the builder is
/// not named here.
pub async fn openapi_document(State(state): State<AppState>) -> Json<Value> {
    let document = state
        .openapi
        .get_or_init(|| (state.openapi_builder)(crate::routes::Served::of(&state.config), &state.config.public_url));
    Json(document.clone())
}
